"""Resampling from inverted noise with prompt windows: one window, or many sharing their work.

Resampling starts from inverted noise and runs the sampler's steps, conditioning each step on the
edited caption ``c'`` inside the window and on the caption ``c`` outside (:mod:`motionlib.windows`).

:func:`resample` does one window the obvious way (``n`` denoiser evaluations for ``n`` steps).
:func:`resample_windows` does many windows without repeating work. With ``[k_s, k_e)`` the block of steps a
window gives to ``c'``, the windows form a tree of branches (:func:`sweep_branches`):

- the ``c`` trajectory before ``k_s`` is the same for every window: one branch, up to the largest ``k_s``;
- windows with the same ``k_s`` share the ``c'`` segment: one branch per ``k_s``, up to their largest ``k_e``;
- each distinct ``(k_s, k_e)`` then runs its own ``c`` suffix from ``k_e`` to ``n``.

So the number of denoiser evaluations (one per latent per step; classifier-free guidance doubles
the batch inside each evaluation but not this count) is

    N_shared = max_s k_s  +  sum_s (max_{e|s} k_e - k_s)  +  sum_{distinct (k_s, k_e)} (n - k_e)

against ``N_naive = (number of windows) * n`` (:func:`shared_evaluations`, :func:`naive_evaluations`).
Windows that map to the same ``(k_s, k_e)`` give the same result and are computed once.

The branches run step-synchronously: at step ``k`` every live branch is one row of one batched
denoiser pass, each row conditioned on its own caption (``c`` or ``c'``; :meth:`PromptEmbeds.stack`).
On the paper's grid (55 windows and the no-edit reference, 50 steps) at most 56 latents are live at
a step, so the sweep is 50 passes (:func:`sweep_passes`), or more when ``batch_size`` caps a pass,
when CUDA runs out of memory (each pass is then split in half, and the log says so), or when
``c`` and ``c'`` differ in length in a model that cannot mask text padding (two passes a step).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from motionlib.errors import MotionlibError, ParameterError
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


@dataclass(frozen=True)
class Branch:
    """One trajectory of the sweep's tree: it starts at step ``start`` from the state of branch
    ``parent`` (``None``: the inverted noise) and runs steps ``[start, stop)`` with ``c'`` if
    ``edited``, else ``c``."""

    name: str
    start: int
    stop: int
    edited: bool
    parent: str | None


def suffix_name(k_s: int, k_e: int) -> str:
    """The branch that ends window ``(k_s, k_e)``: ``c`` from ``k_e`` to the last step."""
    return f"c{k_s}-{k_e}"


def sweep_branches(windows: Iterable[PromptWindow], steps: list[DDIMStep]) -> list[Branch]:
    """The tree of branches of ``windows`` (see the module doc), each after its parent."""
    groups, n = _ranges(windows, steps), len(steps)
    branches = [Branch("c", 0, max(groups, default=0), False, None)]
    for k_s in sorted(groups):
        ends = sorted(groups[k_s])
        branches.append(Branch(f"e{k_s}", k_s, max(ends), True, "c"))
        branches += [Branch(suffix_name(k_s, k_e), k_e, n, False, f"e{k_s}") for k_e in ends]
    return branches


def live_counts(windows: list[PromptWindow], steps: list[DDIMStep]) -> list[int]:
    """The number of latents the sweep of ``windows`` evaluates at each step (they sum to
    :func:`shared_evaluations`)."""
    branches = sweep_branches(windows, steps)
    return [sum(b.start <= k < b.stop for b in branches) for k in range(len(steps))]


def sweep_passes(windows: list[PromptWindow], steps: list[DDIMStep], batch_size: int | None = None) -> int:
    """Batched denoiser passes of :func:`resample_windows` at ``batch_size`` latents a pass (``None``:
    no cap), when ``c`` and ``c'`` can share a pass."""
    return sum(-(-live // (batch_size or live)) for live in live_counts(windows, steps) if live)


@dataclass
class SweepState:
    """The sweep before step ``step``: the state ``(1, ...)`` of every branch started so far."""

    step: int
    states: dict[str, torch.Tensor]


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
    batch_size: int | None = None,
    resume: SweepState | None = None,
    on_checkpoint: Callable[[SweepState], None] | None = None,
    checkpoint_every: int = 10,
    progress: bool = True,
) -> tuple[dict[PromptWindow, torch.Tensor], dict[str, int]]:
    """Resample every window from ``noise`` (``(1, ...)`` latents), step-synchronously, sharing all
    common work (see the module doc).

    Returns ``({window: final latents (1, ...)}, counts)`` with ``counts`` holding the
    ``evaluations`` made (equal to :func:`shared_evaluations` for a run from the start), the
    ``passes`` (batched denoiser calls), the ``naive`` evaluation count and the ``steps``.
    ``batch_size`` caps the latents of one pass (``None``: every live latent in one pass).
    ``on_checkpoint(state)`` receives the state every ``checkpoint_every`` steps and when the run is
    interrupted (KeyboardInterrupt); ``resume`` continues from such a state.
    """
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ParameterError(f"batch_size (--batch-size) must be an integer >= 1 (latents per denoiser pass) "
                             f"or None for all live latents at once; got {batch_size!r}")
    n = len(steps)
    branches = sweep_branches(windows, steps)
    first = resume.step if resume is not None else 0
    states = dict(resume.states) if resume is not None else {}
    todo = sum(max(0, b.stop - max(b.start, first)) for b in branches)
    counter = _Counter(todo, progress, f"{model.family} sweep")
    rows = _RowPasses(model, guidance_scale, batch_size, counter)
    k = first
    try:
        for k in range(first, n + 1):
            for b in branches:  # branches that start here continue their parent's state
                if b.start == k and b.name not in states:
                    states[b.name] = noise.float().to(model.device) if b.parent is None else states[b.parent]
            if k == n:
                break
            live = [b for b in branches if b.start <= k < b.stop]
            if live:
                x = rows.step(torch.cat([states[b.name] for b in live]), steps[k],
                              [edit if b.edited else cond for b in live])
                for i, b in enumerate(live):
                    states[b.name] = x[i : i + 1]
            if on_checkpoint is not None and (k + 1) % checkpoint_every == 0 and k + 1 < n:
                on_checkpoint(SweepState(k + 1, states))
    except KeyboardInterrupt:
        if on_checkpoint is not None and k > first:
            on_checkpoint(SweepState(k, states))
        raise
    finally:
        counter.bar.close()
    results = {}
    for w in windows:
        k_s, k_e = w.step_range(steps)
        results[w] = states[suffix_name(k_s, k_e)]
    return results, {"evaluations": counter.evaluations, "passes": counter.passes,
                     "naive": naive_evaluations(windows, steps), "steps": n}


class _RowPasses:
    """One DDIM step for rows that each carry their own caption, in as few batched passes as allowed:
    one per embedding length unless the model masks text padding, at most ``batch_size`` rows each,
    and after CUDA runs out of memory, half as many rows for the rest of the run."""

    def __init__(self, model: VideoModel, guidance_scale: float, batch_size: int | None, counter: _Counter):
        self.model, self.guidance_scale, self.limit, self.counter = model, guidance_scale, batch_size, counter

    def step(self, x: torch.Tensor, step: DDIMStep, embeds: list[PromptEmbeds]) -> torch.Tensor:
        groups: dict[tuple[int, int], list[int]] = {}
        for i, e in enumerate(embeds):
            groups.setdefault(self.model.pass_group(e), []).append(i)
        out = torch.empty_like(x)
        for rows in groups.values():
            k = 0
            while k < len(rows):
                chunk = rows[k : k + (self.limit or len(rows))]
                done = self._pass(x[chunk], step, [embeds[i] for i in chunk])
                if done is None:  # CUDA ran out of memory: smaller passes from here on
                    self._halve(len(chunk))
                    continue
                out[chunk] = done
                self.counter.add(len(chunk))
                k += len(chunk)
        return out

    def _pass(self, x: torch.Tensor, step: DDIMStep, embeds: list[PromptEmbeds]) -> torch.Tensor | None:
        try:
            return sample_step(self.model, x, step, PromptEmbeds.stack(embeds), self.guidance_scale)
        except torch.cuda.OutOfMemoryError:
            return None  # handled outside the except block, so the failed pass's tensors are freed first

    def _halve(self, rows: int) -> None:
        if rows == 1:
            raise MotionlibError(f"out of CUDA memory denoising a single {self.model.family} latent; free GPU "
                                 "memory, use fewer frames or a smaller size, or load the model with cpu_offload") from None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.limit = (rows + 1) // 2
        tqdm.write(f"{self.model.family} sweep: out of CUDA memory at {rows} latents a pass; "
                   f"continuing with {self.limit} (batch_size)")
