"""Toy clips as a dataset: :class:`~motionlib.data.VideoItem` s with a caption and four edit captions.

``toy_dataset()`` is the toy world's stand-in for TGVE: ``n`` clips of held-out combinations (no
model trained on them), rendered from ``seed`` and written once as lossless PNG frame folders under
``<cache>/toyworld/clips`` (so every reader of videos reads them). ``path="straight"`` clips
(``toy00-...``) are what the base models know, for the resampling study (Fig. 1-2);
``path="zigzag"`` clips (``zig00-...``) move in a way no base model saw. ``reference_dataset()``
(``ref00-...``) is the direction-transfer protocol's references (:mod:`motionlib.toyworld.transfer`)
with captions **without the direction word**, the toy references of the motion-customization
notebooks (Tab. 1-4, Fig. 4-6). Each clip's edit captions change its appearance (TGVE's four kinds,
which keep the motion words; a reference's keep none) or the motion too:

======================  =============================================  ===================
edit kind               what changes                                   TGVE's counterpart
======================  =============================================  ===================
``object``              colour and shape (another object)              object (subject)
``style``               texture                                        style
``background``          background                                     background
``multiple``            colour, shape, texture and background          multiple
``direction``           the direction of travel                        (none)
``direction_colour``    direction and colour                           (none)
``direction_multiple``  direction, colour, shape, texture, background  (none)
``path``                straight <-> zigzag                            (none)
======================  =============================================  ===================

TGVE's edits cannot change the motion, so a sweep with them cannot show the motion / appearance
trade-off; the motion edits can (the toy defaults of Fig. 1-2 use ``direction_colour``). A ``path``
edit needs a model that draws zigzags (:func:`check_edit_kind`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motionlib import paths
from motionlib.data.datasets import VideoItem
from motionlib.errors import DatasetError
from motionlib.toyworld import world

APPEARANCE_EDITS = {"object": ("colour", "shape"), "style": ("texture",), "background": ("background",),
                    "multiple": ("colour", "shape", "texture", "background")}
MOTION_EDITS = {"direction": ("direction",), "direction_colour": ("direction", "colour"),
                "direction_multiple": ("direction", "colour", "shape", "texture", "background"),
                "path": ("path",)}
# Appearance kinds first: each clip's edits are drawn in this order from one generator, so adding
# kinds at the end left the appearance edits (and every cached sweep of them) as they were.
EDIT_ATTRIBUTES = {**APPEARANCE_EDITS, **MOTION_EDITS}
EDIT_KINDS = tuple(EDIT_ATTRIBUTES)
DEFAULT_SEED = 7
# What a direction-transfer prompt changes (every appearance attribute): motionlib.toyworld.transfer
CHANGED = world.APPEARANCE
REFERENCE_PREFIX = "ref"
PREFIX = {"straight": "toy", "zigzag": "zig"}


def toy_specs(n: int = 20, seed: int = DEFAULT_SEED, split: str = "held_out", path: str = "straight") -> list[world.ClipSpec]:
    """The clips of :func:`toy_dataset` as specs."""
    if path not in PREFIX:
        raise DatasetError(f"toy clips have a straight or zigzag path, not {path!r}")
    return world.sample_specs(n, seed + (path == "zigzag"), split, (path,))


def edited(spec: world.ClipSpec, attributes: tuple[str, ...], rng: np.random.Generator) -> world.ClipSpec:
    """``spec`` with each of ``attributes`` changed to another value (drawn from ``rng``)."""
    for attribute in attributes:
        spec = spec.with_attribute(attribute, world.other_value(attribute, getattr(spec, attribute), rng))
    return spec


def edit_specs(spec: world.ClipSpec, index: int, seed: int = DEFAULT_SEED) -> dict[str, world.ClipSpec]:
    """The edits of clip ``index``, one per :data:`EDIT_KINDS` (seeded by ``seed`` and ``index``)."""
    rng = np.random.default_rng([seed, index])
    return {kind: edited(spec, attrs, rng) for kind, attrs in EDIT_ATTRIBUTES.items()}


def toy_record(model) -> dict:
    """A toy model's ``toyworld.json`` (its settings and training record); ``{}`` for a model not of the
    toy world or a folder without one."""
    import json

    from motionlib.models.loading import TOY_RECORD, parse_source

    if not getattr(model, "is_toy", False):
        return {}
    record = Path(parse_source(model.family, model.source)[1]) / TOY_RECORD
    return json.loads(record.read_text()) if record.is_file() else {}


def training_paths(model) -> tuple[str, ...]:
    """The paths a toy model was trained on (its ``toyworld.json``); every path for a model not of the toy world."""
    if not getattr(model, "is_toy", False):
        return world.PATHS
    return tuple(toy_record(model).get("world", {}).get("training_paths", world.TRAINING_PATHS))


def check_edit_kind(kind: str, model=None) -> tuple[str, ...]:
    """The attributes edit ``kind`` changes; a clear error for an unknown kind, or for a path edit
    on a toy model that was never trained on zigzags (it cannot draw one, so the edit cannot take)."""
    if kind not in EDIT_ATTRIBUTES:
        raise DatasetError(f"unknown toy edit kind {kind!r}; choose one of {', '.join(EDIT_KINDS)}")
    if "path" in EDIT_ATTRIBUTES[kind] and model is not None and "zigzag" not in training_paths(model):
        raise DatasetError(f"a {kind!r} edit asks for a zigzag, which the toy {model.family} model never saw in "
                           f"training (its toyworld.json: paths {', '.join(training_paths(model))}); the edit cannot "
                           "take, so it measures nothing: use direction, direction_colour or direction_multiple")
    return EDIT_ATTRIBUTES[kind]


def clip_name(index: int, spec: world.ClipSpec) -> str:
    texture = "" if spec.texture == "plain" else f"{spec.texture}-"
    return f"{PREFIX[spec.path]}{index:02d}-{spec.colour}-{texture}{spec.shape}-{spec.direction}"


def toy_dataset(n: int = 20, seed: int = DEFAULT_SEED, split: str = "held_out", path: str = "straight") -> list[VideoItem]:
    """``n`` toy clips (see the module doc), written as PNG frame folders if not yet there."""
    if not (isinstance(n, int) and n >= 1):
        raise DatasetError(f"the toy dataset needs n >= 1 clips, got {n!r}")
    items = []
    for i, spec in enumerate(toy_specs(n, seed, split, path)):
        name = clip_name(i, spec)
        folder = write_clip(spec, paths.cache_dir() / "toyworld" / "clips" / f"seed{seed}-{split}" / name)
        edits = {kind: world.caption(e) for kind, e in edit_specs(spec, i, seed).items()}
        items.append(VideoItem(name, world.caption(spec), edits, folder, "toy", spec.num_frames, spec.as_dict()))
    return items


def reference_dataset(n: int = 8, seed: int = 0, motion: str = "straight") -> list[VideoItem]:
    """The direction-transfer protocol's references as a dataset (``ref00-...``): :func:`reference_specs`
    with their **direction-free** captions, and per appearance edit kind (object, style, background,
    multiple) a direction-free caption with those attributes changed; ``multiple`` is the protocol's
    first new prompt (:func:`new_prompts`). The item's ``toy_spec`` lets the evaluation read each
    sample's transfer and leakage by the oracle."""
    if not (isinstance(n, int) and n >= 1):
        raise DatasetError(f"the reference dataset needs n >= 1 clips, got {n!r}")
    items = []
    for i, spec in enumerate(reference_specs(n, seed, motion)):
        name = f"{REFERENCE_PREFIX}{i:02d}-{clip_name(i, spec).split('-', 1)[1]}"
        folder = write_clip(spec, paths.cache_dir() / "toyworld" / "references" / f"seed{seed}-{motion}" / name)
        rng = np.random.default_rng([seed, 71, i])
        edits = {kind: free_caption(edited(spec, APPEARANCE_EDITS[kind], rng)) for kind in ("object", "style", "background")}
        edits["multiple"] = free_caption(new_prompts(spec, 1, seed + i)[0])
        items.append(VideoItem(name, free_caption(spec), edits, folder, "toy", spec.num_frames, spec.as_dict()))
    return items


def write_clip(spec: world.ClipSpec, folder: Path) -> Path:
    """``spec`` rendered into ``folder`` as lossless PNG frames ``00000.png ...``, unless already there."""
    import cv2

    if not (folder / f"{spec.num_frames - 1:05d}.png").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for k, frame in enumerate(world.render(spec)):
            tmp = folder / f".{k:05d}.png"
            cv2.imwrite(str(tmp), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            tmp.replace(folder / f"{k:05d}.png")
    return folder


def parse_name(name: str) -> tuple[str, int] | None:
    """``("straight" | "zigzag" | "reference", index)`` of a toy clip name (``toy03``,
    ``zig01-red-circle-up``, ``ref00``), else None."""
    head = str(name).split("-")[0]
    for kind, prefix in (*PREFIX.items(), ("reference", REFERENCE_PREFIX)):
        if head.startswith(prefix) and head[len(prefix):].isdigit():
            return kind, int(head[len(prefix):])
    return None


def find_toy_clip(name: str, seed: int = DEFAULT_SEED, split: str = "held_out") -> VideoItem:
    """The toy clip called ``name`` (its short ``toy03`` / ``ref00`` form, or its full name); a
    reference (``ref``) is the transfer protocol's, at its own seed 0."""
    parsed = parse_name(name)
    if parsed is None:
        raise DatasetError(f"{name!r} is not a toy clip name (toy00, toy01-..., zig00, ref00, ...)")
    kind, index = parsed
    item = reference_dataset(index + 1)[index] if kind == "reference" else toy_dataset(index + 1, seed, split, kind)[index]
    if "-" in str(name) and str(name) != item.name:
        raise DatasetError(f"toy clip {name.split('-')[0]} is {item.name!r}, not {name!r}")
    return item


def toy_spec_of(item: VideoItem, seed: int = DEFAULT_SEED, split: str = "held_out") -> world.ClipSpec:
    """The spec behind a toy item: its ``toy_spec``, or for an item without one, from its name."""
    if item.toy_spec is not None:
        return world.ClipSpec(**item.toy_spec)
    parsed = parse_name(item.name)
    if parsed is None:
        raise DatasetError(f"{item.name!r} is not a toy clip")
    path, index = parsed
    return toy_specs(index + 1, seed, split, path)[index]


def reference_specs(n: int, seed: int = 0, motion: str = "straight") -> list[world.ClipSpec]:
    """``n`` references of distinct appearances (shape, colour, texture, background) from the
    held-out combinations where one exists, moving left, right, up, down in turn."""
    rng = np.random.default_rng([seed, 31])
    held = sorted(world.held_out_combinations())
    used, specs = set(), []
    for i in range(n):
        direction = tuple(world.DIRECTIONS)[i % len(world.DIRECTIONS)]
        pool = [c for c in held if c[4] == direction and c[:4] not in used] or [
            c for c in world.all_combinations() if c[4] == direction and c[:4] not in used]
        combo = pool[rng.integers(len(pool))]
        used.add(combo[:4])
        speed = float(rng.uniform(*world.SPEED_RANGE))
        start = world.random_start(direction, speed, rng)
        specs.append(world.ClipSpec(*combo, path=motion, speed=speed, start=start))
    return specs


def free_caption(spec: world.ClipSpec) -> str:
    """The caption without the direction word (the zigzag path stays named)."""
    return world.caption(spec, with_direction=False)


def new_prompts(reference: world.ClipSpec, n: int, seed: int) -> list[world.ClipSpec]:
    """``n`` specs with every appearance attribute of ``reference`` changed, its motion kept."""
    rng = np.random.default_rng([seed, 17])
    return [edited(reference, CHANGED, rng) for _ in range(n)]
