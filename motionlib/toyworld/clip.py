"""The toy CLIP: an open_clip ``CLIP`` at toy size, trained contrastively on world frames and captions.

It is saved in open_clip's own folder layout (``open_clip_config.json`` with ``model_cfg`` and
``preprocess_cfg``, ``open_clip_model.safetensors``, and the toy CLIP tokenizer's files), so it
loads through the same open_clip factory as ViT-L/14: ``load_clip_scorer("local-dir:<folder>")``,
or ``clip_scorer("toy")`` for the shipped one (:data:`motionlib.paths.TOY_CLIP_DIR`).

Training draws frames from the world's training split (both paths) and pairs each with its
clip's caption; the loss is CLIP's symmetric cross-entropy over the batch with a learned
temperature. Motion words cannot be read off one frame, so captions that differ only in motion
are indistinguishable to it by construction: its job is appearance, as the paper uses CLIP.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from motionlib import checkpoint, provenance
from motionlib.errors import ParameterError
from motionlib.metrics import OPENAI_MEAN, OPENAI_STD
from motionlib.toyworld import components, world
from motionlib.training_loop import Loop, loss_curve

CONFIG_FILE = "open_clip_config.json"
WEIGHTS_FILE = "open_clip_model.safetensors"
RECORD_FILE = "training_record.json"
CONTEXT_LENGTH = 32


def model_config(vocab_size: int) -> dict:
    """open_clip ``model_cfg`` of the toy CLIP (ViT 4 x 128 on 4-pixel patches, text 2 x 128)."""
    return {
        "embed_dim": 64,
        "vision_cfg": {"image_size": world.SIZE, "patch_size": 4, "width": 128, "layers": 4, "head_width": 32},
        "text_cfg": {"context_length": CONTEXT_LENGTH, "vocab_size": vocab_size, "width": 128, "heads": 4,
                     "layers": 2, "hf_tokenizer_name": "motionlib-toy-clip"},
    }


PREPROCESS = {"size": world.SIZE, "mode": "RGB", "mean": list(OPENAI_MEAN), "std": list(OPENAI_STD),
              "interpolation": "bicubic", "resize_mode": "shortest"}


@dataclass(frozen=True)
class ClipTrainSettings:
    seed: int = 0
    pool: int = 4000  # clips; every frame of every clip is a training image
    steps: int = 1500
    batch: int = 96
    lr: float = 1e-3
    warmup: int = 100
    checkpoint_every: int = 500

    def __post_init__(self):
        for name in ("pool", "steps", "batch", "checkpoint_every"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ParameterError(f"{name} must be a positive integer, got {getattr(self, name)!r}")


def _frames(videos: np.ndarray, preprocess) -> torch.Tensor:
    return preprocess(videos.reshape(-1, *videos.shape[2:]))


def train_clip(out_dir: str | Path, settings: ClipTrainSettings = ClipTrainSettings(), *,
               progress: bool = True) -> dict:
    """Train the toy CLIP from scratch into ``out_dir`` (open_clip local-dir layout); resumable."""
    import open_clip

    from motionlib.metrics import FramePreprocess

    out_dir = Path(out_dir)
    work = out_dir / ".training"
    work.mkdir(parents=True, exist_ok=True)
    commit = provenance.git_commit()
    tic = time.perf_counter()
    tokenizer = components.toy_clip_tokenizer(max_length=CONTEXT_LENGTH)
    cfg = model_config(len(tokenizer))
    with torch.random.fork_rng():
        torch.manual_seed(settings.seed)
        model = open_clip.CLIP(**cfg)
    specs = world.sample_specs(settings.pool, settings.seed + 10, "train", world.PATHS)
    videos = np.stack([world.render(s) for s in specs])
    images = _frames(videos, FramePreprocess(world.SIZE))
    captions = [world.caption(s) for s in specs]
    caption_ids = torch.tensor([sorted(set(captions)).index(c) for c in captions])
    tokens = tokenizer(captions, padding="max_length", max_length=CONTEXT_LENGTH, truncation=True,
                       return_tensors="pt").input_ids
    run = {"stage": "clip", "settings": asdict(settings)}
    loop = Loop({"": model}, lr=settings.lr, seed=settings.seed, path=work / "clip.safetensors", run=run,
                weight_decay=0.1)

    def step_loss(step: int) -> torch.Tensor:
        frame = torch.randint(len(images), (settings.batch,), generator=loop.generator)
        image_f = F.normalize(model.encode_image(images[frame]), dim=-1)
        text_f = F.normalize(model.encode_text(tokens[frame // world.FRAMES]), dim=-1)
        logits = model.logit_scale.exp() * image_f @ text_f.T
        # Frames of the same caption are positives of each other (several clips share a caption).
        ids = caption_ids[frame // world.FRAMES]
        same = (ids[:, None] == ids[None, :]).float()
        target = same / same.sum(dim=1, keepdim=True)
        return 0.5 * (torch.sum(-target * logits.log_softmax(dim=1), 1).mean()
                      + torch.sum(-target * logits.log_softmax(dim=0), 0).mean())

    @torch.no_grad()
    def clamp_temperature(step: int) -> None:
        model.logit_scale.clamp_(0, np.log(100))

    model.train()
    loop.run_steps(step_loss, settings.steps, checkpoint_every=settings.checkpoint_every, desc="toy CLIP",
                   progress=progress, warmup=settings.warmup, after_step=clamp_temperature, window=50)
    model.eval()
    record = {
        "what": "toy-world CLIP (open_clip CLIP at toy size) trained contrastively on world frames and "
                "captions; not ViT-L/14",
        "settings": asdict(settings), "seed": settings.seed, "steps": settings.steps,
        "loss_curve": loss_curve(loop.losses), "minutes": loop.seconds / 60,
        "wall_minutes": (time.perf_counter() - tic) / 60,
        "parameters": sum(p.numel() for p in model.parameters()),
        "git_commit": commit, "packages": provenance.package_versions(),
    }
    save_clip(model, tokenizer, cfg, out_dir, record)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return record


def save_clip(model, tokenizer, cfg: dict, out_dir: Path, record: dict) -> None:
    """open_clip local-dir layout: config, float16 safetensors weights, HF tokenizer files, record."""
    checkpoint.save_file({k: v.half() for k, v in model.state_dict().items()}, out_dir / WEIGHTS_FILE)
    (out_dir / CONFIG_FILE).write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": PREPROCESS}, indent=1))
    tokenizer.save_pretrained(out_dir)
    (out_dir / RECORD_FILE).write_text(json.dumps(record, indent=1, default=str) + "\n")
