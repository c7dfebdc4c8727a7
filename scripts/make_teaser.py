"""Draw the README's teaser, docs/figures/teaser.png: the paper's idea in one picture, in the toy world.

A held-out toy clip is DDIM-inverted with its caption ``c`` and resampled with an edited caption
``c'`` (another direction of travel and another colour) from several ``tau_start`` down to 0, as
in Fig. 1. Resampled with ``c'`` from t = 1000, the object takes the new direction; with the early
steps kept on ``c`` (``tau_start`` 700, 300), it keeps the clip's motion and takes only the new
colour. The model is the shipped toy ModelScope (``load_model("modelscope", "toy")``): a TOY WORLD
output, labelled so in the figure and in its provenance sidecar, not a result of the paper's models.

    python scripts/make_teaser.py            # about a minute on one CPU thread

Writes ``docs/figures/teaser.png`` and ``docs/figures/teaser.provenance.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from motionlib import paths, plotting, provenance  # noqa: E402
from motionlib.data import find_video  # noqa: E402
from motionlib.metrics import clip_scorer  # noqa: E402
from motionlib.models import load_model  # noqa: E402
from motionlib.sweep import SweepSettings, run_sweep, settings_record  # noqa: E402
from motionlib.toyworld import oracle  # noqa: E402
from motionlib.windows import PromptWindow  # noqa: E402

OUT = paths.REPO_ROOT / "docs" / "figures" / "teaser.png"


def frames_figure(videos, labels, readings, num_frames: int):
    """One row per video: ``num_frames`` frames with gaps, its label left, the oracle's reading right."""
    rows = len(videos)
    fig = plt.figure(figsize=(plotting.ONE_COLUMN_IN * 1.6, 0.5 * rows + 1.0))
    grid = fig.add_gridspec(rows, num_frames, left=0.2, right=0.8, top=0.82, bottom=0.14, wspace=0.06, hspace=0.12)
    for r, (video, text, reading) in enumerate(zip(videos, labels, readings)):
        idx = np.round(np.linspace(0, len(video) - 1, num_frames)).astype(int)
        for c, f in enumerate(idx):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(video[f], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c == 0:
                ax.set_ylabel(text, rotation=0, ha="right", va="center", fontsize=6.5)
            if c == num_frames - 1:
                read = f"{reading.direction or '?'}, {reading.colour or '?'}"
                ax.text(1.15, 0.5, f"moves {read}", transform=ax.transAxes, ha="left", va="center", fontsize=6.5)
    return fig


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", default="toy00", help="a held-out toy clip (toy00 ...)")
    p.add_argument("--edit-kind", default="direction_colour")
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--tau-starts", type=int, nargs="+", default=[1000, 700, 300])
    p.add_argument("--frames", type=int, default=8, help="frames shown per row")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args(argv)

    start = time.perf_counter()
    plotting.use_style()
    model = load_model("modelscope", "toy")
    scorer = clip_scorer("auto", model)
    item = find_video(a.video)
    caption, edit = item.caption, item.edit(a.edit_kind)
    settings = SweepSettings(num_steps=a.steps)
    windows = [PromptWindow(t, 0) for t in a.tau_starts]
    result = run_sweep(model, item.path, caption, edit, scorer, name=item.name, edit_kind=a.edit_kind,
                       settings=settings, windows=windows, cache=False, keep_videos=True, progress=False)

    def row_label(t: int) -> str:
        return "$c'$ at every step\n(tau = 1000)" if t >= 1000 else f"$c$ above t = {t},\n$c'$ below"

    videos = [result.source_video] + [result.videos[w] for w in windows]
    labels = ["source clip ($c$)"] + [row_label(w.tau_start) for w in windows]
    readings = [oracle.read(v) for v in videos]
    fig = frames_figure(videos, labels, readings, a.frames)
    label = provenance.label(model)
    fig.text(0.5, 0.995, label.split(":")[0], ha="center", va="top", fontsize=9, weight="bold", color="#D55E00")
    fig.text(0.5, 0.935, f"$c$: {caption}\n$c'$: {edit}", ha="center", va="top", fontsize=6.5)
    fig.text(0.5, 0.005, f"{label}.\nDDIM-inverted with $c$, resampled with $c'$ below t = tau ({a.steps} steps); "
             "right: the toy world's oracle reading of each row.\nKeeping the early steps keeps the motion; "
             "the late steps still take the new colour.", ha="center", va="bottom", fontsize=5, color="#444444")
    rec = provenance.record(model, settings={**settings_record(settings, model), "video": item.name,
                            "caption": caption, "edit": edit, "edit_kind": a.edit_kind,
                            "tau_starts": a.tau_starts},
                            what="README teaser: Fig. 1's resampling in the toy world (scripts/make_teaser.py)")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=170, metadata={"Title": "teaser", "Description": rec["label"]})
    plt.close(fig)
    provenance.write_sidecar(a.out.with_suffix(""), rec)
    print(f"wrote {a.out} ({a.out.stat().st_size // 1024} KB) in {time.perf_counter() - start:.0f} s")
    return a.out


if __name__ == "__main__":
    main()
