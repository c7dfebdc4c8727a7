"""The paper's customization tables (Tab. 1-4) as data, and ours beside them in Markdown and LaTeX.

Metric columns everywhere: ``text_alignment`` (CLIP score x100), ``temporal_consistency``
(consecutive-frame CLIP cosine x100), ``pick_score``. Published values are from the paper's text
(``../shared/paper``); ``NaN`` where the paper prints "-".
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from motionlib import families, provenance

METRIC_NAMES = {"text_alignment": "Text Align.", "temporal_consistency": "Temp. Const.",
                "pick_score": "PickScore"}
# Toy models on toy clips (motionlib.evaluation.ORACLE_METRICS): read by the oracle; the paper has none.
ORACLE_METRIC_NAMES = {"transfer": "Transfer (oracle)", "leakage": "Leakage (oracle)"}


def table_metrics(summary: pd.DataFrame) -> tuple[str, ...]:
    """The paper's three metrics, then the oracle's where ``summary`` has them (toy runs)."""
    return (*METRIC_NAMES, *[m for m in ORACLE_METRIC_NAMES if m in summary and summary[m].notna().any()])


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric) or ORACLE_METRIC_NAMES.get(metric, metric)
_NA = np.nan


def _frame(key: str, rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{key: k, **dict(zip(METRIC_NAMES, v))} for k, v in rows.items()])


def paper_tab1(family: str) -> pd.DataFrame | None:
    """Tab. 1 for ``family`` (LoRA r = alpha = 4 trained and applied at t >= tau; tau = 1000 is the base
    model), from the family's ``paper_tab1`` (motionlib/families/<name>.py); ``None`` where the paper has none."""
    rows = families.get(family).paper_tab1
    return _frame("tau", rows) if rows else None


# Tab. 2: prior methods on LOVEU-TGVE as the paper cites them (not recomputed here).
PAPER_TAB2 = _frame("method", {
    "Tune-A-Video": (25.64, 92.42, 20.09), "VideoComposer": (27.66, 92.22, 20.26),
    "Control-A-Video": (26.54, 92.63, 19.75), "VideoCrafter": (28.03, 92.26, 20.12),
    "MotionDirector": (27.82, 93.00, 20.74), "VMC": (25.53, 94.58, 19.92), "Gen-1": (28.54, 95.77, _NA),
    "MotionClone": (27.23, 92.88, 21.07), "MotionMatcher": (30.43, 97.20, _NA),
})

# Tab. 3 and 4: Latte, tau = 700.
PAPER_TAB3 = _frame("projections", {"qkvo": (31.69, 97.19, 21.68), "vo": (32.64, 97.16, 21.62)})
PAPER_TAB4 = _frame("variant", {"r=4": (31.69, 97.19, 21.68), "r=8": (31.61, 97.17, 21.63),
                                "r=16": (31.34, 97.12, 21.57), "direct": (31.19, 97.23, 21.46)})


def _value(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.2f}"


OTHER_SCALE = "ours, other scale"  # the header of our column where our scorer is not the paper's


def unlike_scales(clip_model, pick_model) -> tuple[str, ...]:
    """The metrics whose scorer here is not the paper's (the paper: CLIP ViT-L/14 ``openai`` and
    PickScore_v1): a tiny or toy CLIP's scores lie on another scale than the paper's column."""
    out = []
    if clip_model is None or not (str(clip_model.name).startswith("ViT-L-14") and clip_model.pretrained == "openai"):
        out += ["text_alignment", "temporal_consistency"]
    if pick_model is not None and pick_model.model_id != "yuvalkirstain/PickScore_v1":
        out.append("pick_score")
    return tuple(out)


def scale_note(unlike: tuple[str, ...]) -> str:
    """The caption's sentence for :func:`unlike_scales` columns ("" when every scorer is the paper's)."""
    if not unlike:
        return ""
    names = ", ".join(metric_name(m) for m in unlike)
    return (f" Columns marked ({OTHER_SCALE}): {names} from a scorer that is not the paper's (a tiny or toy "
            "CLIP or PickScore), on another scale: compare rows within them, not with the paper's column.")


def beside_paper(ours: pd.DataFrame, paper: pd.DataFrame | None, key: str,
                 metrics: tuple[str, ...] | None = None, unlike: tuple[str, ...] = ()) -> pd.DataFrame:
    """One string row per ``key`` value: ours as ``mean [lo, hi]`` and the paper's value.

    ``ours`` is :func:`motionlib.evaluation.summarize` output (``<metric>``, ``<metric>_lo``,
    ``<metric>_hi``); rows of ``paper`` without a match in ``ours`` appear with ours as "-", and
    rows of ours the paper does not have get "-" for the paper. ``metrics``: :func:`table_metrics`
    of ``ours`` by default. ``unlike`` (:func:`unlike_scales`): metrics whose column is headed
    ``(ours, other scale)`` instead of ``(ours)``.
    """
    metrics = metrics or table_metrics(ours)
    paper = paper if paper is not None else pd.DataFrame(columns=[key, *metrics])
    keys = list(dict.fromkeys([*ours[key].tolist(), *paper[key].tolist()]))
    rows = []
    for k in keys:
        mine, theirs = ours[ours[key] == k], paper[paper[key] == k]
        row = {key: str(k)}
        for m in metrics:
            name = metric_name(m)
            if len(mine) and m in mine and not np.isnan(mine[m].iloc[0]):
                r = mine.iloc[0]
                row[f"{name} ({OTHER_SCALE if m in unlike else 'ours'})"] = \
                    f"{r[m]:.2f} [{r[m + '_lo']:.2f}, {r[m + '_hi']:.2f}]"
            else:
                row[f"{name} ({OTHER_SCALE if m in unlike else 'ours'})"] = "-"
            row[f"{name} (paper)"] = _value(theirs[m].iloc[0]) if len(theirs) and m in theirs else "-"
        rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, caption: str = "") -> str:
    """A GitHub Markdown table of string cells, with ``caption`` below it."""
    head = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + (f"\n\n{caption}\n" if caption else "\n")


def tex_escape(text) -> str:
    """``text`` with LaTeX's special characters % & _ # $ escaped."""
    return re.sub(r"([%&_#$])", r"\\\1", str(text))


def to_latex(table: pd.DataFrame, caption: str = "", label: str = "") -> str:
    """A booktabs LaTeX ``table`` of string cells (intervals set in script size)."""
    def cell(v) -> str:
        v = tex_escape(v).replace(" [", " {\\scriptsize [", 1)
        return v + "}" if "{\\scriptsize" in v else v

    lines = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + "c" * (table.shape[1] - 1) + "}",
             r"\toprule", " & ".join(tex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(cell(v) for v in row) + r" \\" for row in table.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(r"\caption{" + tex_escape(caption) + "}")
    if label:
        lines.append(r"\label{" + label + "}")
    return "\n".join(lines + [r"\end{table}"]) + "\n"


def write_table(table: pd.DataFrame, out_dir: str | Path, stem: str, caption: str, rec: dict) -> dict[str, Path]:
    """Write ``<stem>.md``, ``<stem>.tex``, ``<stem>.csv`` and their shared ``<stem>.provenance.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if provenance.label(rec):
        caption = f"{provenance.label(rec)}. {caption}"
    files = {"md": out_dir / f"{stem}.md", "tex": out_dir / f"{stem}.tex"}
    files["md"].write_text(to_markdown(table, caption), encoding="utf-8")
    files["tex"].write_text(to_latex(table, caption, f"tab:{stem}"), encoding="utf-8")
    files["csv"] = provenance.save_table(table, out_dir / f"{stem}.csv", rec)  # + <stem>.provenance.json
    return files


def comparison(ours: pd.DataFrame, paper_ours: pd.DataFrame | None = None,
               metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Tab. 2's layout: the prior methods as the paper cites them, then ours as computed.

    ``ours``: :func:`motionlib.evaluation.summarize` rows (``method`` names them); ``paper_ours``:
    the paper's published numbers for the same rows (``method`` + metrics), shown as such.
    ``metrics``: :func:`table_metrics` of ``ours`` by default (the oracle's have no paper value).
    """
    metrics = metrics or table_metrics(ours)
    rows = [{"Method": r["method"], **{metric_name(m): _value(r[m]) if m in r else "-" for m in metrics},
             "Source": "cited (paper's Tab. 2)"} for _, r in PAPER_TAB2.iterrows()]
    for _, r in ours.iterrows():
        rows.append({"Method": r["method"], **{metric_name(m): (
            "-" if np.isnan(r[m]) else f"{r[m]:.2f} [{r[m + '_lo']:.2f}, {r[m + '_hi']:.2f}]") for m in metrics},
            "Source": "computed here"})
    if paper_ours is not None:
        rows += [{"Method": r["method"], **{metric_name(m): _value(r[m]) if m in r else "-" for m in metrics},
                  "Source": "paper (Tab. 1 row)"} for _, r in paper_ours.iterrows()]
    return pd.DataFrame(rows)


def paper_ours(family: str, tau: int, name: str) -> pd.DataFrame | None:
    """The paper's Tab. 1 row of ``family`` at ``tau`` as a one-row frame named ``name`` (or None)."""
    table = paper_tab1(family)
    if table is None or tau not in set(table["tau"]):
        return None
    return table[table["tau"] == tau].drop(columns="tau").assign(method=name)
