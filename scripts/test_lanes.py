"""`make test`: the library tests and the notebooks as two pytest runs side by side, one torch thread each.

The test models are small, so a torch process on two threads leaves much of the second core idle
(`benchmarks/bench_threads.py`: toy ModelScope and Latte sample 1.22x and 1.38x faster on 2 threads
than on 1; two one-thread processes win below 2x). The latest measured time of `make test` is in
docs/reproduce.md (one place, so the two cannot disagree). Plain `python -m pytest` still runs everything in one process.

Usage: python scripts/test_lanes.py [PYTEST OPTIONS...]   (options go to both lanes, e.g. -x, -k EXPR)
The tests lane reports live; the notebooks lane's report follows it. Exit status: 0 when both pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
NOTHING_SELECTED = 5  # pytest's exit status when no test was collected
DURATIONS = "--durations=15"  # each lane ends with its slowest tests: where the minutes go on the machine at hand


def main(args: list[str]) -> int:
    env = {**os.environ, **THREADS}
    pytest = [sys.executable, "-m", "pytest"]
    with tempfile.TemporaryFile("w+") as log:
        notebooks = subprocess.Popen([*pytest, "notebooks", DURATIONS, *args], cwd=REPO, env=env, stdout=log,
                                     stderr=subprocess.STDOUT)
        try:
            tests = subprocess.call([*pytest, "tests", DURATIONS, *args], cwd=REPO, env=env)
            notebooks.wait()
        finally:  # (Ctrl-C reaches both lanes; anything else still stops the notebooks lane)
            if notebooks.poll() is None:
                notebooks.terminate()
                notebooks.wait()
            log.seek(0)
            print(f"\n---- notebooks lane (ran beside the tests above) ----\n{log.read()}", flush=True)
    print(f"tests lane: exit {tests}; notebooks lane: exit {notebooks.returncode}")
    ran = [c for c in (tests, notebooks.returncode) if c != NOTHING_SELECTED]  # (-k may select in one lane only)
    if not ran:
        return NOTHING_SELECTED
    return next((c for c in ran if c != 0), 0)  # the first failure, a lane killed by a signal (< 0) included


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
