"""One-shot motion customization restricted to early timesteps (the paper's method).

Train a LoRA (or tune the attention weights directly) on one reference video with the plain
diffusion loss, drawing timesteps only from ``[tau, 1000)``; at inference apply it only at sampling
steps with ``t >= tau`` and use the base model below. ``tau = 0`` trains at every timestep;
``tau = 1000`` trains nothing (the base model, Tab. 1's first row).

One training step (``a = alphas_cumprod[t]``, the schedule the sampler uses)::

    t ~ U{tau, ..., 999},  noise ~ N(0, I)
    x_t = sqrt(a) x0 + sqrt(1 - a) noise
    target = noise (epsilon models) or sqrt(a) noise - sqrt(1 - a) x0 (v-prediction models)
    loss = mean((model(x_t, t, caption) - target)^2)

Adapters are injected with peft into ``model.denoiser`` on exactly the projections that
:func:`target_modules` names (``model.attention_projections()`` filtered by group and Q/K/V/O).
Files are safetensors + JSON only; nothing is ever pickled.
"""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

import motionlib
from motionlib.cache import atomic_write, content_hash
from motionlib.data.video_io import from_model_pixels, resize_center_crop, sample_indices, to_model_pixels
from motionlib.errors import ParameterError
from motionlib.models.base import PromptEmbeds, VideoModel
from motionlib.models.inventory import select
from motionlib.sampling import Sample, ddim_schedule, denoise, initial_noise

# LoRA learning rate and number of steps per family for the real checkpoints. The paper fine-tunes
# "at each base model's original learning rate" without listing the numbers, so:
# - modelscope 5e-4: MotionDirector's temporal-LoRA rate for ModelScope (its 150-300 steps per video);
# - latte 1e-4: Latte's own training rate as its paper reports it (AdamW, constant 1e-4; quoted
#   from the paper's text, not re-checked against its released configs);
# - cogvideox 1e-4: our choice; public CogVideoX LoRA recipes use 1e-4 to 1e-3 (at rank 64).
# 300 steps for every family: the top of MotionDirector's one-video range (our choice); it fits the
# paper's "under 10 minutes on one A6000".
FAMILY_TRAINING: dict[str, tuple[float, int]] = {
    "modelscope": (5e-4, 300),
    "latte": (1e-4, 300),
    "cogvideox": (1e-4, 300),
    "cogvideox-5b": (1e-4, 300),
}
# Direct tuning changes full-rank weights: a tenth of the LoRA rate (our choice).
DIRECT_LR_SCALE = 0.1
# Tiny random models only exercise the code path: 20 steps (our choice).
TINY_TRAIN_STEPS = 20
# Toy-world models were trained at 1e-3 (motionlib.toyworld.training): the paper's rule, "fine-tune
# at the base model's original learning rate", gives 1e-3 for them; 300 steps as for the real ones.
TOY_LEARNING_RATE = 1e-3

MODES = ("lora", "direct")
GROUPS = ("temporal", "spatial", "joint", "all")  # "all": every attention (spatial + temporal, or joint)


def default_group(family: str) -> str:
    """Where the motion adapter goes: temporal attention, or CogVideoX's joint 3D attention."""
    return "joint" if family.startswith("cogvideox") else "temporal"


# ---------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class CustomizeSettings:
    """Everything that determines a customization run. ``None`` means the model's default."""

    tau: int = 700  # train at t in [tau, 1000); 0 = all timesteps, 1000 = no training
    projections: str = "qkvo"  # which of Q, K, V, O to adapt
    group: str | None = None  # "temporal" | "spatial" | "joint" | "all"; None = default_group(family)
    mode: str = "lora"  # "lora" | "direct"
    rank: int = 4
    alpha: float = 4
    learning_rate: float | None = None  # None = FAMILY_TRAINING or TOY_LEARNING_RATE (x DIRECT_LR_SCALE when direct)
    train_steps: int | None = None  # None = FAMILY_TRAINING, or TINY_TRAIN_STEPS for tiny models
    batch_size: int = 1  # (timestep, noise) draws per step, all on the one reference video
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
        lr, steps = FAMILY_TRAINING.get(model.family, (1e-4, 300))
        if model.is_toy:
            lr = TOY_LEARNING_RATE
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
    """Full denoiser names of the linears the adapter changes, in module order."""
    group = settings.group or default_group(model.family)
    names = [p.module for p in select(model.attention_projections(), group, settings.projections)]
    if not names:
        groups = sorted({p.group for p in model.attention_projections()})
        raise ParameterError(f"{model.family} has no {group} attention projections; "
                             f"choose group from {', '.join(groups)}")
    return names


def _linears(model: VideoModel, names: list[str]) -> dict[str, torch.nn.Linear]:
    """The plain ``nn.Linear`` of each target (inside a peft wrapper once a LoRA is attached)."""
    modules = dict(model.denoiser.named_modules())
    return {n: getattr(modules[n], "base_layer", modules[n]) for n in names}


def trainable_parameter_count(model: VideoModel, settings: CustomizeSettings) -> int:
    """LoRA: ``rank * (in + out)`` per target (A and B, no bias); direct: weight + bias sizes."""
    total = 0
    for linear in _linears(model, target_modules(model, settings)).values():
        if settings.mode == "lora":
            total += settings.rank * (linear.in_features + linear.out_features)
        else:
            total += linear.weight.numel() + (linear.bias.numel() if linear.bias is not None else 0)
    return total


# ---------------------------------------------------------------------------------------- adapter
class MotionAdapter:
    """Handle on the adapter attached to ``model.denoiser``: toggle it, read and write its tensors.

    ``state_dict()`` keys: LoRA ``"<module>.lora_A.weight"`` / ``"<module>.lora_B.weight"`` (peft's
    adapter-name-free layout); direct ``"<module>.weight"`` / ``"<module>.bias"`` (the tuned values).
    """

    def __init__(self, model: VideoModel, settings: CustomizeSettings, name: str, targets: list[str]):
        self.model, self.settings, self.name, self.targets = model, settings, name, targets
        self.active = True
        modules = dict(model.denoiser.named_modules())
        if settings.mode == "lora":
            self._layers = [modules[n] for n in targets]
            self._live = {}
            for n, layer in zip(targets, self._layers):
                self._live[f"{n}.lora_A.weight"] = layer.lora_A[name].weight
                self._live[f"{n}.lora_B.weight"] = layer.lora_B[name].weight
        else:
            self._live = {f"{n}.{p}": param for n in targets
                          for p, param in modules[n].named_parameters(recurse=False)}
            self._base = {k: p.detach().clone() for k, p in self._live.items()}  # to restore the base
            self._tuned: dict[str, torch.Tensor] = {}  # the tuned values while disabled

    @property
    def mode(self) -> str:
        return self.settings.mode

    def parameters(self) -> list[torch.Tensor]:
        """The trainable tensors (what the optimizer updates)."""
        return list(self._live.values())

    def describe(self) -> dict:
        return dict(name=self.name, mode=self.mode, tau=self.settings.tau, group=self.settings.group,
                    projections=self.settings.projections, rank=self.settings.rank, alpha=self.settings.alpha)

    # -------------------------------------------------------------- toggling
    @torch.no_grad()
    def set_active(self, active: bool) -> None:
        """Apply the adapter (``True``) or run the base model (``False``)."""
        if active == self.active:
            return
        if self.mode == "lora":
            for layer in self._layers:
                layer.enable_adapters(active)  # peft's own switch
        elif active:
            for k, p in self._live.items():
                p.copy_(self._tuned[k])
            self._tuned = {}
        else:
            self._tuned = {k: p.detach().clone() for k, p in self._live.items()}
            for k, p in self._live.items():
                p.copy_(self._base[k])
        self.active = active

    def enable(self) -> None:
        self.set_active(True)

    def disable(self) -> None:
        self.set_active(False)

    @contextlib.contextmanager
    def applied(self, active: bool = True):
        """``with adapter.applied(False): ...`` runs the block with the adapter on/off, then restores."""
        before = self.active
        self.set_active(active)
        try:
            yield self
        finally:
            self.set_active(before)

    @torch.no_grad()
    def remove(self) -> None:
        """Take the adapter off for good: the denoiser is the base model again, ready for a new
        :func:`attach` (LoRA: the peft wrappers are replaced by their base linears; direct: the base
        weights are restored). The handle is unusable afterwards."""
        self.set_active(False)
        denoiser = self.model.denoiser
        if self.mode == "lora":
            for name in self.targets:
                parent, _, child = name.rpartition(".")
                layer = denoiser.get_submodule(name)
                setattr(denoiser.get_submodule(parent) if parent else denoiser, child, layer.base_layer)
            if hasattr(denoiser, "peft_config"):  # peft's record of injected adapters
                del denoiser.peft_config
        for p in self._live.values():
            p.requires_grad_(False)
        self._live, self._layers = {}, []

    # -------------------------------------------------------------- tensors
    def _current(self) -> dict[str, torch.Tensor]:
        return self._live if self.active or self.mode == "lora" else self._tuned

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The adapter tensors only (CPU copies)."""
        return {k: v.detach().cpu().clone() for k, v in self._current().items()}

    @torch.no_grad()
    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        current = self._current()
        if set(tensors) != set(current):
            missing, extra = sorted(set(current) - set(tensors)), sorted(set(tensors) - set(current))
            raise ParameterError(f"adapter tensors do not match this model's targets "
                                 f"(missing {missing[:3]}, unexpected {extra[:3]}); was it trained "
                                 "with other projections, group or mode?")
        for k, v in tensors.items():
            if v.shape != current[k].shape:
                raise ParameterError(f"adapter tensor {k} has shape {tuple(v.shape)} but the model "
                                     f"needs {tuple(current[k].shape)}; it belongs to another model size")
            current[k].copy_(v)


def attach(model: VideoModel, settings: CustomizeSettings, adapter_name: str = "motion") -> MotionAdapter:
    """Attach a motion adapter to ``model.denoiser`` and freeze the rest of the denoiser.

    LoRA: peft LoRA on exactly :func:`target_modules`, A drawn from ``settings.seed`` and B zero
    (so the model is unchanged until trained). Direct: the target linears' own weights and biases
    become trainable. Attach once, to a freshly loaded model.
    """
    from peft import LoraConfig, inject_adapter_in_model
    from peft.tuners.tuners_utils import BaseTunerLayer

    denoiser = model.denoiser
    if any(isinstance(m, BaseTunerLayer) for m in denoiser.modules()):
        raise ParameterError("this model already carries a peft adapter; attach to a freshly loaded model")
    targets = target_modules(model, settings)
    denoiser.requires_grad_(False)  # (the VAE and text encoder only ever run under no_grad here)
    if settings.mode == "lora":
        # A string is matched with re.fullmatch by peft: exact names, never suffixes of other modules.
        config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=0.0,
                            init_lora_weights=True, target_modules="|".join(map(re.escape, targets)))
        with torch.random.fork_rng():  # peft draws A from the global RNG: make it a function of seed
            torch.manual_seed(settings.seed)
            inject_adapter_in_model(config, denoiser, adapter_name=adapter_name)
        wrapped = [n for n, m in denoiser.named_modules() if isinstance(m, BaseTunerLayer)]
        if wrapped != targets:
            raise RuntimeError(f"peft wrapped {len(wrapped)} modules, "
                               f"expected exactly the {len(targets)} targets")
    adapter = MotionAdapter(model, settings, adapter_name, targets)
    for p in adapter.parameters():
        p.requires_grad_(True)
    return adapter


# ---------------------------------------------------------------------------------------- training
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


def _save_file(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """Atomic safetensors write (a crash leaves the old file or the new one, never half of one)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def _save_checkpoint(path: Path, adapter, optimizer, generator, step: int, losses: list[float], run: dict):
    """Adapter, AdamW state and RNG state in one safetensors file; the rest as JSON metadata."""
    opt = optimizer.state_dict()
    tensors = {f"adapter.{k}": v for k, v in adapter.state_dict().items()}
    for index, state in opt["state"].items():
        tensors.update({f"optimizer.{index}.{k}": v for k, v in state.items()})
    tensors["rng"] = generator.get_state()
    meta = dict(step=step, losses=losses, param_groups=opt["param_groups"], run=run)
    _save_file(tensors, path, {"motionlib_checkpoint": json.dumps(meta)})


def _load_checkpoint(path: Path, adapter, optimizer, generator, run: dict) -> tuple[int, list[float]] | None:
    """Restore a checkpoint of the same run; ``None`` (and a warning) if it belongs to another run."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["motionlib_checkpoint"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if meta["run"] != json.loads(json.dumps(run)):
        warnings.warn(f"{path} belongs to a run with other settings; training from scratch", stacklevel=3)
        return None
    adapter.load_state_dict({k.removeprefix("adapter."): v for k, v in tensors.items()
                             if k.startswith("adapter.")})
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("optimizer."):
            _, index, name = k.split(".", 2)
            state.setdefault(int(index), {})[name] = v
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    generator.set_state(tensors["rng"])
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
        checkpoint = out_dir / "checkpoint.safetensors" if out_dir else None
        if checkpoint is not None and checkpoint.exists():
            restored = _load_checkpoint(checkpoint, adapter, optimizer, generator, run)
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
            if checkpoint is not None and (done % s.checkpoint_every == 0 or done == steps_total):
                out_dir.mkdir(parents=True, exist_ok=True)
                _save_checkpoint(checkpoint, adapter, optimizer, generator, done, losses, run)
    record = dict(
        run, motionlib_version=motionlib.__version__, mode=s.mode if steps_total else "base",
        source=model.source, steps=len(losses), final_loss=losses[-1] if losses else None,
        trainable_parameters=trainable_parameter_count(model, s), target_modules=adapter.targets,
        adapter_name=adapter_name,
    )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        _save_file(adapter.state_dict(), out_dir / "adapter.safetensors")
        (out_dir / "adapter.json").write_text(json.dumps(record, indent=2, default=str))
    return TrainResult(adapter, losses, len(losses), start, out_dir, record)


def load_adapter(model: VideoModel, out_dir: str | Path, adapter_name: str = "motion") -> MotionAdapter:
    """Attach the adapter saved by :func:`train` in ``out_dir`` to ``model`` (a fresh one)."""
    from safetensors.torch import load_file

    out_dir = Path(out_dir)
    sidecar, weights = out_dir / "adapter.json", out_dir / "adapter.safetensors"
    if not sidecar.exists() or not weights.exists():
        raise ParameterError(f"{out_dir} holds no trained adapter (adapter.json + adapter.safetensors); "
                             "run motionlib.customize.train with this out_dir first")
    record = json.loads(sidecar.read_text())
    if record["family"] != model.family:
        raise ParameterError(f"the adapter in {out_dir} was trained on {record['family']}, "
                             f"not {model.family}; load it into a {record['family']} model")
    adapter = attach(model, CustomizeSettings(**record["settings"]), adapter_name)
    adapter.load_state_dict(load_file(str(weights)))
    return adapter


# ---------------------------------------------------------------------------------------- inference
def adapter_active_at(t: int, tau: int) -> bool:
    """The paper's inference rule: the adapter applies at sampling timesteps ``t >= tau``."""
    return t >= tau


def generate_customized(
    model: VideoModel,
    adapter: MotionAdapter,
    prompt: str,
    *,
    tau: int,
    num_samples: int = 1,
    seeds: list[int] | None = None,
    seed_base: int = 0,
    negative_prompt: str = "",
    num_frames: int | None = None,
    height: int | None = None,
    width: int | None = None,
    num_steps: int | None = None,
    guidance_scale: float | None = None,
    progress: bool = True,
) -> list[Sample]:
    """DDIM samples of ``prompt`` with the adapter on at steps ``t >= tau`` and the base model below.

    Sample ``i`` starts from the noise of ``seeds[i]`` (default ``seed_base + i``). The adapter's
    on/off state is restored afterwards.
    """
    if not (isinstance(tau, int) and 0 <= tau <= 1000):
        raise ParameterError(f"tau must be an integer timestep in [0, 1000], got {tau!r}")
    seeds = list(seeds) if seeds is not None else [seed_base + i for i in range(num_samples)]
    if len(seeds) != num_samples:
        raise ParameterError(f"got {len(seeds)} seeds for {num_samples} samples; give one seed per sample")
    d = model.defaults.resolved(num_frames, height, width, num_steps, guidance_scale)
    settings = dict(
        prompt=prompt, negative_prompt=negative_prompt, num_frames=d.num_frames, height=d.height,
        width=d.width, num_steps=d.num_steps, guidance_scale=d.guidance_scale,
        tau=tau, adapter=adapter.describe(),
    )
    steps = ddim_schedule(model, settings["num_steps"])
    embeds = model.encode_prompt(prompt, negative_prompt)
    samples = []
    with adapter.applied(adapter.active):  # restores the state on exit
        for seed in seeds:
            x = initial_noise(model, settings["num_frames"], settings["height"], settings["width"], seed)
            x = denoise(model, x, embeds, steps, settings["guidance_scale"], progress=progress,
                        desc=f"{model.family} customized",
                        before_step=lambda k, step: adapter.set_active(adapter_active_at(step.t, tau)))
            with torch.no_grad():
                pixels = model.decode_latents(x, settings["num_frames"])
            samples.append(Sample(from_model_pixels(pixels[0].cpu()), x.cpu(), dict(settings, seed=seed)))
    return samples


# ---------------------------------------------------------------------------------------- ablations
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
