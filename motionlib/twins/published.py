"""The published checkpoints' layout and configs, as data.

One :class:`Checkpoint` per family: the hub id, ``model_index.json``, every component's
``config.json`` with the published values, the tokenizer's config, the scheduler config, the dtype
each component's weights are stored in, and the published byte size of each component's weights,
against which the full-scale twins' parameter counts are checked (``tests/test_twins.py``).

Where each value was read (public pages and git copies of the hub repositories with their
Git-LFS pointers, which give exact byte sizes) is in ``SOURCES`` and beside each checkpoint.
Values we could not read from a published file are marked ``unverified`` in a comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GB, MB = 10**9, 10**6

CLIP_VOCAB = 49408
T5_VOCAB = 32128  # t5-v1_1: 32,000 SentencePiece pieces + 100 extra ids, padded to a multiple of 128


@dataclass(frozen=True)
class Component:
    """One folder of the checkpoint: its class, published ``config.json`` and stored dtype."""

    library: str  # "diffusers" | "transformers"
    class_name: str
    config: dict
    dtype: str  # the dtype the published weights are stored in
    layer_keys: tuple[str, ...] = ()  # config keys counting layers/blocks per stage (cut at --scale reduced)
    published_bytes: int = 0  # total size of the published weight files in `dtype` (all shards)
    bytes_rounding: int = 0  # 0: exact sizes (LFS pointers); else the hub's display rounding, summed over files
    shard_size: str = "10GB"  # max_shard_size the component was saved with (diffusers 10GB, transformers 5GB)
    shards: int = 1  # number of published weight files (model-0000N-of-0000M.safetensors)


@dataclass(frozen=True)
class Checkpoint:
    family: str
    hub_id: str
    pipeline_class: str
    diffusers_version: str
    components: dict[str, Component]
    tokenizer_class: str
    tokenizer_config: dict
    scheduler_class: str
    scheduler_config: dict
    index_extra: dict = field(default_factory=dict)  # other keys of the published model_index.json

    def model_index(self) -> dict:
        """``model_index.json``: the pipeline class and ``[library, class]`` of every component."""
        index = {"_class_name": self.pipeline_class, "_diffusers_version": self.diffusers_version, **self.index_extra}
        for name, comp in self.components.items():
            index[name] = [comp.library, comp.class_name]
        index["tokenizer"] = ["transformers", self.tokenizer_class]
        index["scheduler"] = ["diffusers", self.scheduler_class]
        return dict(sorted(index.items()))


SOURCES = {
    "modelscope": "git copy of the hub repo with LFS pointers: github.com/theonlyengine/text-to-video-ms-1.7b "
                  "(unet/config.json names snapshot 32aa057809b033d6f3ca31da4b0ade1fa7904654 of "
                  "damo-vilab/text-to-video-ms-1.7b)",
    "latte": "https://huggingface.co/maxin-cn/Latte-1: raw/main/transformer/config.json, "
             "blob/2d6e87c6/model_index.json, blob/86e75847/scheduler/scheduler_config.json, tree/main/text_encoder, "
             "tree/main/tokenizer; transformer and VAE sizes from copies (spaces/PeepDaSlan9/HYDRAS_Latte-1, "
             "maxin-cn/Latte t2v_required_models)",
    "cogvideox": "git copy of THUDM/CogVideoX-2b with LFS pointers: github.com/RiJinYun/Intro (transformer, vae, "
                 "text_encoder); https://huggingface.co/THUDM/CogVideoX-2b/blob/refs%2Fpr%2F2/scheduler/"
                 "scheduler_config.json; diffusers scripts/convert_cogvideox_to_diffusers.py (tokenizer: T5Tokenizer, "
                 "model_max_length 226)",
    "cogvideox-5b": "https://huggingface.co/THUDM/CogVideoX-5b/tree/main (transformer, text_encoder and vae file sizes); "
                    "configs as the 2b with 48 heads, 42 layers, rotary positions, VAE scaling 0.7 and snr_shift_scale 1.0 "
                    "(diffusers' convert script; github.com/kijai/ComfyUI-CogVideoXWrapper configs/*_5b.json)",
}


def _t5_xxl_encoder(dtype: str, published_bytes: int, rounding: int = 0, config_dtype: str = "float16",
                    shards: int = 2) -> Component:
    """google/t5-v1_1-xxl's encoder, as Latte-1 and CogVideoX ship it in ``text_encoder/`` (5 GB shards)."""
    return Component("transformers", "T5EncoderModel", {
        "architectures": ["T5EncoderModel"], "classifier_dropout": 0.0, "d_ff": 10240, "d_kv": 64,
        "d_model": 4096, "decoder_start_token_id": 0, "dense_act_fn": "gelu_new", "dropout_rate": 0.1,
        "eos_token_id": 1, "feed_forward_proj": "gated-gelu", "initializer_factor": 1.0,
        "is_encoder_decoder": True, "is_gated_act": True, "layer_norm_epsilon": 1e-06, "model_type": "t5",
        "num_decoder_layers": 24, "num_heads": 64, "num_layers": 24, "output_past": True, "pad_token_id": 0,
        "relative_attention_max_distance": 128, "relative_attention_num_buckets": 32,
        "tie_word_embeddings": False, "torch_dtype": config_dtype, "use_cache": True, "vocab_size": T5_VOCAB,
    }, dtype, ("num_layers", "num_decoder_layers"), published_bytes, rounding, shard_size="5GB", shards=shards)


def _t5_tokenizer_config(max_length: int) -> dict:
    """T5Tokenizer's saved config: 100 sentinel tokens, pad/eos/unk (model_max_length: see each checkpoint)."""
    return {
        "additional_special_tokens": [f"<extra_id_{i}>" for i in range(100)], "clean_up_tokenization_spaces": True,
        "eos_token": "</s>", "extra_ids": 100, "legacy": True, "model_max_length": max_length,
        "pad_token": "<pad>", "sp_model_kwargs": {}, "tokenizer_class": "T5Tokenizer", "unk_token": "<unk>",
    }


def _sd_vae(published_bytes: int, rounding: int = 0) -> Component:
    """The Stable Diffusion KL VAE (8x space, 4 latent channels, fp32) that ModelScope and Latte-1 use per frame."""
    return Component("diffusers", "AutoencoderKL", {
        "_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
        "down_block_types": ["DownEncoderBlock2D"] * 4, "in_channels": 3, "latent_channels": 4,
        "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3, "sample_size": 512,
        "scaling_factor": 0.18215, "up_block_types": ["UpDecoderBlock2D"] * 4,
    }, "float32", ("layers_per_block",), published_bytes, rounding)


MODELSCOPE = Checkpoint(
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
        "vae": _sd_vae(334_711_857),  # vae/diffusion_pytorch_model.bin (fp32; no .safetensors in the copy)
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

LATTE = Checkpoint(
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
        "vae": _sd_vae(335 * MB, rounding=MB // 2),  # "335 MB"
        # 4 shards "4.99 GB", "5 GB", "4.87 GB", "4.19 GB": fp32 weights (the config says float16)
        "text_encoder": _t5_xxl_encoder("float32", 19_050 * MB, rounding=4 * 5 * MB, shards=4),
    },
    tokenizer_class="T5Tokenizer",
    tokenizer_config=_t5_tokenizer_config(120),  # unverified: 120 is the pipeline's max_length (not read from the file)
    scheduler_class="DDIMScheduler",
    scheduler_config={
        "_class_name": "DDIMScheduler", "beta_end": 0.02, "beta_schedule": "linear", "beta_start": 0.0001,
        "clip_sample": False, "dynamic_thresholding_ratio": 0.995, "num_train_timesteps": 1000,
        "prediction_type": "epsilon", "sample_max_value": 1.0, "thresholding": False,
        "timestep_spacing": "leading", "trained_betas": None, "variance_type": "learned_range",
    },
)


def _cogvideox(five_b: bool) -> Checkpoint:
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
            "text_encoder": _t5_xxl_encoder(dtype, *sizes["text_encoder"], config_dtype=dtype),
        },
        # The hub's tokenizer_config.json was not read; diffusers' convert script saves google/t5-v1_1-xxl's
        # tokenizer with model_max_length=226 (the transformer's max_text_seq_length).
        tokenizer_class="T5Tokenizer", tokenizer_config=_t5_tokenizer_config(226),
        scheduler_class="CogVideoXDDIMScheduler",
        scheduler_config={
            "_class_name": "CogVideoXDDIMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
            "beta_start": 0.00085, "clip_sample": False, "clip_sample_range": 1.0, "num_train_timesteps": 1000,
            "prediction_type": "v_prediction", "rescale_betas_zero_snr": True, "sample_max_value": 1.0,
            "set_alpha_to_one": True, "snr_shift_scale": 1.0 if five_b else 3.0, "steps_offset": 0,
            "timestep_spacing": "trailing", "trained_betas": None,
        },
    )


CHECKPOINTS: dict[str, Checkpoint] = {
    c.family: c for c in (MODELSCOPE, LATTE, _cogvideox(False), _cogvideox(True))
}
