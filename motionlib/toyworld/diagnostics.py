"""Why a toy model draws its caption, or does not: three measurements of a trained model or recipe.

- :func:`text_influence`: when the model listens to each word. For clips noised to ``t`` and a caption
  pair that differs in one attribute, the relative change of the denoiser's output,
  ``||v(x_t, c) - v(x_t, c')|| / ||v(x_t, c)||`` (``v`` the model's own prediction, noise or velocity;
  the same fixed noise for both captions). The row ``attribute = "caption"`` sets ``c'`` to the empty
  caption (the unconditional branch): all the text can do at that ``t``, the ceiling of the others.
  Relative changes compare attributes and timesteps within one family; across families the
  predictions differ in kind (noise or velocity), so compare shapes, not levels.
- :func:`loss_by_timestep`: the model's training loss (its own objective: MSE to the noise or to the
  velocity) on held-out clips, per bucket of ``t``, with the relative error of its clean-latent
  estimate ``||x0_hat - x0||^2 / ||x0||^2``, which means the same for every family.
- :func:`overfit`: can a fresh denoiser of the family's toy recipe fit a few clips? The shipped
  model's VAE and text encoder, a new denoiser (``components.denoiser``), the family's training loop
  on ``clips`` clips only; its loss curve against the shipped model's loss on the same clips.
- :func:`caption_memorization`: can a fresh denoiser learn what the direction word means on four clips
  that differ in nothing else ("a red square moves left / right / up / down on a gray background")?
  Trained as :func:`overfit` trains, it is sampled from fresh noise with each caption and the oracle
  reads the direction; its clean-latent estimate at t = 999 from noise is compared with each clip.
  A denoiser that cannot reproduce four captioned clips cannot learn the word from thousands.

- :func:`latent_share`: how much of a clip's latent each attribute is. The same clip rendered with
  one attribute changed (and as a circle and as a square, ``"square_vs_circle"``), encoded by the
  model's VAE: ``||z(c') - z(c)|| / ||z(c)||``. The denoiser's squared loss weighs getting an
  attribute wrong by about the square of this.

The VAE's ceiling per attribute is :func:`motionlib.toyworld.quality.reconstruction_quality`'s
``"vae"`` rows (the oracle reading decode(encode(clip))).

Every function is deterministic given its seed and returns tidy rows; :func:`summarise` gives each
group's mean with a 95% bootstrap interval over clips.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from motionlib import families
from motionlib.data import to_model_pixels
from motionlib.models.base import PromptEmbeds, VideoModel
from motionlib.sampling import split_prediction
from motionlib.toyworld import world

ATTRIBUTES = ("colour", "shape", "texture", "background", "direction")
TIMESTEPS = (999, 900, 800, 700, 600, 500, 400, 300, 200, 100, 20)


def held_out_specs(n: int, seed: int) -> list[world.ClipSpec]:
    """``n`` clips of held-out combinations (no toy model trained on them)."""
    return world.sample_specs(n, seed, split="held_out")


def _noised(model: VideoModel, x0: torch.Tensor, t: int, noise: torch.Tensor) -> torch.Tensor:
    a = float(model.alphas_cumprod[t])
    return a**0.5 * x0 + (1 - a) ** 0.5 * noise


@torch.no_grad()
def text_influence(model: VideoModel, clips: int = 16, *, timesteps=TIMESTEPS, attributes=ATTRIBUTES,
                   seed: int = 0, progress: bool = True) -> pd.DataFrame:
    """One row per (clip, attribute, t): ``relative_change`` as in the module doc."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, spec in enumerate(tqdm(held_out_specs(clips, seed), desc=f"{model.family} text influence",
                                  disable=not progress)):
        x0 = model.encode_video(to_model_pixels(world.render(spec)))
        noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed * 1000 + i))
        captions = {"none": world.caption(spec), "caption": ""}
        for attribute in attributes:
            changed = replace(spec, **{attribute: world.other_value(attribute, getattr(spec, attribute), rng)})
            captions[attribute] = world.caption(changed)
        embeds = PromptEmbeds.stack([model.encode_prompt(c) for c in captions.values()])  # a caption per row
        for t in timesteps:
            out = model.predict(_noised(model, x0, t, noise).expand(len(captions), *x0.shape[1:]), t, embeds)
            base = out[0]
            for k, attribute in enumerate(captions):
                if attribute == "none":
                    continue
                rows.append({"model": model.family, "source": model.source, "clip": i, "attribute": attribute,
                             "t": t, "relative_change": float((out[k] - base).norm() / base.norm()),
                             "caption": captions["none"], "other": captions[attribute]})
    return pd.DataFrame(rows)


@torch.no_grad()
def latent_share(model: VideoModel, clips: int = 48, *, attributes=ATTRIBUTES, seed: int = 0,
                 progress: bool = True) -> pd.DataFrame:
    """One row per (clip, change): ``latent_change`` and ``pixel_change`` (the same ratio on the
    clip's pixels in [0, 1]) as in the module doc. Clips are training clips (what the loss sees);
    a changed direction keeps the start and speed."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, spec in enumerate(tqdm(world.sample_specs(clips, seed), desc=f"{model.family} latent share",
                                  disable=not progress)):
        changes = {a: replace(spec, **{a: world.other_value(a, getattr(spec, a), rng)}) for a in attributes}
        changes["square_vs_circle"] = replace(spec, shape="square")
        videos = {"none": world.render(spec), "circle": world.render(replace(spec, shape="circle"))}
        videos.update({k: world.render(v) for k, v in changes.items()})
        latents = {k: model.encode_video(to_model_pixels(v)) for k, v in videos.items()}
        for change in changes:
            ref = "circle" if change == "square_vs_circle" else "none"
            pixels = videos[ref].astype(np.float64) / 255
            rows.append({"model": model.family, "source": model.source, "clip": i, "change": change,
                         "latent_change": float((latents[change] - latents[ref]).norm() / latents[ref].norm()),
                         "pixel_change": float(np.linalg.norm(videos[change] / 255 - pixels) / np.linalg.norm(pixels)),
                         "caption": world.caption(spec)})
    return pd.DataFrame(rows)


@torch.no_grad()
def loss_by_timestep(model: VideoModel, clips: int = 32, *, buckets: int = 10, draws: int = 2, seed: int = 0,
                     progress: bool = True) -> pd.DataFrame:
    """One row per (clip, draw, bucket): the loss at a ``t`` drawn uniformly in the bucket."""
    generator = torch.Generator().manual_seed(seed)
    n = model.num_train_timesteps
    edges = np.linspace(0, n, buckets + 1).astype(int)
    rows = []
    for i, spec in enumerate(tqdm(held_out_specs(clips, seed), desc=f"{model.family} loss by t",
                                  disable=not progress)):
        x0 = model.encode_video(to_model_pixels(world.render(spec)))
        embeds = model.encode_prompt(world.caption(spec))
        for draw in range(draws):
            for lo, hi in zip(edges[:-1], edges[1:]):
                t = int(torch.randint(int(lo), int(hi), (1,), generator=generator))
                loss, x0_error = loss_at(model, x0, t, torch.randn(x0.shape, generator=generator), embeds)
                rows.append({"model": model.family, "source": model.source, "clip": i, "draw": draw,
                             "bucket": f"{lo}-{hi - 1}", "t": t, "loss": loss, "x0_relative_error": x0_error})
    return pd.DataFrame(rows)


@torch.no_grad()
def loss_at(model: VideoModel, x0: torch.Tensor, t: int, noise: torch.Tensor, embeds: PromptEmbeds) -> tuple[float, float]:
    """``(training loss, ||x0_hat - x0||^2 / ||x0||^2)`` of one clean latent ``x0`` ``(1, ...)`` noised to ``t``."""
    a = float(model.alphas_cumprod[t])
    x_t = _noised(model, x0, t, noise)
    out = model.predict(x_t, t, embeds)
    target = noise if model.prediction_type == "epsilon" else a**0.5 * noise - (1 - a) ** 0.5 * x0
    x0_hat, _ = split_prediction(x_t, out, a, model.prediction_type)
    return float(((out - target) ** 2).mean()), float(((x0_hat - x0) ** 2).sum() / (x0**2).sum())


def overfit(model: VideoModel, clips: int = 4, steps: int = 300, *, seed: int = 0, progress: bool = True) -> dict:
    """Train a fresh denoiser of ``model``'s family (the toy recipe's architecture and loop) on
    ``clips`` training clips, with ``model``'s VAE and text encoder; ``model`` itself is not changed.

    Returns ``{"clips", "steps", "loss_curve": [[step, mean loss], ...], "first_loss", "final_loss",
    "shipped_loss"}``: ``shipped_loss`` is ``model``'s own loss on the same clips and draws.
    """
    from motionlib.toyworld.training import TrainSettings, encode_pool, train_denoiser

    settings = TrainSettings(model.family, seed=seed, steps=steps, warmup=min(50, steps), batch=min(16, 4 * clips),
                             checkpoint_every=steps, pool=clips)
    specs = world.sample_specs(clips, seed, split="train")
    videos = np.stack([world.render(s) for s in specs])
    captions = [world.caption(s) for s in specs]
    fresh = _with_fresh_denoiser(model, seed)
    latents = encode_pool(fresh, videos)
    shipped = _mean_loss(model, latents, captions, seed)
    with tempfile.TemporaryDirectory() as work:
        record = train_denoiser(fresh, latents, captions, settings, Path(work), progress)
    curve = record["loss_curve"]
    return {"model": model.family, "clips": clips, "steps": steps, "loss_curve": curve,
            "first_loss": curve[0][1], "final_loss": curve[-1][1], "final_loss_ema": _mean_loss(fresh, latents, captions, seed),
            "shipped_loss": shipped}


MEMORIZED_CAPTION = "a red square moves {} on a gray background"


def caption_memorization(model: VideoModel, steps: int = 400, *, samples: int = 4, seed: int = 0,
                         progress: bool = True) -> dict:
    """Train a fresh denoiser of ``model``'s family (as :func:`overfit`: ``model``'s VAE, text encoder and
    schedule, the toy recipe's loop) on four clips, one per direction, of :data:`MEMORIZED_CAPTION`
    (start and speed drawn as the world draws them, from ``seed``); ``model`` itself is not changed.

    Returns ``{"rows", "accuracy", "distance", "directions", "steps", "final_loss"}``: ``rows`` one per
    (direction, sample) with the oracle's reading of the sample drawn at guidance 1 (25 DDIM steps, the
    noise of seeds ``0 .. samples - 1``); ``accuracy`` the share read as the captioned direction (chance
    0.25); ``distance[i][j]`` the mean over those noises of ``||x0_hat - x0_j|| / ||x0_j||``, ``x0_hat`` the
    clean-latent estimate at t = 999 from the noise alone under caption ``i``, ``x0_j`` clip ``j``'s latents
    (a model that learned the word: small on the diagonal, about 1 off it)."""
    from motionlib.sampling import initial_noise
    from motionlib.toyworld import oracle
    from motionlib.toyworld.quality import sample_batch
    from motionlib.toyworld.training import TrainSettings, encode_pool, train_denoiser

    directions = list(world.DIRECTIONS)
    captions = [MEMORIZED_CAPTION.format(d) for d in directions]
    videos = np.stack([world.render(world.spec_from_caption(c, seed=seed)) for c in captions])
    settings = TrainSettings(model.family, seed=seed, steps=steps, warmup=min(50, steps), batch=16,
                             checkpoint_every=steps, pool=len(captions), direction_free=0.0)
    fresh = _with_fresh_denoiser(model, seed)
    latents = encode_pool(fresh, videos)
    with tempfile.TemporaryDirectory() as work:
        record = train_denoiser(fresh, latents, captions, settings, Path(work), progress)
    d = fresh.defaults
    t = fresh.num_train_timesteps - 1
    a = float(fresh.alphas_cumprod[t])
    rows, distance = [], np.zeros((len(captions), len(captions)))
    for i, (direction, caption) in enumerate(zip(directions, captions)):
        seeds = list(range(samples))
        for s, video in zip(seeds, sample_batch(fresh, caption, seeds, guidance_scale=1.0, num_steps=25)):
            rows.append({"model": model.family, "source": model.source, "direction": direction, "seed": s,
                         "read": oracle.read(video).attributes()["direction"]})
        embeds = fresh.encode_prompt(caption)
        for s in seeds:
            noise = initial_noise(fresh, d.num_frames, d.height, d.width, s)
            x0_hat, _ = split_prediction(noise, fresh.predict(noise, t, embeds), a, fresh.prediction_type)
            distance[i] += [float((x0_hat - x0).norm() / x0.norm()) / samples for x0 in latents.split(1)]
    rows = pd.DataFrame(rows)
    return {"rows": rows, "accuracy": float((rows["read"] == rows["direction"]).mean()),
            "distance": distance.round(3).tolist(), "directions": directions, "steps": steps,
            "final_loss": record["loss_curve"][-1][1]}


def _with_fresh_denoiser(model: VideoModel, seed: int) -> VideoModel:
    """A copy of ``model`` with a new denoiser of its family's toy recipe (seeded), sized as ``model``'s
    (latent channels, patch size); ``model`` itself is not changed."""
    from motionlib.toyworld import components

    fresh = copy.deepcopy(model)
    torch.manual_seed(seed)
    config = model.denoiser.config
    _replace_denoiser(fresh, components.denoiser(model.family, config.in_channels,
                                                 config.get("patch_size") or components.PATCH_SIZE))
    return fresh


def _replace_denoiser(model: VideoModel, denoiser: torch.nn.Module) -> None:
    """Put ``denoiser`` in ``model`` and its pipeline (under the family's ``denoiser_key``), frozen as
    inference weights."""
    denoiser.requires_grad_(False)
    setattr(model.pipeline, families.get(model.family).denoiser_key, denoiser)
    model.denoiser = denoiser


@torch.no_grad()
def _mean_loss(model: VideoModel, latents: torch.Tensor, captions: list[str], seed: int, draws: int = 64) -> float:
    """The training loss of ``model`` on ``latents`` averaged over ``draws`` seeded (clip, t, noise) draws."""
    from motionlib.customize import diffusion_loss

    generator = torch.Generator().manual_seed(seed + 7)
    losses = []
    for _ in range(draws):
        i = int(torch.randint(len(latents), (1,), generator=generator))
        t = torch.randint(0, model.num_train_timesteps, (1,), generator=generator)
        noise = torch.randn(latents[i : i + 1].shape, generator=generator)
        losses.append(float(diffusion_loss(model, latents[i : i + 1], t, noise, model.encode_prompt(captions[i]))))
    return float(np.mean(losses))


def summarise(rows: pd.DataFrame, value: str, by: list[str]) -> pd.DataFrame:
    """Mean of ``value`` per ``by`` group with a 95% bootstrap interval over clips (a clip's rows are
    averaged first) and the number of clips."""
    from motionlib.analysis import bootstrap_ci

    out = []
    for key, group in rows.groupby(by, sort=False):
        per_clip = group.groupby("clip")[value].mean()
        lo, hi = bootstrap_ci(per_clip.to_numpy())
        out.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), value: float(per_clip.mean()),
                    "ci_low": lo, "ci_high": hi, "clips": len(per_clip)})
    return pd.DataFrame(out)
