"""The published checkpoints' layout and configs, as data.

A family's :class:`Checkpoint` (``Family.checkpoint``, in ``motionlib/families/<name>.py``): the hub
id, ``model_index.json``, every component's
``config.json`` with the published values, the tokenizer's config, the scheduler config, the dtype
each component's weights are stored in, and the published byte size of each component's weights,
against which the full-scale twins' parameter counts are checked (``tests/test_twins.py``).

Where each value was read (public pages and git copies of the hub repositories with their
Git-LFS pointers, which give exact byte sizes) is in the family's ``checkpoint_source`` and beside
each value. This module holds the classes and the components several checkpoints share.
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


def t5_xxl_encoder(dtype: str, published_bytes: int, rounding: int = 0, config_dtype: str = "float16",
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


def t5_tokenizer_config(max_length: int) -> dict:
    """T5Tokenizer's saved config: 100 sentinel tokens, pad/eos/unk (model_max_length: see each checkpoint)."""
    return {
        "additional_special_tokens": [f"<extra_id_{i}>" for i in range(100)], "clean_up_tokenization_spaces": True,
        "eos_token": "</s>", "extra_ids": 100, "legacy": True, "model_max_length": max_length,
        "pad_token": "<pad>", "sp_model_kwargs": {}, "tokenizer_class": "T5Tokenizer", "unk_token": "<unk>",
    }


def sd_vae(published_bytes: int, rounding: int = 0) -> Component:
    """The Stable Diffusion KL VAE (8x space, 4 latent channels, fp32) that ModelScope and Latte-1 use per frame."""
    return Component("diffusers", "AutoencoderKL", {
        "_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
        "down_block_types": ["DownEncoderBlock2D"] * 4, "in_channels": 3, "latent_channels": 4,
        "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3, "sample_size": 512,
        "scaling_factor": 0.18215, "up_block_types": ["UpDecoderBlock2D"] * 4,
    }, "float32", ("layers_per_block",), published_bytes, rounding)
