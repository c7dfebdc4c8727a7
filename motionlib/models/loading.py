"""``load_model(family, source)``: any registered family (:mod:`motionlib.families`) from the hub, a
local folder, a shipped toy model, or tiny.

Sources:

- ``"tiny"``: the real architecture classes at toy size, seeded random weights, offline tokenizers.
- ``"toy"``: the family's real classes at toy size, trained on motionlib's toy world
  (:mod:`motionlib.toyworld`), loaded from the diffusers folder ``motionlib/assets/toy/<family>``
  by the same code as any local folder; ``"toy:<name>"`` another shipped toy model,
  ``motionlib/assets/toy/<name>`` (``toy:modelscope-free``: the name the customization notebooks load;
  the same weights as the toy ModelScope, fine-tuned so that a caption without a direction word leaves
  the direction open, for direction transfer).
- ``"hub"`` / ``"hub:<org/name>"``: the paper's checkpoint (or another id) through the family's
  diffusers pipeline, from the Hugging Face cache or the hub.
- a folder path: a diffusers-format copy of a checkpoint (it holds ``model_index.json``).

A requested real model never falls back to a tiny one: missing weights raise
:class:`~motionlib.errors.WeightsNotFoundError` saying what is missing and how to get it.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import torch

from motionlib import families, paths
from motionlib.devices import resolve_device
from motionlib.errors import ParameterError, UnknownSourceError, WeightsNotFoundError, reason
from motionlib.models.base import FamilyDefaults, FamilySpec, VideoModel


TOY_RECORD = "toyworld.json"  # in a toy model's folder: its generation defaults and training record
TWIN_RECORD = "twin.json"  # in a checkpoint twin's folder (motionlib.twins): random weights, the real layout


def pipeline_class(spec: FamilySpec):
    import diffusers

    return getattr(diffusers, spec.pipeline_class)


def parse_source(family: str, source: str | Path) -> tuple[str, str]:
    """-> ``("tiny", "")``, ``("toy", folder)``, ``("hub", repo_id)`` or ``("path", folder)``."""
    spec = families.get(family).spec
    text = str(source)
    if text == "tiny":
        return "tiny", ""
    if text == "toy":
        return "toy", str(paths.TOY_MODELS_DIR / spec.name)
    if text.startswith("toy:"):
        name = text[4:]
        shipped = shipped_toy_models()
        if name not in shipped:
            raise UnknownSourceError(f"no shipped toy model {name!r}; motionlib/assets/toy has {', '.join(shipped)}")
        return "toy", str(paths.TOY_MODELS_DIR / name)
    if text == "hub":
        return "hub", spec.hub_id
    if text.startswith("hub:") and len(text) > 4:
        return "hub", text[4:]
    path = Path(text).expanduser()
    if path.exists() or "/" in text or text.startswith("."):
        return "path", str(path)
    raise UnknownSourceError(
        f"unknown source {text!r} for {family}: use 'tiny', 'toy', 'toy:<name>', 'hub', 'hub:<org/name>' or a local "
        "folder holding a diffusers-format checkpoint"
    )


def load_model(
    family: str,
    source: str | Path = "tiny",
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    seed: int = 0,
    vae_slicing: bool = False,
    vae_tiling: bool = False,
    cpu_offload: bool = False,
    compile: bool | None = None,
) -> VideoModel:
    """Load one family. ``seed`` sets tiny weights; ``cpu_offload`` applies to real (hub/folder) models.

    ``dtype`` defaults to float32 for tiny and toy models and on CPU, bfloat16 for real models on GPU.
    ``cpu_offload`` moves each component to the GPU only while it runs (diffusers' model offload).
    ``compile`` compiles the denoiser with ``torch.compile`` (:func:`compile_denoiser`); ``None``
    reads ``MOTIONLIB_COMPILE`` (``1``/``true``: on; how ``motionlib reproduce --compile`` reaches the
    notebooks), off when unset.
    """
    fam = families.get(family)
    kind, where = parse_source(family, source)
    device = resolve_device(device)
    if cpu_offload and device.type == "cpu":
        raise ParameterError("--cpu-offload keeps components on the CPU and moves each to the GPU while it runs; "
                             "with --device cpu everything is on the CPU already: drop --cpu-offload, or use "
                             "--device cuda")
    if dtype is None:
        real = kind in ("hub", "path")
        dtype = torch.bfloat16 if (real and device.type == "cuda") else torch.float32
    toy_defaults, twin = None, False

    if kind == "tiny":
        components = fam.build_tiny(seed)
        with quiet_diffusers():
            pipeline = pipeline_class(fam.spec)(**components)
            pipeline.to(device) if dtype == torch.float32 else pipeline.to(device=device, dtype=dtype)
        label = "tiny"
    else:
        if kind == "toy" or (kind == "path" and (Path(where) / TOY_RECORD).is_file()):
            toy_defaults = _toy_defaults(fam.spec, Path(where))
        pipeline = _load_pipeline(fam.spec, "path" if kind == "toy" else kind, where, dtype)
        twin = _is_twin(kind, where)
        label = source_label(family, source)
        if cpu_offload:
            pipeline.enable_model_cpu_offload(device=device)
        else:
            pipeline.to(device)
        _use_ddim(pipeline, family)
    if vae_slicing:
        pipeline.vae.enable_slicing()
    if vae_tiling:
        pipeline.vae.enable_tiling()
    model = model_from_pipeline(family, pipeline, label, device=device, dtype=dtype, twin=twin,
                                seed=seed if kind == "tiny" else None, toy_defaults=toy_defaults)
    if compile_requested(compile):
        compile_denoiser(model)
    if toy_defaults is not None:
        from motionlib.toyworld import world

        model.weights_digest = weights_digest(Path(where))
        model.vocabulary, model.vocabulary_help = world.WORDS, world.vocabulary_line()
    return model


def compile_requested(compile: bool | None) -> bool:
    """``compile``, or for ``None`` the ``MOTIONLIB_COMPILE`` environment variable (``1``, ``true``, ``yes``)."""
    if compile is not None:
        return bool(compile)
    return os.environ.get("MOTIONLIB_COMPILE", "").strip().lower() in ("1", "true", "yes")


def compile_denoiser(model: VideoModel) -> None:
    """Compile ``model.denoiser`` in place (``nn.Module.compile``: the module, its attribute paths and
    its state dict stay the same, so motion adapters attach as before). The first calls at each new
    batch shape compile (minutes for a real model); later ones run the compiled code. Results equal
    eager ones up to float rounding (``tests/test_compile.py``). On the CPU, torch's compiler needs a
    C++ compiler: without one this stops before anything runs."""
    if model.device.type == "cpu" and not any(shutil.which(c) for c in (os.environ.get("CXX", "g++"), "g++", "c++",
                                                                         "clang++")):
        raise ParameterError("--compile on the CPU needs a C++ compiler (torch.compile's inductor builds C++ "
                             "kernels): install one (e.g. apt install g++), or drop --compile")
    model.denoiser.compile()
    model.compiled = True


def model_spec(model: VideoModel) -> dict:
    """The ``load_model`` arguments that load ``model`` again in another process (a Ray worker).

    The device is its type only (``cuda``, not ``cuda:3``): a worker sees just the GPUs given to it.
    """
    if model.source.startswith("twin:"):
        raise ParameterError("an in-memory twin (twins.build.twin_model) cannot be loaded again elsewhere: "
                             "write it with `motionlib twin` and load it with --source DIR")
    vae = getattr(model.pipeline, "vae", None)
    return {"family": model.family, "source": model.source, "device": model.device.type,
            "dtype": str(model.dtype).removeprefix("torch."), "seed": model.seed or 0,
            "vae_slicing": bool(getattr(vae, "use_slicing", False)),
            "vae_tiling": bool(getattr(vae, "use_tiling", False)),
            "cpu_offload": getattr(model.pipeline, "_offload_device", None) is not None,
            "compile": model.compiled}


@lru_cache(maxsize=2)
def load_model_once(family: str, source: str, device: str, dtype: str, seed: int, vae_slicing: bool = False,
                    vae_tiling: bool = False, cpu_offload: bool = False, compile: bool = False) -> VideoModel:
    """:func:`load_model` from a :func:`model_spec`, kept for the life of the process (one per worker)."""
    return load_model(family, source, device=device, dtype=getattr(torch, dtype), seed=seed,
                      vae_slicing=vae_slicing, vae_tiling=vae_tiling, cpu_offload=cpu_offload, compile=compile)


def _is_twin(kind: str, where: str) -> bool:
    """Whether a folder (or a cached hub download) is a checkpoint twin: it holds ``twin.json``."""
    if kind == "hub":
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(where, TWIN_RECORD), str)
    return (Path(where) / TWIN_RECORD).is_file()


def model_from_pipeline(family: str, pipeline, source: str, *, device: torch.device, dtype: torch.dtype,
                        seed: int | None = None, toy_defaults: FamilyDefaults | None = None,
                        twin: bool = False) -> VideoModel:
    """The family's :class:`VideoModel` over a diffusers pipeline already on ``device`` in ``dtype``."""
    fam = families.get(family)
    return fam.model_class(
        spec=fam.spec, source=source, denoiser=getattr(pipeline, fam.denoiser_key),
        vae=pipeline.vae, text_encoder=pipeline.text_encoder, tokenizer=pipeline.tokenizer,
        scheduler=pipeline.scheduler, pipeline=pipeline, device=device, dtype=dtype,
        seed=seed, toy_defaults=toy_defaults, twin=twin,
    )


def weights_digest(folder: Path) -> str:
    """SHA-256 (first 16 hex digits) of every ``*.safetensors`` file under ``folder``, with its path.

    A toy model's source is the name ``toy`` whatever weights it holds; its cache keys and provenance
    carry this digest, so retrained weights never read results cached from the old ones. (A toy model
    is a few MB: about 10 ms. Real checkpoints are not hashed.)
    """
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.safetensors")):
        digest.update(path.relative_to(folder).as_posix().encode())
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _toy_defaults(spec: FamilySpec, folder: Path) -> FamilyDefaults:
    """The generation defaults recorded with a toy model (frames, size, steps, guidance)."""
    import json

    record = folder / TOY_RECORD
    if not record.is_file():
        raise WeightsNotFoundError(
            f"no toy-world {spec.name} model in {folder}: the toy models ship for "
            f"{', '.join(families.toy_names())} (docs/toyworld.md); train one with `motionlib toyworld train --family "
            f"{spec.name} --out DIR` and load it with --source DIR")
    data = json.loads(record.read_text())
    if data.get("family", spec.name) != spec.name:
        raise UnknownSourceError(f"the toy model in {folder} is a {data['family']} model, not {spec.name}")
    return FamilyDefaults(**data["defaults"])


def _load_pipeline(spec: FamilySpec, kind: str, where: str, dtype: torch.dtype):
    how_to = (
        f"download it once on a machine with internet (`hf download {spec.hub_id} --local-dir DIR`) "
        f"and pass --source DIR, or fill the Hugging Face cache (HF_HOME) with it"
    )
    if kind == "path":
        folder = Path(where)
        if not folder.is_dir():
            raise WeightsNotFoundError(f"{spec.title} weights not found: folder {folder} does not exist; {how_to}")
        if not (folder / "model_index.json").exists():
            raise WeightsNotFoundError(
                f"{folder} is not a diffusers checkpoint folder (no model_index.json) for {spec.title}; {how_to}"
            )
    try:
        with quiet_diffusers():
            return pipeline_class(spec).from_pretrained(where, dtype=dtype)
    except (OSError, ValueError, EnvironmentError) as err:
        raise WeightsNotFoundError(
            f"{spec.title} weights could not be loaded from {'hub id ' if kind == 'hub' else ''}"
            f"{where!r} ({reason(err)}); {how_to}"
        ) from err


@contextmanager
def quiet_diffusers():
    """Hide diffusers' notice that TextToVideoSDPipeline is deprecated (we use only its parts) and the
    "Loading pipeline components" / "Loading weights" bars (a load takes seconds; errors still surface)."""
    from diffusers.utils import logging as dlogging
    from transformers.utils import logging as tlogging

    level, bars = dlogging.get_verbosity(), (dlogging.is_progress_bar_enabled(), tlogging.is_progress_bar_enabled())
    dlogging.set_verbosity_error()
    dlogging.disable_progress_bar()
    tlogging.disable_progress_bar()
    try:
        yield
    finally:
        dlogging.set_verbosity(level)
        if bars[0]:
            dlogging.enable_progress_bar()
        if bars[1]:
            tlogging.enable_progress_bar()


def _use_ddim(pipeline, family: str) -> None:
    """Sample with (deterministic) DDIM on the checkpoint's own schedule, as the paper does: the DDIM
    class of the family's scheduler (``Family.scheduler``), configured from the checkpoint's."""
    target = type(families.get(family).scheduler())
    if not isinstance(pipeline.scheduler, target):
        pipeline.scheduler = target.from_config(pipeline.scheduler.config)


def source_label(family: str, source) -> str:
    """The ``model.source`` a model loaded from ``source`` has: ``tiny``, ``toy`` (the family's shipped toy
    model), ``toy:<name>`` (another), ``hub:<id>``, or the folder path."""
    fam = families.get(family)
    kind, where = parse_source(family, source)
    if kind == "toy":
        return "toy" if Path(where).name == fam.spec.name else f"toy:{Path(where).name}"
    return {"hub": f"hub:{where}", "tiny": "tiny"}.get(kind, where)


def weights_status(family: str) -> str:
    """Whether the family's hub checkpoint is in the local Hugging Face cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    spec = families.get(family).spec
    found = try_to_load_from_cache(spec.hub_id, "model_index.json")
    return "cached locally" if isinstance(found, str) else "not found locally"


def shipped_toy_models() -> dict[str, str]:
    """``{folder name: family}`` of every toy model shipped in ``motionlib/assets/toy`` (it holds a record)."""
    import json

    out = {}
    for folder in sorted(paths.TOY_MODELS_DIR.iterdir()):
        record = folder / TOY_RECORD
        if record.is_file():
            out[folder.name] = json.loads(record.read_text()).get("family", folder.name)
    return out


def default_source(family: str) -> str:
    """The source a command uses when none is given: ``"toy"`` where the family's toy model ships."""
    name = families.get(family).name
    if shipped_toy_models().get(name) == name:
        return "toy"
    raise ParameterError(f"no toy model ships for {family}: give --source (hub, hub:<org/name>, a local folder, "
                         "or tiny for seeded random weights)")


def toy_sources(family: str) -> list[str]:
    """The shipped toy models of ``family`` as sources: ``"toy"`` and ``"toy:<name>"`` for the others."""
    name = families.get(family).name
    out = [folder for folder, of in shipped_toy_models().items() if of == name]
    return sorted(("toy" if folder == name else f"toy:{folder}" for folder in out), key=lambda s: s != "toy")
