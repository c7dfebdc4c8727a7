"""Projected GPU time of the real-weight profiles on 1, 8 and 32 GPUs (a projection, not a measurement).

    .venv/bin/python benchmarks/project_paper_profile.py [--gpus 1 8 32] [--measured FILE] [--videos N]

Prints, for the quick profile, the paper profile in the paper's scope (Tab. 3 and Tab. 4 with Latte
only) and the paper profile with every notebook for all three families: each notebook run's units,
GPU-hours and wall-clock on each GPU count; then GPU-hours per family and per phase, and the lower
bound (the denoiser calls no schedule avoids). How units and seconds are counted:
:mod:`motionlib.projection` (per-call times measured on one H200, ``motionlib/assets/fullsize_gpu_h200.json``).
"""

from __future__ import annotations

import argparse

from motionlib.families import paper_names
from motionlib.projection import MEASURED, PHASES, project
from motionlib.reproduce import plan


def show(title: str, runs, a) -> float:
    """Print the projection of ``runs``; returns its GPU-hours."""
    pr = project(runs, gpus=tuple(a.gpus), limit=a.videos, measured_path=a.measured)
    print(f"{title}: per-call times measured on one {pr.device} (full-size twins, bf16)\n")
    print(f"{'notebook run':32s} {'units':>6s} {'GPU-h':>7s} " + " ".join(f"{g:>5d} GPU h" for g in a.gpus))
    for r in pr.runs:
        print(f"{r.name:32s} {r.units:6d} {r.seconds / 3600:7.2f} " + " ".join(f"{r.walls[g] / 3600:9.2f}" for g in a.gpus))
    print(f"\n{'total':32s} {len(pr.units):6d} {pr.gpu_hours():7.1f} "
          + " ".join(f"{pr.wall_hours(g):9.1f}" for g in a.gpus))
    print("GPU-hours per family: " + ", ".join(f"{f} {h:.1f}" for f, h in pr.by_family().items()))
    print("GPU-hours per phase: " + ", ".join(f"{p} {pr.by_phase()[p]:.1f}" for p in PHASES))
    print(f"lower bound (unavoidable denoiser calls x measured s/call): {pr.total('lower_bound') / 3600:.1f} GPU-h")
    print("wall-clock (days): " + ", ".join(f"{g} GPU: {pr.wall_hours(g) / 24:.2f}" for g in a.gpus)
          + "; speed-up over 1 GPU: "
          + ", ".join(f"{g}: {pr.wall_hours(a.gpus[0]) / pr.wall_hours(g):.1f}x" for g in a.gpus[1:]))
    return pr.gpu_hours()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gpus", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--measured", default=str(MEASURED))
    p.add_argument("--videos", type=int, help="the first N TGVE videos where a notebook runs all 76")
    a = p.parse_args()
    quick = show("quick profile (one GPU, about an hour)", plan("quick"), a)
    print()
    scoped = show("paper profile (the paper's scope)", plan("paper"), a)
    print()
    every = show("paper profile, every notebook for all three families (--families modelscope latte cogvideox)",
                 plan("paper", families=paper_names()), a)
    print(f"\nGPU-hours on one GPU: quick {quick:.2f}; paper {scoped:.1f} in the paper's scope, {every:.1f} with "
          f"every family ({every - scoped:.1f} outside the paper's scope)")


if __name__ == "__main__":
    main()
