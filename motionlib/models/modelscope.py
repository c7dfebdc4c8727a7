"""ModelScope text-to-video (damo-vilab/text-to-video-ms-1.7b): UNet3D, CLIP text encoder, epsilon."""

from __future__ import annotations

import torch

from motionlib.models.base import FamilyDefaults, FamilySpec, PromptEmbeds, VideoModel
from motionlib.models.tiny import encode_per_frame, seeded, tiny_frame_vae

SPEC = FamilySpec(
    name="modelscope",
    title="ModelScope T2V 1.7B",
    hub_id="damo-vilab/text-to-video-ms-1.7b",
    pipeline_class="TextToVideoSDPipeline",
    latent_layout="BCFHW",
    paper=FamilyDefaults(num_frames=16, height=256, width=256, num_steps=50, guidance_scale=9.0),
    tiny=FamilyDefaults(num_frames=16, height=64, width=64, num_steps=20, guidance_scale=9.0),
)


class ModelScopeModel(VideoModel):
    def encode_prompts(self, prompts: list[str], negative_prompt: str = "") -> PromptEmbeds:
        cond, uncond = self.pipeline.encode_prompt(
            list(prompts), self.device, 1, True, negative_prompt=[negative_prompt] * len(prompts)
        )
        return PromptEmbeds(prompts[0] if len(prompts) == 1 else list(prompts), cond, uncond, negative_prompt)

    @torch.no_grad()
    def encode_video(self, pixels: torch.Tensor) -> torch.Tensor:
        return encode_per_frame(self.vae, pixels)

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor, num_frames: int) -> torch.Tensor:
        video = self.pipeline.decode_latents(latents.to(self.vae.dtype).contiguous())  # (B, 3, F, H, W)
        return video.permute(0, 2, 1, 3, 4).float()[:, :num_frames]

    def _denoise(self, latents, t, embeds):
        return self.denoiser(latents, t, encoder_hidden_states=embeds, return_dict=False)[0]


def build_tiny(seed: int) -> dict:
    """Components of a tiny ModelScope: UNet3D (2 levels), 2-layer CLIP text encoder, 8x VAE."""
    from diffusers import UNet3DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from motionlib.models.tokenizers import clip_tokenizer

    unet = seeded(seed, lambda: UNet3DConditionModel(
        sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=4,
        cross_attention_dim=32, attention_head_dim=8,
    ))
    text_config = CLIPTextConfig(
        vocab_size=49408, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, projection_dim=32,
    )
    return dict(
        unet=unet, vae=tiny_frame_vae(seed + 1),
        text_encoder=seeded(seed + 2, lambda: CLIPTextModel(text_config)),
        tokenizer=clip_tokenizer(), scheduler=scheduler(),
    )


def scheduler():
    """The hub checkpoint's schedule: scaled-linear betas, epsilon, "leading" spacing, offset 1."""
    from diffusers import DDIMScheduler

    return DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon",
    )
