"""One noise axis for every family: a timestep ``t`` as its schedule's log signal-to-noise ratio.

The families use different schedules, so the same ``t`` is a different noise level in each. At
timestep ``t`` the noised latent is ``sqrt(a_t) x0 + sqrt(1 - a_t) eps`` (``a_t`` the scheduler's
``alphas_cumprod[t]``), so its signal-to-noise ratio is ``a_t / (1 - a_t)``; :func:`log_snr_db` gives
``10 log10`` of it, in dB (0 dB: as much signal as noise; ``-inf`` where a zero-terminal-SNR schedule
ends). Fractional timesteps (commitment times, interval ends) are interpolated linearly in log-SNR
between the integer timesteps around them.

- :func:`schedule` ``(scheduler) -> alphas_cumprod`` of a loaded model's scheduler (toy models have
  their own);
- :func:`published_schedule` ``(family)``: the real checkpoint's, built from the scheduler config the
  twin publishes (``Family.checkpoint.scheduler_config``, what the hub folder holds);
- :func:`noise_table`: log-SNR at given timesteps for the real families (docs/claims.md's table);
- :func:`with_log_snr`: adds the dB columns beside every commitment time of a claims table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from motionlib import families
from motionlib.errors import ParameterError


def schedule(scheduler) -> np.ndarray:
    """``alphas_cumprod`` of a diffusers scheduler, float64, indexed by timestep (0 .. T-1)."""
    return np.asarray(scheduler.alphas_cumprod, dtype=np.float64)


def published_schedule(family: str) -> np.ndarray:
    """The real checkpoint's ``alphas_cumprod``, from the scheduler class and config that the family's
    twin publishes (its ``scheduler/scheduler_config.json``)."""
    import diffusers

    checkpoint = families.get(family).checkpoint
    if checkpoint is None:
        raise ParameterError(f"{family} has no published checkpoint layout (Family.checkpoint): no real schedule")
    config = {k: v for k, v in checkpoint.scheduler_config.items() if not k.startswith("_")}
    return schedule(getattr(diffusers, checkpoint.scheduler_class).from_config(config))


def log_snr_db(alphas: np.ndarray, t) -> np.ndarray | float:
    """``10 log10(a_t / (1 - a_t))`` at timestep(s) ``t`` in [0, T] (interpolated between integers;
    ``t = T``, the start of sampling as a tau, is the first step's ``T - 1``; NaN for a NaN ``t``;
    ``-inf`` where ``a_t`` is 0)."""
    alphas = np.asarray(alphas, dtype=np.float64)
    with np.errstate(divide="ignore"):
        db = 10 * np.log10(alphas / (1 - alphas))
    tt = np.asarray(t, dtype=np.float64)
    if np.any((tt < 0) | (tt > len(alphas))):
        raise ParameterError(f"timesteps must lie in [0, {len(alphas)}], got {t!r}")
    tt = np.minimum(tt, len(alphas) - 1)
    lo = np.floor(np.nan_to_num(tt)).astype(int)
    hi = np.minimum(lo + 1, len(alphas) - 1)
    w = np.nan_to_num(tt) - lo
    with np.errstate(invalid="ignore"):  # -inf x 0 at the last timestep
        out = np.where(w == 0, db[lo], (1 - w) * db[lo] + w * db[hi])
    out = np.where(np.isnan(tt), np.nan, out)
    return float(out) if np.ndim(out) == 0 else out


def noise_table(timesteps=(700, 800, 900, 950), names: list[str] | None = None) -> pd.DataFrame:
    """Log-SNR (dB) of the real schedules at ``timesteps``: one row per timestep, one column per family
    (default: every registered family with a published checkpoint, in registry order)."""
    names = names or [n for n in families.names() if families.get(n).checkpoint is not None]
    return pd.DataFrame({"t": list(timesteps),
                         **{n: [log_snr_db(published_schedule(n), t) for t in timesteps] for n in names}})


def with_log_snr(table: pd.DataFrame, schedules: dict[str, np.ndarray], columns=("commit", "commit_lo", "commit_hi"),
                 model: str = "model") -> pd.DataFrame:
    """``table`` with ``<column>_db`` beside each timestep column, from the schedule of each row's
    ``model`` (``schedules[name]``). A rows' interval keeps its order in t; in dB it reverses (a later t is
    less signal), so ``commit_lo_db`` is the dB of ``commit_lo`` and lies above ``commit_hi_db``."""
    missing = sorted(set(table[model]) - set(schedules))
    if missing:
        raise ParameterError(f"no schedule for {', '.join(missing)}: pass each model's noise.schedule(model.scheduler)")
    out = table.copy()
    for column in columns:  # one vectorized call per model (log_snr_db keeps NaN as NaN)
        out[f"{column}_db"] = np.nan
        for name, rows in out.groupby(model).groups.items():
            out.loc[rows, f"{column}_db"] = log_snr_db(schedules[name], out.loc[rows, column].to_numpy(float))
    return out


def claims_with_log_snr(commits: pd.DataFrame, table: pd.DataFrame,
                        schedules: dict[str, np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The claims' commitment table and claims table (``toyworld.criteria.evaluate``) with the noise
    axis beside t: ``commit_db``, ``commit_lo_db``, ``commit_hi_db`` for every commitment time, and
    ``value_db``, ``lo_db``, ``hi_db`` on the tau* rows (the other claims judge no timestep: NaN)."""
    from motionlib.toyworld.criteria import CLAIMS

    commits = with_log_snr(commits, schedules)
    table = table.copy()
    star = table["claim"] == CLAIMS[1]
    for column in ("value", "lo", "hi"):
        table[f"{column}_db"] = np.nan
        if star.any():
            table.loc[star, f"{column}_db"] = with_log_snr(table[star], schedules, (column,))[f"{column}_db"]
    return commits, table


def paper_taus_db(names=("modelscope", "latte", "cogvideox")) -> dict[str, float]:
    """``{"<family> tau <its paper tau> (real)": dB}``: the paper's best tau of each family on its real
    schedule (:func:`published_schedule`), for reference lines."""
    out = {}
    for name in names:
        tau = families.get(name).paper_best_tau
        out[f"{name} tau {tau} (real)"] = log_snr_db(published_schedule(name), tau)
    return out
