"""Latte-1 (maxin-cn/Latte-1): DiT with separate spatial and temporal blocks, T5 (120 tokens), epsilon.

The transformer predicts 8 channels (noise and learned variance); sampling keeps the first 4, as
the diffusers pipeline does when the scheduler learns no variance. Prompts are lower-cased and the
T5 embeddings are cut to the prompt's own token count (the pipeline's ``mask_feature``).
"""

from __future__ import annotations

import torch

from motionlib.errors import ParameterError
from motionlib.models.base import FamilyDefaults, FamilySpec, PromptEmbeds, VideoModel
from motionlib.models.tiny import encode_per_frame, seeded, tiny_frame_vae, tiny_t5_encoder

SPEC = FamilySpec(
    name="latte",
    title="Latte-1",
    hub_id="maxin-cn/Latte-1",
    pipeline_class="LattePipeline",
    latent_layout="BCFHW",
    paper=FamilyDefaults(num_frames=16, height=512, width=512, num_steps=50, guidance_scale=7.5),
    tiny=FamilyDefaults(num_frames=16, height=64, width=64, num_steps=20, guidance_scale=7.5),
)


class LatteModel(VideoModel):
    def encode_prompts(self, prompts: list[str], negative_prompt: str = "") -> PromptEmbeds:
        cond, uncond = self.pipeline.encode_prompt(
            list(prompts), do_classifier_free_guidance=True, negative_prompt=negative_prompt,
            device=self.device, mask_feature=True,
        )
        return PromptEmbeds(prompts[0] if len(prompts) == 1 else list(prompts), cond, uncond, negative_prompt)

    @torch.no_grad()
    def encode_video(self, pixels: torch.Tensor) -> torch.Tensor:
        return encode_per_frame(self.vae, pixels)

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor, num_frames: int) -> torch.Tensor:
        video = self.pipeline.decode_latents(latents.to(self.vae.dtype).contiguous(), latents.shape[2])
        return video.permute(0, 2, 1, 3, 4).float()[:, :num_frames]

    masks_text = True

    def _denoise(self, latents, t, embeds, mask=None):
        frames = self.denoiser.config.video_length
        if latents.shape[2] != frames:
            raise ParameterError(f"Latte's temporal position embedding covers exactly {frames} frames; "
                                 f"got {latents.shape[2]}: use num_frames={frames}")
        out = self.denoiser(
            hidden_states=latents, encoder_hidden_states=embeds, timestep=t,
            encoder_attention_mask=None if mask is None else _cross_attention_bias(mask, frames, embeds.dtype),
            enable_temporal_attentions=True, return_dict=False,
        )[0]
        channels = latents.shape[1]
        return out[:, :channels] if out.shape[1] == 2 * channels else out


def _cross_attention_bias(mask: torch.Tensor, frames: int, dtype: torch.dtype) -> torch.Tensor:
    """``(B, L)`` token mask -> the additive bias ``(B * frames, 1, L)`` of Latte's spatial cross-attention
    (0 at a row's own tokens, -10000 at padding: the softmax weight of a padded token is exactly 0 in
    float32 and bfloat16). Latte's transformer hands ``encoder_attention_mask`` to its spatial blocks
    as is, whose hidden states are ``(B * frames, tokens, C)`` in batch-major order."""
    bias = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, -10000.0)
    return bias.repeat_interleave(frames, dim=0)[:, None, :]


def build_tiny(seed: int) -> dict:
    """Components of a tiny Latte: 2 spatial + 2 temporal blocks, 2-layer T5, 8x VAE."""
    from diffusers import LatteTransformer3DModel

    from motionlib.models.tokenizers import t5_tokenizer

    tokenizer = t5_tokenizer()
    transformer = seeded(seed, lambda: LatteTransformer3DModel(
        num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=8,
        num_layers=2, cross_attention_dim=32, attention_bias=True, sample_size=8, patch_size=2,
        activation_fn="gelu-approximate", num_embeds_ada_norm=1000, norm_type="ada_norm_single",
        norm_elementwise_affine=False, norm_eps=1e-6, caption_channels=32, video_length=16,
    ))
    return dict(
        transformer=transformer, vae=tiny_frame_vae(seed + 1),
        text_encoder=tiny_t5_encoder(seed + 2, len(tokenizer)), tokenizer=tokenizer,
        scheduler=scheduler(),
    )


def scheduler():
    """Latte-1's schedule: linear betas 1e-4..0.02, epsilon prediction, DDIM sampling."""
    from diffusers import DDIMScheduler

    return DDIMScheduler(
        beta_start=0.0001, beta_end=0.02, beta_schedule="linear", clip_sample=False,
        prediction_type="epsilon",
    )
