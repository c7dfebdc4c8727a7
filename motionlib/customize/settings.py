"""What a customization run is: :class:`CustomizeSettings`, the family defaults behind it, the
projections it adapts (:func:`target_modules`) and their trainable-parameter count, and the
projection subsets of Tab. 3."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from motionlib import families
from motionlib.errors import ParameterError
from motionlib.models.base import VideoModel
from motionlib.models.inventory import select

# The LoRA learning rate and steps for each real checkpoint are the family's (``Family.lora``,
# motionlib/families/<name>.py, with where each number comes from): the paper fine-tunes "at each base
# model's original learning rate" without listing the numbers.
# Direct tuning changes full-rank weights: a tenth of the LoRA rate (our choice).
DIRECT_LR_SCALE = 0.1
# Tiny random models only exercise the code path: 20 steps (our choice).
TINY_TRAIN_STEPS = 20
# Toy-world models: the defaults of every toy customization run except the paired transfer measurement,
# first chosen by check (i) (the tau = 0 adapter redraws its own reference's direction in >= 0.9 of seeds).
# The paired measurement (motionlib.toyworld.transfer) chooses its strength among transfer.STRENGTHS by
# paired transfer on held-out appearances instead (docs/customization-toyworld.md): for the open-caption
# models r16 / 400 steps / 3e-3 (ModelScope) and the MotionDirector-like recipe (Latte).
TOY_LEARNING_RATE = 3e-3
TOY_TRAIN_STEPS = 200

# Samples per batched denoiser pass when sampling a customized model (the evaluation's
# ``EvalSettings.sample_batch = None``), for the real checkpoints at the paper's settings: the family's
# ``Family.sample_batch``. Rule:
# the largest b with weights + b x per_sample <= 80% of the GPU, capped at 16 (one evaluation unit of
# the paper: 4 edit prompts x 4 samples), where per_sample = inference_peak - weights of one
# guided step at batch 1 (both classifier-free-guidance branches), from
# motionlib/assets/fullsize_gpu_h200.json (bf16, GiB; decoding runs one sample at a time after
# sampling, so its peak, 5.5-29.5 GiB with the weights, does not grow with b):
#   family        weights  inference_peak  per_sample  b, H200 (139 GiB)  b, 48 GiB card
#   modelscope     3.42       4.13           0.71           152                 49
#   latte         11.00      11.94           0.95           105                 28
#   cogvideox     12.43      13.18           0.75           131                 34
#   cogvideox-5b  19.65      20.39           0.74           122                 25
# (the linear rule assumes activations grow with the batch, as they do with the memory-efficient
# attention kernels the families run on GPU). Every family gets the cap, 16, which fits even a 48 GiB
# card by this rule; a GPU that runs out of memory anyway splits the batch in half and retries
# (motionlib.customize.generation). Tiny and toy models (seconds on a CPU) sample all requests in one batch.

MODES = ("lora", "direct")
# Where the adapter goes besides the chosen attention projections (Tab. 3-like rows of the toy protocol):
# "ff": the feed-forward linears of the same transformer blocks; "conv": the denoiser's temporal
# convolutions (Conv3d with a time extent > 1: ModelScope's temp_convs; Latte and CogVideoX have none).
PLACEMENTS = ("attention", "attention+ff", "attention+ff+conv")
GROUPS = ("temporal", "spatial", "joint", "all")  # "all": every attention (spatial + temporal, or joint)


def check_sample_batch(sample_batch: int | None) -> None:
    """``sample_batch`` is ``None`` (the family default) or an integer >= 1, else a one-line error."""
    if sample_batch is not None and (isinstance(sample_batch, bool) or not isinstance(sample_batch, int)
                                     or sample_batch < 1):
        raise ParameterError(f"sample_batch must be an integer >= 1 (samples per denoiser pass), or None "
                             f"for the family default; got {sample_batch!r}")


def sample_batch_size(model: VideoModel, sample_batch: int | None, num_requests: int) -> int:
    """Samples per denoiser pass: ``sample_batch``, or ``None`` -> the family's ``sample_batch`` for real
    models and all ``num_requests`` at once for tiny and toy models."""
    check_sample_batch(sample_batch)
    if sample_batch is not None:
        return sample_batch
    if model.is_tiny or model.is_toy:
        return max(num_requests, 1)
    return families.get(model.family).sample_batch


def default_group(family: str) -> str:
    """Where the motion adapter goes (``Family.motion_group``): temporal attention, or a joint 3D attention."""
    return families.get(family).motion_group


@dataclass(frozen=True)
class CustomizeSettings:
    """Everything that determines a customization run. ``None`` means the model's default."""

    tau: int = 700  # train at t in [tau, 1000); 0 = all timesteps, 1000 = no training
    projections: str = "qkvo"  # which of Q, K, V, O to adapt
    group: str | None = None  # "temporal" | "spatial" | "joint" | "all"; None = default_group(family)
    mode: str = "lora"  # "lora" | "direct"
    rank: int = 4
    alpha: float = 4
    learning_rate: float | None = None  # None = the family's, or TOY_LEARNING_RATE (x DIRECT_LR_SCALE when direct)
    train_steps: int | None = None  # None = the family's, TOY_TRAIN_STEPS or TINY_TRAIN_STEPS
    batch_size: int = 1  # (timestep, noise) draws per step, all on the one reference video
    placement: str = "attention"  # one of PLACEMENTS: the attention projections, + feed-forward, + temporal convs
    dropout: float = 0.0  # LoRA dropout on the adapter's input while training (MotionDirector: 0.1)
    num_frames: int | None = None
    height: int | None = None
    width: int | None = None
    seed: int = 0
    checkpoint_every: int = 50

    def __post_init__(self):
        def need(ok: bool, message: str):
            if not ok:
                raise ParameterError(message)

        need(isinstance(self.tau, int) and 0 <= self.tau <= 1000,
             f"tau must be an integer timestep in [0, 1000], got {self.tau!r}")
        need(isinstance(self.projections, str) and len(self.projections) > 0
             and set(self.projections) <= set("qkvo") and len(set(self.projections)) == len(self.projections),
             "projections must be distinct letters from 'qkvo' (e.g. 'qkvo' or 'vo'), "
             f"got {self.projections!r}")
        need(self.group is None or self.group in GROUPS,
             f"group must be one of {', '.join(GROUPS)} (or None for the family default), got {self.group!r}")
        need(self.mode in MODES, f"mode must be 'lora' or 'direct', got {self.mode!r}")
        need(isinstance(self.rank, int) and self.rank >= 1,
             f"rank must be an integer >= 1, got {self.rank!r}")
        need(self.alpha > 0, f"alpha must be positive, got {self.alpha!r}")
        need(self.learning_rate is None or self.learning_rate > 0,
             f"learning_rate must be positive, got {self.learning_rate!r}")
        need(self.train_steps is None or (isinstance(self.train_steps, int) and self.train_steps >= 1),
             f"train_steps must be an integer >= 1, got {self.train_steps!r}")
        need(self.placement in PLACEMENTS,
             f"placement must be one of {', '.join(PLACEMENTS)}, got {self.placement!r}")
        need(isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1,
             f"dropout must be a probability in [0, 1), got {self.dropout!r}")
        need(isinstance(self.batch_size, int) and self.batch_size >= 1,
             f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        for name in ("num_frames", "height", "width"):
            value = getattr(self, name)
            need(value is None or (isinstance(value, int) and value >= 1),
                 f"{name} must be a positive integer (or None for the model default), got {value!r}")
        need(isinstance(self.checkpoint_every, int) and self.checkpoint_every >= 1,
             f"checkpoint_every must be an integer >= 1, got {self.checkpoint_every!r}")

    def resolved(self, model: VideoModel) -> CustomizeSettings:
        """These settings with every ``None`` replaced by ``model``'s default."""
        lora = families.get(model.family).lora
        lr, steps = lora.learning_rate, lora.train_steps
        if model.is_toy:
            lr, steps = TOY_LEARNING_RATE, TOY_TRAIN_STEPS
        if self.mode == "direct":
            lr *= DIRECT_LR_SCALE
        d = model.defaults.resolved(self.num_frames, self.height, self.width)
        return replace(
            self,
            group=self.group or default_group(model.family),
            learning_rate=lr if self.learning_rate is None else self.learning_rate,
            train_steps=(TINY_TRAIN_STEPS if model.is_tiny else steps) if self.train_steps is None else self.train_steps,
            num_frames=d.num_frames,
            height=d.height,
            width=d.width,
        )


def target_modules(model: VideoModel, settings: CustomizeSettings) -> list[str]:
    """Full denoiser names of the layers the adapter changes, in module order: the chosen attention
    projections, and with ``settings.placement`` the feed-forward linears of their transformer blocks
    ("+ff") and the temporal convolutions ("+conv")."""
    group = settings.group or default_group(model.family)
    chosen = select(model.attention_projections(), group, settings.projections)
    if not chosen:
        groups = sorted({p.group for p in model.attention_projections()})
        raise ParameterError(f"{model.family} has no {group} attention projections; "
                             f"choose group from {', '.join(groups)}")
    names = {p.module for p in chosen}
    modules = _plain_layers(model.denoiser)
    if "ff" in settings.placement:
        blocks = {p.attention.rsplit(".", 1)[0] + ".ff." for p in chosen}
        names |= {n for n, m in modules if isinstance(m, torch.nn.Linear) and any(n.startswith(b) for b in blocks)}
    if "conv" in settings.placement:
        convs = {n for n, m in modules if isinstance(m, torch.nn.Conv3d) and m.kernel_size[0] > 1}
        if not convs:
            raise ParameterError(f"{model.family}'s denoiser has no temporal convolutions (Conv3d over time); "
                                 f"choose placement from {', '.join(PLACEMENTS[:2])}")
        names |= convs
    return [n for n, _ in modules if n in names]


def _plain_layers(denoiser: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    """``(name, layer)`` of the denoiser in module order, a peft-wrapped layer as its plain base layer and
    peft's own modules (``base_layer``, ``lora_A``, ...) left out: the same list before and after attaching."""
    out = []
    for name, module in denoiser.named_modules():
        if any(part == "base_layer" or part.startswith("lora_") for part in name.split(".")):
            continue
        out.append((name, getattr(module, "base_layer", module)))
    return out


def _linears(model: VideoModel, names: list[str]) -> dict[str, torch.nn.Module]:
    """The plain layer (``nn.Linear`` or ``nn.Conv3d``) of each target (inside a peft wrapper once a LoRA is attached)."""
    modules = dict(model.denoiser.named_modules())
    return {n: getattr(modules[n], "base_layer", modules[n]) for n in names}


def trainable_parameter_count(model: VideoModel, settings: CustomizeSettings) -> int:
    """LoRA: ``rank * (fan_in + out)`` per target (A and B, no bias; a convolution's fan-in counts its
    kernel); direct: weight + bias sizes."""
    total = 0
    for layer in _linears(model, target_modules(model, settings)).values():
        if settings.mode == "lora":
            if isinstance(layer, torch.nn.Linear):
                total += settings.rank * (layer.in_features + layer.out_features)
            else:
                kernel = int(np.prod(layer.kernel_size))
                total += settings.rank * (layer.in_channels * kernel + layer.out_channels)
        else:
            total += layer.weight.numel() + (layer.bias.numel() if layer.bias is not None else 0)
    return total


def projection_subsets() -> list[str]:
    """The 15 non-empty subsets of ``"qkvo"`` (Tab. 3's ablation), by size, then in q < k < v < o order:
    ``"q", "k", "v", "o", "qk", "qv", ..., "kvo", "qkvo"``."""
    from itertools import combinations

    return ["".join(c) for n in range(1, 5) for c in combinations("qkvo", n)]


def subset_label(projections: str) -> str:
    """The display name of a projection subset: its letters upper case in Q, K, V, O order
    (``"vo"`` -> ``"VO"``, ``"ok"`` -> ``"KO"``)."""
    if not (isinstance(projections, str) and projections and set(projections.lower()) <= set("qkvo")):
        raise ParameterError(f"projections must be letters from 'qkvo' (e.g. 'qkvo' or 'vo'), got {projections!r}")
    return "".join(p.upper() for p in "qkvo" if p in projections.lower())
