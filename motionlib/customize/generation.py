"""Sampling with a motion adapter applied only at steps ``t >= tau`` (the base model below).

:func:`generate_customized_batch` samples many ``(prompt, seed)`` requests in batched denoiser
passes; :func:`generate_customized` is the single-prompt form. A batched sample equals the one drawn
alone up to floating-point kernel differences, because nothing in a row depends on its batch-mates:

- each request's noise is drawn alone (``initial_noise(..., seed)``, batch 1) and the rows are stacked;
- each distinct prompt is embedded once, and each row is conditioned on its own prompt (``(B, L, D)``);
- rows whose embeddings differ in length ``L`` (Latte cuts its T5 embeddings to the prompt's own
  tokens) share a pass only in a model that masks the padding (:attr:`VideoModel.masks_text`,
  :meth:`PromptEmbeds.stack`); otherwise each length gets its own passes;
- the adapter's on/off rule depends on the step only, so it is one switch per step for every row;
- each sample is decoded on its own (the decoder's memory does not grow with the batch).

If CUDA runs out of memory, the batch is split in half and retried (one line is logged), and so are
the batches after it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from tqdm.auto import tqdm

from motionlib.customize.lora import MotionAdapter
from motionlib.customize.settings import sample_batch_size
from motionlib.data.video_io import from_model_pixels
from motionlib.errors import MotionlibError, ParameterError
from motionlib.models.base import FamilyDefaults, PromptEmbeds, VideoModel
from motionlib.sampling import DDIMStep, Sample, ddim_schedule, denoise, initial_noise

Request = tuple[str, int]  # (prompt, seed)


def adapter_active_at(t: int, tau: int) -> bool:
    """The paper's inference rule: the adapter applies at sampling timesteps ``t >= tau``."""
    return t >= tau


class TauMismatchWarning(UserWarning):
    """An adapter applied at a tau other than the one it was trained at."""


def _check_tau(tau: int, adapter: MotionAdapter | None = None) -> None:
    if not (isinstance(tau, int) and 0 <= tau <= 1000):
        raise ParameterError(f"tau must be an integer timestep in [0, 1000], got {tau!r}")
    trained = None if adapter is None else adapter.settings.tau
    if trained is not None and trained != tau and trained < 1000 and tau < 1000:
        # Allowed (the train / apply ablation), never silent: the sample's settings keep both.
        warnings.warn(f"the adapter was trained at t >= {trained} and is applied at t >= {tau}; the paper trains and "
                      f"applies at the same tau (pass tau={trained} to match)", TauMismatchWarning, stacklevel=3)


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
    sample_batch: int | None = 1,
    progress: bool = True,
) -> list[Sample]:
    """DDIM samples of ``prompt`` with the adapter on at steps ``t >= tau`` and the base model below.

    Sample ``i`` starts from the noise of ``seeds[i]`` (default ``seed_base + i``). ``sample_batch``
    samples go through the denoiser at once (default 1: one at a time, bit for bit the samples of
    earlier versions; ``None``: the family default, see :func:`generate_customized_batch`). The
    adapter's on/off state is restored afterwards.
    """
    _check_tau(tau)
    seeds = list(seeds) if seeds is not None else [seed_base + i for i in range(num_samples)]
    if len(seeds) != num_samples:
        raise ParameterError(f"got {len(seeds)} seeds for {num_samples} samples; give one seed per sample")
    return generate_customized_batch(
        model, adapter, [(prompt, seed) for seed in seeds], tau=tau, sample_batch=sample_batch,
        negative_prompt=negative_prompt, num_frames=num_frames, height=height, width=width,
        num_steps=num_steps, guidance_scale=guidance_scale, progress=progress)


def generate_customized_batch(
    model: VideoModel,
    adapter: MotionAdapter,
    requests: list[Request],
    *,
    tau: int,
    sample_batch: int | None = None,
    negative_prompt: str = "",
    num_frames: int | None = None,
    height: int | None = None,
    width: int | None = None,
    num_steps: int | None = None,
    guidance_scale: float | None = None,
    progress: bool = True,
    on_sample: Callable[[int, Sample], None] | None = None,
) -> list[Sample]:
    """One DDIM sample per ``(prompt, seed)`` request, in request order, with the adapter on at steps
    ``t >= tau`` and the base model below (see the module doc).

    At most ``sample_batch`` requests share a denoiser pass (``None``: :func:`sample_batch_size`'s
    family default; tiny and toy models: all at once): latents ``(b, ...)`` in the model's layout,
    embeddings ``(b, L, D)``, one prompt per row. ``on_sample(i, sample)`` runs as soon as request
    ``i``'s sample is decoded. The adapter's on/off state is restored afterwards.

    ``tau`` is normally the adapter's own (``adapter.settings.tau``, the range it was trained on).
    Another tau is allowed, for an ablation of where it is applied, and raises a
    :class:`TauMismatchWarning`; each sample's settings record both (``tau`` and ``adapter["tau"]``).
    tau = 1000 (the base model) never warns.
    """
    _check_tau(tau, adapter)
    requests = [(str(prompt), int(seed)) for prompt, seed in requests]
    limit = sample_batch_size(model, sample_batch, len(requests))
    d = model.defaults.resolved(num_frames, height, width, num_steps, guidance_scale)
    common = dict(negative_prompt=negative_prompt, num_frames=d.num_frames, height=d.height, width=d.width,
                  num_steps=d.num_steps, guidance_scale=d.guidance_scale, tau=tau, adapter=adapter.describe())
    steps = ddim_schedule(model, d.num_steps)
    embeds = prompt_embeddings(model, [prompt for prompt, _ in requests], negative_prompt)
    queue = plan_batches([model.pass_group(embeds[prompt]) for prompt, _ in requests], limit)
    samples: list[Sample | None] = [None] * len(requests)
    with adapter.applied(adapter.active):  # restores the state on exit
        while queue:
            rows = queue.pop(0)
            x = _denoise_rows(model, adapter, tau, [requests[i] for i in rows], embeds, steps, d, progress)
            if x is None:  # CUDA ran out of memory: this batch and the ones after it, in halves
                queue = _split_after_oom(model, rows, queue, d)
                continue
            for j, i in enumerate(rows):
                prompt, seed = requests[i]
                samples[i] = _decoded(model, x[j : j + 1], d.num_frames, dict(prompt=prompt, **common, seed=seed))
                if on_sample is not None:
                    on_sample(i, samples[i])
    return samples


def prompt_embeddings(model: VideoModel, prompts: list[str], negative_prompt: str = "") -> dict[str, PromptEmbeds]:
    """Each distinct prompt embedded once, ``(1, L, D)`` cond and uncond, in first-seen order."""
    return {prompt: model.encode_prompt(prompt, negative_prompt) for prompt in dict.fromkeys(prompts)}


def plan_batches(lengths: list[tuple[int, int]], limit: int) -> list[list[int]]:
    """Request indices in batches of at most ``limit``, one embedding length per batch: the lengths in
    first-seen order, each one's requests in request order."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, length in enumerate(lengths):
        groups.setdefault(length, []).append(i)
    return [rows[k : k + limit] for rows in groups.values() for k in range(0, len(rows), limit)]


def stacked_noise(model: VideoModel, seeds: list[int], num_frames: int, height: int, width: int) -> torch.Tensor:
    """``(B, ...)`` float32 latents: row ``i`` is ``initial_noise(seeds[i])`` drawn alone (batch 1), so a
    row does not depend on its batch-mates."""
    return torch.cat([initial_noise(model, num_frames, height, width, seed) for seed in seeds])


def _denoise_rows(model: VideoModel, adapter: MotionAdapter, tau: int, requests: list[Request],
                  embeds: dict[str, PromptEmbeds], steps: list[DDIMStep], d: FamilyDefaults,
                  progress: bool) -> torch.Tensor | None:
    """The final latents ``(B, ...)`` of ``requests`` (one embedding length) sampled together, or
    ``None`` if CUDA ran out of memory."""
    x = stacked_noise(model, [seed for _, seed in requests], d.num_frames, d.height, d.width)
    e = PromptEmbeds.stack([embeds[prompt] for prompt, _ in requests])
    try:
        return denoise(model, x, e, steps, d.guidance_scale, progress=progress,
                       desc=f"{model.family} customized ({len(requests)} samples)",
                       before_step=lambda k, step: adapter.set_active(adapter_active_at(step.t, tau)))
    except torch.cuda.OutOfMemoryError:
        pass  # handled outside the except block, so the failed pass's tensors are freed first
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return None


def _split_after_oom(model: VideoModel, rows: list[int], queue: list[list[int]],
                     d: FamilyDefaults) -> list[list[int]]:
    """After an out-of-memory pass of ``rows``: it and every queued batch, in batches of half its size."""
    if len(rows) == 1:
        raise MotionlibError(f"out of CUDA memory sampling a single {model.family} video "
                             f"({d.num_frames}x{d.height}x{d.width}); free GPU memory, use fewer frames or a "
                             "smaller size, or load the model with cpu_offload") from None
    half = (len(rows) + 1) // 2
    tqdm.write(f"{model.family}: out of CUDA memory sampling {len(rows)} videos at once; "
               f"retrying {half} at a time")
    return [batch[k : k + half] for batch in [rows, *queue] for k in range(0, len(batch), half)]


def _decoded(model: VideoModel, latents: torch.Tensor, num_frames: int, settings: dict) -> Sample:
    """One sample from its final latents ``(1, ...)``: decoded alone to ``(F, H, W, 3)`` uint8."""
    with torch.no_grad():
        pixels = model.decode_latents(latents, num_frames)
    return Sample(from_model_pixels(pixels[0].cpu()), latents.detach().to("cpu", copy=True), settings)
