"""Build a checkpoint twin: the published layout and configs with seeded random weights.

``write_twin(family, out, scale=...)`` writes a diffusers-format folder that ``load_model(family, out)``
(and ``--source out``) loads exactly as it would the downloaded checkpoint:

- ``model_index.json`` and every component's ``config.json`` with the published values
  (:mod:`motionlib.twins.published`); ``--scale reduced`` changes only the keys that count layers or
  blocks per stage (``layers_per_block``, ``num_layers``, ``num_hidden_layers``) to 1, keeping every
  width, head count, channel count, vocabulary and other key;
- ``scheduler/scheduler_config.json`` as published;
- tokenizer files built offline (CLIP: open_clip's BPE, the real vocabulary; T5: a SentencePiece
  model trained on the bundled captions: the real 32,000-piece vocabulary cannot be rebuilt offline,
  so token ids differ from the real tokenizer's while the files, class and ``model_max_length`` match);
- weights in safetensors, in the dtype the checkpoint stores them, sharded at 5 GB per file
  (``diffusion_pytorch_model-0000N-of-0000M.safetensors`` / ``model-0000N-of-0000M.safetensors`` with
  their ``.index.json``) as the published checkpoints are.

The weights are drawn under ``torch.manual_seed(seed)``; all-zero initialised matrices are redrawn
(N(0, 0.02)) so that every branch contributes, as for the tiny models.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from motionlib.errors import ParameterError
from motionlib.models.loading import TWIN_RECORD, quiet_diffusers
from motionlib import families
from motionlib.twins.published import Checkpoint, Component

SCALES = ("full", "reduced")
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def checkpoints() -> dict[str, Checkpoint]:
    """``{family: its published Checkpoint}`` for every family that has one (``Family.checkpoint``)."""
    return {f.name: f.checkpoint for f in families.all_families() if f.checkpoint is not None}


def get_checkpoint(family: str) -> Checkpoint:
    known = checkpoints()
    if str(family).lower() not in known:
        raise ParameterError(f"no published checkpoint for {family!r}; twins exist for: {', '.join(known)}")
    return known[str(family).lower()]


def component_config(comp: Component, scale: str) -> dict:
    """The published config, with every layer-count key set to 1 at ``scale="reduced"``."""
    if scale not in SCALES:
        raise ParameterError(f"--scale must be one of {', '.join(SCALES)}, got {scale!r}")
    config = json.loads(json.dumps(comp.config))
    if scale == "reduced":
        config.update({key: 1 for key in comp.layer_keys})
    return config


def instantiate(comp: Component, config: dict):
    """The component's class built from ``config`` on the current default device and dtype (no weights read)."""
    if comp.library == "diffusers":
        import diffusers

        with quiet_diffusers():  # ModelScope's config keeps keys today's UNet3D ignores (e.g. use_linear_projection)
            return getattr(diffusers, comp.class_name).from_config(config)
    import transformers

    kwargs = {k: v for k, v in config.items() if k not in ("model_type", "architectures", "torch_dtype")}
    hf_config = transformers.AutoConfig.for_model(config["model_type"], **kwargs)
    return getattr(transformers, comp.class_name)(hf_config)


def build_component(comp: Component, scale: str, *, dtype: torch.dtype, seed: int,
                    device: str | torch.device = "cpu") -> torch.nn.Module:
    """One component with seeded random weights, allocated directly in ``dtype`` on ``device``."""
    from motionlib.models.tiny import seeded

    config = component_config(comp, scale)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            return seeded(seed, lambda: instantiate(comp, config))  # (all-zero matrices redrawn, as for tiny models)
    finally:
        torch.set_default_dtype(previous)


def twin_dtype(comp: Component, dtype: str | None) -> torch.dtype:
    """``dtype`` if given, else the dtype the published weights of this component are stored in."""
    name = dtype or comp.dtype
    if name not in DTYPES:
        raise ParameterError(f"--dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    return DTYPES[name]


def write_twin(family: str, out: str | Path, *, scale: str = "reduced", dtype: str | None = None,
               seed: int = 0, overwrite: bool = False, progress=None) -> Path:
    """Write the twin of ``family``'s published checkpoint into ``out``; returns ``out``.

    Components are built, saved and freed one at a time, so the peak memory is the largest component
    (the full-scale CogVideoX-5b transformer: 11 GB in bfloat16). A folder is written under a
    temporary name and renamed when complete: an interrupted run leaves no half twin behind.
    ``progress(text)`` is told which component is being built.
    """
    ckpt = get_checkpoint(family)
    component_config(next(iter(ckpt.components.values())), scale)  # checks scale
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ParameterError(f"{out} exists and is not empty; pass --overwrite or choose another --out")
    tmp = out.with_name(out.name + f".partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _write_folder(ckpt, tmp, scale, dtype, seed, progress)
    except BaseException:  # interrupted or failed: no half twin is left, under either name
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def _write_folder(ckpt: Checkpoint, tmp: Path, scale: str, dtype: str | None, seed: int, progress) -> None:
    _write_json(tmp / "model_index.json", ckpt.model_index())
    for i, (name, comp) in enumerate(ckpt.components.items()):
        if progress:
            progress(f"{name}: {comp.class_name} ({scale})")
        module = build_component(comp, scale, dtype=twin_dtype(comp, dtype), seed=seed + i)
        with quiet_diffusers():  # (no "Writing model shards" bars)
            module.save_pretrained(tmp / name, safe_serialization=True, max_shard_size=comp.shard_size)
        del module
        config = component_config(comp, scale)
        if comp.library == "transformers" and dtype:  # else the published value (Latte-1's says float16 over fp32)
            config["torch_dtype"] = dtype
        elif comp.library == "diffusers":
            config["_diffusers_version"] = ckpt.diffusers_version
        _write_json(tmp / name / "config.json", config)  # the published keys, not this library's defaults
    _write_tokenizer(ckpt, tmp / "tokenizer")
    _write_json(tmp / "scheduler" / "scheduler_config.json",
                {**ckpt.scheduler_config, "_diffusers_version": ckpt.diffusers_version})
    _write_json(tmp / TWIN_RECORD, {
        "family": ckpt.family, "hub_id": ckpt.hub_id, "scale": scale, "seed": seed,
        "dtype": {name: str(twin_dtype(c, dtype)).removeprefix("torch.") for name, c in ckpt.components.items()},
        "note": "a motionlib checkpoint twin: the published layout and configs with seeded random weights",
    })


def _write_tokenizer(ckpt: Checkpoint, folder: Path) -> None:
    """The slow-tokenizer files the published folders hold (no ``tokenizer.json``; transformers converts)."""
    from motionlib.models import tokenizers

    folder.mkdir(parents=True, exist_ok=True)
    config = ckpt.tokenizer_config
    if ckpt.tokenizer_class == "CLIPTokenizer":
        vocab, merges = tokenizers.clip_vocab_files()
        shutil.copyfile(vocab, folder / "vocab.json")
        shutil.copyfile(merges, folder / "merges.txt")
        special = {k: config[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token")}
    else:
        shutil.copyfile(tokenizers.t5_model_file(), folder / "spiece.model")
        special = {k: config[k] for k in ("additional_special_tokens", "eos_token", "pad_token", "unk_token")}
    _write_json(folder / "special_tokens_map.json", special)
    _write_json(folder / "tokenizer_config.json", config)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def twin_model(family: str, scale: str = "full", *, device: str | torch.device = "cpu",
               dtype: torch.dtype = torch.bfloat16, seed: int = 0):
    """The twin built in memory on ``device`` (no files): the :class:`VideoModel` the loader would return.

    For benchmarks of full-size architectures on a GPU, where writing and re-reading 20 GB of random
    weights would only cost time. The tokenizer and scheduler are the twin's; the pipeline is the
    family's diffusers pipeline, wrapped by the same ``model_from_pipeline`` as ``load_model``.
    """
    import diffusers

    from motionlib.devices import resolve_device
    from motionlib.models.loading import _use_ddim, model_from_pipeline, pipeline_class, quiet_diffusers
    from motionlib.models import tokenizers

    ckpt, fam = get_checkpoint(family), families.get(family)
    device = resolve_device(device)
    with quiet_diffusers():
        parts = {name: build_component(comp, scale, dtype=dtype, seed=seed + i, device=device)
                 for i, (name, comp) in enumerate(ckpt.components.items())}
        scheduler = getattr(diffusers, ckpt.scheduler_class).from_config(ckpt.scheduler_config)
        tokenizer = tokenizers.clip_tokenizer() if ckpt.tokenizer_class == "CLIPTokenizer" else tokenizers.t5_tokenizer()
        if ckpt.tokenizer_class == "T5Tokenizer":
            tokenizer.model_max_length = ckpt.tokenizer_config["model_max_length"]
        pipeline = pipeline_class(fam.spec)(**parts, tokenizer=tokenizer, scheduler=scheduler)
    _use_ddim(pipeline, family)
    return model_from_pipeline(family, pipeline, f"twin:{scale}", device=device, dtype=dtype, twin=True)
