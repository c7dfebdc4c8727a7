"""Reconstruction error of DDIM inversion against the number of steps, per family.

    .venv/bin/python benchmarks/bench_inversion.py [--families ...] [--steps 10 20 50] [--source tiny]

Inverts a bundled clip with its caption (no CFG), resamples with the same caption, and prints the
relative error ||x0_rebuilt - x0|| / ||x0|| of the latents, for plain DDIM inversion and with
fixed-point refinement (``--iters`` evaluations per step, relaxation 0.5 for ModelScope where
the plain fixed-point iteration oscillates on the tiny model).
"""

from __future__ import annotations

import argparse
import time

from motionlib.data import bundled_dataset, read_video, to_model_pixels
from motionlib.inversion import invert
from motionlib.models import load_model
from motionlib.sampling import denoise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=["modelscope", "latte", "cogvideox", "cogvideox-5b"])
    parser.add_argument("--steps", nargs="+", type=int, default=[10, 20, 50])
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--source", default="tiny")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    item = bundled_dataset()[0]
    print(f"{'family':13s} {'steps':>5s} {'plain':>9s} {f'fp x{args.iters}':>9s} {'plain s':>8s} {'fp s':>7s}")
    for family in args.families:
        model = load_model(family, args.source, device=args.device)
        d = model.defaults
        latents = model.encode_video(to_model_pixels(read_video(item.path, d.num_frames, (d.height, d.width))))
        cond = model.encode_prompt(item.caption)
        relaxation = 0.5 if family == "modelscope" else 1.0
        for steps in args.steps:
            errors, seconds = [], []
            for iters in (0, args.iters):
                start = time.perf_counter()
                inv = invert(model, latents, cond, steps, fixed_point_iters=iters, relaxation=relaxation)
                seconds.append(time.perf_counter() - start)
                rebuilt = denoise(model, inv.noise, cond, inv.steps, 1.0)
                errors.append(((rebuilt - latents).norm() / latents.norm()).item())
            print(f"{family:13s} {steps:5d} {errors[0]:9.2e} {errors[1]:9.2e} {seconds[0]:8.1f} {seconds[1]:7.1f}")


if __name__ == "__main__":
    main()
