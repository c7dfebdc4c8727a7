"""How long `motionlib figures` takes to redraw a profile's figures, and what it imports (no model).

    .venv/bin/python benchmarks/bench_figures.py [--profile smoke] [--figures DIR] [--repeats 2]

Redraws every recorded figure of ``DIR/<profile>`` ``--repeats`` times (house style, then single column
width, alternating) and prints the seconds of each pass, the figures per second, and whether torch,
diffusers or any of motionlib's model modules were imported by the redraw (they must not be: a restyle
loads no model). Run it after ``make reproduce`` (the smoke profile: issue bar under 60 s on 2 cores).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

CODE = """
import sys, time
from motionlib import figures
t = time.perf_counter()
done, others, _ = figures.redraw(figures.profile_dir({profile!r}, {root!r}), None, {width!r})
print(len(done), len(others), time.perf_counter() - t, sum(1 for p in done.values() if p),
      sorted(m for m in ("torch", "diffusers", "transformers", "motionlib.models") if m in sys.modules))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--figures", default=None, help="the reproduce output root (default figures/)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    for i in range(args.repeats):
        width = None if i % 2 == 0 else "single"
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CODE.format(profile=args.profile, root=args.figures, width=width)],
                             capture_output=True, text=True, check=True).stdout.split(maxsplit=4)
        wall = time.perf_counter() - start
        n, others, seconds, failing, imported = int(out[0]), int(out[1]), float(out[2]), int(out[3]), out[4].strip()
        print(f"pass {i + 1} ({width or 'house'} width): {n} figures redrawn in {seconds:.1f} s "
              f"({wall:.1f} s with the interpreter's start), {n / seconds:.1f} figures/s; {failing} fail the "
              f"figure check; {others} PNGs without recorded inputs; heavy modules imported: {imported}")


if __name__ == "__main__":
    main()
