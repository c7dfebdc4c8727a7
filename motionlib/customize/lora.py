"""The motion adapter on a denoiser: attach it with peft (LoRA) or make the target weights trainable
(direct), switch it on and off, read and write its tensors, load a trained one, take it off."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import torch

from motionlib.customize.settings import CustomizeSettings, target_modules
from motionlib.errors import ParameterError
from motionlib.models.base import VideoModel


class MotionAdapter:
    """Handle on the adapter attached to ``model.denoiser``: toggle it, read and write its tensors.

    ``state_dict()`` keys: LoRA ``"<module>.lora_A.weight"`` / ``"<module>.lora_B.weight"`` (peft's
    adapter-name-free layout, read and written with peft's ``get_peft_model_state_dict`` /
    ``set_peft_model_state_dict``); direct ``"<module>.weight"`` / ``"<module>.bias"`` (the tuned values).
    """

    def __init__(self, model: VideoModel, settings: CustomizeSettings, name: str, targets: list[str]):
        self.model, self.settings, self.name, self.targets = model, settings, name, targets
        self.active = True
        modules = dict(model.denoiser.named_modules())
        if settings.mode == "lora":
            self._layers = [modules[n] for n in targets]
            self._live = {}
            for n, layer in zip(targets, self._layers):
                layer.lora_dropout[name].eval()  # peft makes it in training mode: dropout only inside training()
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
                    projections=self.settings.projections, rank=self.settings.rank, alpha=self.settings.alpha,
                    placement=self.settings.placement, dropout=self.settings.dropout)

    @contextlib.contextmanager
    def training(self):
        """Within: the LoRA's dropout (``settings.dropout``) is active; the rest of the denoiser stays in eval mode."""
        dropouts = [layer.lora_dropout[self.name] for layer in getattr(self, "_layers", [])]
        for d in dropouts:
            d.train()
        try:
            yield self
        finally:
            for d in dropouts:
                d.eval()

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
            from peft.functional import delete_adapter

            delete_adapter(denoiser, self.name, prefix="lora_")
            # peft leaves the emptied wrappers in place: put the base linears back.
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
        if self.mode == "lora":
            from peft.functional import get_peft_model_state_dict

            tensors = get_peft_model_state_dict(self.model.denoiser, adapter_name=self.name)
        else:
            tensors = self._current()
        return {k: v.detach().cpu().clone() for k, v in tensors.items()}

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
        if self.mode == "lora":
            from peft.functional import set_peft_model_state_dict

            result = set_peft_model_state_dict(self.model.denoiser, tensors, adapter_name=self.name)
            if result.unexpected_keys:
                raise ParameterError(f"peft did not place the adapter tensors {result.unexpected_keys[:3]}")
        else:
            for k, v in tensors.items():
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
        config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=float(settings.dropout),
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
