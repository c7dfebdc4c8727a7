"""Projected wall-clock of the whole paper profile on 1, 8 and 32 GPUs (a projection, not a measurement).

    .venv/bin/python benchmarks/project_paper_profile.py [--gpus 1 8 32]
        [--measured benchmarks/results/fullsize_gpu_h200.json] [--videos 76]

Where the numbers come from:
- The runs and their parameters are ``motionlib reproduce --profile paper``'s own (``reproduce.plan``:
  the notebooks' defaults, params/paper/<family>.yaml and <notebook>.yaml), walked in its order: first
  in the paper's scope (Tab. 3 and Tab. 4 with Latte only), then with every notebook for all three
  families (``--families modelscope latte cogvideox``).
- Each notebook's units are listed as the notebook makes them: Fig. 2 one sweep per (family, video);
  Fig. 4, Fig. 6 and Tab. 1-4 one unit per (video, adapter) that trains the adapter unless an earlier
  run trained it and samples every edit prompt x sample not sampled before (the cache shares adapters
  and samples between tables, as evaluate does).
- Per-unit seconds come from the measured per-call times of full-size twins on one GPU
  (``benchmarks/bench_fullsize.py gpu --json``): a sweep is its projected minutes; training is
  train steps x seconds per customization step; a sample is steps x one CFG-batched call + one decode.
- Ray: units go to the first free GPU in submission order (Ray's queue); each notebook run adds the
  driver's model load, each worker's model load (both taken as the measured build time) and Ray's start-up.

Not counted: CLIP/PickScore scoring, reading videos, Fig. 1 (one video), the tour and Tab. 5 (no model);
direct tuning is costed as a LoRA step (not measured).
"""

from __future__ import annotations

import argparse
import heapq
import json
from pathlib import Path

from motionlib.customize.settings import FAMILY_TRAINING, projection_subsets
from motionlib.models import PAPER_FAMILIES
from motionlib.reproduce import notebook_parameters, plan
from motionlib.tables import PAPER_BEST_TAU, PAPER_TAUS

RAY_START_S = 15.0  # a local Ray cluster's start-up, measured on this project's 2-core machines (bench_scaleout.py)
PAPER_VIDEOS = 76  # LOVEU-TGVE-2023 ("videos: all")


def tgve_names() -> list[str]:
    """The 76 LOVEU-TGVE-2023 video names (the bundled caption manifest), so Fig. 4/6 share with the tables."""
    import pandas as pd

    from motionlib import paths

    return list(pd.read_csv(paths.TGVE_MANIFEST)["video"])


def units_of(run, videos: int, done: set) -> tuple[str, list[tuple[str, float]]]:
    """``(family, [(unit kind, seconds)])`` of one notebook run; ``done`` is the cache so far."""
    p = {**notebook_parameters(run.notebook), **run.parameters}
    stem = run.notebook.stem
    names = tgve_names()[:videos]
    if stem.startswith("fig2"):
        families = p["families"] if "families" in p else [p["family"]]
        out = []
        for family in families:
            for v in names:
                if ("sweep", family, v) not in done:
                    done.add(("sweep", family, v))
                    out.append((family, "sweep"))
        return "+".join(families), out
    family = p["family"]
    best = p.get("tau") or PAPER_BEST_TAU[family]
    lora = dict(tau=best, projections=p.get("projections") or "qkvo", rank=p.get("rank", 4), mode="lora")
    if stem.startswith("fig4"):
        items, variants = [p["video"]], [lora, {**lora, "tau": 0}, {**lora, "tau": 1000}]
    elif stem.startswith("fig6"):
        items, variants = p["videos"], [lora]
    elif stem.startswith("tab1"):
        items, variants = names, [{**lora, "tau": t} for t in (p.get("taus") or PAPER_TAUS[family])]
    elif stem.startswith("tab2"):
        items, variants = names, [lora]
    elif stem.startswith("tab3"):
        items, variants = names, [{**lora, "projections": s} for s in (p.get("projections") or projection_subsets())]
    elif stem.startswith("tab4"):
        items = names
        variants = [{**lora, "rank": r} for r in p["ranks"]] + ([{**lora, "mode": "direct", "rank": 0}]
                                                                  if p.get("direct") else [])
    else:
        return family, []
    edits, samples = p["edit_kinds"], p.get("samples", 1)
    out = []
    for video in items:
        for v in variants:
            adapter = ("adapter", family, video, *sorted(v.items())) if v["tau"] < 1000 else ("base", family, video)
            trains = adapter not in done and v["tau"] < 1000
            done.add(adapter)
            new = [(adapter, e, s) for e in edits for s in range(samples) if (adapter, e, s) not in done]
            done.update(new)
            if trains or new:
                out.append((family, f"unit:{int(trains)}:{len(new)}"))
    return family, out


def seconds(family: str, kind: str, measured: dict, steps: int) -> float:
    m = measured[family]
    if kind == "sweep":
        return m["projected_sweep_min"] * 60
    _, trains, samples = kind.split(":")
    train_steps = FAMILY_TRAINING[family][1]
    return int(trains) * train_steps * m["customize_step_s"] + int(samples) * (steps * m["call_cfg_batched_s"]
                                                                               + m["decode_s"])


def wall_clock(costs: list[float], gpus: int) -> float:
    """List scheduling in submission order: each unit starts on the first GPU to be free."""
    free = [0.0] * gpus
    for c in costs:
        heapq.heapreplace(free, free[0] + c)
    return max(free)


def project(runs, a, measured: dict, device: str, title: str) -> float:
    """Print the per-run table of ``runs`` and return its GPU-hours."""
    done: set = set()
    totals = {g: 0.0 for g in a.gpus}
    gpu_seconds = 0.0
    per_family: dict[str, float] = {}
    print(f"{title}: {a.videos} videos, per-call times measured on one {device} (full-size twins, bf16)\n")
    print(f"{'notebook run':32s} {'units':>6s} {'GPU-h':>7s} " + " ".join(f"{g:>5d} GPU h" for g in a.gpus))
    for run in runs:
        if "family" not in run.parameters and "families" not in run.parameters:
            continue
        family, units = units_of(run, a.videos, done)
        if not units:
            continue
        steps = run.parameters.get("steps", 50)
        costs = [seconds(f, kind, measured, steps) for f, kind in units]
        walls = dict.fromkeys(a.gpus, 0.0)
        for fam in dict.fromkeys(f for f, _ in units):  # one Ray run per family (Fig. 2 loops over three)
            load = measured[fam]["build_s"]  # the driver's load, then each worker's
            own = [c for (f, _), c in zip(units, costs) if f == fam]
            for g in a.gpus:
                walls[g] += RAY_START_S + 2 * load + wall_clock(own, g)
        gpu_seconds += sum(costs)
        for (f, _), c in zip(units, costs):
            per_family[f] = per_family.get(f, 0.0) + c
        for g in a.gpus:
            totals[g] += walls[g]
        print(f"{run.name:32s} {len(units):6d} {sum(costs) / 3600:7.1f} "
              + " ".join(f"{walls[g] / 3600:9.2f}" for g in a.gpus))
    print(f"\n{'total':32s} {'':6s} {gpu_seconds / 3600:7.1f} " + " ".join(f"{totals[g] / 3600:9.1f}" for g in a.gpus))
    print("GPU-hours per family: " + ", ".join(f"{f} {v / 3600:.1f}" for f, v in per_family.items()))
    print("wall-clock (days): " + ", ".join(f"{g} GPU: {totals[g] / 86400:.2f}" for g in a.gpus)
          + f"; speed-up over 1 GPU: " + ", ".join(f"{g}: {totals[a.gpus[0]] / totals[g]:.1f}x" for g in a.gpus[1:]))
    return gpu_seconds / 3600


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gpus", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--measured", default=str(Path(__file__).parent / "results" / "fullsize_gpu_h200.json"))
    p.add_argument("--videos", type=int, default=PAPER_VIDEOS)
    a = p.parse_args()
    rows = json.loads(Path(a.measured).read_text())
    measured = {r["family"]: r for r in rows}
    device = rows[0]["device"]
    scoped = project(plan("paper"), a, measured, device, "paper profile (the paper's scope)")
    print()
    every = project(plan("paper", families=list(PAPER_FAMILIES)), a, measured, device,
                    "paper profile, every notebook for all three families (--families modelscope latte cogvideox)")
    print(f"\nGPU-hours on one GPU: {scoped:.1f} in the paper's scope, {every:.1f} with every family "
          f"({every - scoped:.1f} outside the paper's scope)")


if __name__ == "__main__":
    main()
