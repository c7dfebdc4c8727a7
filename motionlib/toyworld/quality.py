"""How good the toy models are, measured against the world's truth by the oracle.

- :func:`generation_quality`: sample each held-out combination's caption (or training ones) and read
  the videos back; one row per sample with the truth, the reading and whether each attribute matches.
- :func:`reconstruction_quality`: DDIM-invert world clips with their caption and resample them with
  the same caption (the sweep's no-edit reference) with and without guidance in either pass; PSNR
  and flow similarity against the clip, oracle agreement, and the VAE's own round trip as the ceiling.
- :func:`clip_ranking`: for frames of held-out clips, the rank of the true caption among the captions
  of every appearance (same motion words) under a CLIP scorer.
- :func:`oracle_accuracy`: the oracle on rendered clips (its own accuracy).
- :func:`flow_metric_check`: both readings of the paper's flow similarity
  (:func:`motionlib.metrics.flow_similarity`) on rendered clip pairs whose true motions are known.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from motionlib.data import from_model_pixels, to_model_pixels
from motionlib.inversion import invert
from motionlib.models.base import VideoModel
from motionlib.sampling import ddim_schedule, denoise, initial_noise
from motionlib.toyworld import oracle, world

ATTRIBUTES = ("colour", "shape", "texture", "background", "direction", "path")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 videos of the same shape."""
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def compare(truth: world.ClipSpec | dict, reading: oracle.Reading) -> dict:
    """``{"<attr>_read": value, "<attr>_ok": bool}`` for every attribute, plus the measured speed and
    the silhouette's fill of its bounding box (what tells a square from a circle)."""
    truth = truth.as_dict() if isinstance(truth, world.ClipSpec) else truth
    row = {"found": reading.found, "speed_read": reading.speed, "fill_read": reading.fill}
    for attribute, value in reading.attributes().items():
        row[f"{attribute}_read"] = value
        row[f"{attribute}_ok"] = value == truth[attribute]
    return row


@torch.no_grad()
def sample_batch(model: VideoModel, prompt: str, seeds: list[int], *, guidance_scale: float | None = None,
                 num_steps: int | None = None) -> list[np.ndarray]:
    """One video per seed for ``prompt`` (the noise of seed ``s`` is :func:`initial_noise`'s)."""
    d = model.defaults
    noise = torch.cat([initial_noise(model, d.num_frames, d.height, d.width, s) for s in seeds])
    embeds = model.encode_prompt(prompt)
    g = d.guidance_scale if guidance_scale is None else guidance_scale
    latents = denoise(model, noise, embeds, ddim_schedule(model, num_steps or d.num_steps), g)
    return [from_model_pixels(model.decode_latents(latents[i:i + 1], d.num_frames)) for i in range(len(seeds))]


def generation_quality(model: VideoModel, combinations=None, samples: int = 2, seed: int = 0, *,
                       guidance_scale: float | None = None, num_steps: int | None = None,
                       progress: bool = True) -> pd.DataFrame:
    """Sample ``samples`` videos of each combination's caption (default: every held-out one, straight
    path) with seeds ``seed, seed + 1, ...`` and read them with the oracle. Each row's ``held_out``
    says whether its combination is held out (compare with :func:`world.training_combinations`)."""
    combos = sorted(world.held_out_combinations()) if combinations is None else list(combinations)
    held = world.held_out_combinations()
    rows = []
    for combo in tqdm(combos, desc=f"{model.family} generation", disable=not progress):
        truth = world.ClipSpec(*combo)
        prompt = world.caption(truth)
        seeds = list(range(seed, seed + samples))
        videos = sample_batch(model, prompt, seeds, guidance_scale=guidance_scale, num_steps=num_steps)
        for s, video in zip(seeds, videos):
            rows.append({"model": model.family, "source": model.source, "prompt": prompt, "seed": s,
                         "held_out": tuple(combo) in held,
                         **{k: getattr(truth, k) for k in ATTRIBUTES}, **compare(truth, oracle.read(video))})
    return pd.DataFrame(rows)


RECONSTRUCTION_GUIDANCE = ((1.0, 1.0), (1.0, None), (None, None))  # (inversion, resampling); None: family's


@torch.no_grad()
def reconstruction_quality(model: VideoModel, specs: list[world.ClipSpec], *,
                           guidance=RECONSTRUCTION_GUIDANCE, num_steps: int | None = None,
                           progress: bool = True) -> pd.DataFrame:
    """The no-edit reference of the sweep (invert with the caption, resample with the same caption)
    for each clip and each ``(inversion guidance, resampling guidance)`` of ``guidance`` (None: the
    family's); plus ``"vae"``: decode(encode(clip)), the ceiling. PSNR against the clip, both flow
    similarities against it, and the oracle's reading."""
    from motionlib.metrics import FLOW_VARIANTS, flow_similarity

    d = model.defaults
    n = num_steps or d.num_steps
    rows = []
    for i, spec in enumerate(tqdm(specs, desc=f"{model.family} reconstruction", disable=not progress)):
        video = world.render(spec)
        truth = oracle.read(video)
        cond = model.encode_prompt(world.caption(spec))
        latents = model.encode_video(to_model_pixels(video))
        outputs = {("vae", None, None): latents}
        inversions = {}
        for g_inv, g_res in guidance:
            g_inv = d.guidance_scale if g_inv is None else g_inv
            g_res = d.guidance_scale if g_res is None else g_res
            if g_inv not in inversions:
                inversions[g_inv] = invert(model, latents, cond, n, guidance_scale=g_inv, progress=False)
            inv = inversions[g_inv]
            outputs[(f"invert g {g_inv:g}, resample g {g_res:g}", g_inv, g_res)] = denoise(
                model, inv.noise, cond, inv.steps, g_res, progress=False)
        for (how, g_inv, g_res), lat in outputs.items():
            rec = from_model_pixels(model.decode_latents(lat, spec.num_frames))
            reading = oracle.read(rec)
            rows.append({"model": model.family, "clip": i, "caption": world.caption(spec), "how": how,
                         "inversion_guidance": g_inv, "guidance": g_res, "psnr_db": psnr(video, rec),
                         **{("flow_similarity" if v == "paper" else f"flow_similarity_{v}"): flow_similarity(video, rec, variant=v)
                            for v in FLOW_VARIANTS},
                         "trajectory_error_px": oracle.trajectory_error(truth, reading), **compare(spec, reading)})
    return pd.DataFrame(rows)


def appearance_captions(spec: world.ClipSpec) -> list[str]:
    """Captions of every (shape, colour, texture, background) with ``spec``'s motion words."""
    return [world.caption(world.ClipSpec(shape, colour, texture, background, spec.direction, spec.path))
            for shape, colour, texture, background in itertools.product(
                world.SHAPES, world.COLOURS, world.TEXTURES, world.BACKGROUNDS)]


@torch.no_grad()
def clip_ranking(scorer, specs: list[world.ClipSpec], progress: bool = True) -> pd.DataFrame:
    """Per clip: whether the true caption ranks first among :func:`appearance_captions` for each
    frame (``frame_top1``: the share of frames) and for the mean frame embedding (``clip_top1``)."""
    rows = []
    text_cache: dict[str, torch.Tensor] = {}
    for i, spec in enumerate(tqdm(specs, desc="CLIP ranking", disable=not progress)):
        captions = appearance_captions(spec)
        for c in captions:
            if c not in text_cache:
                text_cache[c] = scorer.text_embedding(c)
        texts = torch.stack([text_cache[c] for c in captions])
        frames = scorer.image_embeddings(world.render(spec))
        truth = captions.index(world.caption(spec))
        per_frame = (frames @ texts.T).argmax(dim=1)
        clip = (torch.nn.functional.normalize(frames.mean(0), dim=0) @ texts.T).argmax()
        best = world.parse_caption(captions[int(clip)])
        rows.append({"clip": i, "caption": world.caption(spec), "frame_top1": float((per_frame == truth).float().mean()),
                     "clip_top1": bool(clip == truth),
                     **{f"{a}_ok": best[a] == getattr(spec, a) for a in ("colour", "shape", "texture", "background")}})
    return pd.DataFrame(rows)


def oracle_accuracy(n: int = 1000, seed: int = 123, progress: bool = True) -> pd.DataFrame:
    """The oracle on ``n`` rendered clips of every combination and path: one row per clip."""
    rows = []
    for spec in tqdm(world.sample_specs(n, seed, "any", world.PATHS), desc="oracle", disable=not progress):
        reading = oracle.read(world.render(spec))
        rows.append({**spec.as_dict(), **compare(spec, reading),
                     "speed_error": reading.speed - spec.speed,
                     "trajectory_error_px": oracle.trajectory_error(reading, world.trajectory(spec))})
    return pd.DataFrame(rows)


FLOW_CHANGES = ("none", "appearance", "speed", "position", "path", "direction")


def _changed(spec: world.ClipSpec, change: str, rng: np.random.Generator) -> world.ClipSpec:
    """``spec`` with one kind of change (:data:`FLOW_CHANGES`); the start stays unless ``position``."""
    if change == "appearance":
        for attribute in rng.permutation(world.APPEARANCE)[: rng.integers(1, 3)]:
            spec = spec.with_attribute(str(attribute), world.other_value(str(attribute), getattr(spec, attribute), rng))
        return spec
    if change == "speed":
        return replace(spec, speed=float(rng.uniform(*world.SPEED_RANGE)))
    if change == "position":
        return replace(spec, start=world.random_start(spec.direction, spec.speed, rng))
    if change == "path":
        return replace(spec, path="straight" if spec.path == "zigzag" else "zigzag")
    if change == "direction":
        return spec.with_attribute("direction", world.other_value("direction", spec.direction, rng))
    return spec


def flow_metric_check(pairs: int = 300, seed: int = 7, progress: bool = True) -> pd.DataFrame:
    """Both flow-similarity variants on ``pairs`` rendered clip pairs ``(a, b)`` with known motion.

    ``b`` is ``a`` with one change drawn uniformly from :data:`FLOW_CHANGES`. The truth per pair:
    ``true_velocity_cosine``, the mean over frame pairs of the cosine between the two objects' true
    velocities, and ``trajectory_error_px``, the mean distance between their true centres.
    """
    from motionlib.metrics import FLOW_VARIANTS, flow_similarity

    rng = np.random.default_rng(seed)
    specs = world.sample_specs(pairs, seed, "any", world.PATHS)
    rows = []
    for a in tqdm(specs, desc="flow metric check", disable=not progress):
        change = FLOW_CHANGES[rng.integers(len(FLOW_CHANGES))]
        b = _changed(a, change, rng)
        va, vb = np.diff(world.trajectory(a), axis=0), np.diff(world.trajectory(b), axis=0)
        cos = (va * vb).sum(1) / (np.linalg.norm(va, axis=1) * np.linalg.norm(vb, axis=1))
        video_a, video_b = world.render(a), world.render(b)
        rows.append({"change": change, "caption_a": world.caption(a), "caption_b": world.caption(b),
                     "true_velocity_cosine": float(cos.mean()),
                     "trajectory_error_px": float(np.linalg.norm(world.trajectory(a) - world.trajectory(b), axis=1).mean()),
                     **{f"flow_{v}": flow_similarity(video_a, video_b, variant=v) for v in FLOW_VARIANTS}})
    return pd.DataFrame(rows)


def flow_metric_agreement(rows: pd.DataFrame) -> pd.DataFrame:
    """Spearman of each variant against each truth of :func:`flow_metric_check`, over all pairs."""
    from motionlib.toyworld.claim import spearman

    out = []
    for column in [c for c in rows if c.startswith("flow_")]:
        out.append({"variant": column.removeprefix("flow_"),
                    "spearman_vs_true_velocity_cosine": spearman(rows[column], rows["true_velocity_cosine"]),
                    "spearman_vs_minus_trajectory_error": spearman(rows[column], -rows["trajectory_error_px"]),
                    "pairs": len(rows)})
    return pd.DataFrame(out)


def accuracy_table(rows: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Mean of every ``<attr>_ok`` column (per ``by`` group), with the row count."""
    ok = [c for c in rows.columns if c.endswith("_ok")]
    if by:
        table = rows.groupby(by)[ok].mean()
        table["n"] = rows.groupby(by).size()
        return table.reset_index()
    return pd.DataFrame([{**rows[ok].mean().to_dict(), "n": len(rows)}])
