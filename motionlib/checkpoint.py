"""Training checkpoints as one safetensors file: weights, AdamW state and RNG state, plus JSON metadata.

Written and read by :class:`motionlib.training_loop.Loop`, the one resumable training loop. Nothing
is pickled: the optimizer's tensors are stored by parameter index, its hyper-parameters and the
caller's metadata as JSON in the file's header. Writes are atomic (:func:`motionlib.cache.atomic_write`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from motionlib.cache import atomic_write

META_KEY = "motionlib_checkpoint"


def save_file(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Atomic safetensors write (a crash leaves the old file or the new one, never half of one)."""
    from safetensors.torch import save_file as _save

    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_write(Path(path), lambda tmp: _save(tensors, str(tmp), metadata=metadata))


def save(path: str | Path, weights: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer,
         generator: torch.Generator, meta: dict[str, Any]) -> None:
    """Write ``weights`` (``"weights.<name>"``), the optimizer and ``generator`` state and ``meta``."""
    opt = optimizer.state_dict()
    tensors = {f"weights.{k}": v.detach().clone() for k, v in weights.items()}  # (tied weights apart)
    for index, state in opt["state"].items():
        tensors.update({f"optimizer.{index}.{k}": torch.as_tensor(v) for k, v in state.items()})
    tensors["rng"] = generator.get_state()
    header = {"meta": meta, "param_groups": opt["param_groups"]}
    save_file(tensors, path, {META_KEY: json.dumps(header, default=str)})


def read_meta(path: str | Path) -> dict[str, Any]:
    """The metadata a checkpoint was saved with."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return json.loads(f.metadata()[META_KEY])["meta"]


def load(path: str | Path, optimizer: torch.optim.Optimizer,
         generator: torch.Generator) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Restore the optimizer and ``generator`` in place; return ``(weights, meta)``."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        header = json.loads(f.metadata()[META_KEY])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("optimizer."):
            _, index, name = k.split(".", 2)
            state.setdefault(int(index), {})[name] = v
    optimizer.load_state_dict({"state": state, "param_groups": header["param_groups"]})
    generator.set_state(tensors["rng"])
    weights = {k.removeprefix("weights."): v for k, v in tensors.items() if k.startswith("weights.")}
    return weights, header["meta"]
