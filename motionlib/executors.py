"""Where units of work run: ``serial`` (this process, the default) or ``ray`` (tasks on a Ray cluster).

A unit is one module-level function call (:class:`Unit`): a Fig. 1-2 sweep of one video, a Tab. 1-4
customization of one video with one adapter. Units write their results into the content-addressed cache
(:mod:`motionlib.cache`, atomically), so a finished unit is never recomputed and a half-finished one
resumes; tables are read back from the cache in unit order, so they are the same whichever executor
made them.

``ray``: one task per unit, with ``num_cpus`` / ``num_gpus`` each and ``max_retries`` for workers that
die; ``address=None`` or ``"local"`` starts a local cluster for the run, ``"auto"`` or ``HOST:PORT``
joins a running one (``ray start --head`` / a cluster launcher / SLURM). Workers on other machines
must see the same cache folder (``MOTIONLIB_CACHE`` on shared storage): every task checks a token the
driver wrote there and fails with :class:`CacheNotSharedError` rather than recompute silently.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from motionlib import paths
from motionlib.errors import MotionlibError, ParameterError

EXECUTORS = ("serial", "ray")


class CacheNotSharedError(MotionlibError):
    """A worker does not see the driver's cache folder."""


@dataclass(frozen=True)
class Unit:
    """One call ``fn(**kwargs)``; ``fn`` is a module-level function (workers import it by name)."""

    name: str
    fn: Callable[..., Any]
    kwargs: dict = field(default_factory=dict)


def check_executor(executor: str) -> str:
    if executor not in EXECUTORS:
        raise ParameterError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if executor == "ray":
        _import_ray()
    return executor


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ParameterError("the ray executor needs Ray: install the extra with `pip install -e .[ray]` "
                             "(or `.venv/bin/pip install -r requirements/ray.lock`), or use --executor serial") from None
    return ray


def gpus_per_unit(device, num_gpus: float | None) -> float:
    """GPUs a unit asks Ray for: ``num_gpus``, or by default 1 for a model on a GPU and 0 on the CPU.

    A worker sees only the GPUs Ray gave it (``CUDA_VISIBLE_DEVICES``), so its model goes to ``cuda``.
    """
    on_gpu = str(device).startswith("cuda")
    if num_gpus is not None and not (isinstance(num_gpus, (int, float)) and 0 <= num_gpus < float("inf")):
        raise ParameterError(f"--num-gpus must be a number >= 0 of GPUs per task (a fraction such as 0.5 puts "
                             f"two tasks on one GPU), got {num_gpus!r}")
    if num_gpus is None:
        return 1.0 if on_gpu else 0.0
    if on_gpu and num_gpus <= 0:
        raise ParameterError(f"the model is on {device} but each unit would get no GPU: give num_gpus > 0 "
                             "(a fraction such as 0.5 puts two units on one GPU), or load the model on the CPU")
    return float(num_gpus)


def run_units(units: Sequence[Unit], executor: str = "serial", *, shared: dict | None = None,
              address: str | None = None, num_cpus: int | None = None, num_gpus: float = 0,
              max_retries: int = 3, progress: bool = True, desc: str = "units") -> list[Any]:
    """Run every unit; returns their results in unit order (whatever order they finished in).

    ``shared``: keyword arguments every unit gets (a scorer model): sent to the cluster once and
    unpickled once per worker process, not once per unit.
    ``num_cpus``: CPUs (and torch threads) per Ray task. By default a GPU task gets 1; a CPU task gets
    this process's torch thread count, so it computes exactly as the serial run does (the thread count
    changes the order of floating-point sums: results would differ in the last digits). Fewer CPUs per
    task run more CPU units at once, at that price.
    """
    check_executor(executor)
    if num_cpus is not None and not (isinstance(num_cpus, int) and num_cpus >= 1):
        raise ParameterError(f"--num-cpus must be a whole number >= 1 of CPUs per task, got {num_cpus!r}")
    shared = shared or {}
    if executor == "serial":
        return [u.fn(**u.kwargs, **shared) for u in tqdm(units, desc=desc, disable=not progress)]
    ray = _import_ray()
    started = not ray.is_initialized()
    if started:
        if address not in (None, "local", "auto"):
            check_cluster_address(address)
        try:
            ray.init(address="local" if address in (None, "local") else address, include_dashboard=False,
                     log_to_driver=False, configure_logging=False,
                     runtime_env={"env_vars": {"MOTIONLIB_CACHE": str(paths.cache_dir())}})
        except ConnectionError as err:  # --address auto with no cluster on this machine
            raise ParameterError(f"--address {address}: no Ray cluster found ({str(err).splitlines()[0][:120]}); "
                                 f"start one with `ray start --head`, or leave out --address for a local "
                                 f"cluster") from None
    token = _write_token()
    try:
        num_cpus = num_cpus or _default_cpus(ray, num_gpus)
        task = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=max_retries)(_run_unit)
        # each reference inside a list, so Ray hands the reference (not a fresh copy) to every task
        shared_refs = {name: [ray.put(value)] for name, value in shared.items()}
        refs = {task.remote(u.fn, u.kwargs, shared_refs, str(token), int(num_cpus)): i for i, u in enumerate(units)}
        results: list[Any] = [None] * len(units)
        pending = list(refs)
        with tqdm(total=len(units), desc=f"{desc} (ray)", disable=not progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                i = refs[done[0]]
                try:
                    results[i] = ray.get(done[0])
                except ray.exceptions.RayTaskError as err:
                    cause = err.as_instanceof_cause()
                    if isinstance(cause, MotionlibError):  # one line, as from a serial run, naming the unit
                        raise type(cause)(f"unit {units[i].name}: {str(cause).splitlines()[-1]}") from None
                    raise
                bar.set_postfix_str(units[i].name)
                bar.update()
        return results
    finally:
        token.unlink(missing_ok=True)
        if started:
            ray.shutdown()


def check_cluster_address(address: str, timeout_s: float = 10.0) -> None:
    """Fail in one line, within ``timeout_s``, when nothing listens at a Ray cluster's ``HOST:PORT``
    (``ray.init`` itself retries for minutes, printing raw connection warnings)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ParameterError(f"--address {address!r}: give HOST:PORT of a Ray head (e.g. 10.0.0.1:6379), auto, "
                             "or leave it out for a local cluster")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise ParameterError(f"--address {address}: no Ray cluster answers there ({err.strerror or err}); start "
                             f"one on that machine with `ray start --head --port={port}`, or leave out --address "
                             "for a local cluster") from None


def _default_cpus(ray, num_gpus: float) -> int:
    """1 for a GPU task; else this process's torch threads, at most the CPUs of the largest node."""
    if num_gpus > 0:
        return 1
    import torch

    largest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]), default=1)
    return max(1, min(torch.get_num_threads(), int(largest)))


def _write_token() -> Path:
    folder = paths.cache_dir() / "executor"
    folder.mkdir(parents=True, exist_ok=True)
    token = folder / f"{uuid.uuid4().hex}.token"
    token.write_text(socket.gethostname())
    return token


_SHARED: dict[str, Any] = {}  # in a worker: the shared arguments it has unpickled, by object id


def _run_unit(fn, kwargs: dict, shared_refs: dict, token: str, threads: int):
    """In a worker: check that the driver's cache is visible here, then run the unit on ``threads`` threads."""
    if not Path(token).is_file():
        raise CacheNotSharedError(
            f"worker on {socket.gethostname()} cannot see the driver's cache ({Path(token).parent.parent}): "
            "put MOTIONLIB_CACHE on storage that every machine of the cluster mounts at the same path")
    import ray
    import torch

    torch.set_num_threads(threads)
    shared = {}
    for name, (ref,) in shared_refs.items():
        if ref.hex() not in _SHARED:
            _SHARED[ref.hex()] = ray.get(ref)
        shared[name] = _SHARED[ref.hex()]
    return fn(**kwargs, **shared)
