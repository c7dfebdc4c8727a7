"""Test-session settings shared by pytest and the nbval notebook kernels (which inherit env)."""

import os
import tempfile

# Tests never write into the repository's figures/ or cache: each session gets fresh folders,
# unless the caller chose them.
os.environ.setdefault("MOTIONLIB_FIGURES", tempfile.mkdtemp(prefix="motionlib-test-figures-"))
os.environ.setdefault("MOTIONLIB_CACHE", tempfile.mkdtemp(prefix="motionlib-test-cache-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Every figure a test or a notebook saves must pass the figure check (motionlib/figure_check.py): an error here.
os.environ.setdefault("MOTIONLIB_FIGURE_CHECK", "error")
# nbval reads a cell's messages only once the cell has finished, and ZeroMQ holds about 2,000 unread ones:
# the rest are dropped, the cell's closing "idle" with them, and nbval then fails with "Timeout of 5 seconds
# exceeded waiting for output". A tqdm bar flushes up to 10 times a second, so a long cell with nested bars
# overflows on a slow machine (CI, fig2_families). In test kernels a bar redraws at most every 5 s.
os.environ.setdefault("TQDM_MININTERVAL", "5")

# Test tiers (`make test-fast` leaves these out; `make test` runs everything):
MARKERS = {
    "notebook": "an nbval notebook run (notebooks/*.ipynb)",
    "browser": "drives headless Chromium (selenium)",
    "ray": "starts a Ray cluster",
    "twin": "builds a checkpoint twin of a real model's layout (reduced or full size)",
    "slow": "takes more than about 10 s on 2 cores (measured: docs/reproduce.md#test-tiers)",
}


def pytest_configure(config):
    for name, what in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {what}")


def pytest_collection_modifyitems(config, items):
    """Mark notebooks by their file and browser tests by their `driver` fixture (the others carry
    their markers: tests/test_executors.py is `ray`, tests/test_twins.py `twin`)."""
    import pytest

    for item in items:
        if str(item.path).endswith(".ipynb"):
            item.add_marker(pytest.mark.notebook)
        elif "driver" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
