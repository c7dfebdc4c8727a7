"""Publication figures: one style, colour-blind-safe colours, PDF + PNG with provenance.

Sizes follow the two-column AAAI layout of the paper: one column is 3.3 in wide, two columns 7.0 in.
PDFs embed TrueType fonts (``pdf.fonttype = 42``) so they pass camera-ready checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

import matplotlib.pyplot as plt
import numpy as np

from motionlib.provenance import TINY_LABEL, write_sidecar

ONE_COLUMN_IN = 3.3
TWO_COLUMN_IN = 7.0
# Okabe & Ito (2008) colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
FAMILY_COLORS = {"modelscope": PALETTE[0], "latte": PALETTE[1], "cogvideox": PALETTE[2],
                 "cogvideox-5b": PALETTE[3]}

STYLE = {
    "pdf.fonttype": 42, "ps.fonttype": 42, "font.size": 8, "axes.titlesize": 8,
    "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7, "legend.fontsize": 7,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "axes.spines.top": False,
    "axes.spines.right": False, "figure.dpi": 150, "savefig.dpi": 300, "savefig.bbox": "tight",
}


def use_style() -> None:
    """Apply the publication style to matplotlib globally (call once in a notebook)."""
    plt.rcParams.update(STYLE)


def figure(width: str = "one", aspect: float = 0.75, **kwargs):
    """``plt.subplots`` at one- or two-column width; ``aspect`` = height / width."""
    w = ONE_COLUMN_IN if width == "one" else TWO_COLUMN_IN
    return plt.subplots(figsize=(w, w * aspect), **kwargs)


def save_figure(fig, out_dir: str | Path, stem: str, rec: dict[str, Any]) -> list[Path]:
    """Write ``stem.pdf`` and ``stem.png`` (+ provenance sidecar). Tiny results are labelled."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if rec.get("tiny_random_weights"):
        fig.text(0.5, 1.0, TINY_LABEL, ha="center", va="bottom", fontsize=6, color="#D55E00")
    meta = {"Title": stem, "Subject": rec.get("what", ""), "Keywords": rec.get("label", "")}
    written = []
    for ext in ("pdf", "png"):
        path = out_dir / f"{stem}.{ext}"
        fig.savefig(path, metadata=meta if ext == "pdf" else {"Title": stem, "Description": meta["Keywords"]})
        written.append(path)
    write_sidecar(out_dir / stem, rec)
    return written


def frame_strip(ax, video: np.ndarray, num_frames: int = 8, label: str | None = None) -> None:
    """Draw ``num_frames`` evenly spaced frames of a uint8 ``(F, H, W, 3)`` video side by side."""
    idx = np.round(np.linspace(0, len(video) - 1, num_frames)).astype(int)
    ax.imshow(np.concatenate(list(video[idx]), axis=1))
    ax.set_xticks([])
    ax.set_yticks([])
    if label:
        ax.set_ylabel(label, rotation=0, ha="right", va="center")


def frame_rows(videos: Sequence[np.ndarray], labels: Sequence[str], num_frames: int = 8,
               width: str = "two"):
    """One row of frames per video, labelled on the left; returns the figure."""
    w = ONE_COLUMN_IN if width == "one" else TWO_COLUMN_IN
    h, fw = videos[0].shape[1:3]
    row_h = w * 0.8 / num_frames * h / fw
    fig, axes = plt.subplots(len(videos), 1, figsize=(w, row_h * len(videos) + 0.2), squeeze=False)
    for ax, video, label in zip(axes[:, 0], videos, labels):
        frame_strip(ax, video, num_frames, label)
    return fig
