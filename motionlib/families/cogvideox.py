"""CogVideoX 2B / 5B (THUDM/CogVideoX-2b, -5b): expert DiT with joint 3D attention, T5 (226 tokens).

v-prediction on a shifted zero-SNR schedule (alpha-bar = 0 at t = 999). Latents are
``(B, f, C, h, w)`` and the VAE compresses time 4x: a clip of ``F`` frames is padded (repeating its
last frame) to ``4k + 1`` frames, ``f = k + 1``; decoding returns the first ``F`` frames.
"""

from __future__ import annotations

import torch

from motionlib.families import Family, LoraDefaults, ToyRecipe, ToySize, register
from motionlib.models.base import FamilyDefaults, FamilySpec, PromptEmbeds, VideoModel
from motionlib.models.tiny import seeded, tiny_t5_encoder
from motionlib.twins.published import MB, Checkpoint, Component, t5_tokenizer_config, t5_xxl_encoder

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

    def set_vae_scaling_factor(self, factor: float) -> None:
        super().set_vae_scaling_factor(factor)
        self.pipeline.vae_scaling_factor_image = factor  # CogVideoXPipeline copies it when built; decode reads the copy

    @staticmethod
    def vae_pixels(pixels: torch.Tensor) -> torch.Tensor:
        """``(B, F, 3, H, W)`` -> ``(B, 3, 4k + 1, H, W)``: padded with the last frame, channels first."""
        pad = padded_frames(pixels.shape[1]) - pixels.shape[1]
        if pad:
            pixels = torch.cat([pixels, pixels[:, -1:].expand(-1, pad, -1, -1, -1)], dim=1)
        return pixels.permute(0, 2, 1, 3, 4)

    @torch.no_grad()
    def encode_video(self, pixels: torch.Tensor) -> torch.Tensor:
        video = self.vae_pixels(pixels).to(self.vae.device, self.vae.dtype)  # (B, 3, 4k + 1, H, W)
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

    @staticmethod
    def classify_attention(name: str) -> tuple[str, str]:
        """CogVideoXTransformer3DModel: ``transformer_blocks.N.attn1`` is one joint 3D attention over text
        and video tokens."""
        return "joint", "self"


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


def toy_denoiser(size: ToySize) -> torch.nn.Module:
    """The toy world's CogVideoX: 4 expert blocks, 4 heads of 32, the VAE's 4x compression in time."""
    from diffusers import CogVideoXTransformer3DModel

    return CogVideoXTransformer3DModel(
        num_attention_heads=4, attention_head_dim=32, in_channels=size.latent_channels,
        out_channels=size.latent_channels, time_embed_dim=128, text_embed_dim=size.text_width, num_layers=4,
        sample_width=size.latent_size, sample_height=size.latent_size, sample_frames=padded_frames(size.frames),
        patch_size=size.patch_size, temporal_compression_ratio=TEMPORAL_COMPRESSION,
        max_text_seq_length=size.text_tokens, use_rotary_positional_embeddings=False,
    )


def checkpoint(five_b: bool) -> Checkpoint:
    """The published CogVideoX-2b (or -5b) checkpoint."""
    transformer = {
        "_class_name": "CogVideoXTransformer3DModel", "activation_fn": "gelu-approximate", "attention_bias": True,
        "attention_head_dim": 64, "dropout": 0.0, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 16,
        "max_text_seq_length": 226, "norm_elementwise_affine": True, "norm_eps": 1e-05,
        "num_attention_heads": 48 if five_b else 30, "num_layers": 42 if five_b else 30, "out_channels": 16,
        "patch_size": 2, "sample_frames": 49, "sample_height": 60, "sample_width": 90,
        "spatial_interpolation_scale": 1.875, "temporal_compression_ratio": 4, "temporal_interpolation_scale": 1.0,
        "text_embed_dim": 4096, "time_embed_dim": 512, "timestep_activation_fn": "silu",
        "use_rotary_positional_embeddings": five_b,
    }
    vae = {
        "_class_name": "AutoencoderKLCogVideoX", "act_fn": "silu", "block_out_channels": [128, 256, 256, 512],
        "down_block_types": ["CogVideoXDownBlock3D"] * 4, "force_upcast": True, "in_channels": 3,
        "latent_channels": 16, "latents_mean": None, "latents_std": None, "layers_per_block": 3,
        "norm_eps": 1e-06, "norm_num_groups": 32, "out_channels": 3, "sample_height": 480, "sample_width": 720,
        "scaling_factor": 0.7 if five_b else 1.15258426, "shift_factor": None, "temporal_compression_ratio": 4,
        "up_block_types": ["CogVideoXUpBlock3D"] * 4, "use_post_quant_conv": False, "use_quant_conv": False,
    }
    if five_b:  # "9.93 GB" + "1.22 GB" (bf16, 10 GB shards); T5 "4.99 GB" + "4.53 GB"; VAE "862 MB" (fp32)
        sizes = dict(transformer=(11_150 * MB, 10 * MB), text_encoder=(9_520 * MB, 10 * MB), vae=(862 * MB, MB // 2))
    else:  # exact LFS sizes: transformer fp16; T5 fp16, 2 shards; VAE fp32 (re-uploaded in fp32)
        sizes = dict(transformer=(3_387_650_264, 0), text_encoder=(4_994_582_104 + 4_530_066_248, 0),
                     vae=(862_388_596, 0))
    dtype = "bfloat16" if five_b else "float16"
    return Checkpoint(
        family="cogvideox-5b" if five_b else "cogvideox",
        hub_id="THUDM/CogVideoX-5b" if five_b else "THUDM/CogVideoX-2b",
        pipeline_class="CogVideoXPipeline", diffusers_version="0.31.0.dev0" if five_b else "0.30.0.dev0",
        components={
            "transformer": Component("diffusers", "CogVideoXTransformer3DModel", transformer, dtype, ("num_layers",),
                                     *sizes["transformer"], shards=2 if five_b else 1),
            "vae": Component("diffusers", "AutoencoderKLCogVideoX", vae, "float32", ("layers_per_block",), *sizes["vae"]),
            "text_encoder": t5_xxl_encoder(dtype, *sizes["text_encoder"], config_dtype=dtype),
        },
        # The hub's tokenizer_config.json was not read; diffusers' convert script saves google/t5-v1_1-xxl's
        # tokenizer with model_max_length=226 (the transformer's max_text_seq_length).
        tokenizer_class="T5Tokenizer", tokenizer_config=t5_tokenizer_config(226),
        scheduler_class="CogVideoXDDIMScheduler",
        scheduler_config={
            "_class_name": "CogVideoXDDIMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
            "beta_start": 0.00085, "clip_sample": False, "clip_sample_range": 1.0, "num_train_timesteps": 1000,
            "prediction_type": "v_prediction", "rescale_betas_zero_snr": True, "sample_max_value": 1.0,
            "set_alpha_to_one": True, "snr_shift_scale": 1.0 if five_b else 3.0, "steps_offset": 0,
            "timestep_spacing": "trailing", "trained_betas": None,
        },
    )


# Our choice: public CogVideoX LoRA recipes use 1e-4 to 1e-3 (at rank 64); 300 steps as for every family.
_LORA = LoraDefaults(learning_rate=1e-4, train_steps=300)
_PAPER_TAB1 = {1000: (28.15, 96.69, 20.65), 950: (30.14, 98.11, 21.09), 900: (29.93, 98.10, 21.00),
               850: (29.61, 97.76, 20.92), 0: (29.67, 97.41, 21.30)}

FAMILY = register(Family(
    spec=SPEC_2B, model_class=CogVideoXModel, build_tiny=build_tiny, scheduler=scheduler,
    denoiser_key="transformer", motion_group="joint", lora=_LORA,
    color="#009E73",  # Okabe & Ito bluish green
    order=2, paper_tab1=_PAPER_TAB1, paper_best_tau=950,
    checkpoint=checkpoint(five_b=False),
    checkpoint_source="git copy of THUDM/CogVideoX-2b with LFS pointers: github.com/RiJinYun/Intro (transformer, "
                      "vae, text_encoder); https://huggingface.co/THUDM/CogVideoX-2b/blob/refs%2Fpr%2F2/scheduler/"
                      "scheduler_config.json; diffusers scripts/convert_cogvideox_to_diffusers.py (tokenizer: "
                      "T5Tokenizer, model_max_length 226)",
    # 16,000 steps (0.08 s/step at batch 16); its VAE at 16 latent channels, as the real one (the shipped
    # toy CogVideoX predates this recipe: 4 channels, its record in assets/toy/cogvideox/toyworld.json).
    toy=ToyRecipe(guidance=6.0, train_steps=16000, text_encoder="joint", zero_terminal_snr=False,
                  direction_free=0.25, tokenizer="t5", vae="video", latent_channels=16, build_denoiser=toy_denoiser),
))

FAMILY_5B = register(Family(
    spec=SPEC_5B, model_class=CogVideoXModel, build_tiny=lambda seed: build_tiny(seed, rotary=True),
    scheduler=lambda: scheduler(five_b=True), denoiser_key="transformer", motion_group="joint", lora=_LORA,
    color="#D55E00",  # Okabe & Ito vermillion
    # The paper does not say which CogVideoX it ran: its numbers stay with the 2B; the 5B runs its taus.
    order=3, in_paper=False, tab1_taus=tuple(_PAPER_TAB1), paper_best_tau=950,
    checkpoint=checkpoint(five_b=True),
    checkpoint_source="https://huggingface.co/THUDM/CogVideoX-5b/tree/main (transformer, text_encoder and vae file "
                      "sizes); configs as the 2b with 48 heads, 42 layers, rotary positions, VAE scaling 0.7 and "
                      "snr_shift_scale 1.0 (diffusers' convert script; github.com/kijai/ComfyUI-CogVideoXWrapper "
                      "configs/*_5b.json)",
))
