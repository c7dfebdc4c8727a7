"""What a real-weight profile will cost, before it runs: its units, which are cached, its GPU time.

A projection, not a measurement. The runs and parameters are ``motionlib reproduce``'s own
(:func:`motionlib.reproduce.plan`); the units are listed as the notebooks make them:

- Fig. 2 (``fig2_*``): one sweep per (family, video);
- Fig. 4, Fig. 6, Tab. 1-4: one unit per (family, video, adapter), which trains the adapter unless
  an earlier unit trained it, and samples every (edit prompt, sample) not sampled before (the cache
  shares adapters and samples between tables, as :func:`motionlib.evaluation.evaluate` does).

Seconds per unit come from per-call times measured on one GPU with full-size twins
(``motionlib/assets/fullsize_gpu_h200.json``, written by ``benchmarks/bench_fullsize.py gpu --json``),
phase by phase (:func:`phase_seconds`): a sweep is its projected minutes (1,150 CFG-batched
evaluations, the inversion and the decodes); adapter training is train steps x seconds per
customization step; customized sampling is steps x one CFG-batched call per sample; decoding one
decode per sample. Batching: a customization unit samples its ``samples`` latents in one pass per step
(``generate_customized_batch``). Where a GPU measured the time per latent at larger batches
(:data:`BATCHING`, written by ``benchmarks/gpu_check.py --batching-json``), a unit's sampling is scaled
by the measured per-latent time at the largest measured batch not above its samples over that at batch
1 (:func:`batching_factor`); where it was not measured (no file, or not that family), the factor is 1,
an assumption that makes the sampling an upper bound. The step-synchronous sweep's batching is not
counted either way (its passes hold a varying number of live latents): sweeps stay upper bounds. :func:`lower_bound_seconds` counts only the denoiser calls no
schedule can avoid, at the same per-call times. Ray: units go to the first free GPU in submission
order; each notebook run adds the driver's and each worker's model load (the measured build time)
and Ray's start-up. Not counted: CLIP/PickScore scoring, reading videos, Fig. 1, the tour, Tab. 5.

Cached units (:class:`CacheIndex`) are found without loading weights or videos, from what each
cache entry records about itself (its ``settings.json`` or ``adapter.json``); see the class.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from motionlib import families, paths
from motionlib.customize.settings import projection_subsets

MEASURED = paths.ASSETS_DIR / "fullsize_gpu_h200.json"
BATCHING = paths.ASSETS_DIR / "batching_gpu.json"  # written by benchmarks/gpu_check.py on a GPU; absent until then
RAY_START_S = 15.0  # a local Ray cluster's start-up, measured on this project's 2-core machines (bench_scaleout.py)
PHASES = ("sweep", "training", "sampling", "decode")
PROJECTED = ("fig2", "fig4", "fig6", "tab1", "tab2", "tab3", "tab4")  # notebook stems with units


@dataclass(frozen=True)
class Unit:
    """One unit of work: a sweep of one video, or one (video, adapter) of a customization table."""

    run: str  # the notebook run (reproduce.Run.name)
    family: str
    source: str  # the model's source label as the cache records it (tiny, toy, hub:<id>, a folder)
    kind: str  # "sweep" or "customize"
    video: str
    caption: str
    edit: str = ""  # sweep: the edited caption
    grid: int = 100  # sweep: window grid interval
    adapter: tuple = ()  # customize: (tau, projections, rank, mode)
    trains: bool = False  # customize: this unit trains its adapter (no earlier unit did)
    samples: int = 0  # customize: samples this unit draws (not drawn by an earlier unit)
    needed: int = 0  # customize: samples of this adapter the cache must hold for the unit to be done
    steps: int = 50


def measured_table(path: str | Path | None = None) -> tuple[dict[str, dict], str]:
    """``({family: measured row}, device name)`` from the per-call table."""
    rows = json.loads(Path(path or MEASURED).read_text())
    return {r["family"]: r for r in rows}, rows[0]["device"]


def batching_table(path: str | Path | None = None) -> dict[str, dict[int, float]]:
    """``{family: {batch: seconds per latent}}`` measured on a GPU (:data:`BATCHING`); ``{}`` where
    nothing was measured."""
    path = Path(path or BATCHING)
    if not path.is_file():
        return {}
    out: dict[str, dict[int, float]] = {}
    for row in json.loads(path.read_text()):
        if row.get("ran_batch", row["batch"]) == row["batch"]:  # a batch that was halved says nothing of itself
            out.setdefault(row["family"], {})[int(row["batch"])] = float(row["seconds_per_latent"])
    return out


def batching_factor(family: str, batch: int, table: dict[str, dict[int, float]]) -> tuple[float, str]:
    """Seconds per latent at ``batch`` over those at batch 1, and whether that is "measured" (the largest
    measured batch not above ``batch``) or "assumed" (1.0: no measurement for the family)."""
    times = table.get(family, {})
    below = [b for b in times if b <= batch]
    if 1 not in times or not below:
        return 1.0, "assumed"
    return times[max(below)] / times[1], "measured"


@lru_cache(maxsize=1)
def tgve_manifest() -> pd.DataFrame:
    """The 76 LOVEU-TGVE-2023 videos' captions and edits, indexed by video name."""
    return pd.read_csv(paths.TGVE_MANIFEST).set_index("video")


def video_names(videos, limit: int | None = None) -> list[str]:
    """The TGVE names a ``videos`` parameter selects ("all" or a list of names; anything else, such
    as bundled or toy clips, selects no TGVE video); ``limit`` keeps the first ones of "all"."""
    names = list(tgve_manifest().index)
    if videos == "all":
        return names[:limit] if limit else names
    if isinstance(videos, (list, tuple)) and all(v in tgve_manifest().index for v in videos):
        return list(videos)
    return []


def units_of(run, done: set, limit: int | None = None) -> list[Unit]:
    """The units of one notebook run that no earlier run (``done``, updated here) already makes."""
    from motionlib.models.loading import source_label
    from motionlib.notebook_index import notebook_parameters

    p = {**notebook_parameters(run.notebook), **run.parameters}
    stem = run.notebook.stem
    if not stem.startswith(PROJECTED):
        return []
    manifest, steps = tgve_manifest(), p.get("steps") or 50
    if stem.startswith("fig2"):
        out = []
        for family in p.get("families") or [p["family"]]:
            for v in video_names(p.get("videos"), limit):
                if ("sweep", family, v) not in done:
                    done.add(("sweep", family, v))
                    out.append(Unit(run.name, family, source_label(family, p["source"]), "sweep", v,
                                    manifest.at[v, "caption"], manifest.at[v, p.get("edit_kind", "object")],
                                    grid=p.get("grid", 100), steps=steps))
        return out
    family = p["family"]
    best = p.get("tau") or families.get(family).paper_best_tau
    lora = dict(tau=best, projections=p.get("projections") or "qkvo", rank=p.get("rank", 4), mode="lora")
    if stem.startswith("fig4"):
        names, variants = [p["video"]], [lora, {**lora, "tau": 0}, {**lora, "tau": 1000}]
    elif stem.startswith("fig6"):
        names, variants = p["videos"], [lora]
    else:
        names = video_names(p.get("videos"), limit)
        if stem.startswith("tab1"):
            variants = [{**lora, "tau": t} for t in (p.get("taus") or families.get(family).paper_taus)]
        elif stem.startswith("tab2"):
            variants = [lora]
        elif stem.startswith("tab3"):
            variants = [{**lora, "projections": s} for s in (p.get("projections") or projection_subsets())]
        else:  # tab4
            variants = [{**lora, "rank": r} for r in p["ranks"]] + (
                [{**lora, "mode": "direct", "rank": 0}] if p.get("direct") else [])
    edits, per_prompt = p["edit_kinds"], p.get("samples", 1)
    out = []
    for video in names:
        for v in variants:
            adapter = (v["tau"], v["projections"], v["rank"], v["mode"]) if v["tau"] < 1000 else (1000,)
            key = ("adapter", family, video, *adapter)
            trains = key not in done and v["tau"] < 1000
            done.add(key)
            new = [(key, e, s) for e in edits for s in range(per_prompt) if (key, e, s) not in done]
            done.update(new)
            if trains or new:
                out.append(Unit(run.name, family, source_label(family, p["source"]), "customize", video,
                                manifest.at[video, "caption"], adapter=adapter, trains=trains, samples=len(new),
                                needed=len(edits) * per_prompt, steps=steps))
    return out


def phase_seconds(unit: Unit, measured: dict[str, dict],
                  batching: dict[str, dict[int, float]] | None = None) -> dict[str, float]:
    """Projected GPU seconds of ``unit`` per phase (:data:`PHASES`), from the measured per-call table
    and, for the sampling, the measured batching (:func:`batching_factor`; none given: factor 1)."""
    m = measured[unit.family]
    if unit.kind == "sweep":
        return {"sweep": m["projected_sweep_min"] * 60, "training": 0.0, "sampling": 0.0, "decode": 0.0}
    train_steps = families.get(unit.family).lora.train_steps if unit.trains else 0
    factor, _ = batching_factor(unit.family, unit.samples, batching or {})
    return {"sweep": 0.0, "training": train_steps * m["customize_step_s"],
            "sampling": unit.samples * unit.steps * m["call_cfg_batched_s"] * factor,
            "decode": unit.samples * m["decode_s"]}


def lower_bound_seconds(unit: Unit, measured: dict[str, dict],
                        batching: dict[str, dict[int, float]] | None = None) -> float:
    """The denoiser work no schedule avoids, at the measured per-call times (sampling: with the measured
    batching, as :func:`phase_seconds`): a sweep's evaluations by the shared-prefix formula, each
    training step, each sample's steps (no inversion, decode or load)."""
    m = measured[unit.family]
    if unit.kind == "sweep":
        return m["sweep_evaluations"] * m["call_cfg_batched_s"]
    train_steps = families.get(unit.family).lora.train_steps if unit.trains else 0
    factor, _ = batching_factor(unit.family, unit.samples, batching or {})
    return train_steps * m["customize_step_s"] + unit.samples * unit.steps * m["call_cfg_batched_s"] * factor


def wall_clock(costs: list[float], gpus: int) -> float:
    """List scheduling in submission order: each unit starts on the first GPU to be free (seconds)."""
    free = [0.0] * gpus
    for c in costs:
        heapq.heapreplace(free, free[0] + c)
    return max(free)


@dataclass
class RunProjection:
    """One notebook run: its units, how many are cached, GPU seconds by phase, wall-clock per GPU count."""

    name: str
    families: list[str]
    units: int
    cached: int
    phases: dict[str, float]  # all units
    left_phases: dict[str, float]  # units not cached
    lower_bound: float
    walls: dict[int, float]  # GPUs -> seconds (all units, with loads and Ray start-up)
    family_seconds: dict[str, float]  # GPU seconds per family

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())

    @property
    def left_seconds(self) -> float:
        return sum(self.left_phases.values())


@dataclass
class Projection:
    runs: list[RunProjection]
    device: str
    gpus: tuple[int, ...]
    units: list[Unit] = field(default_factory=list)
    batching: dict[str, dict[int, float]] = field(default_factory=dict)  # measured; {}: none (factor 1 assumed)

    def sources(self) -> str:
        """Which numbers are measured and which assumed, in one line."""
        fams = sorted({u.family for u in self.units})
        measured = [f for f in fams if f in self.batching]
        return (f"per-call times measured on one {self.device} at batch 1 (full-size twins, bf16); sampling batching "
                + (f"measured for {', '.join(measured)}" if measured else "not measured")
                + ("" if len(measured) == len(fams) else
                   f"{'; ' if measured else ': '}assumed none for {', '.join(f for f in fams if f not in measured)} "
                   "(an upper bound)")
                + "; sweep batching not counted (an upper bound)")

    def total(self, attr: str = "seconds") -> float:
        return sum(getattr(r, attr) for r in self.runs)

    def gpu_hours(self) -> float:
        return self.total() / 3600

    def wall_hours(self, gpus: int) -> float:
        return sum(r.walls[gpus] for r in self.runs) / 3600

    def by_family(self) -> dict[str, float]:
        """GPU-hours per family."""
        out: dict[str, float] = {}
        for run in self.runs:
            for f, s in run.family_seconds.items():
                out[f] = out.get(f, 0.0) + s / 3600
        return out

    def by_phase(self) -> dict[str, float]:
        """GPU-hours per phase."""
        return {ph: sum(r.phases[ph] for r in self.runs) / 3600 for ph in PHASES}


def project(runs, *, gpus=(1, 8, 32), limit: int | None = None, measured_path=None,
            cache: CacheIndex | None = None, batching_path=None) -> Projection:
    """The projection of ``runs`` (``reproduce.plan``'s); ``limit`` keeps the first TGVE videos of
    ``videos: all``; ``cache`` marks the units already done (none if ``None``)."""
    measured, device = measured_table(measured_path)
    batching = batching_table(batching_path)
    done: set = set()
    out = Projection([], device, tuple(gpus), batching=batching)
    for run in runs:
        units = units_of(run, done, limit)
        if not units:
            continue
        out.units += units
        phases = [phase_seconds(u, measured, batching) for u in units]
        cached = [cache is not None and cache.done(u) for u in units]
        costs = [sum(ph.values()) for ph in phases]
        walls = dict.fromkeys(gpus, 0.0)
        families = list(dict.fromkeys(u.family for u in units))
        for fam in families:  # one Ray run per family (Fig. 2 loops over three)
            own = [c for u, c in zip(units, costs) if u.family == fam]
            for g in gpus:
                walls[g] += RAY_START_S + 2 * measured[fam]["build_s"] + wall_clock(own, g)
        rp = RunProjection(run.name, families, len(units), sum(cached),
                           {p: sum(ph[p] for ph in phases) for p in PHASES},
                           {p: sum(ph[p] for ph, c in zip(phases, cached) if not c) for p in PHASES},
                           sum(lower_bound_seconds(u, measured, batching) for u in units), walls,
                           {f: sum(c for u, c in zip(units, costs) if u.family == f) for f in families})
        out.runs.append(rp)
    return out


class CacheIndex:
    """The finished units in a result cache (default :func:`motionlib.paths.cache_dir`), read from what
    each entry records, without weights or videos. It compares:

    - a sweep: an entry of ``sweep/`` whose ``settings.json`` has the unit's family, source label,
      caption, edited caption and grid, and (if the run sets them) its steps; it is done when it holds
      every window's latents (the grid's windows + the no-edit reference) and a scores file;
    - a customization unit: an adapter in ``adapters/`` whose ``adapter.json`` has the unit's family,
      source label, caption, tau, projections, rank and mode, with its weights; and an entry of
      ``customized-samples/`` for that adapter's video hash and settings holding at least the unit's
      samples (edit prompts x samples per prompt). A tau-1000 unit (the base model) matches on tau alone.

    Not compared: resolution, guidance, learning rate, train steps, seeds (a cache made with other
    values of these counts as done); the plan says so.
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root or paths.cache_dir())
        self.sweeps = [(json.loads(f.read_text()), f.parent) for f in self._entries("sweep", "settings.json")]
        self.adapters = [json.loads(f.read_text()) for f in self._entries("adapters", "adapter.json")
                         if (f.parent / "adapter.safetensors").exists()]
        self.samples = [(json.loads(f.read_text()), f.parent)
                        for f in self._entries("customized-samples", "settings.json")]

    def _entries(self, namespace: str, name: str) -> list[Path]:
        folder = self.root / namespace
        return sorted(folder.glob(f"*/{name}")) if folder.is_dir() else []

    def done(self, unit: Unit) -> bool:
        return self._sweep_done(unit) if unit.kind == "sweep" else self._unit_done(unit)

    def _sweep_done(self, u: Unit) -> bool:
        from motionlib.windows import grid_windows

        windows = len(grid_windows(u.grid)) + 1
        for fields, folder in self.sweeps:
            model = fields.get("model", {})
            if ((model.get("family"), model.get("source"), fields.get("caption"), fields.get("edit"),
                 fields.get("grid")) == (u.family, u.source, u.caption, u.edit, u.grid)
                    and fields.get("num_steps") in (u.steps, None)
                    and len(list(folder.glob("w*.safetensors"))) >= windows and any(folder.glob("scores-*.json"))):
                return True
        return False

    def _unit_done(self, u: Unit) -> bool:
        for record in self.adapters:
            s, model = record.get("settings", {}), record.get("model", {})
            kept = (s.get("tau"),) if u.adapter == (1000,) else (s.get("tau"), s.get("projections"), s.get("rank"),
                                                                  s.get("mode"))
            if ((model.get("family"), model.get("source"), record.get("caption"), kept)
                    == (u.family, u.source, u.caption, u.adapter) and self._samples_held(record) >= u.needed):
                return True
        return False

    def _samples_held(self, record: dict) -> int:
        """Samples in the ``customized-samples`` entries of this adapter (its video hash and settings)."""
        return max([len(list(folder.glob("sample-*.safetensors"))) for fields, folder in self.samples
                    if fields.get("video_sha") == record.get("video_hash")
                    and fields.get("adapter") == record.get("settings")
                    and fields.get("model") == record.get("model")], default=0)
