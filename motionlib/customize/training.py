"""Training a motion adapter on one reference video at timesteps ``[tau, 1000)``, resumable."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

import motionlib
from motionlib import checkpoint
from motionlib.cache import atomic_write, content_hash
from motionlib.customize.lora import MotionAdapter, attach
from motionlib.customize.settings import CustomizeSettings, trainable_parameter_count
from motionlib.data.video_io import resize_center_crop, sample_indices, to_model_pixels
from motionlib.errors import ParameterError
from motionlib.models.base import PromptEmbeds, VideoModel
from motionlib.training_loop import Loop


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
    written (:class:`motionlib.training_loop.Loop`; Ctrl-C saves first). ``tau = 1000`` trains nothing
    and saves the untouched (identity) adapter, mode "base".
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
        loop = Loop({"": adapter}, lr=s.learning_rate, seed=s.seed,
                    path=out_dir / "checkpoint.safetensors" if out_dir else None, run=run)

        def step_loss(step: int) -> torch.Tensor:
            t = torch.randint(s.tau, model.num_train_timesteps, (s.batch_size,), generator=loop.generator)
            noise = torch.randn((s.batch_size, *x0.shape[1:]), generator=loop.generator)
            if timestep_hook is not None:
                timestep_hook(t)
            return diffusion_loss(model, x0, t, noise, embeds)

        with adapter.training():
            loop.run_steps(step_loss, steps_total, checkpoint_every=s.checkpoint_every,
                           desc=f"{model.family} motion {s.mode}", progress=progress, leave=False)
        start, losses = loop.start, loop.losses
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
