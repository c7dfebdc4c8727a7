"""Publication figures: one style, colour-blind-safe colours, PDF + PNG with provenance.

Sizes follow the two-column AAAI layout of the paper: one column is 3.3 in wide, two columns 7.0 in.
PDFs embed TrueType fonts (``pdf.fonttype = 42``) so they pass camera-ready checks.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import matplotlib
import matplotlib.patches
import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
import numpy as np

from motionlib import figure_check, provenance
from motionlib.errors import ParameterError, reason

# Embedding a font in a PDF (pdf.fonttype 42) reads its header, whose timestamps in DejaVu predate 1904:
# fontTools then logs two warnings per figure that say nothing about the figure.
logging.getLogger("fontTools.ttLib.tables._h_e_a_d").setLevel(logging.ERROR)

ONE_COLUMN_IN = 3.3
TWO_COLUMN_IN = 7.0
# Okabe & Ito (2008) colour-blind-safe palette.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

STYLE = {
    "pdf.fonttype": 42, "ps.fonttype": 42, "font.size": 8, "axes.titlesize": 8,
    "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7, "legend.fontsize": 7,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "axes.spines.top": False,
    "axes.spines.right": False, "figure.dpi": 150, "savefig.dpi": 300, "savefig.bbox": "tight",
}


def family_color(family: str, fallback: int = 0) -> str:
    """The family's plot colour (``Family.color``); a palette colour for a name that is no family."""
    from motionlib import families
    from motionlib.errors import UnknownFamilyError

    try:
        return families.get(family).color
    except UnknownFamilyError:
        return PALETTE[fallback % len(PALETTE)]


WIDTHS = {"one": ONE_COLUMN_IN, "single": ONE_COLUMN_IN, "two": TWO_COLUMN_IN, "double": TWO_COLUMN_IN}
_forced_width: str | None = None  # use_style(width=...): every figure at this width


def use_style(style: str | Path | None = None, width: str | None = None) -> None:
    """Apply the publication style to matplotlib globally (call once in a notebook). ``style``: a
    ``.mplstyle`` file applied over it (fonts, sizes, colours for a venue's camera-ready); ``width``:
    ``"single"`` (3.3 in) or ``"double"`` (7.0 in) column width for every figure, whatever width each
    would choose (None: each its own). Bad input is refused before anything is drawn."""
    global _forced_width
    if width is not None and width not in ("single", "double"):
        raise ParameterError(f"width must be single or double (column widths {ONE_COLUMN_IN} and {TWO_COLUMN_IN} in), "
                             f"got {width!r}")
    extra = read_style(style) if style is not None else {}
    plt.rcParams.update(STYLE)
    plt.rcParams.update(extra)
    _forced_width = width


def read_style(style: str | Path) -> dict:
    """The rcParams of a ``.mplstyle`` file; a missing file or a line matplotlib cannot read is refused
    in one line (:class:`ParameterError`) naming the file."""
    import warnings

    from matplotlib import rc_params_from_file

    path = Path(style)
    if not path.is_file():
        raise ParameterError(f"style file {path} does not exist; pass a matplotlib .mplstyle file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            params = rc_params_from_file(path, use_default_template=False, fail_on_error=True)
        except (ValueError, KeyError, OSError, UnicodeDecodeError) as err:
            raise ParameterError(f"style file {path} does not parse: {reason(err)}") from None
    bad = [str(w.message).splitlines()[0] for w in caught]
    if bad:
        raise ParameterError(f"style file {path} does not parse: {bad[0]}")
    return dict(params)


def column_width(width: str | None = "one") -> float:
    """Inches of ``width`` ("one"/"single", "two"/"double"), or of the width :func:`use_style` forces."""
    return WIDTHS[_forced_width or width or "one"]


def figure(width: str = "one", aspect: float = 0.75, **kwargs):
    """``plt.subplots`` at one- or two-column width (or the width :func:`use_style` forces); ``aspect`` =
    height / width."""
    w = column_width(width)
    return plt.subplots(figsize=(w, w * aspect), **kwargs)


def save_figure(fig, out_dir: str | Path, stem: str, rec: dict[str, Any]) -> list[Path]:
    """Write ``stem.pdf`` and ``stem.png`` (+ provenance sidecar). Tiny and toy results are labelled.
    The figure is closed afterwards, so a notebook shows it once: as its cell's result (end the cell
    with ``fig``) or by ``display(fig)``, not a second time by the inline backend."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fit_cell_labels(fig)
    fit_point_labels(fig)
    if provenance.label(rec):
        import textwrap

        chars = max(20, int(fig.get_figwidth() * 72 / (0.55 * 6)))  # a 6 pt line as wide as the figure
        fig.text(0.5, 1.0, textwrap.fill(provenance.label(rec), chars), ha="center", va="bottom", fontsize=6,
                 color="#D55E00")
    fig.motionlib_problems = figure_check.enforce(fig, stem, printed_width_in=column_width("two") if _forced_width
                                                  else None)  # overlaps, legends over data, empty panels, small text
    meta = {"Title": stem, "Subject": rec.get("what", ""), "Keywords": rec.get("label", "")}
    written = []
    for ext in ("pdf", "png"):
        path = out_dir / f"{stem}.{ext}"
        fig.savefig(path, metadata=meta if ext == "pdf" else {"Title": stem, "Description": meta["Keywords"]})
        written.append(path)
    provenance.write_sidecar(out_dir / stem, rec)
    plt.close(fig)  # out of pyplot's figures: the inline backend does not draw it again at the cell's end
    FigureCanvasAgg(fig)  # (closing left a bare canvas) the figure can still be drawn, saved or displayed
    return written


FRAME_GAP = 0.08  # the gap between two frames of a strip, as a share of a frame's width
ARROWS = {"left": "←", "right": "→", "up": "↑", "down": "↓"}


def frame_strip(ax, video: np.ndarray, num_frames: int = 8, label: str | None = None) -> None:
    """Draw ``num_frames`` evenly spaced frames of a uint8 ``(F, H, W, 3)`` video side by side, a white
    gap and a thin grey outline between frames, axes hidden; ``label`` above the strip, left-aligned."""
    idx = np.round(np.linspace(0, len(video) - 1, num_frames)).astype(int)
    h, w = video.shape[1:3]
    gap = max(1, int(round(FRAME_GAP * w)))
    strip = np.full((h, num_frames * w + (num_frames - 1) * gap, 3), 255, np.uint8)
    for k, i in enumerate(idx):
        strip[:, k * (w + gap):k * (w + gap) + w] = video[i]
        ax.add_patch(matplotlib.patches.Rectangle((k * (w + gap) - 0.5, -0.5), w, h, fill=False, lw=0.4,
                                                  ec="0.6"))
    ax.imshow(strip, interpolation="nearest")
    ax.set_axis_off()
    if label:
        ax.set_title(label, loc="left", fontsize=plt.rcParams["font.size"] - 1, pad=2)


def motion_word(direction: str | None) -> str:
    """An arrow and the direction word (``"→ right"``); ``"?"`` for none read."""
    return f"{ARROWS.get(direction, '')} {direction}".strip() if direction else "?"


def frame_rows(videos: Sequence[np.ndarray], labels: Sequence[str], num_frames: int = 8,
               width: str = "two", motions: Sequence[str | None] | None = None, motion_title: str = "read",
               caption: str = ""):
    """One row of frames per video, each labelled above its strip; returns the figure. ``motions``: a
    direction per row (the oracle's reading of a toy clip: left, right, up, down) drawn at the row's end
    as an arrow, so the strip says which way the object moves; ``None`` for clips nobody reads.
    ``caption``: a line under the rows."""
    w = column_width(width)
    h, fw = videos[0].shape[1:3]
    side = 0.55 if motions is not None else 0.0  # inches at the right for the reading
    strip_w = w - side
    row_h = strip_w * h / (num_frames * fw * (1 + FRAME_GAP))
    import textwrap

    size = plt.rcParams["font.size"] - 1  # frame_strip's label size
    chars = max(12, int(strip_w * 72 / (0.6 * size)))  # a label wraps within its strip's width
    labels = ["\n".join(textwrap.fill(line, chars) for line in str(label).split("\n")) for label in labels]
    line_h = (plt.rcParams["font.size"] + 1.5) / 72
    heads = [line_h * (1 + label.count("\n")) + 0.04 for label in labels]
    height = sum(heads) + row_h * len(videos) + 0.06 * len(videos)
    fig = plt.figure(figsize=(w, height))
    top = height
    for k, (video, label) in enumerate(zip(videos, labels)):
        top -= heads[k]
        ax = fig.add_axes((0.0, (top - row_h) / height, strip_w / w, row_h / height))
        frame_strip(ax, video, num_frames, label)
        if motions is not None:
            fig.text((strip_w + 0.08) / w, (top - row_h / 2) / height, motion_word(motions[k]), va="center",
                     ha="left", fontsize=plt.rcParams["font.size"])
        top -= row_h + 0.06
    if motions is not None:
        fig.text((strip_w + 0.08) / w, 1.0, motion_title, va="top", ha="left", fontsize=plt.rcParams["font.size"] - 1,
                 color="0.35")
    if caption:
        fig.text(0.0, 0.0, caption, va="top", ha="left", fontsize=plt.rcParams["font.size"] - 1)
    return fig


def window_heatmap(ax, table, value: str, cmap: str = "cividis", label: str | None = None,
                   max_ticks: int | None = None):
    """Heatmap of ``value`` over (tau_start rows, tau_end columns) from tidy ``table`` rows.

    Cells without a window (tau_end >= tau_start) stay blank; each cell is annotated. The no-edit
    reference row (tau_start = tau_end = 0), if present, is not a cell: its value goes into the
    title. Returns the image (for a colorbar). ``cividis`` is perceptually uniform and colour-blind safe.
    """
    reference = table[table["tau_start"] == table["tau_end"]][value]
    table = table[table["tau_start"] > table["tau_end"]]
    grid = table.pivot_table(index="tau_start", columns="tau_end", values=value, aggfunc="mean")
    grid = grid.sort_index(ascending=False).sort_index(axis=1)
    image = ax.imshow(np.ma.masked_invalid(grid.to_numpy(float)), cmap=cmap, aspect="auto")
    for set_ticks, labels in ((ax.set_xticks, grid.columns), (ax.set_yticks, grid.index)):
        every = max(1, int(np.ceil(len(labels) / (max_ticks or MAX_HEATMAP_TICKS))))  # upright labels that fit
        set_ticks(range(0, len(labels), every), [str(v) for v in list(labels)[::every]])
    ax.set_xlabel(r"$\tau_{\mathrm{end}}$")
    ax.set_ylabel(r"$\tau_{\mathrm{start}}$")
    title = label or value
    if len(reference):
        title += f"\n(no edit: {reference.mean():.2f})"
    ax.set_title(title)
    values = grid.to_numpy(float)
    lo, hi = np.nanmin(values), np.nanmax(values)
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            dark = (v - lo) / ((hi - lo) or 1.0) < 0.5
            ax.text(j, i, _cell_label(v, values), ha="center", va="center", fontsize=CELL_FONT[1],
                    color="white" if dark else "black", gid=CELL_LABEL)
    return image


CELL_LABEL = "cell-label"  # gid of a heatmap cell's annotation (fit_cell_labels finds them by it)
CELL_FONT = (figure_check.MIN_POINTS, 6.0)  # points: the smallest the figure check allows, and the size a label starts at
MAX_HEATMAP_TICKS = 6  # a heatmap labels every k-th row and column, at most this many


def fit_cell_labels(fig) -> None:
    """After layout, size each heatmap's cell labels to fit their cells (a label at most 85% of a
    cell's width, a character taken as 0.6 em), or remove them where that would take them under
    ``CELL_FONT[0]`` points (the colour bar still reads the cells). :func:`save_figure` calls it; a
    no-op for figures without cell labels."""
    labels = {ax: [t for t in ax.texts if t.get_gid() == CELL_LABEL] for ax in fig.axes}
    if not any(labels.values()):
        return
    fig.draw_without_rendering()  # the constrained layout's final axes sizes
    for ax, texts in labels.items():
        if not texts or not ax.images:
            continue
        cell_pt = ax.get_position().width * fig.get_figwidth() * 72 / ax.images[0].get_array().shape[1]
        size = min(CELL_FONT[1], 0.85 * cell_pt / (0.6 * max(len(t.get_text()) for t in texts)))
        for t in texts:
            if size < CELL_FONT[0]:
                t.remove()
            else:
                t.set_fontsize(size)


POINT_LABEL = "point-label"  # gid of a point's label that fit_point_labels places
POINT_OFFSETS = ((3, 2), (3, -2), (-3, 2), (-3, -2), (0, 5), (0, -5), (6, 0), (-6, 0))  # points from the point


def point_label(ax, text: str, xy, *, priority: int = 0, fontsize: float = 6.0):
    """A label for the data point ``xy``, placed by :func:`fit_point_labels` when the figure is saved
    (lower ``priority`` first) where it overlaps no other label, else left out."""
    t = ax.annotate(text, xy, xytext=POINT_OFFSETS[0], textcoords="offset points", fontsize=fontsize,
                    ha="left", va="bottom", gid=POINT_LABEL, annotation_clip=True)
    t.motionlib_priority = priority
    return t


def fit_point_labels(fig) -> None:
    """After layout, move each :func:`point_label` to the first of :data:`POINT_OFFSETS` where it lies
    inside its axes and overlaps no label placed before it, nor a legend or other text there; remove it
    where none does. :func:`save_figure` calls it; a no-op for figures without point labels."""
    labels = {ax: sorted((t for t in ax.texts if t.get_gid() == POINT_LABEL),
                         key=lambda t: getattr(t, "motionlib_priority", 0)) for ax in fig.axes}
    if not any(labels.values()):
        return
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    for ax, texts in labels.items():
        inside = ax.get_window_extent(renderer)
        taken = [t.get_window_extent(renderer) for t in ax.texts if t.get_gid() != POINT_LABEL and t.get_text()]
        if ax.get_legend() is not None:
            taken.append(ax.get_legend().get_window_extent(renderer))
        for t in texts:
            for dx, dy in POINT_OFFSETS:
                t.xyann = (dx, dy)
                t.set_ha("left" if dx > 0 else "right" if dx < 0 else "center")
                t.set_va("bottom" if dy > 0 else "top" if dy < 0 else "center")
                box = t.get_window_extent(renderer)
                if (box.x0 >= inside.x0 and box.x1 <= inside.x1 and box.y0 >= inside.y0 and box.y1 <= inside.y1
                        and not any(box.overlaps(other) for other in taken)):
                    taken.append(box)
                    break
            else:
                t.remove()


def _cell_label(v: float, values: np.ndarray) -> str:
    """Two decimals, without the leading zero when every value lies within (-1, 1) (".42", "-.07")."""
    text = f"{v:.2f}"
    if np.nanmax(np.abs(values)) < 1:
        text = text.replace("0.", ".", 1)
    return text


def tradeoff_curve(ax, curve, tau_star: int | None = None, color: str = PALETTE[0], label: str | None = None,
                   no_edit=None, tau_star_interval: tuple[int, int] | None = None):
    """CLIP change (x) against flow similarity (y) per tau_start, with 95% intervals if present.

    ``curve`` has columns tau_start, clip_change, flow_similarity, optionally ``*_lo``/``*_hi`` and
    a boolean ``pareto``; the Pareto frontier is drawn as a line and ``tau_star`` circled (labelled
    as this project's rule, with ``tau_star_interval`` if given). ``no_edit`` (a row with the same
    columns: the reconstruction) is drawn as a hollow diamond.
    """
    if no_edit is not None and len(no_edit):
        ax.scatter(no_edit["clip_change"], no_edit["flow_similarity"], marker="D", s=16, facecolors="none",
                   edgecolors=color, lw=0.8, zorder=3, label="no edit (c only)")
    curve = curve.sort_values("clip_change")
    x, y = curve["clip_change"].to_numpy(float), curve["flow_similarity"].to_numpy(float)
    if "clip_change_lo" in curve:
        xerr = [x - curve["clip_change_lo"], curve["clip_change_hi"] - x]
        yerr = [y - curve["flow_similarity_lo"], curve["flow_similarity_hi"] - y]
        ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="none", ecolor=color, alpha=0.4, lw=0.6)
    ax.scatter(x, y, s=10, color=color, label=label, zorder=3)
    if "pareto" in curve:
        front = curve[curve["pareto"]]
        ax.plot(front["clip_change"], front["flow_similarity"], color=color, lw=1, zorder=2)
    on_front = curve["pareto"].to_numpy(bool) if "pareto" in curve else np.zeros(len(curve), bool)
    for tau, xi, yi, front in zip(curve["tau_start"], x, y, on_front):
        # placed at save time (fit_point_labels): tau* first, then the frontier; a label that fits nowhere is left out
        point_label(ax, str(int(tau)), (xi, yi), priority=0 if tau == tau_star else 1 if front else 2)
    if tau_star is not None:
        star = curve[curve["tau_start"] == tau_star]
        ax.scatter(star["clip_change"], star["flow_similarity"], s=60, facecolors="none",
                   edgecolors=PALETTE[3], lw=1.2, zorder=4,
                   label=rf"$\tau^*$ = {tau_star}" + (f" [{tau_star_interval[0]}, {tau_star_interval[1]}]"
                                                       if tau_star_interval else "") + " (our rule)")
    ax.set_xlabel("CLIP score change (appearance edit)")
    ax.set_ylabel("flow similarity\n(motion kept)")


def tradeoff_figure(tradeoffs: dict, width: str = "two"):
    """Fig. 2 side by side: per model (column) the CLIP-change and flow-similarity heatmaps and the
    trade-off curve with tau*. ``tradeoffs`` maps a model name to a :class:`motionlib.analysis.Tradeoff`."""
    n = len(tradeoffs)
    fig, axes = figure(width, aspect=1.25 if n > 1 else 2.4, nrows=3, ncols=n, layout="constrained", squeeze=False)
    for j, (name, tradeoff) in enumerate(tradeoffs.items()):
        for i, (value, label) in enumerate([("clip_change", "CLIP score change"), ("flow_similarity", "flow similarity")]):
            image = window_heatmap(axes[i, j], tradeoff.summary, value, label=f"{name}\n{label}" if i == 0 else label,
                                   max_ticks=MAX_HEATMAP_TICKS if n == 1 else 4 if n == 2 else 3)
            fig.colorbar(image, ax=axes[i, j], shrink=0.8)
        color = family_color(name.split()[0], j)
        tradeoff_curve(axes[2, j], tradeoff.curve, tradeoff.tau_star, color=color, label=f"{name}: tau_start",
                       no_edit=tradeoff.no_edit, tau_star_interval=tradeoff.tau_star_interval)
        tradeoff_legend(axes[2, j])
    return fig


def heatmap_pair(summary, family: str, width: str = "two"):
    """Fig. 2's two heatmaps for one model: CLIP score change and flow similarity over (tau_start, tau_end)."""
    fig, axes = figure(width, aspect=0.42, ncols=2, layout="constrained")
    for ax, value, label in zip(axes, ["clip_change", "flow_similarity"], ["CLIP score change", "flow similarity"]):
        image = window_heatmap(ax, summary, value, label=f"{family}: {label}")
        fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def tradeoff_single(curve, tau_star: int | None, tau_star_interval, no_edit, family: str, width: str = "one"):
    """Fig. 2's trade-off curve for one model (:func:`tradeoff_curve`), with its legend below."""
    fig, ax = figure(width, aspect=0.8, layout="constrained")
    tradeoff_curve(ax, curve, tau_star, color=family_color(family), label=f"{family}: tau_start", no_edit=no_edit,
                   tau_star_interval=tuple(tau_star_interval) if tau_star_interval is not None else None)
    tradeoff_legend(ax)
    return fig


def text_influence_figure(table):
    """Toy models' text influence (:func:`motionlib.toyworld.diagnostics.summarise` rows of
    ``relative_change``): per model, ``||v(c) - v(c')|| / ||v(c)||`` against t per attribute, with 95%
    bootstrap bands over clips."""
    from matplotlib.lines import Line2D

    models = list(dict.fromkeys(table["model"]))
    fig, axes = figure("two", aspect=0.36, ncols=len(models), sharey=True, layout="constrained", squeeze=False)
    attributes = list(dict.fromkeys(table["attribute"]))
    colours = {a: PALETTE[i % len(PALETTE)] for i, a in enumerate(attributes)}
    for ax, family in zip(axes[0], models):
        rows = table[table["model"] == family]
        for attribute, r in rows.groupby("attribute", sort=False):
            ax.plot(r["t"], r["relative_change"], marker="o", markersize=2.5, lw=0.9, color=colours[attribute])
            ax.fill_between(r["t"], r["ci_low"], r["ci_high"], alpha=0.15, color=colours[attribute], lw=0)
        ax.set(title=family, xlabel="t", xlim=(1000, 0))
    axes[0][0].set_ylabel("||v(c) - v(c')|| / ||v(c)||")
    handles = [Line2D([], [], color=colours[a], marker="o", ms=2.5, lw=0.9) for a in attributes]
    fig.legend(handles, attributes, loc="outside lower center", ncols=min(len(attributes), 6), frameon=False,
               fontsize=6, title="c' differs from c in this attribute (caption: c' is empty); bands: 95% bootstrap "
               "intervals over clips", title_fontsize=6)
    return fig


def tradeoff_legend(ax) -> None:
    """The trade-off curve's legend below its axes, with the marks that carry no label explained."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    color = handles[0].get_edgecolor()[0] if handles and hasattr(handles[0], "get_edgecolor") else "0.3"
    handles += [Line2D([], [], color=color, lw=1), Line2D([], [], color=color, alpha=0.4, lw=0.6, marker="|")]
    labels += ["Pareto frontier", "95% interval over videos"]
    ax.legend(handles, labels, frameon=False, fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=1)


def _word_key(word: str) -> str:
    """A word as compared between prompts: lower case, without surrounding punctuation."""
    return word.strip(".,;:!?\"'()[]{}").lower()


def highlighted_words(caption: str, edit: str) -> list[tuple[str, bool]]:
    """The words of ``edit`` (split on whitespace, punctuation kept), each with ``True`` where it is
    new: not part of the original ``caption``, as the paper highlights edited words (Fig. 4-6).

    Words are compared case-insensitively without surrounding punctuation, by a word-level diff
    (:class:`difflib.SequenceMatcher`): a word counts as kept only where it lines up with the
    caption's word sequence, so a caption word that reappears inside an inserted phrase
    (the "a" of "... in a park") is highlighted with the phrase.
    """
    from difflib import SequenceMatcher

    words = edit.split()
    new = [True] * len(words)
    matcher = SequenceMatcher(None, [_word_key(w) for w in caption.split()], [_word_key(w) for w in words],
                              autojunk=False)
    for block in matcher.get_matching_blocks():
        for j in range(block.b, block.b + block.size):
            new[j] = False
    return [(w, n) for w, n in zip(words, new)]


def draw_highlighted(ax, words: Sequence[tuple[str, bool]], x: float = 0.0, y: float = 1.0, *,
                     fontsize: float = 6.5, color: str = "#000000", highlight: str = PALETTE[3],
                     max_chars: int = 110, align: str = "left"):
    """Write ``words`` (:func:`highlighted_words`) on ``ax`` at axes fraction ``(x, y)``: highlighted
    words bold in ``highlight``, the others plain in ``color``; lines wrap at ``max_chars``.

    The text's bottom-left corner (``align="left"``) or bottom centre (``"center"``) sits at
    ``(x, y)``, so ``y = 1`` puts it just above the axes. Returns the artist.
    """
    from matplotlib.offsetbox import AnnotationBbox, HPacker, TextArea, VPacker

    lines, line, used = [], [], 0
    for word, new in words:
        if line and used + 1 + len(word) > max_chars:
            lines.append(line)
            line, used = [], 0
        line.append((word, new))
        used += len(word) + (1 if used else 0)
    if line:
        lines.append(line)
    sep = fontsize * 0.28
    rows = [HPacker(children=[TextArea(w, textprops=dict(
        fontsize=fontsize, color=highlight if new else color, fontweight="bold" if new else "normal"))
        for w, new in ln], sep=sep, pad=0, align="baseline") for ln in lines]
    box = VPacker(children=rows, sep=fontsize * 0.2, pad=0, align=align)
    artist = AnnotationBbox(box, (x, y), xycoords="axes fraction", frameon=False, pad=0.1,
                            box_alignment=(0.0 if align == "left" else 0.5, 0.0), annotation_clip=False)
    ax.add_artist(artist)
    return artist


def _side_label(ax, text: str) -> None:
    """A row's name, rotated, just left of a strip (whose axes are hidden)."""
    ax.text(-0.01, 0.5, text, transform=ax.transAxes, ha="right", va="center", rotation=90, fontsize=6)


def gallery(blocks: Sequence[dict], columns: Sequence[str], num_frames: int = 8):
    """Fig. 5-6's layout; returns the figure.

    Each block is one reference video and its edits: ``{"reference": video, "caption": str,
    "rows": [(kind, edit_prompt, [video or None per column]), ...]}``; videos are uint8
    ``(F, H, W, 3)``. The reference strip carries its caption, each edit row its prompt with the
    edited words highlighted (:func:`highlighted_words`); ``columns`` name the methods (the first is
    labelled on the left, the others head their columns); a ``None`` video shows "missing".
    """
    ncols = len(columns)
    nrows = sum(1 + len(b["rows"]) for b in blocks)
    height, width = blocks[0]["reference"].shape[1:3]
    strip_w = column_width("two") / ncols
    strip_h = strip_w * height / (width * num_frames)
    label_h = 0.2  # inches above each strip for its prompt
    fig_h = nrows * (strip_h + label_h)
    fig = plt.figure(figsize=(column_width("two"), fig_h))
    grid = fig.add_gridspec(nrows, ncols, hspace=label_h / strip_h, wspace=0.04, left=0.03, right=1,
                            top=1 - label_h / fig_h, bottom=0)
    row = 0
    for block in blocks:
        ax = fig.add_subplot(grid[row, 0])
        frame_strip(ax, block["reference"], num_frames)
        _side_label(ax, "Reference")
        draw_highlighted(ax, [(w, False) for w in block["caption"].split()], color="#444444")
        for col, name in enumerate(columns[1:], start=1):
            head = fig.add_subplot(grid[row, col])
            head.axis("off")
            head.text(0.5, 0.05, name, ha="center", va="bottom", fontsize=7, fontweight="bold",
                      transform=head.transAxes)
        row += 1
        for kind, prompt, videos in block["rows"]:
            for col, video in enumerate(videos):
                ax = fig.add_subplot(grid[row, col])
                if video is None:
                    ax.set_xticks([]), ax.set_yticks([])
                    ax.text(0.5, 0.5, "missing", ha="center", va="center", fontsize=6, color="#888888",
                            transform=ax.transAxes)
                else:
                    frame_strip(ax, video, num_frames)
                if col == 0:
                    _side_label(ax, columns[0])
                    draw_highlighted(ax, [(f"({kind})", False)] + highlighted_words(block["caption"], prompt))
            row += 1
    return fig


# ------------------------------------------------------------------------- Tab. 1, 3, 4, 5 figures
def _errors(values, lo, hi):
    """``yerr`` for ``errorbar`` from a mean and its interval."""
    return [values - lo, hi - values]


def _computed_metrics(summary) -> tuple[list[str], list[str]]:
    """The table metrics ``summary`` has values for, and the names of those it has none for (PickScore on
    a toy model): a figure draws the first and says it left out the second."""
    from motionlib.tables import metric_name, table_metrics

    metrics = [m for m in table_metrics(summary) if summary[m].notna().any()]
    return metrics, [metric_name(m) for m in table_metrics(summary) if m not in metrics]


def metric_panels(summary, x: str, *, color: str = PALETTE[0], xlabel: str = "", label: str | None = None,
                  annotate: str | None = None, log_x: bool = False):
    """Tab. 1 / Tab. 4 figure: one panel per metric (the paper's three, then the oracle's transfer and
    leakage where ``summary`` has them), mean with 95% interval against ``x``.

    ``summary`` has ``x``, each metric and its ``_lo`` / ``_hi``; ``annotate`` names a column whose
    values label the points (alternately above and below: close x on small models); ``log_x`` uses
    a log axis with engineering ticks (2k, 500k, 1M)."""
    import matplotlib.ticker
    from motionlib.tables import metric_name

    metrics, left_out = _computed_metrics(summary)
    fig, axes = figure("two", aspect=0.3 if len(metrics) <= 3 else 0.25, ncols=len(metrics), layout="constrained",
                       squeeze=False)
    axes = axes[0]
    s = summary.sort_values(x)
    for ax, metric in zip(axes, metrics):
        ax.errorbar(s[x], s[metric], yerr=_errors(s[metric], s[metric + "_lo"], s[metric + "_hi"]),
                    marker="o", ms=3.5, color=color, capsize=2, lw=0.8, label=label)
        if annotate:
            for i, (_, r) in enumerate(s.iterrows()):
                up = i % 2 == 0
                ax.annotate(r[annotate], (r[x], r[metric]), xytext=(0, 5 if up else -5), textcoords="offset points",
                            ha="center", va="bottom" if up else "top", fontsize=6,
                            bbox=dict(fc="white", ec="none", pad=0.2, alpha=0.85))
        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2, 5)))
            for set_formatter in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
                set_formatter(matplotlib.ticker.EngFormatter(sep=""))
            ax.margins(x=0.15, y=0.25)
        ax.set_title(metric_name(metric))
    note = f"   (not computed for this model, left out: {', '.join(left_out)})" if left_out else ""
    if xlabel or note:
        fig.supxlabel(xlabel + note, fontsize=plt.rcParams["axes.labelsize"])  # one x-label for every panel
    return fig


def transfer_figure(summary, *, color: str = PALETTE[0], title: str = ""):
    """Tab. 1 in the toy world, paired (:func:`motionlib.toyworld.transfer.summary`): paired transfer
    (P(its direction | its adapter) - P(its direction | the mirror's adapter); chance and the base
    model are 0) against tau with the carry-through ceiling dashed, and, where the captions leave
    appearance open, each open attribute's leakage over the base model. Bars: 95% bootstrap intervals."""
    leak = [c[: -len("_leakage")] for c in summary.columns if c.endswith("_leakage")]
    fig, axes = figure("two", aspect=0.42, ncols=2, layout="constrained")
    ax = axes[0]
    for kind, style in (("transfer", dict(marker="o", ls="-")), ("ceiling", dict(marker="s", ls="--"))):
        s = summary[summary["kind"] == kind].sort_values("tau")
        if s.empty:
            continue
        m = s["paired_transfer"]
        ax.errorbar(s["tau"], m, yerr=_errors(m, s["paired_transfer_lo"], s["paired_transfer_hi"]),
                    color=color if kind == "transfer" else "0.45", capsize=2, lw=0.8, ms=3.5,
                    label="adapter at t ≥ τ" if kind == "transfer" else "carry-through ceiling", **style)
    ax.axhline(0, color="0.6", lw=0.6, ls=":", label="base model and chance (0)")
    ax.set(xlim=(1040, -40), ylim=(-0.55, 1.05), xlabel=r"$\tau$", ylabel="paired transfer",
           title="direction transfer (paired)")
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncols=2, frameon=False,
              title="bars: 95% bootstrap intervals", title_fontsize=6)
    ax = axes[1]
    s = summary[summary["kind"] == "transfer"].sort_values("tau")
    for i, attribute in enumerate(leak):
        m = s[f"{attribute}_leakage"]
        ax.errorbar(s["tau"], m, yerr=_errors(m, s[f"{attribute}_leakage_lo"], s[f"{attribute}_leakage_hi"]),
                    color=PALETTE[(i + 1) % len(PALETTE)], marker="o", ms=3.5, lw=0.8, capsize=2, label=attribute)
    ax.axhline(0, color="0.6", lw=0.6, ls=":", label="base model (0)")
    ax.set(xlim=(1040, -40), ylim=(-0.55, 1.05), xlabel=r"$\tau$", ylabel="share copied - base model's",
           title="appearance leakage (open attributes)")
    if leak:
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncols=3, frameon=False,
                  title="open attributes: samples showing the reference's value", title_fontsize=6)
    else:
        ax.text(0.5, 0.5, "not testable:\ncaptions name every attribute", transform=ax.transAxes, ha="center",
                va="center", fontsize=7, color="0.4")
    if title:
        fig.suptitle(title, fontsize=8)
    return fig


def transfer_variants_figure(table, *, color: str = PALETTE[0], title: str = ""):
    """Tab. 3 / Tab. 4 in the toy world, paired (:func:`motionlib.toyworld.transfer.variant_table`): per
    adapter variant, paired transfer at its tau with the carry-through ceiling (grey square) and the
    base model / chance (0); beside it each open attribute's leakage. Bars: 95% bootstrap intervals."""
    leak = [c[: -len("_leakage")] for c in table.columns if c.endswith("_leakage")]
    names = [f"{v} (t ≥ {t})" if table["tau"].nunique() > 1 else str(v) for v, t in zip(table["variant"], table["tau"])]
    y = np.arange(len(table))[::-1]
    fig, axes = figure("two", aspect=0.16 + 0.05 * len(table), ncols=2 if leak else 1, layout="constrained",
                       squeeze=False)
    ax = axes[0, 0]
    m = table["paired_transfer"]
    ax.errorbar(m, y, xerr=_errors(m, table["paired_transfer_lo"], table["paired_transfer_hi"]), color=color,
                marker="o", ls="none", ms=3.5, capsize=2, lw=0.8, label="adapter (paired transfer)")
    if "ceiling" in table and table["ceiling"].notna().any():
        c = table["ceiling"]
        ax.errorbar(c, y, xerr=_errors(c, table["ceiling_lo"], table["ceiling_hi"]), color="0.45", marker="s",
                    ls="none", ms=3, capsize=2, lw=0.6, label="carry-through ceiling")
    ax.axvline(0, color="0.6", lw=0.6, ls=":", label="base model and chance (0)")
    ax.set(yticks=y, yticklabels=names, xlim=(-0.55, 1.05), ylim=(-0.7, len(table) - 0.3), xlabel="paired transfer",
           title=f"direction transfer at t ≥ {', '.join(str(t) for t in sorted(table['tau'].unique()))}")
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22 - 0.5 / max(len(table), 1)), ncols=3,
              frameon=False, title="bars: 95% bootstrap intervals over mirror pairs", title_fontsize=6)
    if leak:
        ax = axes[0, 1]
        for i, attribute in enumerate(leak):
            v = table[f"{attribute}_leakage"]
            ax.errorbar(v, y + 0.12 * (i - (len(leak) - 1) / 2), xerr=_errors(v, table[f"{attribute}_leakage_lo"],
                        table[f"{attribute}_leakage_hi"]), color=PALETTE[(i + 1) % len(PALETTE)], marker="o",
                        ls="none", ms=3, capsize=2, lw=0.8, label=attribute)
        ax.axvline(0, color="0.6", lw=0.6, ls=":", label="base model (0)")
        ax.set(yticks=y, yticklabels=[], xlim=(-0.55, 1.05), ylim=(-0.7, len(table) - 0.3),
               xlabel="share copied - base model's", title="appearance leakage (open attributes)")
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22 - 0.5 / max(len(table), 1)),
                  ncols=3, frameon=False)
    if title:
        fig.suptitle(title, fontsize=8)
    return fig


def projection_subsets_figure(summary, *, family: str, rank: int, highlighted=()):
    """Tab. 3 figure: each projection subset's metrics against its trainable parameters, coloured by
    the number of projections; subsets with the same count are spread sideways; ``highlighted``
    subsets (the paper's rows) are ringed; the oracle's transfer and leakage get panels where
    ``summary`` has them (toy runs)."""
    from motionlib.tables import metric_name

    counts = sorted(summary["trainable_parameters"].unique())
    spread = 0.14 * (np.diff(counts).min() if len(counts) > 1 else counts[0])
    x = summary["trainable_parameters"].astype(float).copy()
    for count in counts:
        same = summary.index[summary["trainable_parameters"] == count]
        x[same] += (np.arange(len(same)) - (len(same) - 1) / 2) * spread
    metrics, left_out = _computed_metrics(summary)
    fig, axes = figure("two", aspect=0.25 * len(metrics), nrows=len(metrics), sharex=True, layout="constrained",
                       squeeze=False)
    axes = axes[:, 0]
    for ax, metric in zip(axes, metrics):
        for (_, r), xi in zip(summary.iterrows(), x):
            color = PALETTE[len(r["projections"]) - 1]
            ax.errorbar(xi, r[metric], yerr=[[r[metric] - r[metric + "_lo"]], [r[metric + "_hi"] - r[metric]]],
                        fmt="o", ms=3.5, color=color, ecolor=color, elinewidth=0.6, capsize=1.5)
            if r["projections"] in set(highlighted):
                ax.scatter(xi, r[metric], s=70, facecolors="none", edgecolors="black", lw=0.8, zorder=4)
            ax.annotate(r["method"], (xi, r[metric]), xytext=(0, 6), textcoords="offset points", ha="center",
                        fontsize=5.5, color=color, bbox=dict(fc="white", ec="none", pad=0.2, alpha=0.85))
        ax.set_ylabel(metric_name(metric))
        ax.margins(y=0.25)
    for size in range(1, 5):
        axes[0].plot([], [], "o", ms=3.5, color=PALETTE[size - 1], label=f"{size} projection" + "s" * (size > 1))
    axes[0].legend(ncols=4, loc="lower left", bbox_to_anchor=(0, 1.02), frameon=False)
    axes[-1].set_xticks(counts, [f"{c:,}" for c in counts])
    axes[-1].set_xlabel(f"trainable parameters ({family}, LoRA r = {rank})"
                        + (f"\n(not computed for this model, left out: {', '.join(left_out)})" if left_out else ""))
    return fig


def top_pick_bars(table, questions: Sequence[str], *, simulated: bool):
    """Tab. 5 figure: top-pick rate per method and question with 95% intervals, the paper's as diamonds."""
    fig, ax = figure("one", aspect=0.7)
    x = np.arange(len(table))
    for k, (criterion, color) in enumerate(zip(questions, PALETTE)):
        rate = table[criterion].to_numpy(float)
        ax.bar(x + (k - 0.5) * 0.38, rate, 0.38, color=color, capsize=2, error_kw={"lw": 0.6},
               yerr=_errors(rate, table[f"{criterion}_lo"], table[f"{criterion}_hi"]),
               label=criterion + (" (simulated)" if simulated else ""))
        ax.scatter(x + (k - 0.5) * 0.38, table[f"paper_{criterion}"], marker="D", s=8, facecolors="white",
                   edgecolors="black", lw=0.6, zorder=3, label="paper (Tab. 5)" if k == 0 else None)
    import re

    names = [re.sub(r"(?<=[a-z])(?=[A-Z])", "\n", str(m)) for m in table["method"]]  # MotionDirector -> Motion/Director
    ax.set_xticks(x, names)
    ax.set_ylabel("top-pick rate (%)")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncols=2, fontsize=6,
              title="bars: rates with 95% intervals; diamonds: the paper's Tab. 5", title_fontsize=6)
    if simulated:
        ax.set_title("SIMULATED responses, not the paper's data", color=PALETTE[3])
    return fig


def follow_curves(curves, commits, models: Sequence[str], protocols: Sequence[str],
                  attributes: Sequence[str] = ("direction", "colour", "shape", "texture", "background"),
                  verdicts: dict | None = None):
    """Follow-A curves (:func:`motionlib.toyworld.commitment.curves`): per model (row) and protocol
    (column) the share of clips showing caption A's value against ``tau`` (A for ``t >= tau``), one
    line per attribute; the commitment time (0.5 crossing) as a tick on the 0.5 line with its 95%
    interval as a bar, for the testable attributes only. Timesteps run right to left, as in sampling.
    ``verdicts``: ``{(model, protocol): "pass" | "fail" | "not testable"}`` of the headline claim (motion
    decided before appearance), written in each panel's title. One legend below the panels explains
    every mark."""
    from matplotlib.lines import Line2D

    fig, axes = figure("two", aspect=0.3 * len(models) + 0.08, nrows=len(models), ncols=len(protocols), sharex=True,
                       sharey=True, layout="constrained", squeeze=False)
    colours = {a: PALETTE[i] for i, a in enumerate(attributes)}
    for r, model in enumerate(models):
        for c, protocol in enumerate(protocols):
            ax = axes[r, c]
            for k, attribute in enumerate(attributes):
                cv = curves[(curves["model"] == model) & (curves["protocol"] == protocol)
                            & (curves["attribute"] == attribute)].sort_values("tau")
                cm = commits[(commits["model"] == model) & (commits["protocol"] == protocol)
                             & (commits["attribute"] == attribute)]
                if cv.empty or cm.empty:
                    continue
                cm = cm.iloc[0]
                bold = attribute == "direction"
                ax.plot(cv["tau"], cv["follows_a"], marker="o", ms=2, lw=1.6 if bold else 0.9,
                        color=colours[attribute], label=attribute)
                if cm["testable"]:
                    y = 0.5 + 0.03 * (k - len(attributes) / 2)
                    ax.plot([cm["commit_lo"], cm["commit_hi"]], [y, y], color=colours[attribute], lw=2.5, alpha=0.5)
                    ax.plot([cm["commit"]], [y], marker="|", ms=8, color=colours[attribute])
            ax.axhline(0.5, color="0.7", lw=0.5, ls=":")
            ax.set_xlim(1020, -20)
            verdict = (verdicts or {}).get((model, protocol))
            ax.set_title(f"{model} / {protocol}" + (f" (motion first: {verdict})" if verdict else ""), fontsize=7)
            if c == 0:
                ax.set_ylabel("share following A")
    for ax in axes[-1]:
        ax.set_xlabel(r"$\tau$ (A for $t \geq \tau$, B below)")
    drawn = [a for a in attributes if any(line.get_label() == a for ax in axes.flat for line in ax.lines)]
    handles = [Line2D([], [], color=colours[a], lw=1.6 if a == "direction" else 0.9, marker="o", ms=2) for a in drawn]
    labels = list(drawn)
    handles += [Line2D([], [], color="0.3", marker="|", ms=8, ls="none"),
                Line2D([], [], color="0.3", lw=2.5, alpha=0.5), Line2D([], [], color="0.7", lw=0.5, ls=":")]
    labels += ["commitment time (0.5 crossing)", "its 95% bootstrap interval", "half follow A"]
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False, fontsize=6,
               handlelength=1.5, columnspacing=1.0)
    return fig


def noise_axis_figure(commits, reference: dict[str, float] | None = None,
                      attributes: Sequence[str] = ("direction", "colour", "shape", "texture", "background")):
    """Commitment times on one noise axis (:func:`motionlib.noise.claims_with_log_snr`): per model (row)
    and protocol (marker), each testable attribute's commitment time as its schedule's log-SNR in dB,
    with its 95% interval; ``reference``: labelled vertical lines (e.g. the paper's best taus on the real
    schedules, in dB). Noise falls to the right, as sampling runs."""
    models = list(dict.fromkeys(commits["model"]))
    protocols = list(dict.fromkeys(commits["protocol"]))
    fig, ax = figure("two", aspect=0.14 + 0.09 * len(models), layout="constrained")
    colours = {a: PALETTE[i] for i, a in enumerate(attributes)}
    markers = dict(zip(protocols, "os^D"))
    finite = commits[np.isfinite(commits["commit_db"])]
    for r, model in enumerate(models):
        for p, protocol in enumerate(protocols):
            for k, attribute in enumerate(attributes):
                row = commits[(commits["model"] == model) & (commits["protocol"] == protocol)
                              & (commits["attribute"] == attribute) & commits["testable"].astype(bool)]
                if row.empty:
                    continue
                row = row.iloc[0]
                y = len(models) - 1 - r + 0.12 * (p - (len(protocols) - 1) / 2) + 0.03 * (k - 2)
                lo, hi = row["commit_hi_db"], row["commit_lo_db"]  # (a later t is less signal)
                lo = lo if np.isfinite(lo) else finite["commit_db"].min() - 5
                ax.plot([lo, hi], [y, y], color=colours[attribute], lw=2, alpha=0.45, solid_capstyle="butt")
                ax.plot([row["commit_db"]], [y], marker=markers[protocol], ms=3.5, color=colours[attribute], ls="none")
    for name, db in (reference or {}).items():
        ax.axvline(db, color="0.55", lw=0.6, ls="--")
        ax.text(db, 0.02, name, rotation=90, fontsize=5, color="0.4", ha="right", va="bottom",
                transform=ax.get_xaxis_transform())
    ax.set(yticks=range(len(models)), yticklabels=models[::-1], ylim=(-0.6, len(models) - 0.4),
           xlabel="log-SNR of the commitment time (dB; noisier to the left)",
           title="when each attribute is decided, on one noise axis")
    drawn = set(commits.loc[commits["testable"].astype(bool) & commits["model"].isin(models), "attribute"])
    handles = [plt.Line2D([], [], color=c, lw=2, label=a) for a, c in colours.items() if a in drawn]
    handles += [plt.Line2D([], [], color="0.3", marker=m, ls="none", ms=3.5, label=p) for p, m in markers.items()]
    handles += [plt.Line2D([], [], color="0.55", lw=0.6, ls="--", label="a paper tau on its real schedule")] \
        if reference else []
    fig.legend(handles=handles, fontsize=6, frameon=False, ncols=len(handles), loc="outside lower center",
               title="commitment time (marker) with its 95% bootstrap interval over clips (bar)", title_fontsize=6)
    return fig
