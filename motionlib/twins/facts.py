"""Facts about the full-size checkpoints, computed on the meta device (shapes only, no memory).

- :func:`parameter_counts`: each component's parameters, and :func:`published_range`: the counts that
  the published weight files' byte sizes allow;
- :func:`attention_inventory`: the denoiser's attention modules by group and kind, with the
  (in, out) features of their Q/K/V/O projections;
- :func:`lora_parameters`: trainable parameters of a rank-r LoRA on a projection subset;
- :func:`latent_shape`: a clip's latent shape through the real VAE config (CogVideoX: 4x in time).
"""

from __future__ import annotations

from collections import Counter

import torch

from motionlib import families
from motionlib.models.inventory import attention_projections, select
from motionlib.twins.build import DTYPES, component_config, get_checkpoint, instantiate

HEADER_ALLOWANCE = 2 * 10**6  # bytes a weight file holds beyond its tensors (safetensors header, pickle framing)


def meta_component(family: str, name: str, scale: str = "full") -> torch.nn.Module:
    """Component ``name`` of ``family``'s checkpoint with shape-only (meta) parameters."""
    comp = get_checkpoint(family).components[name]
    with torch.device("meta"):
        return instantiate(comp, component_config(comp, scale))


def parameter_counts(family: str, scale: str = "full") -> dict[str, int]:
    """``{component: number of parameters}`` of the twin at ``scale``."""
    return {name: sum(p.numel() for p in meta_component(family, name, scale).parameters())
            for name in get_checkpoint(family).components}


def published_range(family: str, name: str) -> tuple[int, int]:
    """(lowest, highest) parameter count consistent with the published weight files of ``name``.

    Files hold ``parameters x bytes per value`` plus a header (< ``HEADER_ALLOWANCE``); sizes the hub
    displays rounded ("4.23 GB") widen the range by their rounding.
    """
    comp = get_checkpoint(family).components[name]
    itemsize = DTYPES[comp.dtype].itemsize
    low = (comp.published_bytes - comp.bytes_rounding - HEADER_ALLOWANCE) / itemsize
    high = (comp.published_bytes + comp.bytes_rounding) / itemsize
    return int(low), int(high)


def denoiser_name(family: str) -> str:
    return families.get(family).denoiser_key


def attention_inventory(family: str, scale: str = "full") -> dict:
    """Attention modules of the denoiser: counts per (group, kind) and the Q/K/V/O (in, out) features."""
    denoiser = meta_component(family, denoiser_name(family), scale)
    projections = attention_projections(denoiser, families.get(family).model_class.classify_attention)
    modules = {p.attention: (p.group, p.kind) for p in projections}
    linear = dict(denoiser.named_modules())
    shapes = Counter((p.group, p.kind, p.proj, linear[p.module].in_features, linear[p.module].out_features)
                     for p in projections)
    return {"modules": Counter(modules.values()), "projection_shapes": shapes}


def lora_parameters(family: str, group: str, projs: str, rank: int = 4, scale: str = "full") -> int:
    """Trainable parameters of a rank-``rank`` LoRA (A: r x in, B: out x r) on ``group``'s ``projs``."""
    denoiser = meta_component(family, denoiser_name(family), scale)
    linear = dict(denoiser.named_modules())
    chosen = select(attention_projections(denoiser, families.get(family).model_class.classify_attention), group, projs)
    return sum(rank * (linear[p.module].in_features + linear[p.module].out_features) for p in chosen)


def latent_shape(family: str, num_frames: int, height: int, width: int) -> tuple[int, ...]:
    """The latent of a ``num_frames x height x width`` clip through the full VAE config, in the family's layout.

    ModelScope / Latte encode frame by frame: ``(1, C, F, h, w)``. CogVideoX pads to ``4k + 1`` frames
    and compresses time 4x: ``(1, k + 1, C, h, w)``.
    """
    fam = families.get(family)
    vae = meta_component(family, "vae")
    with torch.device("meta"):
        pixels = fam.model_class.vae_pixels(torch.empty(1, num_frames, 3, height, width))
        out = vae.encode(pixels).latent_dist.mean
    if fam.spec.latent_layout == "BFCHW":  # the VAE gives (1, C, f, h, w)
        return tuple(out.permute(0, 2, 1, 3, 4).shape)
    return (1, out.shape[1], num_frames, *out.shape[2:])  # frame by frame: (F, C, h, w)
