"""Serial vs Ray wall-clock for the Fig. 1-2 sweeps (one unit per video) and the Tab. 1-4 customizations
(one unit per video and adapter: tau 1000, 700 and 0, 20 training steps, 2 samples).

    .venv/bin/python benchmarks/bench_scaleout.py [--what sweep customize] [--family cogvideox]
        [--source tiny] [--videos 4] [--steps 10] [--workers 1 2]

Each configuration runs in a fresh subprocess with a fresh cache (nothing is read back), one thread
per worker (and for the serial run), so N workers use N cores. Prints seconds and the ratio
serial / ray for each N; Ray's start-up is inside the ray timings (it is what a user waits for).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def one(executor: str, workers: int, what: str, family: str, source: str, videos: int,
        steps: int) -> tuple[float, float]:
    """Seconds for the whole run and, for Ray, for starting the local cluster (part of the whole)."""
    import torch

    from motionlib.evaluation import EvalSettings, evaluate, tau_methods
    from motionlib.metrics import tiny_clip_scorer
    from motionlib.models import load_model
    from motionlib.sweep import SweepSettings, run_videos
    from motionlib.videos import select_videos

    torch.set_num_threads(1)
    items = (select_videos("bundled") * videos)[:videos] if videos <= 3 else select_videos(f"toy:{videos}")
    model = load_model(family, source)
    settings = SweepSettings(num_steps=steps, grid=250, num_frames=5)  # (toy clips hold 8 frames)
    start = time.perf_counter()
    startup = 0.0
    if executor == "ray":
        import ray

        ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "MOTIONLIB_CACHE": os.environ["MOTIONLIB_CACHE"]}})
        startup = time.perf_counter() - start
    if what == "sweep":
        run_videos(model, items, tiny_clip_scorer(), settings=settings, executor=executor, progress=False)
    else:
        methods = tau_methods([1000, 700, 0], train_steps=20, num_frames=5)
        evaluate(model, items, methods, tiny_clip_scorer(), None,
                 EvalSettings(edit_kinds=("object",), num_samples=2, num_steps=steps, num_frames=5),
                 executor=executor, progress=False)
    if executor == "ray":
        ray.shutdown()
    return time.perf_counter() - start, startup


def main() -> None:
    if sys.argv[1:2] == ["_one"]:
        ex, workers, what, family, source, videos, steps = sys.argv[2:]
        print(json.dumps(one(ex, int(workers), what, family, source, int(videos), int(steps))))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--what", nargs="+", default=["sweep", "customize"], choices=["sweep", "customize"])
    p.add_argument("--family", default="cogvideox")
    p.add_argument("--source", default="tiny")
    p.add_argument("--videos", type=int, default=4)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    a = p.parse_args()

    def timed(executor: str, workers: int, what: str) -> tuple[float, float]:
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "MOTIONLIB_CACHE": cache, "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
            out = subprocess.run([sys.executable, __file__, "_one", executor, str(workers), what, a.family, a.source,
                                  str(a.videos), str(a.steps)], env=env, capture_output=True, text=True, check=True)
            return tuple(json.loads(out.stdout.strip().splitlines()[-1]))

    for what in a.what:
        serial, _ = timed("serial", 1, what)
        print(f"{what}: {a.family} ({a.source}), {a.videos} videos, {a.steps} steps: serial {serial:.1f} s")
        for n in a.workers:
            t, startup = timed("ray", n, what)
            print(f"  ray, {n} worker(s): {t:.1f} s (of which Ray start-up {startup:.1f} s)   serial / ray = "
                  f"{serial / t:.2f}; without the start-up {serial / (t - startup):.2f}")


if __name__ == "__main__":
    main()
