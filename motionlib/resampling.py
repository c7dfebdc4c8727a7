"""Resampling from inverted noise with prompt windows: one window, or many sharing their work.

Resampling starts from inverted noise and runs the sampler's steps, conditioning each step on the
edited caption ``c'`` inside the window and on the caption ``c`` outside (:mod:`motionlib.windows`).

:func:`resample` does one window the obvious way (``n`` denoiser evaluations for ``n`` steps).
:func:`resample_windows` does many windows without repeating work. With ``[k_s, k_e)`` the block of steps a
window gives to ``c'``:

- the ``c`` trajectory before ``k_s`` is the same for every window: run once, up to the largest ``k_s``;
- windows with the same ``k_s`` share the ``c'`` segment, run once up to their largest ``k_e``;
- each distinct ``(k_s, k_e)`` then runs its own ``c`` suffix from ``k_e`` to ``n``; the suffixes of
  one ``k_s`` group run step-synchronously in batches of up to ``batch_size``.

So the number of denoiser evaluations (one per latent per step; classifier-free guidance doubles
the batch inside each evaluation but not this count) is

    N_shared = max_s k_s  +  sum_s (max_{e|s} k_e - k_s)  +  sum_{distinct (k_s, k_e)} (n - k_e)

against ``N_naive = (number of windows) * n`` (:func:`shared_evaluations`, :func:`naive_evaluations`).
Windows that map to the same ``(k_s, k_e)`` give the same result and are computed once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

import torch
from tqdm.auto import tqdm

from motionlib.models.base import PromptEmbeds, VideoModel
from motionlib.sampling import DDIMStep, denoise, sample_step
from motionlib.windows import PromptWindow


def resample(model: VideoModel, noise: torch.Tensor, steps: list[DDIMStep], cond: PromptEmbeds,
             edit: PromptEmbeds, window: PromptWindow, guidance_scale: float) -> torch.Tensor:
    """Naive resampling of one window from ``noise``: ``len(steps)`` evaluations."""
    return denoise(model, noise, cond, steps, guidance_scale,
                   before_step=lambda k, step: edit if window.uses_edit(step.t) else None)


def _ranges(windows: Iterable[PromptWindow], steps: list[DDIMStep]) -> dict[int, set[int]]:
    """``{k_s: {k_e, ...}}`` over the distinct step ranges of ``windows``."""
    groups: dict[int, set[int]] = defaultdict(set)
    for w in windows:
        k_s, k_e = w.step_range(steps)
        groups[k_s].add(k_e)
    return dict(groups)


def naive_evaluations(windows: list[PromptWindow], steps: list[DDIMStep]) -> int:
    return len(windows) * len(steps)


def shared_evaluations(windows: list[PromptWindow], steps: list[DDIMStep]) -> int:
    """Denoiser evaluations :func:`resample_windows` makes for ``windows`` (the formula in the module doc)."""
    groups, n = _ranges(windows, steps), len(steps)
    if not groups:
        return 0
    prefix = max(groups)
    segments = sum(max(ends) - k_s for k_s, ends in groups.items())
    suffixes = sum(n - k_e for ends in groups.values() for k_e in ends)
    return prefix + segments + suffixes


class _Counter:
    """Counts denoiser evaluations (latents per predict call) and batched forward passes."""

    def __init__(self, total: int, progress: bool, desc: str):
        self.evaluations = self.passes = 0
        self.bar = tqdm(total=total, desc=desc, unit="eval", disable=not progress, leave=False)

    def add(self, batch: int) -> None:
        self.evaluations += batch
        self.passes += 1
        self.bar.update(batch)


@torch.no_grad()
def resample_windows(
    model: VideoModel,
    noise: torch.Tensor,
    steps: list[DDIMStep],
    cond: PromptEmbeds,
    edit: PromptEmbeds,
    windows: list[PromptWindow],
    guidance_scale: float,
    *,
    batch_size: int = 8,
    on_group: Callable[[dict[PromptWindow, torch.Tensor]], None] | None = None,
    progress: bool = True,
) -> tuple[dict[PromptWindow, torch.Tensor], dict[str, int]]:
    """Resample every window from ``noise`` (``(1, ...)`` latents) sharing all common work.

    Returns ``({window: final latents (1, ...)}, counts)`` with ``counts`` holding the
    ``evaluations`` made (equal to :func:`shared_evaluations`), the ``passes`` (batched calls) and
    the ``naive`` evaluation count. ``on_group`` receives each ``k_s`` group's results as soon as
    they are done (the resampling study caches them there, so an interrupted sweep resumes).
    """
    n = len(steps)
    groups = _ranges(windows, steps)
    counter = _Counter(shared_evaluations(windows, steps), progress, f"{model.family} sweep")
    by_range = defaultdict(list)
    for w in windows:
        by_range[w.step_range(steps)].append(w)

    # 1. The shared c prefix, keeping the state at every k_s a group starts from.
    x = noise.float().to(model.device)
    prefix_states = {0: x}
    for k in range(max(groups, default=0)):
        x = sample_step(model, x, steps[k], cond, guidance_scale)
        counter.add(1)
        prefix_states[k + 1] = x

    results: dict[PromptWindow, torch.Tensor] = {}
    for k_s in sorted(groups):
        ends = groups[k_s]
        # 2. The c' segment of this group, keeping the state at every k_e.
        y = prefix_states[k_s]
        branch_start = {k_s: y}
        for k in range(k_s, max(ends)):
            y = sample_step(model, y, steps[k], edit, guidance_scale)
            counter.add(1)
            branch_start[k + 1] = y
        # 3. The c suffixes, step-synchronously batched.
        finals = _run_suffixes(model, steps, cond, guidance_scale, {k_e: branch_start[k_e] for k_e in ends},
                               batch_size, counter)
        group = {w: finals[k_e] for k_e in ends for w in by_range[(k_s, k_e)]}
        results.update(group)
        if on_group is not None:
            on_group(group)
    counter.bar.close()
    return results, {"evaluations": counter.evaluations, "passes": counter.passes,
                     "naive": naive_evaluations(windows, steps), "steps": n}


def _run_suffixes(model, steps, cond, guidance, starts: dict[int, torch.Tensor], batch_size: int,
                  counter: _Counter) -> dict[int, torch.Tensor]:
    """Continue each ``starts[k_e]`` with ``c`` from step ``k_e`` to the end, batching across branches."""
    n = len(steps)
    states = dict(starts)  # k_e -> current latent (1, ...)
    for k in range(min(starts), n):
        active = [k_e for k_e in sorted(states) if k_e <= k]
        for i in range(0, len(active), batch_size):
            chunk = active[i:i + batch_size]
            x = torch.cat([states[k_e] for k_e in chunk])
            x = sample_step(model, x, steps[k], cond, guidance)
            counter.add(len(chunk))
            for j, k_e in enumerate(chunk):
                states[k_e] = x[j:j + 1]
    return states
