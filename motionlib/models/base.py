"""The one interface every model family implements: :class:`VideoModel`.

A ``VideoModel`` wraps the diffusers components of one text-to-video model (denoiser, VAE, text
encoder, tokenizer, scheduler) and exposes exactly what the paper's experiments need:

- ``encode_prompt(text)`` -> :class:`PromptEmbeds` (conditional and unconditional embeddings);
  ``encode_prompts(texts)`` the same for a batch, keeping the autograd graph (toy-model training);
  each row conditions the denoiser exactly as ``encode_prompt`` of its text alone does;
- ``encode_video(pixels)`` / ``decode_latents(latents, num_frames)`` between pixels
  ``(B, F, 3, H, W)`` in ``[-1, 1]`` and the family's latent layout;
- ``predict(latents, t, embeds, guidance_scale)`` -> the denoiser output (epsilon or v, as
  ``prediction_type`` says) with classifier-free guidance;
- the noise schedule (``alphas_cumprod``, ``prediction_type``, ``sampling_timesteps(n)``);
- the paper's defaults (``defaults``) and the attention-projection inventory (``attention_projections``).

Sampling, inversion and customization are written once, against this interface.
"""

from __future__ import annotations

import sys

import math
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from motionlib.errors import ParameterError
from motionlib.models.inventory import AttentionProjection, attention_projections


@dataclass(frozen=True)
class FamilyDefaults:
    """Generation settings of a family. ``paper`` values come from the paper and public pipelines."""

    num_frames: int
    height: int
    width: int
    num_steps: int
    guidance_scale: float
    fps: int = 8

    def resolved(self, num_frames: int | None = None, height: int | None = None, width: int | None = None,
                 num_steps: int | None = None, guidance_scale: float | None = None) -> FamilyDefaults:
        """These defaults with every given (not ``None``) setting put in its place, checked.

        The one place where a caller's frames, size, steps and guidance meet the family's defaults:
        ``0`` is an error, not "the default" (``--frames 0`` does not mean the default 16 frames).
        """
        given = dict(num_frames=num_frames, height=height, width=width, num_steps=num_steps)
        for name, value in given.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ParameterError(f"{name} ({_FLAGS[name]}) must be a positive integer, got {value!r}")
        if guidance_scale is not None and not (isinstance(guidance_scale, (int, float))
                                               and math.isfinite(guidance_scale) and guidance_scale >= 0):
            raise ParameterError(f"guidance_scale (--guidance) must be a finite number >= 0 (1: no "
                                 f"classifier-free guidance), got {guidance_scale!r}")
        chosen = {k: v for k, v in {**given, "guidance_scale": guidance_scale}.items() if v is not None}
        return replace(self, **chosen)


_FLAGS = {"num_frames": "--frames", "height": "--height", "width": "--width", "num_steps": "--steps"}


@dataclass(frozen=True)
class FamilySpec:
    """Static facts about a family: names, hub checkpoint, layout, defaults for both sources."""

    name: str
    title: str
    hub_id: str
    pipeline_class: str
    latent_layout: str  # "BCFHW" or "BFCHW"
    paper: FamilyDefaults
    tiny: FamilyDefaults
    notes: str = ""


@dataclass
class PromptEmbeds:
    """Text conditioning for one prompt, or for one prompt per batch item.

    ``cond`` and ``uncond`` are ``(1, L, D)`` (or ``(B, L, D)``); ``uncond`` encodes the negative
    prompt (default "") for classifier-free guidance. ``expand(b)`` repeats a single prompt to batch
    ``b`` without copying; per-item embeddings must already have ``b`` rows. ``mask`` (``(B, L)`` bool,
    True where a row has a token) is set only by :meth:`stack` on rows of different lengths, which it
    pads with zeros; a model that can mask text tokens (:attr:`VideoModel.masks_text`) ignores the
    padding, so a padded row gives its unpadded result.
    """

    prompt: str | list[str]
    cond: torch.Tensor
    uncond: torch.Tensor
    negative_prompt: str = ""
    mask: torch.Tensor | None = None

    def expand(self, batch: int) -> PromptEmbeds:
        if self.cond.shape[0] not in (1, batch):
            raise ValueError(f"embeddings of {self.cond.shape[0]} prompts cannot condition a batch of {batch}")
        return PromptEmbeds(
            self.prompt,
            self.cond.expand(batch, -1, -1),
            self.uncond.expand(batch, -1, -1),
            self.negative_prompt,
            None if self.mask is None else self.mask.expand(batch, -1),
        )

    @property
    def length(self) -> tuple[int, int]:
        """``(L_cond, L_uncond)``: the token count of the cond and uncond embeddings."""
        return self.cond.shape[1], self.uncond.shape[1]

    @staticmethod
    def stack(rows: list[PromptEmbeds]) -> PromptEmbeds:
        """``(1, L_i, D)`` embeddings -> one :class:`PromptEmbeds` of ``(B, L, D)``, a prompt per row.

        Rows of one length are concatenated. Rows of different lengths (Latte cuts each prompt's T5
        embeddings to its own tokens, cond and uncond alike) are zero-padded to the longest, with
        ``mask`` marking each row's own tokens; only a model with ``masks_text`` accepts them.
        """
        if len({r.length for r in rows}) == 1:
            return PromptEmbeds([r.prompt for r in rows], torch.cat([r.cond for r in rows]),
                                torch.cat([r.uncond for r in rows]), rows[0].negative_prompt)
        if any(r.cond.shape[1] != r.uncond.shape[1] for r in rows):
            raise ValueError("rows of different lengths can be padded only when each row's cond and uncond "
                             "embeddings have one length")
        longest = max(r.cond.shape[1] for r in rows)

        def padded(t: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.pad(t, (0, 0, 0, longest - t.shape[1]))

        mask = torch.zeros(len(rows), longest, dtype=torch.bool)
        for i, r in enumerate(rows):
            mask[i, : r.cond.shape[1]] = True
        return PromptEmbeds([r.prompt for r in rows], torch.cat([padded(r.cond) for r in rows]),
                            torch.cat([padded(r.uncond) for r in rows]), rows[0].negative_prompt,
                            mask.to(rows[0].cond.device))


@dataclass
class VideoModel:
    """Base class; each family module subclasses it and fills in the family-specific parts."""

    spec: FamilySpec
    source: str  # "tiny", "toy", "hub:<id>" or a local folder path
    denoiser: torch.nn.Module
    vae: torch.nn.Module
    text_encoder: torch.nn.Module
    tokenizer: Any
    scheduler: Any
    pipeline: Any = None  # the diffusers pipeline holding the components (offload hooks live here)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: torch.dtype = torch.float32
    seed: int | None = None  # tiny models: the seed of their random weights
    toy_defaults: FamilyDefaults | None = None  # toy models: the world's frames, size, steps, guidance
    twin: bool = False  # a checkpoint twin (motionlib.twins): the real layout with random weights
    # toy models: the words of their training captions and a one-line description of them; a prompt
    # with other words is sampled, with a one-line warning (once per prompt)
    vocabulary: frozenset[str] | None = None
    vocabulary_help: str = ""
    compiled: bool = False  # the denoiser runs through torch.compile (models.loading.compile_denoiser)
    # toy models: SHA-256 (16 hex digits) of their weight files, so that results cached from other
    # weights under the same source name ("toy") are never read (models.loading.weights_digest)
    weights_digest: str | None = None

    def __post_init__(self):
        self._warned: set[str] = set()  # prompts already warned about (unknown words)
        # Inference weights are frozen: only an attached motion adapter trains. (It also keeps the
        # numerics fixed: on CPU some kernels differ in the last bits with requires_grad on or off.)
        for module in (self.denoiser, self.vae, self.text_encoder):
            module.requires_grad_(False)

    # ----------------------------------------------------------------- description
    @property
    def family(self) -> str:
        return self.spec.name

    @property
    def is_tiny(self) -> bool:
        return self.source == "tiny"

    @property
    def is_toy(self) -> bool:
        """A model trained on motionlib's toy world (:mod:`motionlib.toyworld`), shipped or not."""
        return self.toy_defaults is not None

    @property
    def defaults(self) -> FamilyDefaults:
        if self.toy_defaults is not None:
            return self.toy_defaults
        return self.spec.tiny if self.is_tiny else self.spec.paper

    def describe(self) -> dict[str, Any]:
        """Provenance record: family, source, and whether outputs are real paper-model results."""
        return {
            "family": self.family,
            "source": self.source,
            "tiny_random_weights": self.is_tiny,
            "toy_world": self.is_toy,
            "checkpoint_twin": self.twin,
            "weights_seed": self.seed,
            "dtype": str(self.dtype).removeprefix("torch."),
            "device": str(self.device),
            # only when compiled, so an eager model's record (and every cache key made from it) is unchanged
            **({"compiled": True} if self.compiled else {}),
            **({"weights_sha256": self.weights_digest} if self.weights_digest else {}),
        }

    # ----------------------------------------------------------------- schedule
    @property
    def prediction_type(self) -> str:
        """``"epsilon"`` or ``"v_prediction"``."""
        return self.scheduler.config.prediction_type

    @property
    def num_train_timesteps(self) -> int:
        return int(self.scheduler.config.num_train_timesteps)

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """``(num_train_timesteps,)`` float64: alpha-bar of the schedule the sampler really uses."""
        return self.scheduler.alphas_cumprod.to(torch.float64)

    @property
    def final_alpha_cumprod(self) -> float:
        """alpha-bar after the last sampling step (1 or alphas_cumprod[0], per ``set_alpha_to_one``)."""
        return float(self.scheduler.final_alpha_cumprod)

    def sampling_timesteps(self, num_steps: int) -> list[int]:
        """The scheduler's own timesteps for ``num_steps`` steps, noisiest first."""
        self.scheduler.set_timesteps(num_steps)
        return [int(t) for t in self.scheduler.timesteps]

    # ----------------------------------------------------------------- shapes
    def latent_frames(self, num_frames: int) -> int:
        """Number of latent frames for ``num_frames`` video frames."""
        return num_frames

    def latent_shape(self, batch: int, num_frames: int, height: int, width: int) -> tuple[int, ...]:
        c = self.denoiser.config.in_channels
        f = self.latent_frames(num_frames)
        h, w = height // self.vae_scale_factor, width // self.vae_scale_factor
        return (batch, f, c, h, w) if self.spec.latent_layout == "BFCHW" else (batch, c, f, h, w)

    @staticmethod
    def vae_pixels(pixels: torch.Tensor) -> torch.Tensor:
        """``(B, F, 3, H, W)`` clips in the VAE's input layout: frames ``(B * F, 3, H, W)`` for a frame VAE
        (a family whose VAE compresses time overrides this)."""
        return pixels.flatten(0, 1)

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    # ----------------------------------------------------------------- family-specific parts
    @torch.no_grad()
    def encode_prompt(self, prompt: str, negative_prompt: str = "") -> PromptEmbeds:
        """Embeddings of one prompt (``(1, L, D)``), exactly as the family's pipeline makes them."""
        self._warn_unknown_words(prompt)
        return self.encode_prompts([prompt], negative_prompt)

    def _warn_unknown_words(self, prompt: str) -> None:
        if self.vocabulary is None or prompt in self._warned:
            return
        words = prompt.lower().replace(",", " ").replace(".", " ").split()
        unknown = list(dict.fromkeys(w for w in words if w not in self.vocabulary))
        if unknown:
            self._warned.add(prompt)
            print(f"motionlib: warning: the toy {self.family} never saw {', '.join(map(repr, unknown))} "
                  f"(in {prompt!r}); it knows {self.vocabulary_help}", file=sys.stderr)

    def encode_prompts(self, prompts: list[str], negative_prompt: str = "") -> PromptEmbeds:
        """Embeddings ``(B, L, D)`` of a batch of prompts through the pipeline's own ``encode_prompt``
        (which pads the batch to one length), with the autograd graph kept."""
        raise NotImplementedError

    def encode_video(self, pixels: torch.Tensor) -> torch.Tensor:
        """``(B, F, 3, H, W)`` in [-1, 1] -> latents (deterministic: the posterior mean)."""
        raise NotImplementedError

    def decode_latents(self, latents: torch.Tensor, num_frames: int) -> torch.Tensor:
        """Latents -> ``(B, num_frames, 3, H, W)`` float32 in about [-1, 1].

        Implementations decode a contiguous copy, so the result does not depend on memory layout."""
        raise NotImplementedError

    def set_vae_scaling_factor(self, factor: float) -> None:
        """Set the latent scale (``vae.config.scaling_factor``) that :meth:`encode_video` multiplies
        by and :meth:`decode_latents` divides by (a toy VAE's, once trained)."""
        self.vae.register_to_config(scaling_factor=factor)

    masks_text = False  # True: _denoise takes ``mask`` and ignores padded text tokens (PromptEmbeds.stack)

    def pass_group(self, embeds: PromptEmbeds) -> tuple[int, int]:
        """Rows with equal keys may share a denoiser pass: all rows when the model masks text padding,
        else rows of one embedding length (nothing is padded)."""
        return (0, 0) if self.masks_text else embeds.length

    def _denoise(self, latents: torch.Tensor, t: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        """One raw denoiser call: latents (B, ...), t (B,) int64, embeds (B, L, D). A model with
        :attr:`masks_text` also takes ``mask=`` (B, L) bool, True at each row's own tokens."""
        raise NotImplementedError

    # ----------------------------------------------------------------- prediction with guidance
    @torch.no_grad()
    def predict(
        self,
        latents: torch.Tensor,
        t: int | torch.Tensor,
        embeds: PromptEmbeds,
        guidance_scale: float = 1.0,
    ) -> torch.Tensor:
        """Denoiser output for ``latents`` at timestep ``t``, with classifier-free guidance.

        ``embeds`` holds one prompt and is broadcast over the batch. ``guidance_scale <= 1`` runs
        the conditional branch only. Returns float32 in the latent layout.
        """
        return self.predict_with_grad(latents, t, embeds, guidance_scale)

    def predict_with_grad(self, latents, t, embeds: PromptEmbeds, guidance_scale: float = 1.0):
        """As :meth:`predict` but keeps the autograd graph (used by training)."""
        batch = latents.shape[0]
        # Contiguous, so the result does not depend on the input's memory layout (VAE latents and
        # DDIM states can come channels-last; CPU kernels differ in the last bits between layouts).
        latents = latents.to(self.device, self.dtype).contiguous()
        rows = embeds.expand(batch)
        if rows.mask is not None and not self.masks_text:
            raise ValueError(f"{self.family} cannot mask text tokens: batch rows must share one embedding length")
        if guidance_scale > 1.0:
            x = torch.cat([latents, latents])
            e = torch.cat([rows.uncond, rows.cond]).to(self.device, self.dtype)
            mask = None if rows.mask is None else torch.cat([rows.mask, rows.mask])
            out = self._raw(x, self._timestep_batch(t, 2 * batch), e, mask).float()
            uncond, cond = out.chunk(2)
            return uncond + guidance_scale * (cond - uncond)
        e = rows.cond.to(self.device, self.dtype)
        return self._raw(latents, self._timestep_batch(t, batch), e, rows.mask).float()

    def _raw(self, latents, t, embeds, mask):
        """``_denoise``, with ``mask`` passed only when there is one (padded rows of different lengths)."""
        if mask is None:
            return self._denoise(latents, t, embeds)
        return self._denoise(latents, t, embeds, mask=mask.to(self.device))

    def _timestep_batch(self, t: int | torch.Tensor, batch: int) -> torch.Tensor:
        t = torch.as_tensor(t, device=self.device, dtype=torch.int64)
        return t.reshape(-1).expand(batch) if t.numel() == 1 else t.reshape(batch)

    # ----------------------------------------------------------------- inventory
    @staticmethod
    def classify_attention(name: str) -> tuple[str, str]:
        """``(group, kind)`` of the denoiser's attention module ``name``: group ``"temporal"``,
        ``"spatial"`` or ``"joint"``, kind ``"self"`` or ``"cross"``. Each family defines its rule."""
        raise NotImplementedError

    def attention_projections(self) -> list[AttentionProjection]:
        """Every attention Q/K/V/O linear of the denoiser, classified temporal/spatial/joint."""
        return attention_projections(self.denoiser, self.classify_attention)
