"""Named inventory of a denoiser's attention projections.

Each attention module of the diffusers denoisers has four linear projections: ``to_q``, ``to_k``,
``to_v`` and ``to_out.0`` (Q, K, V, O). We classify every attention module by where it sits:

- ModelScope (UNet3DConditionModel): ``transformer_in`` and every ``*.temp_attentions.N`` are
  temporal; inside them ``attn1`` and ``attn2`` are both self-attention over frames. Spatial
  attention is ``*.attentions.N.transformer_blocks.0.attn1`` (self) / ``attn2`` (cross).
- Latte (LatteTransformer3DModel): ``temporal_transformer_blocks.N.attn*`` are temporal,
  ``transformer_blocks.N.attn1`` spatial self, ``attn2`` spatial cross.
- CogVideoX (CogVideoXTransformer3DModel): ``transformer_blocks.N.attn1`` is one joint 3D attention
  over text and video tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

PROJECTIONS = {"q": "to_q", "k": "to_k", "v": "to_v", "o": "to_out.0"}


@dataclass(frozen=True)
class AttentionProjection:
    """One linear projection: ``module`` is its full name in the denoiser (what peft targets)."""

    module: str  # e.g. "down_blocks.0.temp_attentions.0.transformer_blocks.0.attn1.to_q"
    attention: str  # the attention module, e.g. "...transformer_blocks.0.attn1"
    group: str  # "temporal" | "spatial" | "joint"
    kind: str  # "self" | "cross"
    proj: str  # "q" | "k" | "v" | "o"


def _classify(name: str, family: str) -> tuple[str, str]:
    leaf = name.rsplit(".", 1)[-1]
    if family == "modelscope":
        if name.startswith("transformer_in.") or ".temp_attentions." in name:
            return "temporal", "self"
        return "spatial", "cross" if leaf == "attn2" else "self"
    if family == "latte":
        if name.startswith("temporal_transformer_blocks."):
            return "temporal", "cross" if leaf == "attn2" else "self"
        return "spatial", "cross" if leaf == "attn2" else "self"
    if family.startswith("cogvideox"):
        return "joint", "self"
    raise ValueError(f"no attention classification rule for family {family!r}")


def attention_projections(denoiser: torch.nn.Module, family: str) -> list[AttentionProjection]:
    """All Q/K/V/O projections of ``denoiser`` in module order."""
    found = []
    for name, module in denoiser.named_modules():
        if not all(hasattr(module, a) for a in ("to_q", "to_k", "to_v", "to_out")):
            continue
        group, kind = _classify(name, family)
        for proj, attr in PROJECTIONS.items():
            found.append(AttentionProjection(f"{name}.{attr}", name, group, kind, proj))
    return found


def select(
    projections: list[AttentionProjection], group: str, projs: str = "qkvo"
) -> list[AttentionProjection]:
    """Projections of ``group`` (``"all"``: every attention) whose letter is in ``projs`` (e.g. ``"vo"``)."""
    return [p for p in projections if group in ("all", p.group) and p.proj in projs.lower()]
