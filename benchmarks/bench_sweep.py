"""Shared vs naive prompt-window sweep: denoiser evaluations and wall time per video.

    .venv/bin/python benchmarks/bench_sweep.py [--families modelscope latte cogvideox]
        [--steps 50] [--grid 100] [--naive-windows 5] [--source tiny] [--device cpu]

For each family: invert a bundled clip, run the shared sweep over every window of the grid, and time
naive resampling on ``--naive-windows`` windows; the naive total is that per-window time x the
number of windows (each naive window costs exactly ``steps`` evaluations, so the scaling is exact
up to noise). Evaluation counts are the formula's and are checked against the sweep's own count.
"""

from __future__ import annotations

import argparse
import time

from motionlib.data import bundled_dataset, read_video, to_model_pixels
from motionlib.inversion import invert
from motionlib.models import load_model
from motionlib.resampling import naive_evaluations, resample, resample_windows, shared_evaluations
from motionlib.windows import grid_windows


def bench(family: str, source: str, device: str, steps: int, grid: int, naive_windows: int) -> dict:
    model = load_model(family, source, device=device)
    d = model.defaults
    item = bundled_dataset()[0]
    video = read_video(item.path, d.num_frames, (d.height, d.width))
    cond, edit = model.encode_prompt(item.caption), model.encode_prompt(item.edits["object"])
    inv = invert(model, model.encode_video(to_model_pixels(video)), cond, steps)
    windows = grid_windows(grid)
    start = time.perf_counter()
    _, counts = resample_windows(model, inv.noise, inv.steps, cond, edit, windows, d.guidance_scale, progress=False)
    shared_s = time.perf_counter() - start
    assert counts["evaluations"] == shared_evaluations(windows, inv.steps)
    sample = windows[:: max(1, len(windows) // naive_windows)][:naive_windows]
    start = time.perf_counter()
    for w in sample:
        resample(model, inv.noise, inv.steps, cond, edit, w, d.guidance_scale)
    naive_s = (time.perf_counter() - start) / len(sample) * len(windows)
    return {"family": family, "steps": len(inv.steps), "windows": len(windows),
            "naive_evals": naive_evaluations(windows, inv.steps), "shared_evals": counts["evaluations"],
            "batched_passes": counts["passes"], "naive_s": naive_s, "shared_s": shared_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=["modelscope", "latte", "cogvideox"])
    parser.add_argument("--source", default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--grid", type=int, default=100)
    parser.add_argument("--naive-windows", type=int, default=5)
    args = parser.parse_args()
    print(f"{'family':12s} {'steps':>5s} {'windows':>7s} {'naive ev':>8s} {'shared ev':>9s} {'ratio':>6s} "
          f"{'passes':>6s} {'naive s':>8s} {'shared s':>8s} {'speed-up':>8s}")
    for family in args.families:
        r = bench(family, args.source, args.device, args.steps, args.grid, args.naive_windows)
        print(f"{r['family']:12s} {r['steps']:5d} {r['windows']:7d} {r['naive_evals']:8d} "
              f"{r['shared_evals']:9d} {r['shared_evals'] / r['naive_evals']:6.3f} {r['batched_passes']:6d} "
              f"{r['naive_s']:8.1f} {r['shared_s']:8.1f} {r['naive_s'] / r['shared_s']:7.2f}x")


if __name__ == "__main__":
    main()
