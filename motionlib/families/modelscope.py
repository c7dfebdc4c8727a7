"""ModelScope text-to-video (damo-vilab/text-to-video-ms-1.7b): UNet3D, CLIP text encoder, epsilon.

Its temporal attention sits beside each spatial block (``temp_attentions``) and in ``transformer_in``.
"""

from __future__ import annotations

import torch

from motionlib.families import Family, LoraDefaults, ToyRecipe, ToySize, register
from motionlib.models.base import FamilyDefaults, FamilySpec, PromptEmbeds, VideoModel
from motionlib.models.tiny import encode_per_frame, seeded, tiny_frame_vae
from motionlib.twins.published import CLIP_VOCAB, Checkpoint, Component, sd_vae

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

    @staticmethod
    def classify_attention(name: str) -> tuple[str, str]:
        """UNet3DConditionModel: ``transformer_in`` and every ``*.temp_attentions.N`` are temporal (both
        ``attn1`` and ``attn2`` self-attention over frames); ``*.attentions.N.transformer_blocks.0.attn1``
        is spatial self-, ``attn2`` spatial cross-attention."""
        if name.startswith("transformer_in.") or ".temp_attentions." in name:
            return "temporal", "self"
        return "spatial", "cross" if name.rsplit(".", 1)[-1] == "attn2" else "self"


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


def toy_denoiser(size: ToySize) -> torch.nn.Module:
    """The toy world's UNet3D: two levels of 64 channels, cross-attention at the lower one."""
    from diffusers import UNet3DConditionModel

    return UNet3DConditionModel(
        sample_size=size.latent_size, in_channels=size.latent_channels, out_channels=size.latent_channels,
        down_block_types=("DownBlock3D", "CrossAttnDownBlock3D"),
        up_block_types=("CrossAttnUpBlock3D", "UpBlock3D"),
        block_out_channels=(64, 64), layers_per_block=1, norm_num_groups=16,
        cross_attention_dim=size.text_width, attention_head_dim=16,
    )


CHECKPOINT = Checkpoint(
    family="modelscope", hub_id="damo-vilab/text-to-video-ms-1.7b",
    pipeline_class="TextToVideoMSPipeline",  # sic: the published model_index.json names it so
    diffusers_version="0.15.0.dev0",
    components={
        "unet": Component("diffusers", "UNet3DConditionModel", {
            "_class_name": "UNet3DConditionModel", "act_fn": "silu", "attention_head_dim": 64,
            "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": False, "class_embed_type": None,
            "cross_attention_dim": 1024, "down_block_types": ["CrossAttnDownBlock3D"] * 3 + ["DownBlock3D"],
            "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
            "layers_per_block": 2, "mid_block_scale_factor": 1, "mid_block_type": "UNetMidBlock3DCrossAttn",
            "norm_eps": 1e-05, "norm_num_groups": 32, "num_class_embeds": None, "only_cross_attention": False,
            "out_channels": 4, "projection_class_embeddings_input_dim": None, "resnet_time_scale_shift": "default",
            "sample_size": 32, "time_cond_proj_dim": None, "time_embedding_type": "positional",
            "timestep_post_act": None, "up_block_types": ["UpBlock3D"] + ["CrossAttnUpBlock3D"] * 3,
            "upcast_attention": False, "use_linear_projection": True,
        }, "float32", ("layers_per_block",), published_bytes=5_645_118_394),  # unet/diffusion_pytorch_model.safetensors
        "vae": sd_vae(334_711_857),  # vae/diffusion_pytorch_model.bin (fp32; no .safetensors in the copy)
        "text_encoder": Component("transformers", "CLIPTextModel", {
            "architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0,
            "eos_token_id": 2, "hidden_act": "gelu", "hidden_size": 1024, "initializer_factor": 1.0,
            "initializer_range": 0.02, "intermediate_size": 4096, "layer_norm_eps": 1e-05,
            "max_position_embeddings": 77, "model_type": "clip_text_model", "num_attention_heads": 16,
            "num_hidden_layers": 23, "pad_token_id": 1, "projection_dim": 512, "torch_dtype": "float16",
            "vocab_size": CLIP_VOCAB,
        }, "float32", ("num_hidden_layers",), published_bytes=1_361_597_016, shard_size="5GB"),  # model.safetensors
    },
    tokenizer_class="CLIPTokenizer",
    tokenizer_config={  # unverified: the copy lists no tokenizer files; Stable Diffusion 2's CLIP tokenizer config
        "add_prefix_space": False, "bos_token": "<|startoftext|>", "do_lower_case": True,
        "eos_token": "<|endoftext|>", "errors": "replace", "model_max_length": 77, "pad_token": "!",
        "tokenizer_class": "CLIPTokenizer", "unk_token": "<|endoftext|>",
    },
    scheduler_class="DDIMScheduler",
    scheduler_config={  # unverified: the copy lists no scheduler file; the values diffusers' docs load for this model
        "_class_name": "DDIMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "beta_start": 0.00085, "clip_sample": False, "num_train_timesteps": 1000,
        "prediction_type": "epsilon", "set_alpha_to_one": False, "skip_prk_steps": True,
        "steps_offset": 1, "trained_betas": None,
    },
)


FAMILY = register(Family(
    spec=SPEC, model_class=ModelScopeModel, build_tiny=build_tiny, scheduler=scheduler, denoiser_key="unet",
    motion_group="temporal",
    # MotionDirector's temporal-LoRA rate for ModelScope (its 150-300 steps per video); 300 steps: the top
    # of that range (our choice), which fits the paper's "under 10 minutes on one A6000".
    lora=LoraDefaults(learning_rate=5e-4, train_steps=300),
    color="#0072B2",  # Okabe & Ito blue
    order=0,
    paper_tab1={1000: (26.05, 94.88, 20.13), 750: (28.04, 96.39, 20.68), 700: (28.16, 96.42, 20.77),
                650: (27.97, 96.31, 20.79), 0: (27.43, 96.25, 20.49)},
    paper_best_tau=700,
    checkpoint=CHECKPOINT,
    checkpoint_source="git copy of the hub repo with LFS pointers: github.com/theonlyengine/text-to-video-ms-1.7b "
                      "(unet/config.json names snapshot 32aa057809b033d6f3ca31da4b0ade1fa7904654 of "
                      "damo-vilab/text-to-video-ms-1.7b)",
    # Trained 4,000 steps (0.68 s/step at batch 16 fits 60 minutes on two CPU cores); its text encoder
    # pretrained on the captions' attributes and frozen (trained jointly it washed the direction word out).
    toy=ToyRecipe(guidance=9.0, train_steps=4000, text_encoder="pretrained", zero_terminal_snr=True,
                  direction_free=0.0, tokenizer="clip", vae="frame", latent_channels=4, build_denoiser=toy_denoiser,
                  patched=False),
))
