"""Sampling with a motion adapter applied only at steps ``t >= tau`` (the base model below)."""

from __future__ import annotations

import torch

from motionlib.customize.adapter import MotionAdapter
from motionlib.data.video_io import from_model_pixels
from motionlib.errors import ParameterError
from motionlib.models.base import VideoModel
from motionlib.sampling import Sample, ddim_schedule, denoise, initial_noise


def adapter_active_at(t: int, tau: int) -> bool:
    """The paper's inference rule: the adapter applies at sampling timesteps ``t >= tau``."""
    return t >= tau


def generate_customized(
    model: VideoModel,
    adapter: MotionAdapter,
    prompt: str,
    *,
    tau: int,
    num_samples: int = 1,
    seeds: list[int] | None = None,
    seed_base: int = 0,
    negative_prompt: str = "",
    num_frames: int | None = None,
    height: int | None = None,
    width: int | None = None,
    num_steps: int | None = None,
    guidance_scale: float | None = None,
    progress: bool = True,
) -> list[Sample]:
    """DDIM samples of ``prompt`` with the adapter on at steps ``t >= tau`` and the base model below.

    Sample ``i`` starts from the noise of ``seeds[i]`` (default ``seed_base + i``). The adapter's
    on/off state is restored afterwards.
    """
    if not (isinstance(tau, int) and 0 <= tau <= 1000):
        raise ParameterError(f"tau must be an integer timestep in [0, 1000], got {tau!r}")
    seeds = list(seeds) if seeds is not None else [seed_base + i for i in range(num_samples)]
    if len(seeds) != num_samples:
        raise ParameterError(f"got {len(seeds)} seeds for {num_samples} samples; give one seed per sample")
    d = model.defaults.resolved(num_frames, height, width, num_steps, guidance_scale)
    settings = dict(
        prompt=prompt, negative_prompt=negative_prompt, num_frames=d.num_frames, height=d.height,
        width=d.width, num_steps=d.num_steps, guidance_scale=d.guidance_scale,
        tau=tau, adapter=adapter.describe(),
    )
    steps = ddim_schedule(model, settings["num_steps"])
    embeds = model.encode_prompt(prompt, negative_prompt)
    samples = []
    with adapter.applied(adapter.active):  # restores the state on exit
        for seed in seeds:
            x = initial_noise(model, settings["num_frames"], settings["height"], settings["width"], seed)
            x = denoise(model, x, embeds, steps, settings["guidance_scale"], progress=progress,
                        desc=f"{model.family} customized",
                        before_step=lambda k, step: adapter.set_active(adapter_active_at(step.t, tau)))
            with torch.no_grad():
                pixels = model.decode_latents(x, settings["num_frames"])
            samples.append(Sample(from_model_pixels(pixels[0].cpu()), x.cpu(), dict(settings, seed=seed)))
    return samples
