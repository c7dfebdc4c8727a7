"""Provenance records attached to every figure, table and video motionlib writes.

A record says which model made a result (family, source, tiny or real), with what settings and
seed, by which code (git commit) and packages. It is written as ``<stem>.provenance.json`` beside
the output, and results of tiny random models or toy-world models carry a label (:func:`label`)
that says they are not the paper's results.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from motionlib import paths

TINY = "tiny random"  # how tiny seeded random models and scorers describe themselves
TINY_LABEL = f"{TINY.upper()} MODEL: pipeline check only, not a result of the paper's models"
TOY_LABEL = "TOY WORLD: models trained on motionlib's procedural toy world, not the paper's models"
TWIN_LABEL = "CHECKPOINT TWIN: the real checkpoint's layout with random weights, pipeline check only, not a result"
PACKAGES = ("motionlib", "torch", "diffusers", "transformers", "peft", "open_clip_torch", "numpy",
            "pandas", "opencv-python-headless")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit() -> str | None:
    """HEAD of the checkout motionlib runs from, with ``-dirty`` if it has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.REPO_ROOT, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=10).stdout
        return head + ("-dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _torch_threads() -> int | None:
    """torch's intra-op threads in this process (results can differ in the last digits between counts)."""
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def record(models: Any = (), *, settings: dict | None = None, seed: int | None = None,
           what: str = "", **extra: Any) -> dict[str, Any]:
    """A provenance record. ``models``: VideoModel(s) or plain dicts describing them."""
    if not isinstance(models, (list, tuple)):
        models = [models]
    described = [m.describe() if hasattr(m, "describe") else dict(m) for m in models]
    tiny = any(m.get("tiny_random_weights") for m in described)
    toy = any(m.get("toy_world") for m in described)
    return {
        "what": what,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "models": described,
        "tiny_random_weights": tiny,
        "toy_world": toy,
        "label": label(described),
        "settings": settings or {},
        "seed": seed,
        "git_commit": git_commit(),
        "packages": package_versions(),
        "torch_threads": _torch_threads(),
        **extra,
    }


def label(what: Any) -> str:
    """The label outputs of ``what`` must carry: :data:`TINY_LABEL`, :data:`TWIN_LABEL`, :data:`TOY_LABEL` or ``""``.

    ``what``: a VideoModel, a provenance record, a ``describe()`` dict, or a list of them."""
    items = what if isinstance(what, (list, tuple)) else [what]
    flags = [m.describe() if hasattr(m, "describe") else dict(m) for m in items]
    if any(f.get("tiny_random_weights") for f in flags):
        return TINY_LABEL
    if any(f.get("checkpoint_twin") for f in flags):
        return TWIN_LABEL
    if any(f.get("toy_world") for f in flags):
        return TOY_LABEL
    return ""


def sidecar_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.stem + ".provenance.json")


def write_sidecar(output: str | Path, rec: dict[str, Any]) -> Path:
    """Write ``rec`` beside ``output`` (``fig.pdf`` -> ``fig.provenance.json``)."""
    path = sidecar_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def save_table(df: pd.DataFrame, path: str | Path, rec: dict[str, Any]) -> Path:
    """Write ``df`` as CSV with its provenance sidecar; tiny and toy results get a ``label`` column."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if label(rec) and "label" not in df.columns:
        df = df.assign(label=label(rec))
    df.to_csv(path, index=False)
    write_sidecar(path, rec)
    return path
