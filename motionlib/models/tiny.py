"""Shared pieces for the tiny models: seeded construction and the small 2D VAE.

Tiny models use the real architecture classes at toy size with seeded random weights. They exist so
that every code path runs offline in seconds; their outputs mean nothing about the paper.
"""

from __future__ import annotations

import torch


def seeded(seed: int, build):
    """Call ``build()`` under ``torch.manual_seed(seed)``; re-draw all-zero weights.

    Some diffusers layers are zero-initialised (so a freshly built block is the identity). A tiny
    model would then ignore whole branches; every all-zero weight matrix is redrawn N(0, 0.02) so
    that all layers contribute.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        module = build()
        with torch.no_grad():
            for param in module.parameters():
                if param.ndim >= 2 and not param.any():
                    param.normal_(0.0, 0.02)
    return module.eval()


def tiny_frame_vae(seed: int):
    """AutoencoderKL with 8x spatial compression and 4 latent channels, like the SD VAE, at toy width."""
    from diffusers import AutoencoderKL

    return seeded(seed, lambda: AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 32, 32, 32), layers_per_block=1, norm_num_groups=8, sample_size=64,
    ))


def tiny_t5_encoder(seed: int, vocab_size: int):
    """T5 v1.1-style encoder (gated GELU) with d_model 32."""
    from transformers import T5Config, T5EncoderModel

    config = T5Config(
        vocab_size=vocab_size, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, dropout_rate=0.0, feed_forward_proj="gated-gelu",
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )
    return seeded(seed, lambda: T5EncoderModel(config))


def encode_per_frame(vae, pixels: torch.Tensor) -> torch.Tensor:
    """``(B, F, 3, H, W)`` -> ``(B, C, F, h, w)`` with a 2D VAE, posterior mean x scaling factor."""
    b, f = pixels.shape[:2]
    dist = vae.encode(pixels.flatten(0, 1).to(vae.device, vae.dtype)).latent_dist
    latents = dist.mean * vae.config.scaling_factor
    return latents.unflatten(0, (b, f)).permute(0, 2, 1, 3, 4)
