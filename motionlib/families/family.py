"""What the library knows about one model family: :class:`Family`, and its toy-world recipe :class:`ToyRecipe`.

A family module (``motionlib/families/<name>.py``) builds one ``Family`` and hands it to
:func:`motionlib.families.register`. Every other module asks the registry
(``families.get(name).<field>``) instead of testing a family's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from motionlib.models.base import FamilySpec, VideoModel


@dataclass(frozen=True)
class ToySize:
    """The toy world's sizes a toy denoiser is built for (:mod:`motionlib.toyworld.components`)."""

    latent_size: int  # latents are latent_size x latent_size
    latent_channels: int
    patch_size: int  # transformers only
    text_width: int  # the toy text encoder's hidden size
    text_tokens: int  # max text tokens (CogVideoX pads prompts to it)
    frames: int  # clip frames


@dataclass(frozen=True)
class ToyRecipe:
    """How the family's toy-world model is built and trained (:mod:`motionlib.toyworld.training`)."""

    guidance: float  # classifier-free guidance the toy model samples with
    train_steps: int  # denoiser steps of a training run (what fits 60 minutes on two CPU cores)
    text_encoder: str  # "pretrained" (attribute objective, then frozen) | "joint" (trained with the denoiser)
    zero_terminal_snr: bool  # betas rescaled to zero terminal SNR, with v-prediction
    direction_free: float  # share of training captions without the direction word
    tokenizer: str  # "clip" | "t5": the toy tokenizer and text encoder built from the world's vocabulary
    vae: str  # "frame": AutoencoderKL frame by frame | "video": AutoencoderKLCogVideoX, 4x in time
    latent_channels: int  # of the toy VAE
    build_denoiser: Callable[[ToySize], torch.nn.Module]
    patched: bool = True  # whether the denoiser cuts latents into patches (transformers) or not (UNet)


@dataclass(frozen=True)
class LoraDefaults:
    """LoRA learning rate and steps for the real checkpoint (the paper does not list them; see the family)."""

    learning_rate: float
    train_steps: int


@dataclass(frozen=True)
class Family:
    """One text-to-video family: how to load and run it, and the paper's settings and numbers for it."""

    spec: FamilySpec  # name, title, hub id, pipeline class, latent layout, paper and tiny defaults
    model_class: type[VideoModel]  # wraps the pipeline; classifies attention (``classify_attention``)
    build_tiny: Callable[[int], dict]  # seed -> pipeline components with seeded random weights
    scheduler: Callable[[], object]  # a fresh DDIM scheduler with the real checkpoint's schedule
    denoiser_key: str  # the pipeline's name for the denoiser ("unet" | "transformer")
    motion_group: str  # where the motion adapter goes: "temporal" attention, or "joint" 3D attention
    lora: LoraDefaults
    color: str  # plot colour (Okabe & Ito palette)
    sample_batch: int = 16  # customized samples per denoiser pass on a GPU (customize.settings)
    in_paper: bool = True  # one of the paper's three models (the paper profile runs these)
    paper_tab1: dict[int, tuple[float, float, float]] = field(default_factory=dict)  # tau -> Tab. 1 metrics
    paper_best_tau: int | None = None  # the paper's chosen tau (its best Tab. 1 row)
    tab1_taus: tuple[int, ...] = ()  # Tab. 1's taus where the paper gives no numbers (default: paper_tab1's)
    checkpoint: object | None = None  # twins.published.Checkpoint: the published layout and configs
    checkpoint_source: str = ""  # where the published values were read
    toy: ToyRecipe | None = None  # None: no toy-world model of this family
    order: int = 100  # position in listings and figures (the paper's order: ModelScope, Latte, CogVideoX)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def paper_taus(self) -> list[int]:
        """The tau values of the paper's Tab. 1 for this family, in the paper's row order."""
        return list(self.tab1_taus or self.paper_tab1)
