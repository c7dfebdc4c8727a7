"""Test-session settings shared by pytest and the nbval notebook kernels (which inherit env)."""

import os
import tempfile

# Tests never write into the repository's figures/ or cache: each session gets fresh folders,
# unless the caller chose them.
os.environ.setdefault("MOTIONLIB_FIGURES", tempfile.mkdtemp(prefix="motionlib-test-figures-"))
os.environ.setdefault("MOTIONLIB_CACHE", tempfile.mkdtemp(prefix="motionlib-test-cache-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
