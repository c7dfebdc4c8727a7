"""Datasets: the bundled clips, the LOVEU-TGVE-2023 caption manifest, and the official TGVE layout.

A dataset is a list of :class:`VideoItem`. Every item has a ground-truth ``caption`` and four edit
captions keyed by :data:`EDIT_KINDS` (``style``, ``object``, ``background``, ``multiple``); the
paper's Fig. 2 analysis uses ``object``.

The official TGVE-2023 layout under a root folder (the dataset zip, unpacked)::

    <root>/LOVEU-TGVE-2023_Dataset.csv
    <root>/DAVIS_480p/480p_frames/<video>/00000.jpg ...
    <root>/youtube_480p/480p_frames/<video>/00000.jpg ...
    <root>/videvo_480p/480p_frames/<video>/00000.jpg ...

The CSV has the header ``Video name, Our GT caption, Style Change Caption, Object Change Caption,
Background Change Caption, Multiple Changes Caption`` and section-header rows (``DAVIS Videos:``,
``Youtube Videos:``, ``Videvo Videos:``) and blank rows between the subsets.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motionlib import paths
from motionlib.errors import DatasetError

EDIT_KINDS = ("style", "object", "background", "multiple")
TGVE_CSV = "LOVEU-TGVE-2023_Dataset.csv"
TGVE_SUBSETS = ("DAVIS_480p", "youtube_480p", "videvo_480p")
TGVE_COLUMNS = {
    "Video name": "video", "Our GT caption": "caption", "Style Change Caption": "style",
    "Object Change Caption": "object", "Background Change Caption": "background",
    "Multiple Changes Caption": "multiple",
}
# Section-header rows of the official CSV, mapped to the subset folder they introduce.
TGVE_SECTIONS = {"davis": "DAVIS_480p", "youtube": "youtube_480p", "videvo": "videvo_480p"}


@dataclass(frozen=True)
class VideoItem:
    """One video with its captions. ``path`` is an mp4/gif or frame folder (``None``: captions only);
    ``toy_spec``, for a toy-world clip, the ``ClipSpec`` it was rendered from (``as_dict()``: the
    ground truth the oracle reads samples against)."""

    name: str
    caption: str
    edits: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    subset: str = ""
    num_frames: int | None = None
    toy_spec: dict | None = None

    def edit(self, kind: str) -> str:
        """The edit caption of ``kind``: one of :data:`EDIT_KINDS` (every video), or a motion edit
        of a toy clip (``direction``, ``direction_colour`` ...: :mod:`motionlib.toyworld.dataset`)."""
        if kind not in self.edits:
            known = "" if kind in EDIT_KINDS else "unknown edit kind: "
            raise DatasetError(f"{known}video {self.name!r} has no {kind!r} edit caption; its edits are "
                               f"{', '.join(self.edits) or 'none'} (motion edits exist for toy clips only)")
        return self.edits[kind]


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DatasetError(f"caption file not found: {path}")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def bundled_dataset() -> list[VideoItem]:
    """The three clips shipped with motionlib (``motionlib/assets/videos``) with their captions."""
    items = []
    for row in _read_rows(paths.BUNDLED_MANIFEST):
        items.append(VideoItem(
            name=row["video"], caption=row["caption"], path=paths.BUNDLED_VIDEOS_DIR / row["file"],
            edits={k: row[k] for k in EDIT_KINDS}, subset="bundled",
        ))
    return items


def tgve_manifest(subset: str | None = None) -> list[VideoItem]:
    """All 76 TGVE-2023 videos' captions (no frames): the dataset index shipped with motionlib."""
    items = [
        VideoItem(name=r["video"], caption=r["caption"], edits={k: r[k] for k in EDIT_KINDS},
                  subset=r["subset"], num_frames=int(r["num_frames"]))
        for r in _read_rows(paths.TGVE_MANIFEST)
    ]
    return _filter_subset(items, subset)


def _filter_subset(items: list[VideoItem], subset: str | None) -> list[VideoItem]:
    if subset is None:
        return items
    if subset not in TGVE_SUBSETS:
        raise DatasetError(f"unknown TGVE subset {subset!r}; choose one of {', '.join(TGVE_SUBSETS)}")
    return [item for item in items if item.subset == subset]


def _section(first_cell: str) -> str | None:
    """The subset a section-header row introduces (``"DAVIS Videos:"`` -> ``DAVIS_480p``), else None."""
    cell = first_cell.strip().lower()
    if not cell.endswith(":"):
        return None
    for key, subset in TGVE_SECTIONS.items():
        if cell.startswith(key):
            return subset
    raise DatasetError(f"unrecognised section row {first_cell!r} in the TGVE CSV")


def read_tgve_csv(path: str | os.PathLike) -> list[VideoItem]:
    """Parse the official ``LOVEU-TGVE-2023_Dataset.csv`` (section rows and blank rows skipped)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"TGVE CSV not found: {path}; expected {TGVE_CSV} in the dataset root")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    header_at = next((i for i, r in enumerate(rows) if r and r[0].strip() == "Video name"), None)
    if header_at is None:
        raise DatasetError(f"{path} has no 'Video name' header row; is it the TGVE-2023 CSV?")
    header = [c.strip() for c in rows[header_at]]
    missing = [c for c in TGVE_COLUMNS if c not in header]
    if missing:
        raise DatasetError(f"{path} lacks the columns {missing}")
    col = {TGVE_COLUMNS[c]: header.index(c) for c in TGVE_COLUMNS}
    items, subset = [], ""
    for line, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        if not row or not any(c.strip() for c in row):
            continue
        section = _section(row[0])
        if section is not None:
            subset = section
            continue
        if not subset:
            raise DatasetError(f"{path}, line {line}: a video row before any section row")
        row = row + [""] * (len(header) - len(row))
        items.append(VideoItem(name=row[col["video"]].strip(), caption=row[col["caption"]].strip(),
                               edits={k: row[col[k]].strip() for k in EDIT_KINDS}, subset=subset))
    return items


def load_tgve(root: str | os.PathLike, subset: str | None = None,
              videos: list[str] | None = None) -> list[VideoItem]:
    """The TGVE-2023 videos under ``root`` (official layout), optionally one subset or named videos.

    Each item's ``path`` is its frame folder and ``num_frames`` the number of frames found there.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"TGVE root {root} is not a folder; unpack the LOVEU-TGVE-2023 zip there")
    items = _filter_subset(read_tgve_csv(root / TGVE_CSV), subset)
    if videos is not None:
        known = {item.name for item in items}
        unknown = [v for v in videos if v not in known]
        if unknown:
            raise DatasetError(f"videos not in the TGVE CSV{f' subset {subset}' if subset else ''}: {unknown}")
        items = [item for item in items if item.name in set(videos)]
    found = []
    for item in items:
        folder = root / item.subset / "480p_frames" / item.name
        if not folder.is_dir():
            raise DatasetError(f"frames of {item.name!r} missing: expected {folder}")
        count = sum(1 for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        found.append(VideoItem(item.name, item.caption, item.edits, folder, item.subset, count))
    return found


def make_tgve_miniature(root: str | os.PathLike, per_subset: int = 2, num_frames: int = 8,
                        size: int = 32, seed: int = 0) -> Path:
    """Write a small copy of the official TGVE layout (real captions, synthetic moving frames).

    Takes the first ``per_subset`` videos of each subset from the manifest; writes the CSV with its
    section-header and blank rows exactly as the official file has them. For tests and demos.
    """
    import cv2

    root = Path(root)
    rng = np.random.default_rng(seed)
    manifest = tgve_manifest()
    titles = {"DAVIS_480p": "DAVIS Videos:", "youtube_480p": "Youtube Videos:", "videvo_480p": "Videvo Videos:"}
    lines = [list(TGVE_COLUMNS)]
    for subset in TGVE_SUBSETS:
        lines += [[""] * len(TGVE_COLUMNS), [titles[subset]] + [""] * (len(TGVE_COLUMNS) - 1)]
        for item in [i for i in manifest if i.subset == subset][:per_subset]:
            lines.append([item.name, item.caption] + [item.edits[k] for k in EDIT_KINDS])
            folder = root / subset / "480p_frames" / item.name
            folder.mkdir(parents=True, exist_ok=True)
            base = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            for i in range(num_frames):
                frame = np.roll(base, shift=i, axis=1)  # a pattern moving right one pixel per frame
                cv2.imwrite(str(folder / f"{i:05d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    with open(root / TGVE_CSV, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(lines)
    return root


def read_method_output(folder: str | os.PathLike, video: str, edit_kind: str, num_frames: int | None,
                       size: int | tuple[int, int] | None) -> np.ndarray | None:
    """Another method's result for (``video``, ``edit_kind``) from ``folder``, or ``None`` if absent.

    Naming: ``<folder>/<video>__<edit_kind>.mp4`` (or ``.gif``, or a folder of frames of that name);
    read like :func:`~motionlib.data.read_video` at ``num_frames`` and ``size``.
    """
    from motionlib.data.video_io import read_video

    if not Path(folder).is_dir():
        raise DatasetError(f"no folder {folder} of another method's outputs; give a folder holding "
                           "<video>__<edit_kind>.mp4 files (or remove it from baselines)")
    for candidate in (Path(folder) / f"{video}__{edit_kind}.mp4", Path(folder) / f"{video}__{edit_kind}.gif",
                      Path(folder) / f"{video}__{edit_kind}"):
        if candidate.exists():
            return read_video(candidate, num_frames, size)
    return None
