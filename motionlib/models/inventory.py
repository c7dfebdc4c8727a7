"""Named inventory of a denoiser's attention projections.

Each attention module of the diffusers denoisers has four linear projections: ``to_q``, ``to_k``,
``to_v`` and ``to_out.0`` (Q, K, V, O). Each family classifies its attention modules by where they
sit (group: temporal, spatial or joint; kind: self or cross): its model class's
``classify_attention`` (``motionlib/families/<name>.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

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


def attention_projections(denoiser: torch.nn.Module, classify: Callable[[str], tuple[str, str]]
                          ) -> list[AttentionProjection]:
    """All Q/K/V/O projections of ``denoiser`` in module order; ``classify(module name) -> (group, kind)``
    is the family's rule (its model class's ``classify_attention``)."""
    found = []
    for name, module in denoiser.named_modules():
        if not all(hasattr(module, a) for a in ("to_q", "to_k", "to_v", "to_out")):
            continue
        group, kind = classify(name)
        for proj, attr in PROJECTIONS.items():
            found.append(AttentionProjection(f"{name}.{attr}", name, group, kind, proj))
    return found


def select(
    projections: list[AttentionProjection], group: str, projs: str = "qkvo"
) -> list[AttentionProjection]:
    """Projections of ``group`` (``"all"``: every attention) whose letter is in ``projs`` (e.g. ``"vo"``)."""
    return [p for p in projections if group in ("all", p.group) and p.proj in projs.lower()]
