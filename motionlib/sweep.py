"""The Fig. 1-2 experiment for one video: invert with ``c``, resample every prompt window with ``c'``,
score each result against the original.

For a video ``x0`` with caption ``c`` and edited caption ``c'``:

1. read ``x0`` at the model's resolution and encode it; DDIM-invert it with ``c``
   (:mod:`motionlib.inversion`);
2. resample every window of the grid from the inverted noise (:func:`motionlib.resampling.resample_windows`), and
   the no-edit reference :data:`~motionlib.windows.NO_EDIT` (``c`` at every step: the reconstruction
   ``x_rec``), which every sweep includes;
3. decode each result ``x''`` and score it: ``clip_change = CLIP(x'', c') - CLIP(x0, c')`` and
   ``flow_similarity(x0, x'')`` (:mod:`motionlib.metrics`); and relative to the reconstruction,
   ``clip_change_vs_no_edit = CLIP(x'', c') - CLIP(x_rec, c')`` and
   ``flow_similarity_vs_no_edit = flow_similarity(x_rec, x'')``, which separate the effect of ``c'``
   from inversion drift (the no-edit row itself scores 0 and its own flow similarity).
   ``flow_similarity`` is the paper's definition (:func:`motionlib.metrics.flow_similarity`,
   ``variant="paper"``); ``flow_similarity_robust`` is the robust variant, reported beside it.

The windows run step-synchronously (:func:`motionlib.resampling.resample_windows`): one batched
denoiser pass per step over every live latent, so they all finish at the last step. Inverted noise,
the state of every branch (every 10 steps, and when the run is interrupted with Ctrl-C), every
window's latents and every window's scores are cached under a key of all settings and the video's
content hash (:mod:`motionlib.cache`), so an interrupted sweep resumes from its last saved step and
a finished one is read back, not recomputed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from motionlib.cache import ResultCache, cache_key, content_hash
from motionlib.data import from_model_pixels, read_video, to_model_pixels
from motionlib.errors import ParameterError
from motionlib.inversion import invert, invertible_steps
from motionlib.models.base import VideoModel
from motionlib.resampling import SweepState, resample_windows, shared_evaluations
from motionlib.windows import NO_EDIT, NUM_TRAIN_TIMESTEPS, PromptWindow, grid_windows

CACHE_VERSION = 2  # bump when the computation changes, so old entries are not read
FLOW_METRIC = "lucas-kanade-v2"  # bump when flow_similarity's definition or defaults change


def _is_int(value, kind=int) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


@dataclass(frozen=True)
class SweepSettings:
    """Settings of one sweep; ``None`` means the model family's default."""

    num_steps: int | None = None
    grid: int = 100  # window grid interval in timesteps (100: the paper's 55 windows)
    guidance_scale: float | None = None  # classifier-free guidance while resampling
    inversion_guidance: float = 1.0  # 1: conditional on c, no CFG (the paper's inversion)
    fixed_point_iters: int = 0  # 0: plain DDIM inversion (see motionlib.inversion)
    relaxation: float = 1.0
    num_frames: int | None = None
    height: int | None = None
    width: int | None = None
    frame_sampling: str | int = "even"  # which frames of a longer clip (motionlib.data.video_io)
    batch_size: int | None = None  # latents per denoiser pass; None: every live latent (<= 56 on the paper's grid)

    def __post_init__(self) -> None:
        """Refuse out-of-range counts when the settings are built, before any model is loaded or video inverted."""
        for name, flag in (("num_steps", "--steps"), ("num_frames", "--frames"), ("height", "--height"),
                           ("width", "--width"), ("batch_size", "--batch-size")):
            value = getattr(self, name)
            if value is not None and not (_is_int(value) and value >= 1):
                what = (" (latents per denoiser pass; None, i.e. no --batch-size: every live latent in one pass)"
                        if name == "batch_size" else "")
                raise ParameterError(f"{name} ({flag}) must be a positive integer{what}, got {value!r}")
        if not (_is_int(self.fixed_point_iters, Integral) and self.fixed_point_iters >= 0):
            raise ParameterError(f"fixed_point_iters (--fixed-point-iters) must be an integer >= 0 (0: plain DDIM "
                                 f"inversion), got {self.fixed_point_iters!r}")
        if not (_is_int(self.grid, Integral) and self.grid >= 1 and NUM_TRAIN_TIMESTEPS % self.grid == 0):
            raise ParameterError(f"grid (--grid) must be a positive divisor of {NUM_TRAIN_TIMESTEPS} (the window "
                                 f"grid interval, e.g. 50, 100, 200, 250), got {self.grid!r}")
        if self.guidance_scale is not None and not (isinstance(self.guidance_scale, (int, float))
                                                    and 0 <= self.guidance_scale < float("inf")):
            raise ParameterError(f"guidance_scale (--guidance) must be a finite number >= 0 (1: no classifier-free "
                                 f"guidance), got {self.guidance_scale!r}")
        if not (isinstance(self.inversion_guidance, (int, float)) and 0 <= self.inversion_guidance < float("inf")):
            raise ParameterError(f"inversion_guidance (--inversion-guidance) must be a finite number >= 0 "
                                 f"(1: c only, no guidance), got {self.inversion_guidance!r}")

    def resolve(self, model: VideoModel) -> SweepSettings:
        d = model.defaults.resolved(self.num_frames, self.height, self.width, self.num_steps, self.guidance_scale)
        return replace(self, num_steps=d.num_steps, guidance_scale=d.guidance_scale,
                       num_frames=d.num_frames, height=d.height, width=d.width)


@dataclass
class SweepResult:
    """Tidy rows (one per window), denoiser evaluation counts, and decoded videos if asked for."""

    rows: pd.DataFrame
    counts: dict
    source_video: np.ndarray
    videos: dict[PromptWindow, np.ndarray] = field(default_factory=dict)


def _decode(model: VideoModel, latents: torch.Tensor, num_frames: int) -> np.ndarray:
    with torch.no_grad():
        return from_model_pixels(model.decode_latents(latents.to(model.device), num_frames))


def _window_name(w: PromptWindow) -> str:
    return f"w{w.tau_start:04d}-{w.tau_end:04d}"


def run_sweep(
    model: VideoModel,
    video: str | Path | np.ndarray,
    caption: str,
    edit: str,
    scorer,
    *,
    name: str = "",
    edit_kind: str = "object",
    settings: SweepSettings = SweepSettings(),
    windows: list[PromptWindow] | None = None,
    cache: bool = True,
    keep_videos: bool = False,
    progress: bool = True,
) -> SweepResult:
    """Sweep ``windows`` (default: the whole grid) and the no-edit reference for one video; see the module doc.

    ``video`` is a path (read at the model's resolution) or an ``(F, H, W, 3)`` uint8 array.
    ``scorer`` is a :class:`motionlib.metrics.ClipScorer`. The rows (and ``videos``) start with
    :data:`~motionlib.windows.NO_EDIT`, added when ``windows`` lacks it.
    """
    from motionlib.metrics import flow_similarity

    s = settings.resolve(model)
    if isinstance(video, np.ndarray):
        x0 = video
    else:
        x0 = read_video(video, s.num_frames, (s.height, s.width), s.frame_sampling)
        name = name or Path(video).stem
    windows = windows if windows is not None else grid_windows(s.grid)
    windows = [NO_EDIT] + [w for w in windows if w != NO_EDIT]
    store = ResultCache("sweep", {
        "version": CACHE_VERSION, "model": model.describe(), "video_sha": content_hash(x0),
        "caption": caption, "edit": edit, **result_settings(s),
    }, enabled=cache)
    steps = invertible_steps(model, s.num_steps)
    cond, edited = model.encode_prompt(caption), model.encode_prompt(edit)

    noise = (store.load_tensors("inversion") or {}).get("noise")
    if noise is None:
        latents = model.encode_video(to_model_pixels(x0))
        noise = invert(model, latents, cond, s.num_steps, guidance_scale=s.inversion_guidance,
                       fixed_point_iters=s.fixed_point_iters, relaxation=s.relaxation,
                       progress=progress).noise
        store.save_tensors("inversion", {"noise": noise})

    finals = {w: t["latents"] for w in windows if (t := store.load_tensors(_window_name(w)))}
    todo = [w for w in windows if w not in finals]
    counts = {"evaluations": 0, "passes": 0, "naive": len(windows) * len(steps),
              "shared_formula": shared_evaluations(windows, steps), "steps": len(steps),
              "windows": len(windows), "windows_from_cache": len(finals)}
    if todo:
        progress_name = "progress-" + cache_key({"windows": [_window_name(w) for w in todo]})
        saved = store.load_tensors(progress_name)
        resume = None if saved is None else SweepState(int(saved.pop("step")), saved)
        computed, run_counts = resample_windows(
            model, noise, steps, cond, edited, todo, s.guidance_scale, batch_size=s.batch_size, resume=resume,
            on_checkpoint=lambda state: store.save_tensors(progress_name, {
                "step": torch.tensor(state.step), **{k: v.clone() for k, v in state.states.items()}}),
            progress=progress)
        for w in todo:
            store.save_tensors(_window_name(w), {"latents": computed[w]})
        store.remove(f"{progress_name}.safetensors")
        finals.update(computed)
        counts.update(evaluations=run_counts["evaluations"], passes=run_counts["passes"],
                      resumed_at_step=resume.step if resume else 0)

    score_key = "scores-" + cache_key({"clip": scorer.describe(), "flow": FLOW_METRIC})
    scores = store.load_json(score_key) or {}
    source_clip = scorer.score(x0, edit)
    rows, videos = [], {}
    x_rec = None  # the no-edit reconstruction, decoded only if a score or a video needs it
    for w in tqdm(windows, desc="scoring", disable=not progress, leave=False):
        key = _window_name(w)
        if "flow_vs_no_edit" not in scores.get(key, {}) or keep_videos:
            if x_rec is None:
                x_rec = _decode(model, finals[NO_EDIT], s.num_frames)
            x2 = x_rec if w == NO_EDIT else _decode(model, finals[w], s.num_frames)
            if keep_videos:
                videos[w] = x2
        if "flow_vs_no_edit" not in scores.get(key, {}):
            scores[key] = {"clip_edit": scorer.score(x2, edit), "flow_similarity": flow_similarity(x0, x2),
                           "flow_robust": flow_similarity(x0, x2, variant="robust"),
                           "flow_vs_no_edit": flow_similarity(x_rec, x2)}
            store.save_json(score_key, scores)
        k_s, k_e = w.step_range(steps)
        clip_edit = scores[key]["clip_edit"]
        rows.append({
            "model": model.family, "source": model.source, "video": name, "edit_kind": edit_kind,
            "tau_start": w.tau_start, "tau_end": w.tau_end, "edit_steps": k_e - k_s,
            "clip_change": clip_edit - source_clip, "clip_edit": clip_edit, "clip_source": source_clip,
            "flow_similarity": scores[key]["flow_similarity"], "flow_similarity_robust": scores[key]["flow_robust"],
            "clip_change_vs_no_edit": clip_edit - scores[_window_name(NO_EDIT)]["clip_edit"],
            "flow_similarity_vs_no_edit": scores[key]["flow_vs_no_edit"],
            "num_steps": s.num_steps, "guidance_scale": s.guidance_scale,
            "inversion_guidance": s.inversion_guidance, "caption": caption, "edit": edit,
        })
    return SweepResult(pd.DataFrame(rows), counts, x0, videos)


def result_settings(settings: SweepSettings) -> dict:
    """The settings that determine a sweep's results, for its cache key: all but ``batch_size``, which
    changes only how the latents are grouped into passes (rounding, tested within 1e-4), so sweeps
    at any batch size read each other's windows."""
    fields = asdict(settings)
    del fields["batch_size"]
    return fields


def settings_record(settings: SweepSettings, model: VideoModel) -> dict:
    """The resolved settings as a plain dict, for provenance records."""
    return asdict(settings.resolve(model))


def run_videos(model: VideoModel, items, scorer, *, edit_kind: str = "object",
               settings: SweepSettings = SweepSettings(), cache: bool = True, progress: bool = True,
               executor: str = "serial", address: str | None = None,
               num_gpus: float | None = None, num_cpus: int | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """:func:`run_sweep` over dataset ``items`` (``VideoItem``) with their ``edit_kind`` captions.

    Returns all rows and each video's evaluation counts. Each finished video stays cached, so a
    stopped run over many videos resumes at the video (and window) where it stopped.
    ``executor="ray"`` runs one task per video (:mod:`motionlib.executors`; ``address`` joins a
    cluster, ``num_gpus`` per task defaults to 1 for a model on a GPU, ``num_cpus`` as in
    :func:`~motionlib.executors.run_units`); the rows are the serial run's.
    """
    from motionlib.executors import Unit, gpus_per_unit, run_units
    from motionlib.models.loading import model_spec

    desc = f"{model.family} videos"
    if executor == "serial":
        results = [sweep_unit(None, item, edit_kind, settings, cache, progress, model=model, scorer=scorer)
                   for item in tqdm(items, desc=desc, disable=not progress)]
    else:
        if not cache:
            raise ParameterError("the ray executor hands results back through the cache: keep cache=True")
        spec = model_spec(model)
        units = [Unit(item.name, sweep_unit, dict(spec=spec, item=item, edit_kind=edit_kind, settings=settings))
                 for item in items]
        results = run_units(units, executor, shared={"scorer": scorer}, address=address,
                            num_gpus=gpus_per_unit(model.device, num_gpus), num_cpus=num_cpus, progress=progress,
                            desc=desc)
    return pd.concat([r for r, _ in results], ignore_index=True), [c for _, c in results]


def sweep_unit(spec: dict | None, item, edit_kind: str, settings: SweepSettings, cache: bool = True,
               progress: bool = False, *, scorer, model: VideoModel | None = None) -> tuple[pd.DataFrame, dict]:
    """One unit of Fig. 1-2: the sweep of one video (``model``, or loaded once per process from ``spec``)."""
    from motionlib.models.loading import load_model_once

    model = model if model is not None else load_model_once(**spec)
    result = run_sweep(model, item.path, item.caption, item.edit(edit_kind), scorer, name=item.name,
                       edit_kind=edit_kind, settings=settings, cache=cache, progress=progress)
    return result.rows, {"video": item.name, **result.counts}
