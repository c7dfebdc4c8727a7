"""A check that a figure reads as a figure, run on every figure :func:`motionlib.plotting.save_figure`
writes: after layout, at the width the figure will be printed,

- no two pieces of text overlap (titles, axis labels, tick labels, annotations, legends, colour bars),
  each taken as its upright bounding box (a rotated label's box is larger than its glyphs: conservative);
- no legend covers a data point of its axes;
- no axes is empty: a panel that shows nothing (no finite data, no image, no text) is a defect; a
  metric that does not apply is left out or says so in its panel ("n/a (toy model)");
- no text is smaller than :data:`MIN_POINTS` at the printed width.

Under test (``MOTIONLIB_FIGURE_CHECK=error``, set by the test suite) a problem raises
:class:`FigureCheckError`; otherwise it warns (:class:`FigureCheckWarning`) and the figure is still
written. ``MOTIONLIB_FIGURE_CHECK=off`` skips the check.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.legend import Legend
from matplotlib.text import Text

from motionlib.errors import MotionlibError

MIN_POINTS = 5.0  # the smallest text size at the printed width
PRINTED_WIDTH_IN = 7.0  # the widest a figure is printed (a two-column figure); wider figures are scaled down
TOLERANCE_PX = 1.0  # boxes that overlap by at most this many pixels (at 100 dpi) touch, they do not overlap
ENV = "MOTIONLIB_FIGURE_CHECK"  # "error", "warn" (default) or "off"


class FigureCheckError(MotionlibError, AssertionError):
    """A figure failed :func:`check_figure` (raised under test)."""


class FigureCheckWarning(UserWarning):
    """A figure failed :func:`check_figure` (outside tests: the figure is written anyway)."""


@dataclass(frozen=True)
class Problem:
    kind: str  # "overlap", "legend over data", "empty axes", "small text"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {' '.join(self.detail.split())}"


def _visible(artist) -> bool:
    return artist.get_visible() and (artist.axes is None or artist.axes.get_visible())


def _texts(fig) -> list[tuple[str, Text]]:
    """Every visible, non-empty text the figure draws, named, with legends' texts left to the legend box."""
    found = []
    for t in fig.texts:
        found.append(("figure text", t))
    if getattr(fig, "_suptitle", None) is not None:
        found.append(("suptitle", fig._suptitle))
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        title = " ".join(ax.get_title().split())
        name = f"axes {i}" + (f" '{title[:40]}'" if title else "")
        found += [(f"{name} title", t) for t in (ax.title, ax._left_title, ax._right_title)]
        if ax.axison:
            for axis, letter in ((ax.xaxis, "x"), (ax.yaxis, "y")):
                found.append((f"{name} {letter}-label", axis.label))
                for tick in axis._update_ticks():  # the ticks drawn (within the view)
                    for label in (tick.label1, tick.label2):
                        found.append((f"{name} {letter}-tick", label))
                found.append((f"{name} {letter} offset", axis.offsetText))
        found += [(f"{name} text", t) for t in ax.texts]
    unique = {}
    for n, t in found:  # (a suptitle is also one of fig.texts)
        unique.setdefault(id(t), (n, t))
    return [(n, t) for n, t in unique.values() if t.get_text().strip() and _visible(t)]


def _legends(fig) -> list[tuple[str, Legend]]:
    out = [(f"figure legend {i}", leg) for i, leg in enumerate(fig.legends)]
    out += [(f"axes {i} legend", ax.get_legend()) for i, ax in enumerate(fig.axes) if ax.get_legend() is not None]
    return [(n, leg) for n, leg in out if leg.get_visible()]


def _overlap(a, b) -> bool:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w > TOLERANCE_PX and h > TOLERANCE_PX


def _line_xy(line) -> np.ndarray:
    """A line's data points, ``(N, 2)`` float (NaN kept)."""
    return np.column_stack(line.get_data()).astype(float) if len(line.get_xdata()) else np.empty((0, 2))


def _points(ax) -> np.ndarray:
    """Display coordinates of the data points drawn in ``ax`` (line vertices, markers, bar tops, error
    bar ends), within the axes."""
    pts = []
    for line in ax.lines:
        if line.get_visible():
            pts.append(line.get_transform().transform(_line_xy(line)))
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, LineCollection):
            segs = [s for s in coll.get_segments() if len(s)]
            if segs:
                pts.append(coll.get_transform().transform(np.concatenate(segs)))
        elif isinstance(coll, PathCollection):
            offsets = np.asarray(coll.get_offsets(), float)
            if offsets.size:
                pts.append(coll.get_offset_transform().transform(offsets))
    for patch in ax.patches:
        if patch.get_visible() and hasattr(patch, "get_xy") and hasattr(patch, "get_height"):
            x, y = patch.get_xy()
            corners = np.array([[x + patch.get_width() / 2, y + patch.get_height()]], float)
            pts.append(patch.get_data_transform().transform(corners))
    if not pts:
        return np.empty((0, 2))
    pts = np.concatenate(pts)
    pts = pts[np.isfinite(pts).all(axis=1)]
    box = ax.get_window_extent()
    inside = (pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1) & (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1)
    return pts[inside]


def _has_data(ax) -> bool:
    """Whether ``ax`` shows anything: a finite point, an image, a bar, or a text (an "n/a" note counts)."""
    if ax.images or any(t.get_text().strip() and _placed(t) for t in ax.texts):
        return True
    if any(p.get_visible() and p is not ax.patch for p in ax.patches):
        return True
    if any(np.isfinite(_line_xy(line)).all(axis=1).any() for line in ax.lines):
        return True
    for coll in ax.collections:
        if isinstance(coll, PathCollection):  # markers (scatter): one per offset
            offsets = np.asarray(coll.get_offsets(), float)
            if offsets.size and np.isfinite(offsets).all(axis=1).any():
                return True
        elif any(len(p.vertices) and np.isfinite(p.vertices).all() for p in coll.get_paths()):
            return True  # lines, bands, meshes (their offsets are a default (0, 0))
    return False


def _placed(text) -> bool:
    """Whether a text in an axes sits somewhere: an annotation of a point at NaN (a metric not computed)
    is drawn nowhere and shows nothing."""
    xy = getattr(text, "xy", None)
    anchor = xy if xy is not None else text.get_position()
    try:
        return bool(np.isfinite(np.asarray(anchor, float)).all())
    except (TypeError, ValueError):
        return True


def _is_colorbar(ax) -> bool:
    return hasattr(ax, "_colorbar") or getattr(ax, "_colorbar_info", None) is not None


def check_figure(fig, *, printed_width_in: float | None = None, min_points: float = MIN_POINTS) -> list[Problem]:
    """The figure's problems (empty: it passes). ``printed_width_in``: the width it will be printed at
    (default the smaller of its own width and :data:`PRINTED_WIDTH_IN`)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    scale_px = 100.0 / fig.dpi  # compare in pixels at 100 dpi, whatever the figure's dpi
    width = fig.get_figwidth()
    printed = printed_width_in or min(width, PRINTED_WIDTH_IN)
    shrink = min(1.0, printed / width)
    problems = []

    texts = _texts(fig)
    boxes = []
    for name, t in texts:
        try:
            box = t.get_window_extent(renderer)
        except (RuntimeError, ValueError):
            continue
        if box.width > 0 and box.height > 0:
            boxes.append((name, t, box.transformed(_scaled(scale_px))))
        if t.get_fontsize() * shrink < min_points - 1e-6:
            problems.append(Problem("small text", f"{name} {t.get_text()[:30]!r} is {t.get_fontsize() * shrink:.1f} pt "
                                                  f"at a printed width of {printed:.1f} in (minimum {min_points:g})"))
    legends = [(n, leg, leg.get_window_extent(renderer).transformed(_scaled(scale_px))) for n, leg in _legends(fig)]
    items = boxes + legends
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            (n1, a1, b1), (n2, a2, b2) = items[i], items[j]
            if _overlap(b1, b2):
                problems.append(Problem("overlap", f"{n1} {_say(a1)} and {n2} {_say(a2)}"))
    for name, leg, _ in legends:
        box = leg.get_window_extent(renderer)
        axes = [leg.axes] if leg.axes is not None and leg in leg.axes.get_children() else fig.axes
        for ax in axes:
            pts = _points(ax)
            inside = ((pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1))
            if inside.any():
                problems.append(Problem("legend over data", f"{name} covers {int(inside.sum())} data point(s)"))
                break
    for i, ax in enumerate(fig.axes):
        if ax.get_visible() and ax.axison and not _is_colorbar(ax) and not _has_data(ax):
            problems.append(Problem("empty axes", f"axes {i} '{ax.get_title()}' ({ax.get_ylabel()!r}) shows nothing: "
                                                  "leave the panel out or say in it why it is empty"))
    return problems


def _scaled(s: float):
    from matplotlib.transforms import Affine2D

    return Affine2D().scale(s)


def _say(artist) -> str:
    return repr(" ".join(artist.get_text().split())[:30]) if isinstance(artist, Text) else ""


def enforce(fig, stem: str, *, printed_width_in: float | None = None) -> list[Problem]:
    """Run :func:`check_figure` as ``MOTIONLIB_FIGURE_CHECK`` says: raise, warn (default) or skip."""
    mode = os.environ.get(ENV, "warn")
    if mode == "off":
        return []
    problems = check_figure(fig, printed_width_in=printed_width_in)
    if problems:
        text = f"figure {stem}: " + "; ".join(str(p) for p in problems[:8]) + (
            f"; and {len(problems) - 8} more" if len(problems) > 8 else "")
        if mode == "error":
            raise FigureCheckError(text)
        warnings.warn(text, FigureCheckWarning, stacklevel=3)
    return problems
