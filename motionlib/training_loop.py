"""The one resumable training loop: the toy model's stages, the toy CLIP and motion adapters run on it.

A :class:`Loop` owns what a run's result depends on besides its data: an AdamW optimizer over the
trained modules' parameters, the seeded CPU ``torch.Generator`` the step function draws its batches
and noise from, the loss record and, optionally, an exponential moving average (EMA) of the modules.
With a checkpoint ``path`` it saves all of it (:mod:`motionlib.checkpoint`: one safetensors file,
JSON metadata) every ``checkpoint_every`` steps, at the end, and on Ctrl-C once the step in progress is
done; a new ``Loop`` of the same ``run`` (the settings its result depends on) resumes from that file,
and the resumed result equals an uninterrupted run's, bit for bit. A file of another run is left
alone with a warning and training starts over.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from motionlib import checkpoint

# step_loss(step) -> the loss to minimise, or (loss, the float recorded on the loss curve)
StepLoss = Callable[[int], "torch.Tensor | tuple[torch.Tensor, float]"]


def cosine_factor(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor at ``step`` (0-based) of ``total``: linear warm-up over ``warmup`` steps to 1,
    then cosine decay to 0.1 at the end."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


def loss_curve(losses: list[float], points: int = 200) -> list[list[float]]:
    """``[[step, mean loss over the steps up to it], ...]`` at about ``points`` evenly spaced steps."""
    if not losses:
        return []
    edges = np.unique(np.linspace(0, len(losses), min(points, len(losses)) + 1).astype(int))
    return [[int(b), float(np.mean(losses[a:b]))] for a, b in zip(edges[:-1], edges[1:])]


class Loop:
    """A resumable optimisation of ``modules`` (name -> anything with ``parameters()``, ``state_dict()``
    and ``load_state_dict()``; a lone module named ``""`` is saved without a name prefix).

    ``lr``: AdamW's (peak) learning rate; ``seed``: of :attr:`generator`; ``ema``: the EMA decay (at
    step ``k`` the smaller of it and ``(1 + k) / (10 + k)``), ``None`` for none; the EMA copies are
    checkpointed as ``ema_<name>`` and put into the modules by :meth:`apply_ema`. Resumes from ``path``
    at once if it holds a checkpoint of the same ``run``: :attr:`start` is then its step.
    """

    def __init__(self, modules: dict[str, Any], *, lr: float, seed: int, path: Path | None = None,
                 run: dict | None = None, weight_decay: float = 0.01, ema: float | None = None):
        self.modules, self.lr, self.ema_decay = modules, lr, ema
        self.path, self.run = path, json.loads(json.dumps(run, default=str))
        self.ema = {name: copy.deepcopy(m).requires_grad_(False) for name, m in modules.items()} if ema else {}
        self.optimizer = torch.optim.AdamW([p for m in modules.values() for p in m.parameters()], lr=lr,
                                           weight_decay=weight_decay)
        self.generator = torch.Generator("cpu").manual_seed(seed)
        self.losses: list[float] = []
        self.seconds = 0.0  # spent in steps, summed over resumes
        self.start = 0
        if path is not None and path.exists():
            self._resume()

    def _saved(self) -> dict[str, Any]:
        return {**self.modules, **{f"ema_{name}": m for name, m in self.ema.items()}}

    def _resume(self) -> None:
        try:
            same = checkpoint.read_meta(self.path).get("run") == self.run
        except (KeyError, ValueError, OSError):  # not a checkpoint, or of an older format
            same = False
        if not same:
            warnings.warn(f"{self.path} belongs to a run with other settings; training from scratch", stacklevel=3)
            return
        weights, meta = checkpoint.load(self.path, self.optimizer, self.generator)
        for name, module in self._saved().items():
            prefix = f"{name}." if name else ""
            module.load_state_dict({k.removeprefix(prefix): v for k, v in weights.items() if k.startswith(prefix)})
        self.losses, self.seconds, self.start = meta["losses"], meta.get("seconds", 0.0), meta["step"]

    def save(self, step: int) -> None:
        """Checkpoint the state after ``step`` steps to :attr:`path`."""
        weights = {f"{name}.{k}" if name else k: v for name, m in self._saved().items()
                   for k, v in m.state_dict().items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.save(self.path, weights, self.optimizer, self.generator,
                        {"run": self.run, "step": step, "losses": self.losses, "seconds": self.seconds})

    def run_steps(self, step_loss: StepLoss, total: int, *, checkpoint_every: int, desc: str,
                  progress: bool = True, warmup: int | None = None, max_grad_norm: float | None = None,
                  after_step: Callable[[int], None] | None = None, window: int = 1, leave: bool = True) -> None:
        """Steps ``start .. total - 1``, each: the learning rate (constant, or with ``warmup`` steps
        :func:`cosine_factor` of ``lr``), ``step_loss(step)``, backward, the gradient norm clipped to
        ``max_grad_norm``, the optimizer step, ``after_step(step)``, the EMA, the loss recorded. The bar
        shows the mean recorded loss of the last ``window`` steps. Ctrl-C ends the step in progress,
        saves and raises ``KeyboardInterrupt``; a second Ctrl-C interrupts at once."""
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        bar = tqdm(range(self.start, total), initial=self.start, total=total, disable=not progress,
                   desc=desc, unit="step", leave=leave)
        with _deferred_interrupt() as interrupted:
            for step in bar:
                tic = time.perf_counter()
                if warmup is not None:
                    for group in self.optimizer.param_groups:
                        group["lr"] = self.lr * cosine_factor(step, total, warmup)
                out = step_loss(step)
                loss, logged = out if isinstance(out, tuple) else (out, out.item())
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
                self.optimizer.step()
                if after_step is not None:
                    after_step(step)
                self._update_ema(step)
                self.losses.append(logged)
                self.seconds += time.perf_counter() - tic
                bar.set_postfix(loss=f"{np.mean(self.losses[-window:]):.4f}")
                done = step + 1
                if self.path is not None and (done % checkpoint_every == 0 or done == total or interrupted()):
                    self.save(done)
                if interrupted():
                    bar.close()
                    saved = f"; saved at step {done} to {self.path}, run again to resume" if self.path else ""
                    raise KeyboardInterrupt(f"{desc}: interrupted{saved}")

    @torch.no_grad()
    def _update_ema(self, step: int) -> None:
        if not self.ema:
            return
        decay = min(self.ema_decay, (1 + step) / (10 + step))
        for name, module in self.modules.items():
            for p_ema, p in zip(self.ema[name].parameters(), module.parameters()):
                p_ema.lerp_(p, 1 - decay)

    @torch.no_grad()
    def apply_ema(self) -> None:
        """Put the EMA weights into the trained modules."""
        for name, module in self.modules.items():
            module.load_state_dict(self.ema[name].state_dict())


@contextlib.contextmanager
def _deferred_interrupt():
    """Yield ``interrupted() -> bool``: a first Ctrl-C (SIGINT) only sets it, so the loop can finish its
    step and save; a second raises ``KeyboardInterrupt`` at once. Python's default handling stays where
    the loop cannot take SIGINT over (not the main thread, or the handler is someone else's)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield lambda: False
        return
    hits = []

    def handler(signum, frame):
        if hits:
            raise KeyboardInterrupt
        hits.append(signum)

    signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(hits)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
