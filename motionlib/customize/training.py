"""Training a motion adapter on one reference video at timesteps ``[tau, 1000)``, resumable."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

import motionlib
from motionlib import checkpoint
from motionlib.cache import atomic_write, content_hash
from motionlib.customize.adapter import MotionAdapter, attach
from motionlib.customize.settings import CustomizeSettings, trainable_parameter_count
from motionlib.data.video_io import resize_center_crop, sample_indices, to_model_pixels
from motionlib.errors import ParameterError
from motionlib.models.base import PromptEmbeds, VideoModel


def diffusion_loss(model: VideoModel, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
                   embeds: PromptEmbeds) -> torch.Tensor:
    """Plain diffusion MSE at timesteps ``t`` (B,) for clean latents ``x0`` (1 or B, model layout)."""
    a = model.alphas_cumprod[t].view(-1, *[1] * (x0.ndim - 1))
    sa, sb = a.sqrt().float().to(x0.device), (1 - a).sqrt().float().to(x0.device)
    noise = noise.to(x0.device)
    x_t = sa * x0 + sb * noise
    target = noise if model.prediction_type == "epsilon" else sa * noise - sb * x0
    output = model.predict_with_grad(x_t, t, embeds, 1.0)
    return torch.nn.functional.mse_loss(output, target)


@dataclass
class TrainResult:
    adapter: MotionAdapter
    losses: list[float]  # one per step, including steps done before a resume
    steps: int  # optimizer steps done in total
    resumed_from: int = 0  # the checkpoint step this call started from
    out_dir: Path | None = None
    record: dict = field(default_factory=dict)  # what adapter.json holds


def _conform(video: np.ndarray, s: CustomizeSettings) -> np.ndarray:
    """Sample ``s.num_frames`` frames evenly and resize + centre-crop to ``(s.height, s.width)``."""
    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
        raise ParameterError(f"the reference video must be (F, H, W, 3) uint8, "
                             f"got {video.shape} {video.dtype}")
    if len(video) != s.num_frames:
        video = video[sample_indices(len(video), s.num_frames)]
    if video.shape[1:3] != (s.height, s.width):
        video = np.stack([resize_center_crop(f, (s.height, s.width)) for f in video])
    return video


def _resume(path: Path, adapter: MotionAdapter, optimizer, generator, run: dict) -> tuple[int, list[float]] | None:
    """Restore a checkpoint of the same run (:mod:`motionlib.checkpoint`); ``None`` (and a warning)
    if it belongs to another run or an older format, so training starts over."""
    try:
        same = checkpoint.read_meta(path).get("run") == json.loads(json.dumps(run, default=str))
    except (KeyError, ValueError, OSError):
        same = False
    if not same:
        warnings.warn(f"{path} belongs to a run with other settings; training from scratch", stacklevel=3)
        return None
    weights, meta = checkpoint.load(path, optimizer, generator)
    adapter.load_state_dict(weights)
    return meta["step"], meta["losses"]


def train(
    model: VideoModel,
    video: np.ndarray,
    caption: str,
    settings: CustomizeSettings | None = None,
    out_dir: str | Path | None = None,
    *,
    progress: bool = True,
    timestep_hook: Callable[[torch.Tensor], None] | None = None,
    adapter_name: str = "motion",
) -> TrainResult:
    """Attach an adapter to ``model`` and train it on one ``video`` (F, H, W, 3) uint8 + ``caption``.

    Timesteps are drawn uniformly from ``[tau, num_train_timesteps)``; ``timestep_hook(t)`` sees each
    draw (int64, ``(batch_size,)``). With ``out_dir``, a checkpoint is written every
    ``checkpoint_every`` steps and at the end, a rerun with the same inputs resumes from it (the
    result equals an uninterrupted run), and the final ``adapter.safetensors`` + ``adapter.json`` are
    written. ``tau = 1000`` trains nothing and saves the untouched (identity) adapter, mode "base".
    """
    s = (settings or CustomizeSettings()).resolved(model)
    video = _conform(video, s)
    adapter = attach(model, s, adapter_name)
    out_dir = Path(out_dir) if out_dir is not None else None
    run = dict(family=model.family, model=model.describe(), settings=asdict(s), caption=caption,
               video_hash=content_hash(video))
    steps_total = 0 if s.tau >= model.num_train_timesteps else s.train_steps
    losses: list[float] = []
    start = 0
    if steps_total:
        with torch.no_grad():
            x0 = model.encode_video(to_model_pixels(video)).float()
            embeds = model.encode_prompt(caption)
        generator = torch.Generator("cpu").manual_seed(s.seed)
        optimizer = torch.optim.AdamW(adapter.parameters(), lr=s.learning_rate)
        saved = out_dir / "checkpoint.safetensors" if out_dir else None
        if saved is not None and saved.exists():
            restored = _resume(saved, adapter, optimizer, generator, run)
            if restored is not None:
                start, losses = restored
        bar = tqdm(range(start, steps_total), initial=start, total=steps_total,
                   desc=f"{model.family} motion {s.mode}", disable=not progress, leave=False)
        for step in bar:
            t = torch.randint(s.tau, model.num_train_timesteps, (s.batch_size,), generator=generator)
            noise = torch.randn((s.batch_size, *x0.shape[1:]), generator=generator)
            if timestep_hook is not None:
                timestep_hook(t)
            loss = diffusion_loss(model, x0, t, noise, embeds)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            done = step + 1
            if saved is not None and (done % s.checkpoint_every == 0 or done == steps_total):
                out_dir.mkdir(parents=True, exist_ok=True)
                checkpoint.save(saved, adapter.state_dict(), optimizer, generator,
                                dict(step=done, losses=losses, run=run))
    record = dict(
        run, motionlib_version=motionlib.__version__, mode=s.mode if steps_total else "base",
        source=model.source, steps=len(losses), final_loss=losses[-1] if losses else None,
        losses=[round(float(v), 6) for v in losses],
        trainable_parameters=trainable_parameter_count(model, s), target_modules=adapter.targets,
        adapter_name=adapter_name,
    )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        checkpoint.save_file(adapter.state_dict(), out_dir / "adapter.safetensors")
        # written last and atomically: its presence says the adapter is complete (evaluation reads it back)
        atomic_write(out_dir / "adapter.json", lambda p: p.write_text(json.dumps(record, indent=2, default=str)))
    return TrainResult(adapter, losses, len(losses), start, out_dir, record)
