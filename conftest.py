"""Test-session settings shared by pytest and the nbval notebook kernels (which inherit env)."""

import os
import tempfile

# Tests never write into the repository's figures/ or cache: each session gets fresh folders,
# unless the caller chose them.
os.environ.setdefault("MOTIONLIB_FIGURES", tempfile.mkdtemp(prefix="motionlib-test-figures-"))
os.environ.setdefault("MOTIONLIB_CACHE", tempfile.mkdtemp(prefix="motionlib-test-cache-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# nbval reads a cell's messages only once the cell has finished, and ZeroMQ holds about 2,000 unread ones:
# the rest are dropped, the cell's closing "idle" with them, and nbval then fails with "Timeout of 5 seconds
# exceeded waiting for output". A tqdm bar flushes up to 10 times a second, so a long cell with nested bars
# overflows on a slow machine (CI, fig2_families). In test kernels a bar redraws at most every 5 s.
os.environ.setdefault("TQDM_MININTERVAL", "5")
