"""Lay a checkpoint folder out in a Hugging Face cache, as ``hf download`` would have left it.

``models--<org>--<name>/blobs/<hash>`` holds each file once (sha256 for large, LFS-stored files, the
git blob sha1 for small ones), ``snapshots/<commit>/<path>`` links to it, and ``refs/main`` names the
commit. With ``HF_HUB_OFFLINE=1`` and ``HF_HUB_CACHE`` pointing there, ``--source hub`` resolves the
family's hub id with no network, through the same code that reads a real download.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

LFS_THRESHOLD = 10 * 1024 * 1024  # the hub stores files above 10 MB (and all weights) through Git LFS


def repo_folder(cache_dir: str | Path, repo_id: str) -> Path:
    """``<cache>/models--org--name``: huggingface_hub's folder for a model repository."""
    return Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))


def _blob_hash(path: Path) -> str:
    size = path.stat().st_size
    lfs = size > LFS_THRESHOLD or path.suffix in (".safetensors", ".bin", ".model")
    digest = hashlib.sha256() if lfs else hashlib.sha1(f"blob {size}\0".encode())
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def install(folder: str | Path, repo_id: str, cache_dir: str | Path) -> Path:
    """Put every file of ``folder`` into ``cache_dir`` as a download of ``repo_id``; returns the snapshot folder.

    Blobs are hard links to the folder's files where the file system allows (no copy of the weights).
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not (folder / "model_index.json").is_file():
        raise FileNotFoundError(f"{folder} holds no model_index.json: not a diffusers checkpoint folder")
    hashes = {p.relative_to(folder).as_posix(): _blob_hash(p) for p in files}
    commit = hashlib.sha1("".join(f"{k}:{v}\n" for k, v in hashes.items()).encode()).hexdigest()
    repo = repo_folder(cache_dir, repo_id)
    blobs, snapshot = repo / "blobs", repo / "snapshots" / commit
    blobs.mkdir(parents=True, exist_ok=True)
    for rel, digest in hashes.items():
        blob = blobs / digest
        if not blob.exists():
            try:
                os.link(folder / rel, blob)
            except OSError:
                shutil.copyfile(folder / rel, blob)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot
