"""Aggregation for the trade-off figures: bootstrap intervals, Pareto frontier, threshold tau*.

The paper (Fig. 2) fixes tau_end = 0 and reads the motion/appearance threshold off the trade-off
curve of CLIP-score change (appearance editing, higher = more edited) against flow similarity
(motion preservation, higher = better preserved), "somewhere along the Pareto frontier". The paper
gives no rule; **this project's operational rule** (:func:`threshold`) is: tau* is the frontier point
closest to the ideal corner after min-max scaling each metric over the curve (both to [0, 1]); ties
go to the larger tau_start. :func:`threshold_interval` gives it a bootstrap interval over videos.

Every mean here is a mean over videos: rows are first averaged within each video (its samples,
prompts or edits), then the bootstrap resamples videos, so a video with more rows does not weigh more.
The no-edit reference row (``tau_start = tau_end = 0``, :data:`motionlib.windows.NO_EDIT`) is kept
in the aggregate and left out of the trade-off curve and of tau*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def bootstrap_ci(values, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (1-D; NaNs dropped)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return (np.nan, np.nan)
    if len(x) == 1:
        return (float(x[0]), float(x[0]))
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n``; (NaN, NaN) when ``n`` is 0."""
    from statistics import NormalDist

    if n == 0:
        return (np.nan, np.nan)
    z = NormalDist().inv_cdf((1 + level) / 2)
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def per_video_means(rows: pd.DataFrame, by: list[str], metrics: list[str]) -> pd.DataFrame:
    """One row per (group, video): each metric averaged over the video's rows in that group."""
    if "video" not in rows:
        return rows
    return rows.groupby(list(by) + ["video"], sort=True, dropna=False)[list(metrics)].mean().reset_index()


def aggregate(rows: pd.DataFrame, by: list[str], metrics: list[str], n_boot: int = 2000,
              seed: int = 0) -> pd.DataFrame:
    """Mean over videos, 95% bootstrap interval (resampling videos) and number of videos of each
    metric per group; rows are first averaged within each video (:func:`per_video_means`)."""
    out = []
    for key, group in per_video_means(rows, by, metrics).groupby(by, sort=True):
        rec = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        rec["n_videos"] = group["video"].nunique() if "video" in group else len(group)
        for m in metrics:
            lo, hi = bootstrap_ci(group[m], n_boot=n_boot, seed=seed)
            rec |= {m: group[m].mean(), f"{m}_lo": lo, f"{m}_hi": hi}
        out.append(rec)
    return pd.DataFrame(out)


def pareto_front(x, y) -> np.ndarray:
    """Boolean mask of points not dominated when maximising both ``x`` and ``y``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.ones(len(x), bool)
    for i in range(len(x)):
        dominated = (x >= x[i]) & (y >= y[i]) & ((x > x[i]) | (y > y[i]))
        keep[i] = not dominated.any()
    return keep


def threshold(curve: pd.DataFrame, x: str = "clip_change", y: str = "flow_similarity",
              tau: str = "tau_start") -> int:
    """tau*: the Pareto point nearest the ideal corner after min-max scaling ``x`` and ``y``."""
    cx, cy = curve[x].to_numpy(float), curve[y].to_numpy(float)
    sx = (cx - cx.min()) / (np.ptp(cx) or 1.0)
    sy = (cy - cy.min()) / (np.ptp(cy) or 1.0)
    front = pareto_front(cx, cy)
    dist = np.hypot(1 - sx, 1 - sy)
    dist[~front] = np.inf
    best = np.flatnonzero(dist == dist.min())
    return int(curve[tau].to_numpy()[best].max())


def _curve_rows(table: pd.DataFrame, tau_end: int) -> pd.DataFrame:
    """The windows ``(tau_start, tau_end)`` with ``tau_start > tau_end`` (no no-edit row), by tau_start."""
    keep = (table["tau_end"] == tau_end) & (table["tau_start"] > table["tau_end"])
    return table[keep].sort_values("tau_start").reset_index(drop=True)


def no_edit_row(table: pd.DataFrame) -> pd.DataFrame:
    """The no-edit reference rows (``tau_start = tau_end``) of a sweep table or its aggregate."""
    return table[table["tau_start"] == table["tau_end"]].reset_index(drop=True)


def tradeoff(aggregated: pd.DataFrame, tau_end: int = 0) -> tuple[pd.DataFrame, int]:
    """The trade-off curve at fixed ``tau_end`` (rows per tau_start, with a ``pareto`` column) and tau*."""
    curve = _curve_rows(aggregated, tau_end)
    curve["pareto"] = pareto_front(curve["clip_change"], curve["flow_similarity"])
    return curve, threshold(curve)


def threshold_interval(rows: pd.DataFrame, tau_end: int = 0, n_boot: int = 2000, level: float = 0.95,
                       seed: int = 0, x: str = "clip_change", y: str = "flow_similarity") -> tuple[int, int]:
    """Percentile bootstrap interval of tau* (:func:`threshold`), resampling videos.

    ``rows`` are per-video sweep rows (a ``video`` column). Each resample draws videos with
    replacement, averages their per-video means per ``tau_start`` and applies the rule again.
    """
    curve_rows = _curve_rows(per_video_means(rows, ["tau_start", "tau_end"], [x, y]), tau_end)
    wide_x = curve_rows.pivot(index="video", columns="tau_start", values=x)
    wide_y = curve_rows.pivot(index="video", columns="tau_start", values=y)
    taus = wide_x.columns.to_numpy()
    vx, vy = wide_x.to_numpy(float), wide_y.to_numpy(float)
    rng = np.random.default_rng(seed)
    stars = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(vx), size=len(vx))
        curve = pd.DataFrame({"tau_start": taus, x: np.nanmean(vx[pick], axis=0), y: np.nanmean(vy[pick], axis=0)})
        stars.append(threshold(curve, x, y))
    lo, hi = np.quantile(stars, [(1 - level) / 2, (1 + level) / 2], method="nearest")
    return int(lo), int(hi)


SWEEP_METRICS = ("clip_change", "flow_similarity", "flow_similarity_robust", "clip_change_vs_no_edit",
                 "flow_similarity_vs_no_edit")


@dataclass
class Tradeoff:
    """Fig. 2 for one model from its per-video sweep rows (:func:`summarize_tradeoff`)."""

    summary: pd.DataFrame  # per (model, tau_start, tau_end): means over videos, 95% intervals, n_videos
    curve: pd.DataFrame  # tau_end = 0, tau_start > 0, with a ``pareto`` column
    tau_star: int  # this project's rule (:func:`threshold`)
    tau_star_interval: tuple[int, int]  # bootstrap over videos (:func:`threshold_interval`)
    no_edit: pd.DataFrame  # the reconstruction's row of ``summary``


def summarize_tradeoff(rows: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> Tradeoff:
    """Aggregate one model's sweep rows into the heatmaps' table, the trade-off curve and tau*."""
    metrics = [m for m in SWEEP_METRICS if m in rows]
    summary = aggregate(rows, ["model", "tau_start", "tau_end"], metrics, n_boot=n_boot, seed=seed)
    curve, tau_star = tradeoff(summary, tau_end=0)
    interval = threshold_interval(rows, n_boot=n_boot, seed=seed)
    return Tradeoff(summary, curve, tau_star, interval, no_edit_row(summary))
