"""Result cache: tensors as safetensors and rows as JSON, under a key of everything that matters.

An entry is a folder ``<cache_dir>/<namespace>/<key>/`` where ``key`` hashes the canonical JSON of
the settings that determine the result (family, source, steps, prompts, the video's content hash
...). Change any of them and the key changes; nothing stale is ever read. Files are written to a
temporary name and renamed, so an interrupted run leaves either a whole file or none, and the
next run resumes from what exists. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from motionlib import paths


def content_hash(array: np.ndarray) -> str:
    """SHA-256 (first 16 hex digits) of an array's shape, dtype and bytes."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.shape}{array.dtype}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def cache_key(fields: dict[str, Any]) -> str:
    """SHA-256 (first 20 hex digits) of ``fields`` as canonical JSON."""
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp)`` then rename ``tmp`` to ``path``: a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)
    return path


class ResultCache:
    """One cache entry per ``fields``; ``enabled=False`` reads nothing and writes nothing."""

    def __init__(self, namespace: str, fields: dict[str, Any], root: str | Path | None = None,
                 enabled: bool = True):
        self.fields = fields
        self.key = cache_key(fields)
        self.dir = Path(root or paths.cache_dir()) / namespace / self.key
        self.enabled = enabled
        if enabled:
            self.dir.mkdir(parents=True, exist_ok=True)
            settings = self.dir / "settings.json"
            if not settings.exists():
                atomic_write(settings, lambda p: p.write_text(json.dumps(fields, indent=2, sort_keys=True, default=str)))

    def load_tensors(self, name: str) -> dict[str, torch.Tensor] | None:
        from safetensors.torch import load_file

        path = self.dir / f"{name}.safetensors"
        return load_file(path) if self.enabled and path.exists() else None

    def save_tensors(self, name: str, tensors: dict[str, torch.Tensor]) -> None:
        from safetensors.torch import save_file

        if self.enabled:
            tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
            atomic_write(self.dir / f"{name}.safetensors", lambda p: save_file(tensors, str(p)))

    def remove(self, filename: str) -> None:
        """Delete ``filename`` (with its extension) from the entry, if it is there."""
        if self.enabled:
            (self.dir / filename).unlink(missing_ok=True)

    def load_json(self, name: str) -> Any | None:
        path = self.dir / f"{name}.json"
        return json.loads(path.read_text()) if self.enabled and path.exists() else None

    def save_json(self, name: str, value: Any) -> None:
        if self.enabled:
            atomic_write(self.dir / f"{name}.json", lambda p: p.write_text(json.dumps(value, default=str)))
