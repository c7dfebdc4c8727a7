"""Deterministic DDIM sampling over any :class:`~motionlib.models.VideoModel`.

The update is diffusers' DDIM step with ``eta = 0``, written as a pure function so that sampling,
inversion and the prompt-window sweep share one definition:

    x0  = prediction -> clean-latent estimate       (epsilon: (x - sqrt(1-a) e) / sqrt(a);
    eps = prediction -> noise estimate               v: sqrt(a) x - sqrt(1-a) v, eps = sqrt(a) v + sqrt(1-a) x)
    x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev) eps

``a`` is alpha-bar at the step's timestep ``t`` and ``a_prev`` alpha-bar at
``t - num_train_timesteps // num_steps`` (or the scheduler's final alpha-bar below 0), exactly the
pairing diffusers' DDIM schedulers use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from motionlib.errors import ParameterError
from motionlib.models.base import PromptEmbeds, VideoModel


@dataclass(frozen=True)
class DDIMStep:
    """One sampling step from timestep ``t`` (alpha-bar ``alpha``) to ``prev_t`` (``alpha_prev``)."""

    t: int
    prev_t: int  # negative after the last step
    alpha: float
    alpha_prev: float


def ddim_schedule(model: VideoModel, num_steps: int) -> list[DDIMStep]:
    """The ``num_steps`` DDIM steps of ``model``'s sampler, noisiest first."""
    if not (isinstance(num_steps, int) and 1 <= num_steps <= model.num_train_timesteps):
        raise ParameterError(f"num_steps (--steps) must be an integer from 1 to {model.num_train_timesteps} "
                             f"(the training timesteps), got {num_steps!r}")
    alphas = model.alphas_cumprod
    stride = model.num_train_timesteps // num_steps
    steps = []
    for t in model.sampling_timesteps(num_steps):
        prev_t = t - stride
        alpha_prev = float(alphas[prev_t]) if prev_t >= 0 else model.final_alpha_cumprod
        steps.append(DDIMStep(t, prev_t, float(alphas[t]), alpha_prev))
    return steps


def split_prediction(
    sample: torch.Tensor, output: torch.Tensor, alpha: float, prediction_type: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Denoiser output at alpha-bar ``alpha`` -> ``(x0, eps)`` estimates."""
    a, b = alpha**0.5, (1.0 - alpha) ** 0.5
    if prediction_type == "epsilon":
        return (sample - b * output) / a, output
    if prediction_type == "v_prediction":
        return a * sample - b * output, a * output + b * sample
    raise ValueError(f"unsupported prediction type {prediction_type!r}")


def ddim_step(sample, output, alpha: float, alpha_prev: float, prediction_type: str) -> torch.Tensor:
    """One deterministic DDIM update from alpha-bar ``alpha`` to ``alpha_prev``."""
    x0, eps = split_prediction(sample, output, alpha, prediction_type)
    return alpha_prev**0.5 * x0 + (1.0 - alpha_prev) ** 0.5 * eps


def initial_noise(model: VideoModel, num_frames: int, height: int, width: int, seed: int, batch: int = 1):
    """Standard normal latents drawn on the CPU from ``seed`` (identical on every device)."""
    generator = torch.Generator("cpu").manual_seed(seed)
    shape = model.latent_shape(batch, num_frames, height, width)
    return torch.randn(shape, generator=generator, dtype=torch.float32)


def sample_step(model: VideoModel, x: torch.Tensor, step: DDIMStep, embeds: PromptEmbeds, guidance_scale: float,
                update=ddim_step) -> torch.Tensor:
    """Predict at ``step.t`` (with classifier-free guidance) and apply ``update`` (default: one DDIM step;
    inversion passes its inverse). Every sampling loop in motionlib goes through here."""
    out = model.predict(x, step.t, embeds, guidance_scale)
    return update(x, out, step.alpha, step.alpha_prev, model.prediction_type)


StepHook = Callable[[int, DDIMStep], "PromptEmbeds | None"]


@torch.no_grad()
def denoise(
    model: VideoModel,
    latents: torch.Tensor,
    embeds: PromptEmbeds,
    steps: list[DDIMStep],
    guidance_scale: float,
    *,
    before_step: StepHook | None = None,
    progress: bool = False,
    desc: str | None = None,
) -> torch.Tensor:
    """Run ``steps`` from ``latents`` (float32, model layout); returns float32.

    ``before_step(k, step)``, if given, runs before step ``k``: it may switch state (a customization
    adapter on or off) and may return the embeddings for that step (a prompt window's ``c'``);
    ``None`` keeps ``embeds``.
    """
    x = latents.float().to(model.device)
    for k, step in enumerate(tqdm(steps, desc=desc or f"{model.family} DDIM", disable=not progress, leave=False)):
        chosen = before_step(k, step) if before_step is not None else None
        x = sample_step(model, x, step, embeds if chosen is None else chosen, guidance_scale)
    return x


@dataclass
class Sample:
    """A generated video: ``video`` uint8 ``(F, H, W, 3)``, its final ``latents`` and settings."""

    video: np.ndarray
    latents: torch.Tensor
    settings: dict


def generate(
    model: VideoModel,
    prompt: str,
    *,
    num_frames: int | None = None,
    height: int | None = None,
    width: int | None = None,
    num_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int = 0,
    negative_prompt: str = "",
    progress: bool = True,
) -> Sample:
    """Text-to-video sample with the family defaults for anything not given."""
    from motionlib.data import from_model_pixels

    d = model.defaults.resolved(num_frames, height, width, num_steps, guidance_scale)
    settings = dict(
        prompt=prompt, negative_prompt=negative_prompt, num_frames=d.num_frames, height=d.height,
        width=d.width, num_steps=d.num_steps, guidance_scale=d.guidance_scale, seed=seed,
    )
    noise = initial_noise(model, settings["num_frames"], settings["height"], settings["width"], seed)
    steps = ddim_schedule(model, settings["num_steps"])
    embeds = model.encode_prompt(prompt, negative_prompt)
    latents = denoise(model, noise, embeds, steps, settings["guidance_scale"], progress=progress)
    pixels = model.decode_latents(latents, settings["num_frames"])
    return Sample(from_model_pixels(pixels[0].cpu()), latents.cpu(), settings)
