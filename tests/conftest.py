"""Shared fixtures. Tiny models are built once per session (they are seeded, so shared is safe)."""

from functools import lru_cache

import pytest

from motionlib.models import load_model


@lru_cache(maxsize=None)
def tiny(family: str):
    return load_model(family, "tiny", seed=0)


@pytest.fixture(params=["modelscope", "latte", "cogvideox", "cogvideox-5b"])
def tiny_model(request):
    return tiny(request.param)
