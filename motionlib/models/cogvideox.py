"""CogVideoX 2B / 5B (THUDM/CogVideoX-2b, -5b): expert DiT with joint 3D attention, T5 (226 tokens).

v-prediction on a shifted zero-SNR schedule (alpha-bar = 0 at t = 999). Latents are
``(B, f, C, h, w)`` and the VAE compresses time 4x: a clip of ``F`` frames is padded (repeating its
last frame) to ``4k + 1`` frames, ``f = k + 1``; decoding returns the first ``F`` frames.
"""

from __future__ import annotations

import torch

from motionlib.models.base import FamilyDefaults, FamilySpec, PromptEmbeds, VideoModel
from motionlib.models.tiny import seeded, tiny_t5_encoder

_PAPER = FamilyDefaults(num_frames=16, height=480, width=480, num_steps=50, guidance_scale=6.0)
_TINY = FamilyDefaults(num_frames=16, height=64, width=64, num_steps=20, guidance_scale=6.0)
SPEC_2B = FamilySpec(
    name="cogvideox", title="CogVideoX-2B", hub_id="THUDM/CogVideoX-2b",
    pipeline_class="CogVideoXPipeline", latent_layout="BFCHW", paper=_PAPER, tiny=_TINY,
)
SPEC_5B = FamilySpec(
    name="cogvideox-5b", title="CogVideoX-5B", hub_id="THUDM/CogVideoX-5b",
    pipeline_class="CogVideoXPipeline", latent_layout="BFCHW", paper=_PAPER, tiny=_TINY,
)

TEMPORAL_COMPRESSION = 4


def padded_frames(num_frames: int) -> int:
    """Smallest ``4k + 1 >= num_frames``: the frame count the CogVideoX VAE works with."""
    return ((num_frames - 1 + TEMPORAL_COMPRESSION - 1) // TEMPORAL_COMPRESSION) * TEMPORAL_COMPRESSION + 1


class CogVideoXModel(VideoModel):
    def encode_prompts(self, prompts: list[str], negative_prompt: str = "") -> PromptEmbeds:
        # The pipeline pads prompts to max_sequence_length (226 on the real checkpoints): the
        # transformer's own text length, so smaller models (toy) get theirs.
        cond, uncond = self.pipeline.encode_prompt(
            list(prompts), negative_prompt=[negative_prompt] * len(prompts),
            do_classifier_free_guidance=True, device=self.device,
            max_sequence_length=self.denoiser.config.max_text_seq_length,
        )
        return PromptEmbeds(prompts[0] if len(prompts) == 1 else list(prompts), cond, uncond, negative_prompt)

    def latent_frames(self, num_frames: int) -> int:
        return (padded_frames(num_frames) - 1) // TEMPORAL_COMPRESSION + 1

    @torch.no_grad()
    def encode_video(self, pixels: torch.Tensor) -> torch.Tensor:
        f = pixels.shape[1]
        pad = padded_frames(f) - f
        if pad:
            pixels = torch.cat([pixels, pixels[:, -1:].expand(-1, pad, -1, -1, -1)], dim=1)
        video = pixels.permute(0, 2, 1, 3, 4).to(self.vae.device, self.vae.dtype)  # (B, 3, F, H, W)
        latents = self.vae.encode(video).latent_dist.mean * self.vae.config.scaling_factor
        return latents.permute(0, 2, 1, 3, 4)  # (B, f, C, h, w)

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor, num_frames: int) -> torch.Tensor:
        video = self.pipeline.decode_latents(latents.to(self.vae.dtype).contiguous())  # (B, 3, 4k+1, H, W)
        return video.permute(0, 2, 1, 3, 4).float()[:, :num_frames]

    def _denoise(self, latents, t, embeds):
        rotary = None
        if self.denoiser.config.use_rotary_positional_embeddings:
            h, w = latents.shape[-2:]
            scale = self.vae_scale_factor
            rotary = self.pipeline._prepare_rotary_positional_embeddings(
                h * scale, w * scale, latents.shape[1], latents.device
            )
        return self.denoiser(
            hidden_states=latents, encoder_hidden_states=embeds, timestep=t,
            image_rotary_emb=rotary, return_dict=False,
        )[0]


def build_tiny(seed: int, *, rotary: bool = False) -> dict:
    """Components of a tiny CogVideoX: 2 expert blocks, 2-layer T5, 3D VAE (8x space, 4x time).

    ``rotary=True`` gives the 5B variant's rotary positions and unshifted (scale 1.0) schedule.
    """
    from diffusers import AutoencoderKLCogVideoX, CogVideoXTransformer3DModel

    from motionlib.models.tokenizers import t5_tokenizer

    tokenizer = t5_tokenizer()
    transformer = seeded(seed, lambda: CogVideoXTransformer3DModel(
        num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4,
        time_embed_dim=32, text_embed_dim=32, num_layers=2, sample_width=8, sample_height=8,
        sample_frames=17, patch_size=2, temporal_compression_ratio=TEMPORAL_COMPRESSION,
        max_text_seq_length=226, use_rotary_positional_embeddings=rotary,
    ))
    vae = seeded(seed + 1, lambda: AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("CogVideoXDownBlock3D",) * 4, up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8), layers_per_block=1, norm_num_groups=2,
        temporal_compression_ratio=TEMPORAL_COMPRESSION, sample_height=64, sample_width=64,
        scaling_factor=0.7 if rotary else 1.15258426,
    ))
    return dict(
        transformer=transformer, vae=vae,
        text_encoder=tiny_t5_encoder(seed + 2, len(tokenizer)), tokenizer=tokenizer,
        scheduler=scheduler(five_b=rotary),
    )


def scheduler(five_b: bool = False):
    """The hub checkpoints' schedule: v-prediction, shifted (2B: 3.0, 5B: 1.0) + zero-terminal-SNR,
    "trailing" spacing."""
    from diffusers import CogVideoXDDIMScheduler

    return CogVideoXDDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=True, steps_offset=0, prediction_type="v_prediction",
        rescale_betas_zero_snr=True, snr_shift_scale=1.0 if five_b else 3.0,
        timestep_spacing="trailing",
    )
