"""How much a second torch thread buys on the models the tests and the smoke profile run (the reason
`make test` runs two one-thread lanes side by side: scripts/test_lanes.py).

    .venv/bin/python benchmarks/bench_threads.py [--family modelscope] [--source toy] [--steps 25] [--repeats 3]

Times `--repeats` samples of `--steps` DDIM steps with 1 thread and with 2, alternating (2, 1, 2, 1 ...)
so that drift on a noisy machine hits both, and prints the seconds and the speed-up 1-thread / 2-thread.
Two one-thread processes beat one two-thread process when that speed-up is below 2.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="modelscope")
    parser.add_argument("--source", default="toy")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch

    from motionlib.models import load_model
    from motionlib.sampling import generate

    model = load_model(args.family, args.source)
    prompt = "a red square moves right on a gray background"
    generate(model, prompt, num_steps=2, seed=0, progress=False)  # warm-up
    seconds = {1: 0.0, 2: 0.0}
    for seed in range(args.repeats):
        for threads in (2, 1):
            torch.set_num_threads(threads)
            start = time.perf_counter()
            generate(model, prompt, num_steps=args.steps, seed=seed, progress=False)
            seconds[threads] += time.perf_counter() - start
    print(f"{args.family} ({args.source}), {args.repeats} samples x {args.steps} steps: "
          f"1 thread {seconds[1]:.2f} s, 2 threads {seconds[2]:.2f} s, speed-up {seconds[1] / seconds[2]:.2f}x")


if __name__ == "__main__":
    main()
