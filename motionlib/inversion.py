"""Deterministic DDIM inversion along the model's own sampler schedule.

Inversion runs the sampler's steps (:func:`motionlib.sampling.ddim_schedule`) backwards, from the
clean latents ``x0`` up to the noisiest timestep, using the same ``alphas_cumprod`` the sampler uses
(for CogVideoX the SNR-shifted, zero-SNR-rescaled ones; diffusers' ``DDIMInverseScheduler`` would use
a different schedule). One inverse step from ``alpha_prev`` to ``alpha`` at timestep ``t``::

    out  = model(x, t, c)                              # the output the sampler will see at t
    x0^, eps^ = split(x, out, alpha)                   # epsilon or v-prediction
    x_t  = sqrt(alpha) x0^ + sqrt(1 - alpha) eps^, with x0^ = (x - sqrt(1-alpha_prev) eps^) / sqrt(alpha_prev)

Plain DDIM inversion evaluates the model at the less noisy point ``x`` (``fixed_point_iters=0``,
the paper's setting). With ``fixed_point_iters=k`` each step re-evaluates the model at its own
result up to ``k`` times (``x_t <- (1 - r) x_t + r * inverse(x, model(x_t, t))``, relaxation ``r``)
and keeps the iterate whose forward step lands closest to ``x``. Where the iteration converges the
result is the exact inverse of the sampler's step, so resampling returns the input to within
floating-point error; ``Inversion.residuals`` records, per step, how far the forward step of the
chosen iterate lands from ``x`` (max abs), so a non-converged step is visible, not hidden.

**Zero terminal SNR.** When ``alphas_cumprod[t] == 0`` (CogVideoX at t = 999) the noisy latent holds
no information about ``x0``, so no inversion can reach it. :func:`invertible_steps` drops such steps:
inversion stops at the last timestep with ``alpha_bar > 0`` (t = 979 at 50 steps) and resampling
starts there. For the other families every step is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from motionlib.models.base import PromptEmbeds, VideoModel
from motionlib.sampling import DDIMStep, ddim_schedule, ddim_step, sample_step


def invertible_steps(model: VideoModel, num_steps: int) -> list[DDIMStep]:
    """The sampler's ``num_steps`` steps (noisiest first) minus any step at zero alpha-bar."""
    return [step for step in ddim_schedule(model, num_steps) if step.alpha > 0.0]


def inverse_ddim_step(x, output, alpha: float, alpha_prev: float, prediction_type: str) -> torch.Tensor:
    """The exact inverse of :func:`motionlib.sampling.ddim_step` given the model ``output`` at ``t``."""
    if prediction_type == "epsilon":
        eps = output
        x0 = (x - (1.0 - alpha_prev) ** 0.5 * eps) / alpha_prev**0.5
    elif prediction_type == "v_prediction":
        # The sampler maps (x_t, v) linearly to x_prev; solve that 1-D linear map for x_t.
        # x_prev = A x_t + B v with A = sqrt(ap) sqrt(a) + sqrt(1-ap) sqrt(1-a),
        #                         B = sqrt(1-ap) sqrt(a) - sqrt(ap) sqrt(1-a)
        a, ap = alpha, alpha_prev
        A = ap**0.5 * a**0.5 + (1 - ap) ** 0.5 * (1 - a) ** 0.5
        B = (1 - ap) ** 0.5 * a**0.5 - ap**0.5 * (1 - a) ** 0.5
        return (x - B * output) / A
    else:
        raise ValueError(f"unsupported prediction type {prediction_type!r}")
    return alpha**0.5 * x0 + (1.0 - alpha) ** 0.5 * eps


@dataclass
class Inversion:
    """``trajectory[k]`` is the latent before sampling step ``steps[k]``; ``trajectory[-1]`` is ``x0``.

    ``trajectory[0]`` is the inverted noise (at ``steps[0].t``). Latents are float32, model layout.
    """

    steps: list[DDIMStep]
    trajectory: list[torch.Tensor]
    residuals: list[float]  # per step (same order as steps): max |forward(x_t) - x|; nan if not measured
    guidance_scale: float
    fixed_point_iters: int

    @property
    def noise(self) -> torch.Tensor:
        return self.trajectory[0]


@torch.no_grad()
def invert(
    model: VideoModel,
    latents: torch.Tensor,
    embeds: PromptEmbeds,
    num_steps: int,
    *,
    guidance_scale: float = 1.0,
    fixed_point_iters: int = 0,
    relaxation: float = 1.0,
    progress: bool = False,
) -> Inversion:
    """Invert clean ``latents`` (model layout) to noise along the sampler's ``num_steps`` steps.

    ``guidance_scale=1``: conditional on ``embeds`` (the caption), no classifier-free guidance.
    """
    steps = invertible_steps(model, num_steps)
    x = latents.float().to(model.device)
    trajectory, residuals = [x], []
    for step in tqdm(steps[::-1], desc=f"{model.family} inversion", disable=not progress, leave=False):
        guess = sample_step(model, x, step, embeds, guidance_scale, update=inverse_ddim_step)
        best, best_residual = guess, float("nan")
        for _ in range(fixed_point_iters):
            out = model.predict(guess, step.t, embeds, guidance_scale)
            forward = ddim_step(guess, out, step.alpha, step.alpha_prev, model.prediction_type)
            residual = (forward - x).abs().max().item()
            if not residual >= best_residual:  # also true for the first (nan) comparison
                best, best_residual = guess, residual
            update = inverse_ddim_step(x, out, step.alpha, step.alpha_prev, model.prediction_type)
            guess = (1.0 - relaxation) * guess + relaxation * update
        x = best
        trajectory.append(x)
        residuals.append(best_residual)
    return Inversion(steps, trajectory[::-1], residuals[::-1], guidance_scale, fixed_point_iters)
