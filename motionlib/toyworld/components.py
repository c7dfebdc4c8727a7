"""The toy models' components: each family's real classes at a size two CPU cores can train.

=================  ===============================  ==============================  =================
family             denoiser                         VAE                             text encoder
=================  ===============================  ==============================  =================
modelscope         UNet3DConditionModel (64, 64)    AutoencoderKL, 4x, 4 channels   CLIPTextModel
latte              LatteTransformer3DModel          AutoencoderKL, 4x, 4 channels   T5EncoderModel
cogvideox          CogVideoXTransformer3DModel      AutoencoderKLCogVideoX 4x/4x,   T5EncoderModel
                                                    16 channels
=================  ===============================  ==============================  =================

Latents are 8 x 8 for the 32 x 32 frames of the world. Tokenizers are built offline from the world's
caption vocabulary (:func:`toy_clip_tokenizer`, :func:`toy_t5_tokenizer`). Schedulers are the real
checkpoints' (``Family.scheduler``, :mod:`motionlib.families`), so sampling, inversion and
customization run exactly as on the real models.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import torch

from motionlib import families
from motionlib.families import ToyRecipe, ToySize
from motionlib.toyworld import world

LATENT_SIZE = world.SIZE // 4  # 8 x 8 latents: every toy VAE is 4x in space
PATCH_SIZE = 2  # the transformers' (Latte, CogVideoX) patch size, as the real ones
TEXT_WIDTH = 64
COG_TEXT_TOKENS = 24  # text tokens of a toy denoiser that pads prompts (CogVideoX; 226 on the real model)


def vocabulary_words() -> list[str]:
    """Every word of every world caption, sorted."""
    words = {"a", "on", "background", *world.PATH_VERBS.values()}
    for values in world.VOCABULARY.values():
        words.update(values)
    return sorted(words)


def caption_corpus() -> list[str]:
    """One caption per combination and path (864 sentences)."""
    return [world.caption(world.ClipSpec(*combo, path=path))
            for combo in world.all_combinations() for path in world.PATHS]


# ------------------------------------------------------------------------------------ tokenizers
def _byte_symbols() -> list[str]:
    from motionlib.models.tokenizers import _bytes_to_unicode

    return list(_bytes_to_unicode().values())


def _bpe_merges_used(word: str, ranks: dict[tuple[str, str], int]) -> list[tuple[str, str]]:
    """The merges CLIP's byte-pair encoding applies to ``word``, in the order it applies them."""
    symbols = list(word[:-1]) + [word[-1] + "</w>"]
    used = []
    while len(symbols) > 1:
        pairs = {(a, b) for a, b in zip(symbols, symbols[1:])}
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        used.append(best)
        merged, i = [], 0
        while i < len(symbols):
            if i < len(symbols) - 1 and (symbols[i], symbols[i + 1]) == best:
                merged.append(symbols[i] + symbols[i + 1])
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return used


def toy_clip_tokenizer(max_length: int = 77):
    """A ``transformers.CLIPTokenizer`` with CLIP's own byte-pair merges, cut to the world's words.

    Its vocabulary is the 512 byte symbols, the merges CLIP applies to the world's words (kept in
    CLIP's order, so those words split exactly as CLIP splits them) and the two special tokens;
    any other text falls back to byte symbols. The 49,408-token CLIP vocabulary would make the
    toy text encoders' embedding tables most of their weights."""
    import open_clip
    from transformers import CLIPTokenizer

    bpe = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    lines = gzip.open(bpe, "rt", encoding="utf-8").read().split("\n")[1 : 49152 - 256 - 2 + 1]
    ranks = {tuple(line.split()): i for i, line in enumerate(lines)}
    kept = set()
    for word in vocabulary_words():
        kept.update(_bpe_merges_used(word, ranks))
    merges = sorted(kept, key=ranks.__getitem__)
    symbols = _byte_symbols()
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return CLIPTokenizer(vocab={tok: i for i, tok in enumerate(vocab)},
                         merges=[tuple(m) for m in merges], model_max_length=max_length)


def toy_t5_tokenizer(max_length: int = 120):
    """A ``transformers.T5Tokenizer`` over a word-level SentencePiece model of the world's captions.

    One piece per world word (lower case); any other word is ``<unk>``. The real T5 vocabulary
    cannot be built offline, and the world has 27 words."""
    import sentencepiece as spm
    from transformers import T5Tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(caption_corpus()) + "\n", encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=os.path.join(tmp, "spm"), vocab_size=64, model_type="word",
            pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>",
            unk_piece="<unk>", num_threads=1, minloglevel=2, hard_vocab_limit=False,
        )
        processor = spm.SentencePieceProcessor(model_file=os.path.join(tmp, "spm.model"))
        pieces = [(processor.id_to_piece(i), processor.get_score(i)) for i in range(processor.get_piece_size())]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=max_length)


# ------------------------------------------------------------------------------------ VAEs
def frame_vae(latent_channels: int = 4):
    """AutoencoderKL, 32 x 32 x 3 -> 8 x 8 x 4 per frame (the SD VAE's class, 4x instead of 8x)."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=latent_channels,
        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(32, 64, 64), layers_per_block=1, norm_num_groups=16, sample_size=world.SIZE,
        scaling_factor=1.0,
    )


def video_vae(latent_channels: int = 16):
    """AutoencoderKLCogVideoX, 4x in space and 4x in time (9 frames -> 3 latent frames of 16 channels)."""
    from diffusers import AutoencoderKLCogVideoX

    return AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, latent_channels=latent_channels,
        down_block_types=("CogVideoXDownBlock3D",) * 3, up_block_types=("CogVideoXUpBlock3D",) * 3,
        block_out_channels=(32, 64, 64), layers_per_block=1, norm_num_groups=16,
        temporal_compression_ratio=4, sample_height=world.SIZE, sample_width=world.SIZE, scaling_factor=1.0,
    )


def vae(kind: str, latent_channels: int):
    """The toy VAE a recipe names (``ToyRecipe.vae``): ``"frame"`` or ``"video"``."""
    return {"frame": frame_vae, "video": video_vae}[kind](latent_channels)


# ------------------------------------------------------------------------------------ text encoders
def clip_text_encoder(vocab_size: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=TEXT_WIDTH, intermediate_size=2 * TEXT_WIDTH,
        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
        projection_dim=TEXT_WIDTH, bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
    ))


def t5_text_encoder(vocab_size: int):
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(T5Config(
        vocab_size=vocab_size, d_model=TEXT_WIDTH, d_kv=16, d_ff=2 * TEXT_WIDTH, num_layers=2,
        num_heads=4, relative_attention_num_buckets=8, dropout_rate=0.0,
        feed_forward_proj="gated-gelu", pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    ))


def text_parts(kind: str):
    """``(tokenizer, text_encoder)`` a recipe names (``ToyRecipe.tokenizer``): ``"clip"`` or ``"t5"``."""
    tokenizer = toy_clip_tokenizer() if kind == "clip" else toy_t5_tokenizer()
    return tokenizer, (clip_text_encoder if kind == "clip" else t5_text_encoder)(len(tokenizer))


# ------------------------------------------------------------------------------------ denoisers
def denoiser(family: str, latent_channels: int | None = None, patch_size: int = PATCH_SIZE) -> torch.nn.Module:
    """The family's denoiser class at toy size (``LATENT_SIZE`` x ``LATENT_SIZE`` latents of
    ``latent_channels``, default the recipe's; the transformers cut them into ``patch_size`` patches),
    built by the family's :class:`~motionlib.families.ToyRecipe`."""
    recipe = toy_recipe(family)
    size = ToySize(latent_size=LATENT_SIZE, latent_channels=latent_channels or recipe.latent_channels,
                   patch_size=patch_size, text_width=TEXT_WIDTH, text_tokens=COG_TEXT_TOKENS, frames=world.FRAMES)
    return recipe.build_denoiser(size)


def toy_recipe(family: str) -> ToyRecipe:
    """The family's toy recipe; a one-line error for a family without one."""
    from motionlib.errors import ParameterError

    recipe = families.get(family).toy
    if recipe is None:
        raise ParameterError(f"no toy model for family {family!r}; toy families: {', '.join(families.toy_names())}")
    return recipe
