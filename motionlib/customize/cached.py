"""Adapters kept in the cache: one per (model, reference video, caption, resolved settings), trained once.

Every customization that trains on a reference (the evaluation runner of Tab. 1-4 and Fig. 4-6, the
toy world's paired transfer) gets its adapter here, so a rerun or another notebook reads it back.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from motionlib import paths
from motionlib.cache import cache_key, content_hash
from motionlib.customize.lora import MotionAdapter, load_adapter
from motionlib.customize.settings import CustomizeSettings
from motionlib.customize.training import train
from motionlib.models.base import VideoModel


def adapter_dir(model: VideoModel, video: np.ndarray, caption: str, settings: CustomizeSettings) -> Path:
    """Where the adapter of (model, video, caption, resolved settings) lives in the cache."""
    key = cache_key({"model": model.describe(), "video_sha": content_hash(video), "caption": caption,
                     "settings": asdict(settings.resolved(model))})
    return paths.cache_dir() / "adapters" / key


def customized_adapter(model: VideoModel, video: np.ndarray, caption: str, settings: CustomizeSettings,
                       *, cache: bool = True, progress: bool = True) -> tuple[MotionAdapter, dict]:
    """The trained adapter attached to ``model``: read from the cache, or trained (and cached).

    Returns the adapter and its ``adapter.json`` record. ``adapter.remove()`` takes it off again.
    """
    import json

    folder = adapter_dir(model, video, caption, settings) if cache else None
    if folder is not None and (folder / "adapter.json").exists() and (folder / "adapter.safetensors").exists():
        return load_adapter(model, folder), json.loads((folder / "adapter.json").read_text())
    result = train(model, video, caption, settings, folder, progress=progress)
    return result.adapter, result.record
