"""Shared fixtures. Tiny models are built once per session (they are seeded, so shared is safe)."""

from functools import lru_cache
from pathlib import Path

import pytest

from motionlib.models import load_model


@lru_cache(maxsize=None)
def tiny(family: str):
    return load_model(family, "tiny", seed=0)


@pytest.fixture(params=["modelscope", "latte", "cogvideox", "cogvideox-5b"])
def tiny_model(request):
    return tiny(request.param)


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def headless_chromium(profile: Path, *extra_args: str, prefs: dict | None = None, window: str = "1400,1000"):
    """A selenium driver on Debian's headless Chromium (skips the test where it or selenium is missing)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", f"--window-size={window}", f"--user-data-dir={profile}", *extra_args]:
        options.add_argument(arg)
    if prefs:
        options.add_experimental_option("prefs", prefs)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(str(CHROMEDRIVER)))
