"""The paper's claim measured against the truth: when does each attribute get committed?

For each toy clip and each appearance attribute (colour, shape, texture, background), the clip is
DDIM-inverted with its caption ``c`` and resampled over every prompt window with ``c'``, the caption
with that one attribute changed (:func:`motionlib.sweep.run_sweep`, the Fig. 2 code). The oracle
reads every result:

- ``edit_took``: the attribute now has ``c'``'s value (appearance change);
- ``motion_kept``: same direction and path as the clip, and a mean centroid distance to the clip's
  trajectory within :data:`TRAJECTORY_TOLERANCE` (motion preservation);
- ``trajectory_error_px``: that distance.

**Commitment time** of a (clip, attribute): the largest ``tau_start`` (with ``tau_end = 0``) at
which swapping the prompt no longer changes the attribute, *and* no smaller ``tau_start`` changes it
either (so an isolated miss above the boundary does not count). Appearance: "changes" is
``edit_took``; the clip only counts for that attribute if the edit takes at ``tau_start = 1000``.
Motion: "changes" is ``not motion_kept``; if motion survives even a swap at 1000 its commitment
time is 1000. Large commitment times mean early commitment (timesteps count down while sampling).

:func:`spearman_checks` compares the paper's metrics with the oracle over windows: CLIP-score change
against the rate of ``edit_took``, and flow similarity against ``motion_kept`` and against
``-trajectory_error_px``.

``TRAJECTORY_TOLERANCE`` (half the object's radius) was fixed before any model was measured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from motionlib import analysis
from motionlib.models.base import VideoModel
from motionlib.sweep import SweepSettings, run_sweep
from motionlib.toyworld import oracle, world
from motionlib.windows import PromptWindow, grid_windows

CLAIM_ATTRIBUTES = ("colour", "shape", "texture", "background")
TRAJECTORY_TOLERANCE = world.RADIUS / 2  # pixels


def read_result(video: np.ndarray, source: oracle.Reading, attribute: str, original: str, target: str) -> dict:
    """The oracle's view of one resampled video against the source clip's reading."""
    reading = oracle.read(video)
    error = oracle.trajectory_error(source, reading)
    now = getattr(reading, attribute)
    direction_kept = reading.direction == source.direction
    path_kept = reading.path == source.path
    return {
        "attribute_read": now, "edit_took": now == target, "original_kept": now == original,
        "direction_kept": direction_kept, "path_kept": path_kept, "trajectory_error_px": error,
        "motion_kept": bool(direction_kept and path_kept and error <= TRAJECTORY_TOLERANCE),
        "found": reading.found,
    }


def claim_sweeps(model: VideoModel, specs: list[world.ClipSpec], scorer, *, settings: SweepSettings = SweepSettings(),
                 attributes: tuple[str, ...] = CLAIM_ATTRIBUTES, windows: list[PromptWindow] | None = None,
                 seed: int = 0, progress: bool = True) -> pd.DataFrame:
    """One row per (clip, attribute, window): the sweep's metrics and the oracle's reading.

    Each clip's edit of each attribute picks another value from a generator seeded by
    ``(seed, clip index)``. Rows with ``tau_start = tau_end = 0`` are the no-edit reconstruction
    (``c`` at every step). Sweeps are cached like any ``run_sweep``.
    """
    windows = windows or grid_windows(settings.grid)
    rows = []
    bar = tqdm(total=len(specs) * len(attributes), desc=f"{model.family} claim sweeps", disable=not progress)
    for i, spec in enumerate(specs):
        video = world.render(spec)
        source = oracle.read(video)
        caption = world.caption(spec)
        base = {"model": model.family, "clip": i, "caption": caption}
        rng = np.random.default_rng([seed, i])
        targets = {a: world.other_value(a, getattr(spec, a), rng) for a in attributes}
        for attribute in attributes:
            original, target = getattr(spec, attribute), targets[attribute]
            edit = world.caption(spec.with_attribute(attribute, target))
            result = run_sweep(model, video, caption, edit, scorer, name=f"clip{i}", edit_kind=attribute,
                               settings=settings, windows=windows, keep_videos=True, progress=False)
            for r in result.rows.itertuples():  # the no-edit reference (0, 0) first, then ``windows``
                w = PromptWindow(r.tau_start, r.tau_end)
                rows.append({**base, "attribute": attribute, "original": original, "target": target,
                             "edit": edit, "tau_start": w.tau_start, "tau_end": w.tau_end,
                             "clip_change": r.clip_change, "flow_similarity": r.flow_similarity,
                             "flow_similarity_robust": r.flow_similarity_robust,
                             **read_result(result.videos[w], source, attribute, original, target)})
            bar.update()
    bar.close()
    return pd.DataFrame(rows)


def commit_time(tau_starts, changed) -> float:
    """The largest ``tau_start`` at which the attribute is unchanged, with every smaller one unchanged
    too; 0 when the smallest ``tau_start`` already changes it."""
    order = np.argsort(tau_starts)
    taus, changed = np.asarray(tau_starts)[order], np.asarray(changed, bool)[order]
    first_change = np.flatnonzero(changed)
    if len(first_change) == 0:
        return float(taus[-1])
    k = first_change[0]
    return float(taus[k - 1]) if k > 0 else 0.0


def commitment(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (model, clip, attribute): appearance and motion commitment times (see the module doc)."""
    out = []
    curve = rows[(rows["tau_end"] == 0) & (rows["tau_start"] > 0)]
    for (model, clip, attribute), g in curve.groupby(["model", "clip", "attribute"]):
        g = g.sort_values("tau_start")
        took_at_start = bool(g.loc[g["tau_start"].idxmax(), "edit_took"])
        monotone = bool(np.all(np.diff(g["edit_took"].to_numpy(int)) >= 0))
        out.append({
            "model": model, "clip": clip, "attribute": attribute, "edit_takes_at_1000": took_at_start,
            "appearance_commit": commit_time(g["tau_start"], g["edit_took"]) if took_at_start else np.nan,
            "appearance_monotone": monotone,
            "motion_commit": commit_time(g["tau_start"], ~g["motion_kept"].astype(bool)),
        })
    return pd.DataFrame(out)


def commitment_summary(commits: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Mean commitment time per (model, attribute) with 95% bootstrap intervals over clips; the motion
    row pools the edits of all attributes (per clip: the mean over its edits)."""
    out = []
    for (model, attribute), g in commits.groupby(["model", "attribute"]):
        values = g["appearance_commit"].dropna()
        lo, hi = analysis.bootstrap_ci(values, n_boot=n_boot, seed=seed)
        out.append({"model": model, "attribute": attribute, "commit_mean": values.mean(), "commit_lo": lo,
                    "commit_hi": hi, "commit_median": values.median(), "clips": len(values),
                    "edit_takes_at_1000": g["edit_takes_at_1000"].mean(),
                    "monotone": g["appearance_monotone"].mean()})
    for model, g in commits.groupby("model"):
        per_clip = g.groupby("clip")["motion_commit"].mean()
        lo, hi = analysis.bootstrap_ci(per_clip, n_boot=n_boot, seed=seed)
        out.append({"model": model, "attribute": "motion", "commit_mean": per_clip.mean(), "commit_lo": lo,
                    "commit_hi": hi, "commit_median": per_clip.median(), "clips": len(per_clip),
                    "edit_takes_at_1000": np.nan, "monotone": np.nan})
    return pd.DataFrame(out)


def tradeoff(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Per ``tau_start`` (``tau_end = 0``): the rate of appearance change and of motion kept over
    clips and attributes, the Pareto frontier and tau* by :func:`motionlib.analysis.threshold`."""
    curve = (rows[(rows["tau_end"] == 0) & (rows["tau_start"] > 0)]
             .groupby("tau_start")[["edit_took", "motion_kept", "trajectory_error_px", "clip_change", "flow_similarity"]]
             .mean().reset_index())
    curve["pareto"] = analysis.pareto_front(curve["edit_took"], curve["motion_kept"])
    tau_star = analysis.threshold(curve, x="edit_took", y="motion_kept")
    return curve, tau_star


def spearman(x, y) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN if either side is constant."""
    rx, ry = pd.Series(np.asarray(x, float)).rank(), pd.Series(np.asarray(y, float)).rank()
    if rx.nunique() < 2 or ry.nunique() < 2:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def spearman_checks(rows: pd.DataFrame) -> pd.DataFrame:
    """The paper's metrics against the oracle: Spearman over the windows (means over clips and
    attributes), and over every (clip, attribute, window) row."""
    edits = rows[rows["tau_start"] > 0]
    flows = [c for c in ("flow_similarity", "flow_similarity_robust") if c in rows]
    windows = edits.groupby(["model", "tau_start", "tau_end"])[
        ["clip_change", "edit_took", *flows, "motion_kept", "trajectory_error_px"]].mean().reset_index()
    out = []
    for model, g in windows.groupby("model"):
        r = edits[edits["model"] == model]
        checks = [("clip_change", "edit_took", 1)] + [(f, truth, sign) for f in flows for truth, sign in
                                                      (("motion_kept", 1), ("trajectory_error_px", -1))]
        for metric, truth, sign in checks:
            out.append({"model": model, "metric": metric, "oracle": ("-" if sign < 0 else "") + truth,
                        "spearman_over_windows": spearman(g[metric], sign * g[truth]), "windows": len(g),
                        "spearman_over_rows": spearman(r[metric], sign * r[truth].astype(float)), "rows": len(r)})
    return pd.DataFrame(out)
