"""Prompt windows: which caption conditions each sampling step of a resampling run.

A :class:`PromptWindow` ``(tau_start, tau_end)`` applies the edited caption ``c'`` for timesteps in
the window and the original caption ``c`` elsewhere. The paper writes the window as
``t in [tau_end, tau_start]``; on the sampler's discrete timesteps motionlib uses the half-open rule

    step with timestep t uses c'  <=>  tau_end <= t < tau_start

so ``tau_start = 1000`` covers the first step (t = 999 or 981 ...), ``tau_end = 0`` the last, and the
windows of neighbouring grid cells never share a step. Because timesteps descend, the steps that
use ``c'`` are one contiguous block ``[k_start, k_end)`` of step indices (:meth:`step_range`).

:data:`NO_EDIT` ``(0, 0)`` is the one empty window: ``c`` at every step, the reconstruction of the
inverted video. It is the reference that separates the effect of ``c'`` from inversion drift (the
``tau_start = 0`` end of the paper's trade-off curve).
"""

from __future__ import annotations

from dataclasses import dataclass

from motionlib.errors import ParameterError
from motionlib.sampling import DDIMStep

NUM_TRAIN_TIMESTEPS = 1000


@dataclass(frozen=True, order=True)
class PromptWindow:
    """``c'`` for ``tau_end <= t < tau_start``; ``0 <= tau_end < tau_start <= 1000``, or ``(0, 0)``: no edit."""

    tau_start: int
    tau_end: int

    def __post_init__(self):
        if (self.tau_start, self.tau_end) != (0, 0) and not (0 <= self.tau_end < self.tau_start <= NUM_TRAIN_TIMESTEPS):
            raise ParameterError(
                f"prompt window (tau_start={self.tau_start}, tau_end={self.tau_end}) must satisfy "
                f"0 <= tau_end < tau_start <= {NUM_TRAIN_TIMESTEPS}, or be (0, 0): no edit")

    @property
    def is_no_edit(self) -> bool:
        """Whether this is :data:`NO_EDIT` (``c`` at every step)."""
        return self.tau_start == self.tau_end

    def uses_edit(self, t: int) -> bool:
        """Whether the step at timestep ``t`` is conditioned on the edited caption."""
        return self.tau_end <= t < self.tau_start

    def step_range(self, steps: list[DDIMStep]) -> tuple[int, int]:
        """``(k_start, k_end)``: steps ``k_start <= k < k_end`` use ``c'`` (may be empty: equal)."""
        k_start = next((k for k, s in enumerate(steps) if s.t < self.tau_start), len(steps))
        k_end = next((k for k, s in enumerate(steps) if s.t < self.tau_end), len(steps))
        return k_start, max(k_start, k_end)

    def on_grid(self, interval: int) -> bool:
        return self.tau_start % interval == 0 and self.tau_end % interval == 0


NO_EDIT = PromptWindow(0, 0)


def grid_values(interval: int = 100) -> list[int]:
    """``0, interval, ..., 1000``; ``interval`` must divide 1000."""
    if interval <= 0 or NUM_TRAIN_TIMESTEPS % interval:
        raise ParameterError(f"grid interval {interval} must be a positive divisor of {NUM_TRAIN_TIMESTEPS} "
                             "(e.g. 50, 100, 200, 250)")
    return list(range(0, NUM_TRAIN_TIMESTEPS + 1, interval))


def grid_windows(interval: int = 100) -> list[PromptWindow]:
    """Every window with both ends on the grid, tau_start descending then tau_end descending.

    Interval 100 gives the paper's 55 pairs (11 grid values, ``11 * 10 / 2``).
    """
    values = grid_values(interval)
    return [PromptWindow(s, e) for s in reversed(values) for e in reversed(values) if e < s]


def window(tau_start: int, tau_end: int, interval: int | None = None) -> PromptWindow:
    """A validated window; with ``interval`` it must also lie on that grid."""
    w = PromptWindow(int(tau_start), int(tau_end))
    if interval is not None and not w.on_grid(interval):
        raise ParameterError(f"window ({tau_start}, {tau_end}) is not on the grid of interval {interval}")
    return w
