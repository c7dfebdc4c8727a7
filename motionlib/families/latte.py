"""Latte-1 (maxin-cn/Latte-1): DiT with separate spatial and temporal blocks, T5 (120 tokens), epsilon.

The transformer predicts 8 channels (noise and learned variance); sampling keeps the first 4, as
the diffusers pipeline does when the scheduler learns no variance. Prompts are lower-cased and the
T5 embeddings are cut to the prompt's own token count (the pipeline's ``mask_feature``).
"""

from __future__ import annotations

import torch

from motionlib.errors import ParameterError
from motionlib.families import Family, LoraDefaults, ToyRecipe, ToySize, register
from motionlib.models.base import FamilyDefaults, FamilySpec, PromptEmbeds, VideoModel
from motionlib.models.tiny import encode_per_frame, seeded, tiny_frame_vae, tiny_t5_encoder
from motionlib.twins.published import MB, Checkpoint, Component, sd_vae, t5_tokenizer_config, t5_xxl_encoder

SPEC = FamilySpec(
    name="latte",
    title="Latte-1",
    hub_id="maxin-cn/Latte-1",
    pipeline_class="LattePipeline",
    latent_layout="BCFHW",
    paper=FamilyDefaults(num_frames=16, height=512, width=512, num_steps=50, guidance_scale=7.5),
    tiny=FamilyDefaults(num_frames=16, height=64, width=64, num_steps=20, guidance_scale=7.5),
)


TEXT_TOKENS = 120  # LattePipeline.encode_prompt's max_length


class LatteModel(VideoModel):
    def encode_prompts(self, prompts: list[str], negative_prompt: str = "") -> PromptEmbeds:
        # The pipeline cuts the embeddings to the prompt's own tokens (``mask_feature``) only for a single
        # prompt; for several it keeps all 120, the padding zeroed but attended to. Here each row is cut to
        # its prompt's tokens, and rows of different lengths are padded and masked (PromptEmbeds.stack):
        # a row conditions the denoiser exactly as its prompt alone does.
        cond, uncond = self.pipeline.encode_prompt(
            list(prompts), do_classifier_free_guidance=True, negative_prompt=negative_prompt,
            device=self.device, mask_feature=False,
        )
        rows = [PromptEmbeds(p, cond[i:i + 1, :n], uncond[i:i + 1, :n], negative_prompt)
                for i, (p, n) in enumerate(zip(prompts, self.token_counts(prompts)))]
        return rows[0] if len(rows) == 1 else PromptEmbeds.stack(rows)

    def token_counts(self, prompts: list[str]) -> list[int]:
        """The T5 tokens of each prompt as the pipeline tokenizes it (lower-cased, ``</s>`` included, at
        most 120): the length its embeddings are cut to."""
        texts = self.pipeline._text_preprocessing(list(prompts), clean_caption=False)
        mask = self.tokenizer(texts, padding="max_length", max_length=TEXT_TOKENS, truncation=True,
                              add_special_tokens=True, return_tensors="pt").attention_mask
        return mask.sum(1).tolist()

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

    @staticmethod
    def classify_attention(name: str) -> tuple[str, str]:
        """LatteTransformer3DModel: ``temporal_transformer_blocks.N.attn*`` are temporal,
        ``transformer_blocks.N.attn1`` spatial self-, ``attn2`` spatial cross-attention."""
        group = "temporal" if name.startswith("temporal_transformer_blocks.") else "spatial"
        return group, "cross" if name.rsplit(".", 1)[-1] == "attn2" else "self"


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


def toy_denoiser(size: ToySize) -> torch.nn.Module:
    """The toy world's Latte: 4 spatial + 4 temporal blocks, 4 heads of 32."""
    from diffusers import LatteTransformer3DModel

    return LatteTransformer3DModel(
        num_attention_heads=4, attention_head_dim=32, in_channels=size.latent_channels,
        out_channels=2 * size.latent_channels, num_layers=4, cross_attention_dim=128,
        attention_bias=True, sample_size=size.latent_size, patch_size=size.patch_size,
        activation_fn="gelu-approximate", num_embeds_ada_norm=1000, norm_type="ada_norm_single",
        norm_elementwise_affine=False, norm_eps=1e-6, caption_channels=size.text_width, video_length=size.frames,
    )


CHECKPOINT = Checkpoint(
    family="latte", hub_id="maxin-cn/Latte-1", pipeline_class="LattePipeline", diffusers_version="0.30.0.dev0",
    index_extra={"_name_or_path": "diffusers/Latte"},
    components={
        "transformer": Component("diffusers", "LatteTransformer3DModel", {  # no video_length key: the default 16
            "_class_name": "LatteTransformer3DModel", "activation_fn": "gelu-approximate",
            "attention_bias": True, "attention_head_dim": 72, "caption_channels": 4096,
            "cross_attention_dim": 1152, "dropout": 0.0, "in_channels": 4, "norm_elementwise_affine": False,
            "norm_eps": 1e-06, "norm_type": "ada_norm_single", "num_attention_heads": 16,
            "num_embeds_ada_norm": 1000, "num_layers": 28, "out_channels": 8, "patch_size": 2, "sample_size": 64,
        }, "float32", ("num_layers",), published_bytes=4_230 * MB, bytes_rounding=5 * MB),  # "4.23 GB"
        "vae": sd_vae(335 * MB, rounding=MB // 2),  # "335 MB"
        # 4 shards "4.99 GB", "5 GB", "4.87 GB", "4.19 GB": fp32 weights (the config says float16)
        "text_encoder": t5_xxl_encoder("float32", 19_050 * MB, rounding=4 * 5 * MB, shards=4),
    },
    tokenizer_class="T5Tokenizer",
    tokenizer_config=t5_tokenizer_config(120),  # unverified: 120 is the pipeline's max_length (not read from the file)
    scheduler_class="DDIMScheduler",
    scheduler_config={
        "_class_name": "DDIMScheduler", "beta_end": 0.02, "beta_schedule": "linear", "beta_start": 0.0001,
        "clip_sample": False, "dynamic_thresholding_ratio": 0.995, "num_train_timesteps": 1000,
        "prediction_type": "epsilon", "sample_max_value": 1.0, "thresholding": False,
        "timestep_spacing": "leading", "trained_betas": None, "variance_type": "learned_range",
    },
)


FAMILY = register(Family(
    spec=SPEC, model_class=LatteModel, build_tiny=build_tiny, scheduler=scheduler, denoiser_key="transformer",
    motion_group="temporal",
    # Latte's own training rate as its paper reports it (AdamW, constant 1e-4; quoted from the paper's
    # text, not re-checked against its released configs); 300 steps as for every family (our choice).
    lora=LoraDefaults(learning_rate=1e-4, train_steps=300),
    color="#E69F00",  # Okabe & Ito orange
    order=1,
    paper_tab1={1000: (29.28, 93.16, 20.84), 750: (31.85, 97.12, 21.65), 700: (31.96, 97.19, 21.68),
                650: (31.88, 97.21, 21.66), 0: (31.26, 96.99, 21.47)},
    paper_best_tau=700,
    checkpoint=CHECKPOINT,
    checkpoint_source="https://huggingface.co/maxin-cn/Latte-1: raw/main/transformer/config.json, "
                      "blob/2d6e87c6/model_index.json, blob/86e75847/scheduler/scheduler_config.json, "
                      "tree/main/text_encoder, tree/main/tokenizer; transformer and VAE sizes from copies "
                      "(spaces/PeepDaSlan9/HYDRAS_Latte-1, maxin-cn/Latte t2v_required_models)",
    # 6,000 steps (0.38 s/step at batch 16 fits 60 minutes on two CPU cores).
    toy=ToyRecipe(guidance=7.5, train_steps=6000, text_encoder="pretrained", zero_terminal_snr=True,
                  direction_free=0.25, tokenizer="t5", vae="frame", latent_channels=4, build_denoiser=toy_denoiser),
))
