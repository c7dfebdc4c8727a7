"""The main job: run every notebook with papermill and say what ran, where it wrote, what failed.

Profiles:

- ``smoke``: each notebook at its stored defaults (toy-world models, toy and bundled clips; CPU, minutes).
- ``toy``: the full toy-world measurement, on CPU: the notebooks with a parameter file in
  ``notebooks/params/toy/`` (the claims on 20 held-out clips per family under both protocols and
  the robustness grid, generation and reconstruction quality, direction transfer), once each, or
  once per family where the file names ``run_families`` (the notebook's ``families`` set to that
  one family, so the two cores share the long measurements). The toy-world numbers in docs/ are
  the ones it writes.
- ``quick``: the headline on one GPU in about an hour (real checkpoints, like ``paper``): the
  notebooks with a parameter file in ``notebooks/params/quick/`` (Fig. 2 on 4 TGVE videos per
  family, Tab. 1's tau row on the same 4 videos for ModelScope), each over its family's
  ``notebooks/params/paper/<family>.yaml``, run serially; every result with its bootstrap interval
  over videos.
- ``paper``: each notebook once per paper family with ``notebooks/params/paper/<family>.yaml``
  (real checkpoints; needs the weights and a GPU), in the paper's scope: a notebook whose
  ``notebooks/params/paper/<notebook>.yaml`` names ``run_families`` runs for those only (Tab. 3 and
  Tab. 4: Latte, as in the paper); ``families=`` (``--families``) runs every notebook for the
  families given. Its batch notebooks (Fig. 2, 4, 6, Tab. 1-4) run their units on Ray
  (``executor: ray``; ``--executor serial`` or ``--address`` on the command line change that for
  every notebook).

Notebooks run ``jobs`` at a time (smoke: 2 on a machine with at least 2 cores; paper: 1, one GPU),
each kernel on ``cores // jobs`` torch threads (the toy models gain little from a second thread:
``benchmarks/bench_threads.py``). Notebooks that read each other's cached results
(:data:`SHARED_CACHE`) run one after the other in one lane, so the later one reads what the earlier
computed rather than computing it again beside it.

Outputs go to ``<out>/<profile>/<run>/`` where ``<run>`` is the notebook stem (``-<family>`` for
the paper profile): the executed notebook, its figures (PDF + PNG) and CSVs. A failed notebook is
reported and the others still run, also when the worker process running it dies (killed, out of
memory); ``reproduce-summary.json`` lists every run.

Notebooks run on the kernelspec :data:`KERNEL_NAME` of this interpreter (:func:`ensure_kernelspec`,
also what JupyterLab offers as "Python 3 (motionlib)"), over local IPC sockets
(:class:`LocalKernelManager`), so the output shows progress, the summary and real problems only.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from tqdm.auto import tqdm

from motionlib import paths
from motionlib.errors import ParameterError
from motionlib.families import paper_names
from motionlib.notebook_index import notebook_parameters, notebooks  # noqa: F401  (also this module's API)

PROFILES = ("smoke", "toy", "quick", "paper")
KERNEL_NAME = "motionlib"
# Notebooks that share cached results: the same sweeps (Fig. 2), the same tau-700 adapters (Tab. 1,
# 2, 4, Fig. 4, 6). Each group runs in one lane, in this order.
SHARED_CACHE = (("fig2_families", "fig2_tradeoff"),
                ("tab1_timestep_range", "tab2_comparison", "tab4_rank", "fig4_qualitative", "fig6_gallery"))
# Keys of a profile's parameter file that steer the profile, not the notebook (never passed to it):
# ``run_families``, the families it runs for, one run each; ``expected_minutes``, a run's measured time
# (a number, or {family: number}), which orders the runs on a machine with no earlier summary.
PROFILE_KEYS = ("run_families", "expected_minutes")
GUESS_SECONDS = 60.0  # a notebook's expected time when neither an earlier summary nor its parameter file says


def ensure_kernelspec() -> str:
    """Install (or repair) the kernelspec :data:`KERNEL_NAME` running this interpreter, in its prefix."""
    import json

    from ipykernel.kernelspec import install

    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"
    if not spec.is_file() or json.loads(spec.read_text())["argv"][0] != sys.executable:
        install(kernel_name=KERNEL_NAME, display_name="Python 3 (motionlib)", prefix=sys.prefix)
    return KERNEL_NAME


def _kernel_manager_class():
    """jupyter_client's kernel manager on IPC sockets: no TCP port is opened, so the kernel has no
    unencrypted TCP transport to warn about. At shutdown it asks the kernel to stop without first
    interrupting it: jupyter_client sends SIGINT before every shutdown request, and a kernel that is
    still closing the last cell's request (a busy machine) then prints "KeyboardInterrupt caught in
    kernel" after a notebook that succeeded."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class LocalKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        async def _async_interrupt_kernel(self) -> None:
            if not self.shutting_down:  # (a shutdown still ends in SIGTERM, then SIGKILL, if asking fails)
                await super()._async_interrupt_kernel()

    return LocalKernelManager


@dataclass
class Run:
    name: str
    notebook: Path
    out_dir: Path
    parameters: dict
    expected_seconds: float | None = None  # from the profile's parameter file (``expected_minutes``)
    status: str = "pending"
    seconds: float = 0.0
    error: str = ""
    outputs: int = 0


def plan(profile: str = "smoke", only: list[str] | None = None, out: str | Path | None = None,
         overrides: dict | None = None, families: list[str] | None = None) -> list[Run]:
    """The runs of a profile; ``only`` keeps notebooks whose stem contains one of the names.

    ``overrides`` (e.g. ``{"executor": "ray"}``) set those parameters in every notebook that has them,
    over the profile's parameter files. ``families`` (paper profile only) runs every model notebook for
    these families, in place of the paper's scope (each notebook's ``run_families``, else all of
    :func:`motionlib.families.paper_names`).
    """
    if profile not in PROFILES:
        raise ParameterError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if families is not None:
        if profile != "paper":
            raise ParameterError(f"--families applies to the paper profile only (the {profile} profile's notebooks "
                                 "choose their families in their own parameters)")
        unknown = [f for f in families if f not in paper_names()]
        if unknown or not families:
            raise ParameterError(f"--families {' '.join(families)}: choose among {', '.join(paper_names())}")
    root = Path(out).resolve() if out else paths.figures_dir()
    found = notebooks()
    if only:
        found = [nb for nb in found if any(name in nb.stem for name in only)]
        if not found:
            names = ", ".join(nb.stem for nb in notebooks())
            raise ParameterError(f"--only {' '.join(only)} matches no notebook; notebooks are: {names}")
    runs = []
    for nb in found:
        if profile == "smoke":
            runs.append(Run(nb.stem, nb, root / profile / nb.stem, {}))
            continue
        if profile == "toy":
            toy = paths.PARAMS_DIR / "toy" / f"{nb.stem}.yaml"
            if toy.is_file():
                runs += _toy_runs(nb, toy, root / profile)
            continue
        specific = paths.PARAMS_DIR / profile / f"{nb.stem}.yaml"
        if profile == "quick" and not specific.is_file():
            continue
        extra = (yaml.safe_load(specific.read_text()) or {}) if specific.exists() else {}
        steer = {key: extra.pop(key) for key in PROFILE_KEYS if key in extra}  # not notebook parameters
        scope = steer.get("run_families") or paper_names()  # the paper's scope for this notebook
        if "family" not in notebook_parameters(nb):  # no model (the user study): one run
            runs.append(Run(nb.stem, nb, root / profile / nb.stem, extra))
            continue
        for family in families or [f for f in paper_names() if f in scope]:
            params = yaml.safe_load((paths.PARAMS_DIR / "paper" / f"{family}.yaml").read_text())
            params.update(extra)
            runs.append(Run(f"{nb.stem}-{family}", nb, root / profile / f"{nb.stem}-{family}", params))
    if overrides:
        for run in runs:
            declared = notebook_parameters(run.notebook)
            run.parameters.update({k: v for k, v in overrides.items() if k in declared})
    return runs


def _toy_runs(nb: Path, params_file: Path, root: Path) -> list[Run]:
    """The toy profile's runs of one notebook: once, or once per family of ``run_families`` (named
    ``<notebook>-<family>``, its ``families`` parameter that one family)."""
    extra = yaml.safe_load(params_file.read_text()) or {}
    steer = {key: extra.pop(key) for key in PROFILE_KEYS if key in extra}
    minutes = steer.get("expected_minutes")
    run_families = steer.get("run_families")
    if not run_families:
        seconds = 60.0 * minutes if isinstance(minutes, (int, float)) else None
        return [Run(nb.stem, nb, root / nb.stem, extra, seconds)]
    if "families" not in notebook_parameters(nb):
        raise ParameterError(f"{params_file} names run_families, but {nb.name} has no `families` parameter to set")
    minutes = minutes if isinstance(minutes, dict) else {}
    return [Run(f"{nb.stem}-{f}", nb, root / f"{nb.stem}-{f}", {**extra, "families": [f]},
                60.0 * minutes[f] if f in minutes else None) for f in run_families]


def execute(run: Run) -> Run:
    """Execute one notebook with papermill into ``run.out_dir``; never raises for notebook errors."""
    import papermill

    run.out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(run.notebook), str(run.out_dir / run.notebook.name),
            parameters={**run.parameters, "out_dir": str(run.out_dir)},
            kernel_name=ensure_kernelspec(), kernel_manager_class=_kernel_manager_class(),
            progress_bar=False, cwd=str(run.out_dir),
        )
        run.status = "ok"
    except Exception as err:  # a failing notebook must not stop the others
        run.status = "failed"
        run.error = str(err).strip().splitlines()[-1][:300] if str(err).strip() else type(err).__name__
    run.seconds = time.perf_counter() - start
    run.outputs = sum(1 for p in run.out_dir.rglob("*") if p.is_file() and p.suffix != ".ipynb")
    return run


def reproduce(profile: str = "smoke", only: list[str] | None = None, out: str | Path | None = None,
              overrides: dict | None = None, jobs: int | None = None) -> list[Run]:
    return execute_all(plan(profile, only, out, overrides), profile, jobs)


def uses_ray(runs: list[Run]) -> bool:
    """Whether any of these runs will start or join a Ray cluster (its ``executor`` parameter)."""
    return any(run.parameters.get("executor") == "ray" for run in runs)


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_jobs(profile: str) -> int:
    """Notebooks at a time: 2 for the CPU profiles (smoke, toy) on 2 or more cores, else 1 (the quick
    and paper profiles' notebooks each want the whole GPU)."""
    return 2 if profile in ("smoke", "toy") and cores() >= 2 else 1


def lanes(runs: list[Run]) -> list[list[Run]]:
    """The runs as chains to run in order: each :data:`SHARED_CACHE` group is one chain (in the
    group's order, every family's runs of a notebook together), every other run a chain alone."""
    group_of = {stem: i for i, group in enumerate(SHARED_CACHE) for stem in group}
    position = {stem: i for group in SHARED_CACHE for i, stem in enumerate(group)}
    chains: dict = {}
    for run in runs:
        chains.setdefault(group_of.get(run.notebook.stem, run.name), []).append(run)
    return [sorted(chain, key=lambda r: position.get(r.notebook.stem, 0)) for chain in chains.values()]


def _expected_seconds(runs: list[Run]) -> dict[str, float]:
    """Each run's time in the last summary of this output folder, else its parameter file's
    (``expected_minutes``), else :data:`GUESS_SECONDS`."""
    seconds = {}
    summary = runs[0].out_dir.parent / "reproduce-summary.json" if runs else None
    if summary and summary.is_file():
        try:
            seconds = {row["name"]: float(row["seconds"]) for row in json.loads(summary.read_text())
                       if row.get("status") == "ok"}
        except (ValueError, KeyError, TypeError):
            seconds = {}
    return {run.name: seconds.get(run.name, run.expected_seconds or GUESS_SECONDS) for run in runs}


def _execute_in_lane(run: Run, threads: int) -> Run:
    """In a worker process: run one notebook whose kernel uses ``threads`` torch threads."""
    os.environ.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
    return execute(run)


def _result_or_failure(future, run: Run, profile: str) -> Run:
    """The run a worker returned, or ``run`` marked failed if its worker process died."""
    try:
        return future.result()
    except Exception as err:  # the notebook's own errors are caught in execute(); this is the process
        run.status = "failed"
        run.error = (f"its worker process died ({type(err).__name__}: {str(err)[:200]}); a notebook "
                     f"running beside it may have been the cause. The other notebooks went on; rerun this one with "
                     f"`motionlib reproduce --profile {profile} --only {run.notebook.stem}`")
        return run


def execute_all(runs: list[Run], profile: str, jobs: int | None = None, *, worker=None) -> list[Run]:
    """Execute the planned runs, ``jobs`` at a time (:func:`default_jobs`), longest chain of
    :func:`lanes` first; print each as it ends; write reproduce-summary.json in plan order.
    A worker process that dies fails the notebooks it was running; the rest run in a fresh pool.
    ``worker(run, threads) -> Run`` (default :func:`_execute_in_lane`) runs one notebook in a worker."""
    worker = worker or _execute_in_lane
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ParameterError(f"jobs must be a positive number of notebooks at a time, got {jobs!r}")
    jobs = min(jobs or default_jobs(profile), max(1, len(runs)))
    bar = tqdm(total=len(runs), desc=f"reproduce ({profile}, {jobs} at a time)", unit="notebook")

    def done(run: Run) -> None:
        bar.update()
        tqdm.write(f"  {run.status:6s} {run.name} ({run.seconds:.0f} s, {run.outputs} files)")

    if jobs == 1:
        for run in runs:
            bar.set_postfix_str(run.name)
            done(execute(run))
    else:
        expected = _expected_seconds(runs)
        waiting = sorted(lanes(runs), key=lambda chain: -sum(expected[r.name] for r in chain))
        threads = max(1, cores() // jobs)
        finished: dict[str, Run] = {}
        running = {}  # future -> (its run, the rest of its chain)
        pool = None
        try:
            while waiting or running:
                if pool is None:
                    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
                while waiting and len(running) < jobs:
                    try:
                        future = pool.submit(worker, waiting[0][0], threads)
                    except BrokenProcessPool:  # a worker died since the last wait: end its runs first
                        break
                    chain = waiting.pop(0)
                    running[future] = (chain[0], chain[1:])
                if not running:  # the pool broke with nothing of ours left in it
                    pool.shutdown(wait=True)
                    pool = None
                    continue
                bar.set_postfix_str(", ".join(run.name for run, _ in running.values()))
                ended, _ = wait(running, return_when=FIRST_COMPLETED)
                if any(isinstance(f.exception(), BrokenProcessPool) for f in ended):
                    # a worker died (killed, out of memory): the pool ends every notebook it was running
                    ended, _ = wait(running)
                    pool.shutdown(wait=True)
                    pool = None
                for future in ended:
                    first, rest = running.pop(future)
                    run = _result_or_failure(future, first, profile)
                    finished[run.name] = run
                    done(run)
                    if rest:  # the chain goes on before any chain not yet started
                        waiting.insert(0, rest)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        runs = [finished[r.name] for r in runs]
    bar.close()
    if runs:
        summary = runs[0].out_dir.parent / "reproduce-summary.json"
        summary.parent.mkdir(parents=True, exist_ok=True)
        rows = [{**asdict(r), "notebook": str(r.notebook), "out_dir": str(r.out_dir)} for r in runs]
        summary.write_text(json.dumps(rows, indent=2) + "\n")
    return runs


def print_summary(runs: list[Run]) -> None:
    failed = [r for r in runs if r.status != "ok"]
    root = runs[0].out_dir.parent if runs else "-"
    print(f"\n{len(runs) - len(failed)} of {len(runs)} notebooks ran; outputs under {root}")
    for r in runs:
        print(f"  {r.status:6s} {r.seconds:6.1f} s  {r.name:28s} {r.outputs:3d} files  {r.out_dir}")
    for r in failed:
        print(f"FAILED {r.name}: {r.error}\n  see the executed notebook {r.out_dir / r.notebook.name}")


def prerequisites(runs: list[Run]) -> list:
    """What the runs need on this machine (:mod:`motionlib.prerequisites`), checked with no network."""
    from motionlib.prerequisites import check

    return check([(run.name, {**notebook_parameters(run.notebook), **run.parameters}) for run in runs])


def print_plan(runs: list[Run], profile: str, gpus: tuple[int, ...] = (1, 8)) -> None:
    """What ``reproduce`` would run, computing and writing nothing: each notebook run, and for the
    real-weight profiles its units, how many are already in the cache, the projected GPU time
    (:mod:`motionlib.projection`) of all of them and of those left, and the checklist of what they
    need on this machine (:func:`prerequisites`), each missing item with the command that fetches it."""
    from motionlib.projection import CacheIndex, project

    if profile not in ("quick", "paper"):
        expected = _expected_seconds(runs)
        print(f"{profile} profile: {len(runs)} notebook runs on this machine's CPU "
              f"(expected minutes from the last run into this folder, else its parameter file's, "
              f"else {GUESS_SECONDS / 60:.0f}):")
        for run in runs:
            print(f"  {run.name:34s} {expected[run.name] / 60:6.1f} min")
        print("(the GPU projection is for the real checkpoints: --profile quick or paper)")
        return
    pr = project(runs, gpus=gpus, cache=CacheIndex())
    projected = {r.name for r in pr.runs}
    print(f"{profile} profile: projected (motionlib.projection): {pr.sources()}\n")
    print(f"{'notebook run':34s} {'families':26s} {'units':>6s} {'cached':>6s} {'GPU-h':>7s} {'left GPU-h':>10s}")
    for r in pr.runs:
        print(f"{r.name:34s} {','.join(r.families):26s} {r.units:6d} {r.cached:6d} {r.seconds / 3600:7.2f} "
              f"{r.left_seconds / 3600:10.2f}")
    others = [run.name for run in runs if run.name not in projected]
    if others:
        print(f"not projected (no model units, or Fig. 1's single video): {', '.join(others)}")
    units, cached = sum(r.units for r in pr.runs), sum(r.cached for r in pr.runs)
    left = pr.total("left_seconds") / 3600
    walls = ", ".join(f"{_hours(pr.wall_hours(g))} on {g} GPU{'s' if g > 1 else ''}" for g in gpus)
    print(f"\n{profile}: {units:,} units, {cached:,} cached; {pr.gpu_hours():.1f} GPU-h on one {pr.device} "
          f"({walls}, with model loads); left to run: {left:.1f} GPU-h")
    print("Cached = a cache entry records the unit's family, source, caption (and edit), grid or adapter "
          "(tau, projections, rank, mode) and holds all its windows or samples; resolution, guidance and "
          "training settings are not compared (motionlib.projection.CacheIndex).")
    from motionlib.prerequisites import print_checklist

    print_checklist(prerequisites(runs))


def _hours(h: float) -> str:
    return f"{h / 24:.1f} days" if h >= 48 else f"{h:.1f} h"
