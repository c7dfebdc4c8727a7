"""Aggregation for the trade-off figures: bootstrap intervals, Pareto frontier, threshold tau*.

The paper (Fig. 2) fixes tau_end = 0 and reads the motion/appearance threshold off the trade-off
curve of CLIP-score change (appearance editing, higher = more edited) against flow similarity
(motion preservation, higher = better preserved), "somewhere along the Pareto frontier". We make
that reading explicit: tau* is the frontier point closest to the ideal corner after min-max scaling
each metric over the curve (both to [0, 1]); ties go to the larger tau_start.
"""

from __future__ import annotations

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


def aggregate(rows: pd.DataFrame, by: list[str], metrics: list[str], n_boot: int = 2000,
              seed: int = 0) -> pd.DataFrame:
    """Mean, 95% bootstrap interval (resampling videos) and count of each metric per group."""
    out = []
    for key, group in rows.groupby(by, sort=True):
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


def tradeoff(aggregated: pd.DataFrame, tau_end: int = 0) -> tuple[pd.DataFrame, int]:
    """The trade-off curve at fixed ``tau_end`` (rows per tau_start, with a ``pareto`` column) and tau*."""
    curve = aggregated[aggregated["tau_end"] == tau_end].sort_values("tau_start").reset_index(drop=True)
    curve["pareto"] = pareto_front(curve["clip_change"], curve["flow_similarity"])
    return curve, threshold(curve)
