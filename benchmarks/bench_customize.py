"""Motion-LoRA training cost: seconds per training step and peak memory per family.

    .venv/bin/python benchmarks/bench_customize.py [--families modelscope latte cogvideox cogvideox-5b]
        [--source tiny] [--device cpu] [--steps 20] [--batch-size 1]

Each family runs in its own subprocess, so its peak resident memory (ru_maxrss) is its own: the
peak after loading the model and encoding the clip, and the peak after training (the difference is
what training adds). On CUDA the peak allocated GPU memory is printed too. Timing excludes the first
two steps (warm-up).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def run_one(family: str, source: str, device: str, steps: int, batch_size: int) -> dict:
    import torch

    from motionlib.customize import CustomizeSettings, train
    from motionlib.data import bundled_dataset, read_video
    from motionlib.models import load_model

    model = load_model(family, source, device=device)
    d = model.defaults
    item = bundled_dataset()[0]
    video = read_video(item.path, d.num_frames, (d.height, d.width))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    times: list[float] = []
    last = [time.perf_counter()]

    def tick(_t):
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    settings = CustomizeSettings(tau=0, train_steps=steps + 1, batch_size=batch_size)
    train(model, video, item.caption, settings, progress=False, timestep_hook=tick)
    per_step = times[3:]  # tick i measures step i-1; drop the set-up and two warm-up steps
    result = {
        "family": family, "source": source, "device": device,
        "frames_hw": f"{d.num_frames}x{d.height}x{d.width}", "batch_size": batch_size,
        "s_per_step": sum(per_step) / len(per_step),
        "peak_rss_gib_before": before,
        "peak_rss_gib_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "threads": torch.get_num_threads(),
    }
    if device.startswith("cuda"):
        result["peak_cuda_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=["modelscope", "latte", "cogvideox", "cogvideox-5b"])
    parser.add_argument("--source", default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one family, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.source, args.device, args.steps, args.batch_size)))
        return
    print(f"{'family':13s} {'clip':12s} {'s/step':>8s} {'peak RSS before':>16s} {'after':>8s} {'training adds':>14s}")
    for family in args.families:
        out = subprocess.run([sys.executable, __file__, "--one", family, "--source", args.source,
                              "--device", args.device, "--steps", str(args.steps),
                              "--batch-size", str(args.batch_size)],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        added = (r["peak_rss_gib_after"] - r["peak_rss_gib_before"]) * 1024
        cuda = f"  peak CUDA {r['peak_cuda_gib']:.2f} GiB" if "peak_cuda_gib" in r else ""
        print(f"{family:13s} {r['frames_hw']:12s} {r['s_per_step']:8.3f} {r['peak_rss_gib_before']:13.2f} GiB "
              f"{r['peak_rss_gib_after']:6.2f} GiB {added:10.0f} MiB{cuda}")


if __name__ == "__main__":
    main()
