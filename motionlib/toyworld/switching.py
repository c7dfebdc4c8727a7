"""Protocol (b): prompt switching from fresh noise. No inversion, so no clip's motion hides in the noise.

Sample from the noise of a seed with caption A for the steps with ``t >= tau`` and caption B for
``t < tau``, for every ``tau`` of a grid. ``tau = 1000`` is B at every step and ``tau = 0`` A at
every step. If a model decides motion early, the direction follows A from a large ``tau`` on; if it
decides appearance late, colour follows A only when A holds almost to the end. Which caption an
attribute follows is read by the oracle (:mod:`.commitment`).

:func:`switch_prompts` shares the work: every branch is the same A trajectory up to its switch, so
one A trunk runs once, and at each step all branches already on B run as one batch. That is two
batched passes per step (fewer at the ends) and ``n + sum over taus of (steps on B)`` evaluations,
against ``n`` per ``tau`` naively. Each branch starts from the trunk's state at its switch, so a
branch equals a sample run alone with the same switch (up to batching's float rounding).

:func:`switching_samples` runs it over toy clips: A is a held-out clip's caption, B the clip's edit
of ``edit_kind`` (:mod:`motionlib.toyworld.dataset`). Each clip draws its own noises
(:func:`clip_seeds`), so two clips that happen to share a caption pair are two samples, not one
counted twice. Rows are cached per (model, captions, seeds, settings), so a stopped run resumes at
the clip where it stopped.
"""

from __future__ import annotations

import pandas as pd
import torch
from tqdm.auto import tqdm

from motionlib.cache import ResultCache
from motionlib.data import from_model_pixels
from motionlib.models.base import VideoModel
from motionlib.sampling import ddim_schedule, initial_noise, sample_step
from motionlib.toyworld import commitment, oracle, world
from motionlib.toyworld.dataset import DEFAULT_SEED, check_edit_kind, edit_specs
from motionlib.windows import PromptWindow, grid_values

CACHE_VERSION = 3  # 2: each clip its own noise seeds (1 gave every clip seed 0); 3: the oracle's unreadable readings


@torch.no_grad()
def switch_prompts(model: VideoModel, caption_a: str, caption_b: str, taus: list[int], seeds: list[int], *,
                   num_steps: int, guidance_scale: float) -> dict[int, torch.Tensor]:
    """``{tau: final latents (len(seeds), ...)}``: A for ``t >= tau``, B for ``t < tau`` (see the module doc)."""
    d = model.defaults
    steps = ddim_schedule(model, num_steps)
    switch_at = {tau: PromptWindow(tau, 0).step_range(steps)[0] if tau > 0 else len(steps) for tau in taus}
    a, b = model.encode_prompt(caption_a), model.encode_prompt(caption_b)
    trunk = torch.cat([initial_noise(model, d.num_frames, d.height, d.width, s) for s in seeds]).to(model.device)
    branches: dict[int, torch.Tensor] = {}
    n = len(seeds)
    for k, step in enumerate(steps):
        for tau, k_s in switch_at.items():
            if k_s == k:
                branches[tau] = trunk
        if any(k_s > k for k_s in switch_at.values()):
            trunk = sample_step(model, trunk, step, a, guidance_scale)
        if branches:
            live = list(branches)
            x = sample_step(model, torch.cat([branches[t] for t in live]), step, b, guidance_scale)
            branches = {t: x[i * n:(i + 1) * n] for i, t in enumerate(live)}
    return {tau: (branches[tau] if tau in branches else trunk) for tau in taus}


def _specs_and_edits(clips: int, edit_kind: str, data_seed: int) -> list[tuple[world.ClipSpec, world.ClipSpec]]:
    from motionlib.toyworld.dataset import toy_specs

    return [(spec, edit_specs(spec, i, data_seed)[edit_kind]) for i, spec in enumerate(toy_specs(clips, data_seed))]


def clip_seeds(clip: int, seeds: int) -> list[int]:
    """The noise seeds of clip ``clip`` when each clip is sampled from ``seeds`` noises: distinct
    across clips (``clip * seeds + s``)."""
    return [clip * seeds + s for s in range(seeds)]


def sample_row(reading: oracle.Reading, spec_a: world.ClipSpec, spec_b: world.ClipSpec) -> dict:
    """The captions' values (``a_*``, ``b_*``) and the oracle's (``read_*``) of one sample."""
    row = {f"a_{k}": getattr(spec_a, k) for k in commitment.ATTRIBUTES}
    row |= {f"b_{k}": getattr(spec_b, k) for k in commitment.ATTRIBUTES}
    return row | commitment.reading_columns(reading) | {"found": reading.found}


def switching_samples(model: VideoModel, clips: int = 20, *, edit_kind: str = "direction_multiple",
                      seeds: int = 1, num_steps: int | None = None, guidance_scale: float | None = None,
                      grid: int = 100, data_seed: int = DEFAULT_SEED, cache: bool = True,
                      progress: bool = True) -> pd.DataFrame:
    """One row per (clip, seed, tau) of protocol (b) on the first ``clips`` held-out toy clips:
    the settings, the captions' and the oracle's values of every attribute, and the trajectory errors
    against the same seed's ``tau = 0`` (A) and ``tau = 1000`` (B) samples."""
    check_edit_kind(edit_kind, model)
    d = model.defaults.resolved(num_steps=num_steps, guidance_scale=guidance_scale)
    taus = grid_values(grid)
    settings = {"model": model.family, "protocol": "switching", "edit_kind": edit_kind,
                "guidance": d.guidance_scale, "steps": d.num_steps}
    rows = []
    for clip, (spec_a, spec_b) in enumerate(tqdm(_specs_and_edits(clips, edit_kind, data_seed),
                                                 desc=f"{model.family} prompt switching", disable=not progress)):
        caption_a, caption_b = world.caption(spec_a), world.caption(spec_b)
        noise_seeds = clip_seeds(clip, seeds)
        store = ResultCache("switching", {"version": CACHE_VERSION, "model": model.describe(), "a": caption_a,
                                          "b": caption_b, "seeds": noise_seeds, "taus": taus, "steps": d.num_steps,
                                          "guidance": d.guidance_scale}, enabled=cache)
        clip_rows = store.load_json("rows")
        if clip_rows is None:
            finals = switch_prompts(model, caption_a, caption_b, taus, noise_seeds,
                                    num_steps=d.num_steps, guidance_scale=d.guidance_scale)
            clip_rows = []
            for i, seed in enumerate(noise_seeds):
                readings = {tau: oracle.read(from_model_pixels(model.decode_latents(finals[tau][i:i + 1],
                                                                                    d.num_frames)))
                            for tau in taus}
                for tau, reading in readings.items():
                    clip_rows.append({"seed": seed, "tau": tau, **sample_row(reading, spec_a, spec_b),
                                      "trajectory_error_a_px": oracle.trajectory_error(reading, readings[0]),
                                      "trajectory_error_b_px": oracle.trajectory_error(reading, readings[max(taus)])})
            store.save_json("rows", clip_rows)
        rows += [{**settings, "clip": clip, "caption_a": caption_a, "caption_b": caption_b, **r} for r in clip_rows]
    return pd.DataFrame(rows)
