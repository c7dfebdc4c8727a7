"""Protocol (a), the paper's: DDIM inversion, then resampling over prompt windows, read by the oracle.

For each held-out toy clip (caption A) and its edit of ``edit_kind`` (caption B,
:mod:`motionlib.toyworld.dataset`), the clip is DDIM-inverted with A and resampled with B for
``t < tau_start`` and A before (:func:`motionlib.sweep.run_sweep`, the Fig. 1-2 code, cached the
same way). With ``tau = tau_start`` and ``tau_end = 0`` this is the question of :mod:`.commitment`:
``tau = 0`` is the no-edit reconstruction (A at every step), ``tau = 1000`` is B at every step.

Each sample row (:func:`inversion_samples`) holds the captions' and the oracle's values of every
attribute, the sweep's metrics (CLIP-score change, flow similarity against the clip and against the
no-edit reconstruction) and the trajectory errors against the reconstruction (``_a_``), the
``tau = 1000`` sample (``_b_``) and the source clip (``_source_``): "motion kept" can be measured
against the clip and against the reconstruction (:func:`motion_kept`).

The edit kinds that keep the motion words (``object``, ``style``, ``background``, ``multiple``:
TGVE's) cannot change the direction, so with them only the trajectory can move; the motion edits
(``direction``, ``direction_colour``, ``direction_multiple``) can.

:func:`spearman_checks` compares the paper's metrics with the oracle over windows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from motionlib.models.base import VideoModel
from motionlib.sweep import SweepSettings, run_sweep
from motionlib.toyworld import commitment, oracle, world
from motionlib.toyworld.dataset import DEFAULT_SEED, check_edit_kind, edit_specs, toy_specs
from motionlib.toyworld.switching import sample_row
from motionlib.windows import NO_EDIT, PromptWindow, grid_values

TRAJECTORY_TOLERANCE = commitment.DEFAULT_TOLERANCE  # px: half the object's radius, fixed before any measurement


def inversion_samples(model: VideoModel, clips: int, scorer, *, edit_kind: str = "direction_multiple",
                      num_steps: int | None = None, guidance_scale: float | None = None, grid: int = 100,
                      data_seed: int = DEFAULT_SEED, progress: bool = True) -> pd.DataFrame:
    """One row per (clip, tau_start) of protocol (a), ``tau_end = 0``, on the first ``clips``
    held-out toy clips (see the module doc). Sweeps are cached like any ``run_sweep``."""
    check_edit_kind(edit_kind, model)
    settings = SweepSettings(num_steps=num_steps, guidance_scale=guidance_scale, grid=grid)
    s = settings.resolve(model)
    windows = [PromptWindow(t, 0) for t in grid_values(grid) if t > 0]
    top = PromptWindow(max(grid_values(grid)), 0)
    base = {"model": model.family, "protocol": "inversion", "edit_kind": edit_kind,
            "guidance": s.guidance_scale, "steps": s.num_steps}
    rows = []
    for clip, spec_a in enumerate(tqdm(toy_specs(clips, data_seed), desc=f"{model.family} inversion sweeps",
                                       disable=not progress)):
        spec_b = edit_specs(spec_a, clip, data_seed)[edit_kind]
        video = world.render(spec_a)
        caption_a, caption_b = world.caption(spec_a), world.caption(spec_b)
        result = run_sweep(model, video, caption_a, caption_b, scorer, name=f"toy{clip:02d}", edit_kind=edit_kind,
                           settings=settings, windows=windows, keep_videos=True, progress=False)
        source = oracle.read(video)
        readings = {w: oracle.read(v) for w, v in result.videos.items()}
        for r in result.rows.itertuples():
            w = PromptWindow(r.tau_start, r.tau_end)
            reading = readings[w]
            rows.append({**base, "clip": clip, "seed": 0, "tau": w.tau_start, "caption_a": caption_a,
                         "caption_b": caption_b, **sample_row(reading, spec_a, spec_b),
                         "trajectory_error_a_px": oracle.trajectory_error(reading, readings[NO_EDIT]),
                         "trajectory_error_b_px": oracle.trajectory_error(reading, readings[top]),
                         "trajectory_error_source_px": oracle.trajectory_error(reading, source),
                         "clip_change": r.clip_change, "flow_similarity": r.flow_similarity,
                         "flow_similarity_robust": r.flow_similarity_robust,
                         "flow_similarity_vs_no_edit": r.flow_similarity_vs_no_edit})
    return pd.DataFrame(rows)


PROTOCOLS = ("inversion", "switching")


def check_settings(clips: int, *, seeds: int = 1, steps=(None,), guidances=(None,), grid: int = 100,
                   tolerances=()) -> None:
    """Refuse out-of-range settings of a claim run before any model is loaded or clip inverted: a
    :class:`~motionlib.errors.ParameterError` naming the setting (and its ``motionlib toyworld claim`` flag).

    ``steps`` and ``guidances`` hold one value per run (``None``: the family's own)."""
    import math

    from motionlib.errors import ParameterError
    from motionlib.windows import NUM_TRAIN_TIMESTEPS

    def count(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    if not count(clips):
        raise ParameterError(f"clips (--clips) must be a positive integer (held-out toy clips), got {clips!r}")
    if not count(seeds):
        raise ParameterError(f"seeds (--seeds) must be a positive integer (noise seeds per clip), got {seeds!r}")
    for value in steps:
        if value is not None and not count(value):
            raise ParameterError(f"num_steps (--steps) must be a positive integer, got {value!r}")
    for value in guidances:
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ParameterError(f"guidance_scale (--guidance) must be a finite number >= 0 (1: no classifier-free "
                                 f"guidance) or 'family', got {value!r}")
    if not (isinstance(grid, int) and not isinstance(grid, bool) and grid >= 1 and NUM_TRAIN_TIMESTEPS % grid == 0):
        raise ParameterError(f"grid (--grid) must be a positive divisor of {NUM_TRAIN_TIMESTEPS} (the tau grid "
                             f"interval, e.g. 50, 100, 200, 250), got {grid!r}")
    for value in tolerances:
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ParameterError(f"tolerances (--tolerance) must be positive numbers of px, got {value!r}")


def protocol_samples(model: VideoModel, protocol: str, clips: int, *, scorer=None, edit_kind: str = "direction_colour",
                     num_steps: int | None = None, guidance_scale: float | None = None, seeds: int = 1,
                     grid: int = 100, progress: bool = True) -> pd.DataFrame:
    """Sample rows of ``protocol``: ``"inversion"`` (:func:`inversion_samples`, needs ``scorer``) or
    ``"switching"`` (:func:`motionlib.toyworld.switching.switching_samples`, ``seeds`` noises per clip)."""
    from motionlib.errors import ParameterError
    from motionlib.toyworld.switching import switching_samples

    check_settings(clips, seeds=seeds, steps=[num_steps], guidances=[guidance_scale], grid=grid)
    if protocol == "inversion":
        if scorer is None:
            raise ParameterError("the inversion protocol scores CLIP-score change: pass a scorer (clip_scorer('auto', model))")
        rows = inversion_samples(model, clips, scorer, edit_kind=edit_kind, num_steps=num_steps,
                                 guidance_scale=guidance_scale, grid=grid, progress=progress)
    elif protocol == "switching":
        rows = switching_samples(model, clips, edit_kind=edit_kind, seeds=seeds, num_steps=num_steps,
                                 guidance_scale=guidance_scale, grid=grid, progress=progress)
    else:
        raise ParameterError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    # "family" when the family's guidance was used, so settings line up across families in the tables
    return rows.assign(guidance_setting="family" if guidance_scale is None else f"{guidance_scale:g}")


def motion_kept(samples: pd.DataFrame, tolerances=commitment.TOLERANCES) -> pd.DataFrame:
    """Per setting and ``tau``: the share of clips whose sample keeps the source clip's motion (its
    direction and a trajectory within each tolerance), judged against the source clip and against the
    no-edit reconstruction (``tau = 0``)."""
    by = [c for c in commitment.SETTINGS if c in samples]
    out = samples[by + ["tau", "clip"]].copy()
    same_direction = samples["read_direction"] == samples["a_direction"]
    for tol in tolerances:
        out[f"kept_vs_source@{tol:g}px"] = same_direction & (samples["trajectory_error_source_px"] <= tol)
        out[f"kept_vs_no_edit@{tol:g}px"] = same_direction & (samples["trajectory_error_a_px"] <= tol)
    return out.groupby(by + ["tau"]).mean(numeric_only=True).drop(columns="clip").reset_index()


def spearman(x, y) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN if either side is constant."""
    rx, ry = pd.Series(np.asarray(x, float)).rank(), pd.Series(np.asarray(y, float)).rank()
    if rx.nunique() < 2 or ry.nunique() < 2:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def spearman_checks(samples: pd.DataFrame, tolerance: float = TRAJECTORY_TOLERANCE) -> pd.DataFrame:
    """The paper's metrics against the oracle, over the ``tau`` means and over every edited sample:
    CLIP-score change against "every appearance attribute took B's value", flow similarity against
    "motion kept" (direction and trajectory within ``tolerance`` of the clip) and against
    ``-trajectory error``."""
    edits = samples[samples["tau"] > 0].copy()
    appearance = [a for a in world.APPEARANCE if (edits[f"a_{a}"] != edits[f"b_{a}"]).any()]
    edits["appearance_took"] = np.logical_and.reduce(
        [edits[f"read_{a}"] == edits[f"b_{a}"] for a in appearance]) if appearance else np.nan
    edits["motion_kept"] = ((edits["read_direction"] == edits["a_direction"])
                            & (edits["trajectory_error_source_px"] <= tolerance))
    checks = [("clip_change", "appearance_took", 1), ("flow_similarity", "motion_kept", 1),
              ("flow_similarity", "trajectory_error_source_px", -1)]
    by = [c for c in commitment.SETTINGS if c in samples]
    out = []
    for key, g in edits.groupby(by):
        columns = ["clip_change", "flow_similarity", "appearance_took", "motion_kept", "trajectory_error_source_px"]
        means = g.groupby("tau")[columns].mean()
        for metric, truth, sign in checks:
            out.append({**dict(zip(by, key)), "metric": metric, "oracle": ("-" if sign < 0 else "") + truth,
                        "spearman_over_taus": spearman(means[metric], sign * means[truth].astype(float)),
                        "taus": len(means),
                        "spearman_over_samples": spearman(g[metric], sign * g[truth].astype(float)),
                        "samples": len(g)})
    return pd.DataFrame(out)
