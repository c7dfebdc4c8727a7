"""The Fig. 1-2 sweep of one video three ways: naive, grouped (main before the step-synchronous
sweep) and step-synchronous (today's :func:`motionlib.resampling.resample_windows`).

    .venv/bin/python benchmarks/bench_sweep.py [--families modelscope] [--source toy]
        [--steps 50] [--grid 100] [--naive-windows 5] [--device cpu] [--threads 1]

For each family: invert a bundled clip, then time
- the step-synchronous sweep (every live latent of every window in one pass per step);
- the grouped sweep it replaced (the shared c prefix, then each k_s group's c' segment, then its c
  suffixes in passes of at most 8 latents; reproduced below from main at 2961915);
- naive resampling of ``--naive-windows`` windows, scaled to the whole grid (each naive window costs
  exactly ``steps`` evaluations, so the scaling is exact up to noise).
Both shared sweeps make the same evaluations (:func:`shared_evaluations`); the printed passes are
counted denoiser calls, and the largest difference between the two sweeps' final latents is shown.
Wall-clock ratios come from one run of this script (machines are noisy; compare within a run).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch

from motionlib.data import bundled_dataset, read_video, to_model_pixels
from motionlib.inversion import invert
from motionlib.models import load_model
from motionlib.resampling import _ranges, naive_evaluations, resample, resample_windows, shared_evaluations
from motionlib.sampling import sample_step
from motionlib.windows import NO_EDIT, grid_windows


@torch.no_grad()
def grouped_sweep(model, noise, steps, cond, edit, windows, guidance, batch_size=8):
    """The sweep as main ran it before the step-synchronous one (same tree, grouped order)."""
    n, groups = len(steps), _ranges(windows, steps)
    x = noise.float().to(model.device)
    prefix = {0: x}
    for k in range(max(groups, default=0)):
        x = sample_step(model, x, steps[k], cond, guidance)
        prefix[k + 1] = x
    by_range = defaultdict(list)
    for w in windows:
        by_range[w.step_range(steps)].append(w)
    results = {}
    for k_s in sorted(groups):
        ends = groups[k_s]
        y, starts = prefix[k_s], {k_s: prefix[k_s]}
        for k in range(k_s, max(ends)):
            y = sample_step(model, y, steps[k], edit, guidance)
            starts[k + 1] = y
        states = {k_e: starts[k_e] for k_e in ends}
        for k in range(min(ends), n):
            active = [k_e for k_e in sorted(states) if k_e <= k]
            for i in range(0, len(active), batch_size):
                chunk = active[i : i + batch_size]
                out = sample_step(model, torch.cat([states[k_e] for k_e in chunk]), steps[k], cond, guidance)
                for j, k_e in enumerate(chunk):
                    states[k_e] = out[j : j + 1]
        results.update({w: states[k_e] for k_e in ends for w in by_range[(k_s, k_e)]})
    return results


def counting(model):
    """Wrap the model's denoiser; returns the list of latents per call (CFG rows / 2 when guided)."""
    calls, original = [], model._denoise

    def counted(latents, t, embeds, **kwargs):
        calls.append(latents.shape[0])
        return original(latents, t, embeds, **kwargs)

    model._denoise = counted
    return calls


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench(family: str, source: str, device: str, steps: int, grid: int, naive_windows: int, model=None) -> dict:
    """``model``: an already built model (a twin on a GPU: ``gpu_check.py``) in place of ``load_model``."""
    model = model or load_model(family, source, device=device)
    d = model.defaults
    item = bundled_dataset()[0]
    video = read_video(item.path, d.num_frames, (d.height, d.width))
    cond, edit = model.encode_prompt(item.caption), model.encode_prompt(item.edits["object"])
    inv = invert(model, model.encode_video(to_model_pixels(video)), cond, steps)
    windows = [NO_EDIT] + grid_windows(grid)
    g = d.guidance_scale
    calls = counting(model)
    synchronous, sync_s = timed(lambda: resample_windows(model, inv.noise, inv.steps, cond, edit, windows, g,
                                                         progress=False)[0])
    sync_passes = len(calls)
    calls.clear()
    grouped, grouped_s = timed(lambda: grouped_sweep(model, inv.noise, inv.steps, cond, edit, windows, g))
    grouped_passes = len(calls)
    sample = windows[1 :: max(1, len(windows) // naive_windows)][:naive_windows]
    _, naive_s = timed(lambda: [resample(model, inv.noise, inv.steps, cond, edit, w, g) for w in sample])
    diff = max(float((synchronous[w] - grouped[w]).abs().max()) for w in windows)
    scale = max(float(grouped[w].abs().max()) for w in windows)
    return {"family": family, "source": model.source, "steps": len(inv.steps), "windows": len(windows),
            "naive_evals": naive_evaluations(windows, inv.steps), "shared_evals": shared_evaluations(windows, inv.steps),
            "grouped_passes": grouped_passes, "sync_passes": sync_passes,
            "naive_s": naive_s / len(sample) * len(windows), "grouped_s": grouped_s, "sync_s": sync_s,
            "max_diff": diff, "max_latent": scale}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=["modelscope"])
    parser.add_argument("--source", default="toy")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--grid", type=int, default=100)
    parser.add_argument("--naive-windows", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}, device {args.device}")
    print(f"{'family':11s} {'source':6s} {'steps':>5s} {'windows':>7s} {'naive ev':>8s} {'shared ev':>9s} "
          f"{'passes grouped':>14s} {'passes sync':>11s} {'naive s':>8s} {'grouped s':>9s} {'sync s':>7s} "
          f"{'grouped/sync':>12s} {'max |diff|':>10s}")
    for family in args.families:
        r = bench(family, args.source, args.device, args.steps, args.grid, args.naive_windows)
        print(f"{r['family']:11s} {r['source']:6s} {r['steps']:5d} {r['windows']:7d} {r['naive_evals']:8d} "
              f"{r['shared_evals']:9d} {r['grouped_passes']:14d} {r['sync_passes']:11d} {r['naive_s']:8.1f} "
              f"{r['grouped_s']:9.1f} {r['sync_s']:7.1f} {r['grouped_s'] / r['sync_s']:11.2f}x "
              f"{r['max_diff']:10.2e} (of |latent| {r['max_latent']:.1f})")


if __name__ == "__main__":
    main()
