"""When is each attribute decided? Commitment times with intervals and nulls, for both protocols.

Both protocols (:mod:`.claim` for the paper's inversion, :mod:`.switching` for prompt switching from
fresh noise) end in the same question. A sample is made with caption **A** at the early steps
(``t >= tau``) and caption **B** at the late ones (``t < tau``); A and B name different values of
some attributes. For every attribute that differs, the oracle says whether the sample shows A's
value (``follows_a``), B's (``follows_b``) or neither. ``tau = 0`` is A at every step (under the
inversion protocol: the no-edit reconstruction), ``tau = 1000`` is B at every step.

**The follow-A curve** of an attribute is ``f(tau)``: the share of clips (each clip's seeds averaged
first) whose sample shows A's value. It rises from about 0 at ``tau = 1000`` to about 1 at
``tau = 0``. **The commitment time** is the ``tau`` at which ``f`` crosses 0.5: the timestep down to
which A must hold for its value to win. A large commitment time means the attribute is decided
early (timesteps count down while sampling). It is read off ``f`` after an isotonic fit
(pool-adjacent-violators, ``f`` non-increasing in ``tau``), by linear interpolation between the two
grid points around 0.5; a fit that stays at or above 0.5 gives the largest ``tau``, one below 0.5
the smallest. So one stray cell is pooled with its neighbours and cannot drag the time to its own
``tau``. (:func:`crossing`)

Beside each commitment time (:func:`commitment_table`):

- a 95% percentile bootstrap interval over clips;
- ``p_permutation``: the permutation null that the outcome does not depend on ``tau``. Each clip's
  follow-A values are shuffled over its ``tau`` labels; the statistic is the mean over clips of the
  covariance of following A with ``-tau`` (positive when A wins where A held longer). One-sided,
  ``(1 + #null >= observed) / (1 + n_perm)``;
- ``monotone``: the share of clips whose own curve never falls as A holds longer;
- ``endpoint_a`` (A's value read at ``tau = 0``) and ``endpoint_b`` (B's at ``tau = 1000``);
- ``spurious``: the share of clips whose ``tau = 0`` sample (A at every step) already shows B's value:
  the no-edit spurious-take rate;
- **testable**: both endpoints at least :data:`TESTABLE_SHARE` and ``spurious`` below it. Otherwise
  the model does not draw the attribute (or, under inversion, the edit does not take even from
  ``t = 1000``), or A's and B's samples cannot be told apart (a trajectory: objects that stand
  still), and no time is claimed. (For a named attribute A and B are exclusive, so the spurious
  condition only binds for the trajectory; it was added when the first full run showed the
  trajectory's endpoints hold by construction.)

The attribute ``trajectory@<tol>px`` reads the motion as a path rather than a word: it follows A when
the mean centroid distance to the ``tau = 0`` sample's trajectory is within ``tol`` px, B when it is
within that of the ``tau = 1000`` sample's (:func:`attribute_rows`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from motionlib.toyworld import world

TESTABLE_SHARE = 0.5  # fixed before any model was measured: a 0.5 crossing needs both ends past 0.5
ATTRIBUTES = ("direction", "path", "colour", "shape", "texture", "background")
APPEARANCE = world.APPEARANCE
TOLERANCES = (1.5, 2.5, 4.0)  # px, for the trajectory attribute
DEFAULT_TOLERANCE = 2.5  # half the object's radius (world.RADIUS / 2)
SETTINGS = ("model", "protocol", "edit_kind", "guidance", "steps")  # what one curve is measured under


# ------------------------------------------------------------------------------------ samples -> rows
def reading_columns(reading, prefix: str = "read_") -> dict:
    """The oracle's attribute values of one sample as ``{read_colour: ..., ...}``."""
    return {f"{prefix}{k}": v for k, v in reading.attributes().items()}


def trajectory_attribute(tolerance: float) -> str:
    """The name of the trajectory attribute at ``tolerance`` px: ``trajectory@2.5px``."""
    return f"trajectory@{tolerance:g}px"


def attribute_rows(samples: pd.DataFrame, tolerances=(DEFAULT_TOLERANCE,)) -> pd.DataFrame:
    """Sample rows (one per sample, from either protocol) -> one row per (sample, attribute that A
    and B name differently): ``value_a``, ``value_b``, ``read``, ``follows_a``, ``follows_b``; and per
    tolerance one :func:`trajectory_attribute` row per sample (the trajectory errors against the
    ``tau = 0`` and ``tau = 1000`` samples within that many px).

    Sample rows carry ``a_<attr>``, ``b_<attr>`` (the captions' values) and ``read_<attr>`` (the
    oracle's) for every attribute of :data:`ATTRIBUTES`, and ``trajectory_error_a_px`` / ``_b_px``."""
    keep = [c for c in samples.columns if not c.startswith(("a_", "b_", "read_"))]
    out = []
    for attribute in ATTRIBUTES:
        differs = samples[f"a_{attribute}"] != samples[f"b_{attribute}"]
        part = samples.loc[differs, keep].copy()
        part["attribute"] = attribute
        part["value_a"] = samples.loc[differs, f"a_{attribute}"]
        part["value_b"] = samples.loc[differs, f"b_{attribute}"]
        part["read"] = samples.loc[differs, f"read_{attribute}"]
        part["follows_a"] = part["read"] == part["value_a"]
        part["follows_b"] = part["read"] == part["value_b"]
        out.append(part)
    for tolerance in tolerances:
        part = samples[keep].copy()
        part["attribute"] = trajectory_attribute(tolerance)
        part["value_a"], part["value_b"] = "tau=0 sample", "tau=1000 sample"
        part["read"] = samples["trajectory_error_a_px"].round(2).astype(str)
        part["follows_a"] = samples["trajectory_error_a_px"] <= tolerance
        part["follows_b"] = samples["trajectory_error_b_px"] <= tolerance
        out.append(part)
    return pd.concat(out, ignore_index=True)


# ------------------------------------------------------------------------------------ the statistic
def isotonic_decreasing(y, weights=None) -> np.ndarray:
    """Least-squares fit of ``y`` (ordered by ascending ``tau``) that never increases
    (pool adjacent violators)."""
    y = np.asarray(y, float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, float)
    blocks = []  # [mean, weight, length]; means must not increase from block to block
    for value, weight in zip(y, w):
        blocks.append([value, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            m2, w2, n2 = blocks.pop()
            m1, w1, n1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.concatenate([np.full(n, m) for m, _, n in blocks])


def crossing(taus, share, level: float = 0.5) -> float:
    """The ``tau`` at which the isotonic fit of ``share`` (over ascending ``taus``) crosses ``level``
    (see the module doc)."""
    order = np.argsort(taus)
    taus = np.asarray(taus, float)[order]
    fit = isotonic_decreasing(np.asarray(share, float)[order])
    above = np.flatnonzero(fit >= level)
    if len(above) == 0:
        return float(taus[0])
    k = above[-1]
    if k == len(taus) - 1:
        return float(taus[-1])
    lo, hi = fit[k], fit[k + 1]  # lo >= level > hi
    return float(taus[k] + (lo - level) / (lo - hi) * (taus[k + 1] - taus[k]))


def trend(matrix: np.ndarray, taus) -> np.ndarray:
    """Mean over clips of cov(follows A, -tau) over each clip's taus; ``matrix`` ``(..., clips, taus)``."""
    centred = -(np.asarray(taus, float) - np.mean(taus))
    return (matrix * centred).mean(axis=-1).mean(axis=-1)


def permutation_p(matrix: np.ndarray, taus, n_perm: int = 2000, seed: int = 0) -> float:
    """One-sided p of :func:`trend` under tau labels shuffled within each clip (``matrix`` clips x taus)."""
    rng = np.random.default_rng(seed)
    observed = trend(matrix, taus)
    null = trend(rng.permuted(np.broadcast_to(matrix, (n_perm, *matrix.shape)), axis=-1), taus)
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + n_perm))


def bootstrap_crossing(matrix: np.ndarray, taus, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of :func:`crossing` of the clip-mean curve, resampling clips."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(matrix), size=(n_boot, len(matrix)))
    values = [crossing(taus, matrix[p].mean(axis=0)) for p in picks]
    lo, hi = np.quantile(values, [0.025, 0.975])
    return float(lo), float(hi)


def wide(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """Clips x taus of ``column`` (each clip's seeds averaged)."""
    return rows.pivot_table(index="clip", columns="tau", values=column, aggfunc="mean").sort_index(axis=1)


def commitment_table(attr_rows: pd.DataFrame, n_boot: int = 2000, n_perm: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per setting and attribute: the commitment time, its interval and null (see the module doc)."""
    by = [c for c in SETTINGS if c in attr_rows]
    out = []
    for key, g in attr_rows.groupby(by + ["attribute"], dropna=False, sort=False):
        a, b = wide(g, "follows_a"), wide(g, "follows_b")
        complete = a.dropna().index
        a, b = a.loc[complete], b.loc[complete]
        taus = a.columns.to_numpy(int)
        matrix = a.to_numpy(float)
        curve = matrix.mean(axis=0)
        end_a, end_b = float(curve[np.argmin(taus)]), float(b.to_numpy(float)[:, np.argmax(taus)].mean())
        lo, hi = bootstrap_crossing(matrix, taus, n_boot, seed)
        out.append({
            **dict(zip(by + ["attribute"], key)),
            "commit": crossing(taus, curve), "commit_lo": lo, "commit_hi": hi,
            "p_permutation": permutation_p(matrix, taus, n_perm, seed),
            "monotone": float(np.mean([np.all(np.diff(row) <= 1e-12) for row in matrix])),
            "endpoint_a": end_a, "endpoint_b": end_b,
            "spurious": (spurious := float(b.to_numpy(float)[:, np.argmin(taus)].mean())),
            "testable": bool(end_a >= TESTABLE_SHARE and end_b >= TESTABLE_SHARE and spurious < TESTABLE_SHARE),
            "clips": len(matrix), "taus": len(taus),
        })
    return pd.DataFrame(out)


def curves(attr_rows: pd.DataFrame) -> pd.DataFrame:
    """The follow-A and follow-B shares per setting, attribute and tau (clip means), for plotting."""
    by = [c for c in SETTINGS if c in attr_rows]
    per_clip = attr_rows.groupby(by + ["attribute", "tau", "clip"], dropna=False)[["follows_a", "follows_b"]].mean()
    return per_clip.groupby(by + ["attribute", "tau"], dropna=False).mean().reset_index()
