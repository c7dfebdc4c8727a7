"""The paper's claims as tests that can fail, fixed in code before any measurement, and the claims table.

Each criterion takes the measured tables and returns a :class:`Verdict`: ``pass``, ``fail`` or
``not testable`` (with the reason), the number it judged, and its interval and null. The criteria
were written before the first run of the protocols they judge and are not tuned to any result.

1. **Motion is decided before appearance** (:func:`motion_before_appearance`), under either protocol:
   the motion attribute (``direction``; or a ``trajectory@<tol>px``) is testable, its permutation
   null is rejected (``p < 0.05``), and the lower end of its commitment interval lies above the upper
   end of every testable appearance attribute's (colour, shape, texture, background). Not testable
   when the motion attribute is not, or no appearance attribute is (:mod:`.commitment`).
2. **tau\\* of Fig. 2 lies in 700-900** (:func:`tau_star_in_range`), inversion protocol only: tau\\*
   by this project's rule (:func:`motionlib.analysis.threshold` on CLIP-score change against flow
   similarity at ``tau_end = 0``) and its 95% bootstrap interval over clips; pass when the whole
   interval lies in [700, 900]. Prompt switching has no source video to compare with: not testable.
3. **Flow similarity falls as the edit window reaches earlier steps** (:func:`flow_falls`), inversion
   protocol only: the Spearman correlation of ``tau_start`` with the clip-mean flow similarity
   (``tau_end = 0``); pass when its 95% bootstrap interval over clips lies below 0 and the
   permutation null (tau labels shuffled within each clip) is rejected at ``p < 0.05``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from motionlib import analysis
from motionlib.toyworld import commitment
from motionlib.toyworld.claim import spearman

ALPHA = 0.05
TAU_STAR_RANGE = (700, 900)
MOTION_ATTRIBUTE = "direction"
CLAIMS = ("motion is decided before appearance", "tau* of Fig. 2 lies in 700-900",
          "flow similarity falls as the edit window reaches earlier steps")


@dataclass
class Verdict:
    claim: str
    verdict: str  # "pass" | "fail" | "not testable"
    value: float = float("nan")
    lo: float = float("nan")
    hi: float = float("nan")
    p: float = float("nan")
    detail: str = ""

    def cell(self) -> str:
        """``"pass: 743 [621, 850], p 0.001"`` (the verdict, then the number with its interval and null)."""
        if self.verdict == "not testable":
            return f"not testable: {self.detail}"
        p = "" if not np.isfinite(self.p) else ", p < 0.001" if self.p < 0.001 else f", p {self.p:.3f}"
        return f"{self.verdict}: {self.detail}{p}"


def _fmt(name: str, row) -> str:
    return f"{name} {row['commit']:.0f} [{row['commit_lo']:.0f}, {row['commit_hi']:.0f}]"


def motion_before_appearance(commits: pd.DataFrame, motion: str = MOTION_ATTRIBUTE) -> Verdict:
    """Criterion 1 on one setting's :func:`~motionlib.toyworld.commitment.commitment_table` rows."""
    claim = CLAIMS[0]
    by_attr = commits.set_index("attribute")
    if motion not in by_attr.index:
        return Verdict(claim, "not testable", detail=f"A and B name the same {motion}")
    m = by_attr.loc[motion]
    if not m["testable"]:
        return Verdict(claim, "not testable", detail=f"{motion} read as captioned in {m['endpoint_a']:.2f} "
                       f"(A everywhere) / {m['endpoint_b']:.2f} (B everywhere), below {commitment.TESTABLE_SHARE}")
    apps = by_attr[by_attr.index.isin(commitment.APPEARANCE) & by_attr["testable"]]
    if apps.empty:
        return Verdict(claim, "not testable", detail="no appearance attribute that A and B name differently is drawn "
                       f"as captioned in {commitment.TESTABLE_SHARE} of samples")
    latest = apps.loc[apps["commit_hi"].idxmax()]
    ok = bool(m["p_permutation"] < ALPHA and m["commit_lo"] > latest["commit_hi"])
    detail = f"{_fmt(motion, m)} vs {_fmt(latest.name, latest)}"
    return Verdict(claim, "pass" if ok else "fail", m["commit"], m["commit_lo"], m["commit_hi"], m["p_permutation"],
                   detail)


def _per_clip_curve(samples: pd.DataFrame, column: str) -> pd.DataFrame:
    edits = samples[samples["tau"] > 0]
    return edits.pivot_table(index="clip", columns="tau", values=column, aggfunc="mean").sort_index(axis=1).dropna()


def tau_star_in_range(samples: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> Verdict:
    """Criterion 2 on one setting's inversion sample rows."""
    claim = CLAIMS[1]
    if samples["protocol"].iloc[0] != "inversion":
        return Verdict(claim, "not testable", detail="no source video under prompt switching")
    rows = samples[samples["tau"] > 0].assign(video=lambda d: d["clip"], tau_start=lambda d: d["tau"], tau_end=0)
    curve = rows.groupby("tau_start")[["clip_change", "flow_similarity"]].mean().reset_index()
    star = analysis.threshold(curve, "clip_change", "flow_similarity")
    lo, hi = analysis.threshold_interval(rows, n_boot=n_boot, seed=seed)
    ok = TAU_STAR_RANGE[0] <= lo and hi <= TAU_STAR_RANGE[1]
    return Verdict(claim, "pass" if ok else "fail", star, lo, hi, detail=f"tau* {star} [{lo}, {hi}]")


def flow_falls(samples: pd.DataFrame, n_boot: int = 2000, n_perm: int = 2000, seed: int = 0) -> Verdict:
    """Criterion 3 on one setting's inversion sample rows."""
    claim = CLAIMS[2]
    if samples["protocol"].iloc[0] != "inversion":
        return Verdict(claim, "not testable", detail="no source video under prompt switching")
    matrix = _per_clip_curve(samples, "flow_similarity")
    taus, values = matrix.columns.to_numpy(float), matrix.to_numpy(float)

    def rho(m):
        return spearman(taus, m.mean(axis=0))

    rng = np.random.default_rng(seed)
    boots = [rho(values[rng.integers(0, len(values), len(values))]) for _ in range(n_boot)]
    lo, hi = np.nanquantile(boots, [0.025, 0.975])
    null = [rho(rng.permuted(values, axis=1)) for _ in range(n_perm)]
    observed = rho(values)
    p = float((1 + np.sum(np.asarray(null) <= observed + 1e-12)) / (1 + n_perm))
    ok = bool(hi < 0 and p < ALPHA)
    return Verdict(claim, "pass" if ok else "fail", observed, lo, hi, p,
                   f"Spearman(tau_start, flow) {observed:.2f} [{lo:.2f}, {hi:.2f}]")


def judge(samples: pd.DataFrame, commits: pd.DataFrame, motion: str = MOTION_ATTRIBUTE,
          n_boot: int = 2000, seed: int = 0) -> list[Verdict]:
    """Every criterion on one setting (one model, protocol, edit kind, guidance and step count)."""
    return [motion_before_appearance(commits, motion), tau_star_in_range(samples, n_boot, seed),
            flow_falls(samples, n_boot, n_boot, seed)]


def setting_label(guidance_setting: str, steps: int) -> str:
    """``"guidance family, 25 steps"``, ``"guidance 3, 50 steps"``: a setting named alike for every family."""
    return f"guidance {guidance_setting}, {steps} steps"


def evaluate(samples: pd.DataFrame, tolerances=commitment.TOLERANCES, n_boot: int = 2000, n_perm: int = 2000,
             seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every setting of ``samples`` (sample rows of either protocol, any mix of models, edit kinds,
    guidance and steps) -> ``(commitment table, claims table)``. Criterion 1 is judged with the
    direction and with the trajectory at each of ``tolerances`` as the motion attribute; criteria 2
    and 3 do not depend on it."""
    commits = commitment.commitment_table(commitment.attribute_rows(samples, tolerances), n_boot, n_perm, seed)
    out = []
    if "guidance_setting" not in samples:
        samples = samples.assign(guidance_setting=samples["guidance"].map("{:g}".format))
    for key, s in samples.groupby(list(commitment.SETTINGS), sort=False):
        c = commits[np.logical_and.reduce([commits[k] == v for k, v in zip(commitment.SETTINGS, key)])]
        verdicts = [(MOTION_ATTRIBUTE, v) for v in judge(s, c, MOTION_ATTRIBUTE, n_boot, seed)]
        verdicts += [(commitment.trajectory_attribute(t), motion_before_appearance(c, commitment.trajectory_attribute(t)))
                     for t in tolerances]
        for motion, v in verdicts:
            out.append({**dict(zip(commitment.SETTINGS, key)), "setting": setting_label(s["guidance_setting"].iloc[0], key[4]),
                        "motion_attribute": motion, **asdict(v), "cell": v.cell()})
    return commits, pd.DataFrame(out)


def claims_grid(table: pd.DataFrame, motion: str = MOTION_ATTRIBUTE) -> pd.DataFrame:
    """The claims table as the reader sees it: one row per (claim, edit kind, setting), one column
    per model / protocol, each cell the verdict with its number, interval and null."""
    t = table[table["motion_attribute"] == motion]
    t = t.assign(column=t["model"] + " / " + t["protocol"])
    grid = t.pivot_table(index=["claim", "edit_kind", "setting"], columns="column", values="cell", aggfunc="first")
    order = {c: i for i, c in enumerate(CLAIMS)}
    return grid.sort_index(key=lambda idx: idx.map(order) if idx.name == "claim" else idx).fillna("")


def markdown(table: pd.DataFrame) -> str:
    """A pipe table of ``table`` (its index as the first columns)."""
    t = table.reset_index()
    lines = ["| " + " | ".join(map(str, t.columns)) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in t.itertuples(index=False)]
    return "\n".join(lines) + "\n"
