"""Tokenizers for the tiny models, built offline.

- CLIP: the byte-level BPE that open_clip ships (``bpe_simple_vocab_16e6.txt.gz``), written out as
  the ``vocab.json`` + ``merges.txt`` pair a transformers ``CLIPTokenizer`` reads. This is the
  same vocabulary the real ModelScope text encoder uses.
- T5: a small SentencePiece unigram model trained on the bundled TGVE captions (deterministic).
  The real T5 vocabulary cannot be built offline; the tiny one only needs to be consistent.

Built files are cached under ``paths.cache_dir() / "tokenizers"``.
"""

from __future__ import annotations

import gzip
import json
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from motionlib import paths

CLIP_MAX_LENGTH = 77
T5_VOCAB_SIZE = 512


def _tokenizer_dir(name: str) -> Path:
    path = paths.cache_dir() / "tokenizers" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP mapping of the 256 byte values to printable unicode characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


@lru_cache(maxsize=None)
def clip_tokenizer():
    """A ``transformers.CLIPTokenizer`` (77 tokens) built from open_clip's bundled BPE merges."""
    from transformers import CLIPTokenizer

    vocab_file, merges_file = clip_vocab_files()
    return CLIPTokenizer(
        vocab=str(vocab_file), merges=str(merges_file), model_max_length=CLIP_MAX_LENGTH
    )


def clip_vocab_files() -> tuple[Path, Path]:
    """``vocab.json`` and ``merges.txt`` of CLIP's BPE (the files a CLIPTokenizer folder holds)."""
    out = _tokenizer_dir("clip-bpe-49408")
    vocab_file, merges_file = out / "vocab.json", out / "merges.txt"
    if not (vocab_file.exists() and merges_file.exists()):
        import open_clip

        bpe = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
        lines = gzip.open(bpe, "rt", encoding="utf-8").read().split("\n")
        merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
        vocab = list(_bytes_to_unicode().values())
        vocab += [v + "</w>" for v in vocab] + ["".join(m) for m in merges]
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        _atomic_write(vocab_file, json.dumps({tok: i for i, tok in enumerate(vocab)}))
        _atomic_write(merges_file, "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    return vocab_file, merges_file


@lru_cache(maxsize=None)
def t5_tokenizer():
    """A ``transformers.T5Tokenizer`` over a <=512-piece SentencePiece unigram model trained on captions."""
    import sentencepiece as spm
    from transformers import T5Tokenizer

    processor = spm.SentencePieceProcessor(model_file=str(t5_model_file()))
    pieces = [(processor.id_to_piece(i), processor.get_score(i)) for i in range(processor.get_piece_size())]
    return T5Tokenizer(vocab=pieces, extra_ids=0)


def t5_model_file() -> Path:
    """The SentencePiece model file (a T5Tokenizer folder's ``spiece.model``), trained on first use."""
    import sentencepiece as spm

    out = _tokenizer_dir(f"t5-spm-{T5_VOCAB_SIZE}")
    model_file = out / "spm.model"
    if not model_file.exists():
        manifest = pd.read_csv(paths.TGVE_MANIFEST)
        texts = manifest[["caption", "style", "object", "background", "multiple"]].to_numpy().ravel()
        corpus = out / "corpus.txt"
        corpus.write_text("\n".join(str(t).lower() for t in texts) + "\n", encoding="utf-8")
        tmp_prefix = out / f"spm.{os.getpid()}"
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(tmp_prefix), vocab_size=T5_VOCAB_SIZE,
            model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
            pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
            num_threads=1, seed_sentencepiece_size=100000, minloglevel=2,
            character_coverage=1.0, hard_vocab_limit=False,
        )
        os.replace(f"{tmp_prefix}.model", model_file)
        Path(f"{tmp_prefix}.vocab").unlink(missing_ok=True)
    return model_file


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
