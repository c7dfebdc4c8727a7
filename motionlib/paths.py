"""Every filesystem location motionlib uses, in one place.

Nothing else in the package builds paths from the working directory. Two environment variables
move the writable locations:

- ``MOTIONLIB_FIGURES``: where figures, CSVs and executed notebooks go (default ``<repo>/figures``).
- ``MOTIONLIB_CACHE``: where cached results and built tokenizers go (default ``<repo>/.cache``).
- ``MOTIONLIB_TGVE``: the unpacked LOVEU-TGVE-2023 dataset (official layout), used by the paper
  parameter files when a notebook's ``tgve_root`` is not given.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from motionlib.errors import ParameterError

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR / "assets"
BUNDLED_VIDEOS_DIR = ASSETS_DIR / "videos"
BUNDLED_MANIFEST = BUNDLED_VIDEOS_DIR / "clips.csv"
TGVE_MANIFEST = ASSETS_DIR / "tgve2023_captions.csv"
TOY_MODELS_DIR = ASSETS_DIR / "toy"  # trained toy-world models, one diffusers folder per family
TOY_CLIP_DIR = TOY_MODELS_DIR / "clip"  # the toy-world CLIP (open_clip local-dir layout)

# The repository root when motionlib is used from a checkout (editable install); otherwise the
# package directory's parent, which still gives sensible writable defaults.
REPO_ROOT = PACKAGE_DIR.parent
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PARAMS_DIR = NOTEBOOKS_DIR / "params"


def figures_dir() -> Path:
    """Root folder for generated figures, tables and executed notebooks."""
    return Path(os.environ.get("MOTIONLIB_FIGURES", REPO_ROOT / "figures")).resolve()


def cache_dir() -> Path:
    """Root folder for cached results (sweeps, adapters, metrics) and built tokenizers."""
    return Path(os.environ.get("MOTIONLIB_CACHE", REPO_ROOT / ".cache")).resolve()


def output_dir(name: str, root: str | os.PathLike | None = None, *, by: tuple | list = ()) -> Path:
    """``root`` if given (``motionlib reproduce`` gives one per run), else ``figures_dir()/<name>[-<by>...]``,
    created if missing. ``name`` is usually a notebook stem; ``by``, the parameters that tell a hand run
    apart (a single-family notebook passes its family), so that a run for Latte does not replace the
    last run for ModelScope: ``figures/fig2_tradeoff-latte/``."""
    parts = [str(v) for v in by]
    bad = [v for v in parts if not re.fullmatch(r"[A-Za-z0-9._+-]+", v)]
    if bad:
        raise ParameterError(f"output folder parts must be plain names (letters, digits, . _ + -), got {bad}")
    path = Path(root) if root else figures_dir() / "-".join([name, *parts])
    path.mkdir(parents=True, exist_ok=True)
    return path


def tgve_root() -> Path | None:
    """The LOVEU-TGVE-2023 folder from ``MOTIONLIB_TGVE``, or None when it is not set."""
    root = os.environ.get("MOTIONLIB_TGVE")
    return Path(root).resolve() if root else None
