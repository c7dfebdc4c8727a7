"""The selection language: which videos a notebook parameter or ``--videos`` names.

It sits above both sources of videos, :mod:`motionlib.data` (the bundled clips, TGVE-2023) and
:mod:`motionlib.toyworld.dataset` (toy clips), so the data layer knows nothing of the toy world.
"""

from __future__ import annotations

import os
from pathlib import Path

from motionlib import paths
from motionlib.data.datasets import VideoItem, bundled_dataset, load_tgve
from motionlib.errors import DatasetError
from motionlib.toyworld.dataset import find_toy_clip, parse_name, reference_dataset, toy_dataset

TOY_SELECTIONS = ("toy", "zigzag", "transfer")  # select_videos("toy:N") ...: toy-world clips


def select_videos(videos: str | list[str] = "bundled", tgve_root: str | os.PathLike | None = None,
                  subset: str | None = None) -> list[VideoItem]:
    """The videos a notebook parameter names.

    - ``"bundled"``: the shipped clips; a list of bundled clip names picks some of them.
    - ``"toy"`` / ``"toy:N"``: the toy world's 20 (or first ``N``) held-out clips, straight paths;
      ``"zigzag"`` / ``"zigzag:N"``: its zigzag clips (:func:`motionlib.toyworld.dataset.toy_dataset`);
      ``"transfer"`` / ``"transfer:N"``: the direction-transfer protocol's 8 (or first ``N``) references
      with direction-free captions (:func:`motionlib.toyworld.dataset.reference_dataset`);
      a list of toy clip names (``toy03``, ``zig00``, ``ref00`` ...) picks some of them.
    - with ``tgve_root`` (default: ``$MOTIONLIB_TGVE``): ``"all"`` or a list of TGVE video names
      (optionally within ``subset``).

    A one-item list holding one of these words (as from ``--videos bundled``) means the word.
    """
    if not isinstance(videos, str) and len(videos) == 1 and _is_selection_word(videos[0]):
        videos = videos[0]
    if isinstance(videos, str) and videos.partition(":")[0] in TOY_SELECTIONS:
        kind, _, count = videos.partition(":")
        if count and not (count.isdigit() and int(count) >= 1):
            raise DatasetError(f"videos={videos!r}: write {kind}:N with N a positive number of toy clips "
                               f"(e.g. {kind}:3)")
        if kind == "transfer":
            return reference_dataset(int(count) if count else 8)
        return toy_dataset(int(count) if count else 20, path="zigzag" if kind == "zigzag" else "straight")
    if not isinstance(videos, str) and videos and all(_is_toy_name(v) for v in videos):
        return [find_video(v) for v in videos]
    tgve_root = tgve_root or paths.tgve_root()
    if videos == "all" and not tgve_root:
        raise DatasetError("videos='all' means the 76 TGVE videos: pass tgve_root or set MOTIONLIB_TGVE "
                           "to the unpacked LOVEU-TGVE-2023 folder")
    if tgve_root:
        return load_tgve(tgve_root, subset, None if videos in ("all", "bundled") else list(videos))
    items = bundled_dataset()
    if videos == "bundled":
        return items
    names = [videos] if isinstance(videos, str) else list(videos)
    by_name = {item.name: item for item in items}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise DatasetError(f"unknown bundled clips {unknown}; bundled: {sorted(by_name)} "
                           "(or set tgve_root to a LOVEU-TGVE-2023 folder)")
    return [by_name[n] for n in names]


def _is_selection_word(word: str) -> bool:
    return word in ("bundled", "all") or word.partition(":")[0] in TOY_SELECTIONS


def _is_toy_name(name) -> bool:
    return isinstance(name, str) and parse_name(name) is not None and not Path(name).exists()


def find_video(video: str | os.PathLike, tgve_root: str | os.PathLike | None = None) -> VideoItem:
    """One video by bundled name, toy clip name (``toy03``, ``zig00``, ``ref00``, or the full name), TGVE name
    (with ``tgve_root``), or path (captions then empty)."""
    if _is_toy_name(video):
        return find_toy_clip(str(video))
    if tgve_root:
        return load_tgve(tgve_root, videos=[str(video)])[0]
    bundled = {item.name: item for item in bundled_dataset()}
    if str(video) in bundled:
        return bundled[str(video)]
    path = Path(video)
    if not path.exists():
        raise DatasetError(f"{video!r} is neither a bundled clip ({', '.join(bundled)}) nor an existing "
                           "file or frame folder")
    return VideoItem(name=path.stem, caption="", path=path)
