"""Known answers for the trade-off analysis."""

import numpy as np
import pandas as pd

from motionlib.analysis import aggregate, bootstrap_ci, pareto_front, threshold


def test_pareto_front_equals_brute_force():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=40), rng.normal(size=40)
    naive = [not any(x[j] >= x[i] and y[j] >= y[i] and (x[j] > x[i] or y[j] > y[i]) for j in range(40))
             for i in range(40)]
    assert pareto_front(x, y).tolist() == naive


def test_threshold_picks_the_knee():
    # Editing grows with tau_start; motion is kept until 700 and then collapses: the knee is 700.
    tau = np.arange(100, 1001, 100)
    clip = tau / 100.0
    flow = np.where(tau <= 700, 0.9 - 0.01 * tau / 100, 0.1)
    assert threshold(pd.DataFrame({"tau_start": tau, "clip_change": clip, "flow_similarity": flow})) == 700


def test_bootstrap_interval_contains_the_mean_and_is_seeded():
    values = np.random.default_rng(1).normal(3.0, 1.0, size=50)
    lo, hi = bootstrap_ci(values, seed=4)
    assert lo < values.mean() < hi and hi - lo < 1.0
    assert bootstrap_ci(values, seed=4) == (lo, hi)
    assert bootstrap_ci([2.0]) == (2.0, 2.0)


def test_aggregate_means_per_group():
    rows = pd.DataFrame({"video": ["a", "b", "a", "b"], "tau_start": [100, 100, 200, 200],
                         "m": [1.0, 3.0, 5.0, 9.0]})
    agg = aggregate(rows, ["tau_start"], ["m"], n_boot=100)
    assert agg["m"].tolist() == [2.0, 7.0] and agg["n_videos"].tolist() == [2, 2]
    assert (agg["m_lo"] <= agg["m"]).all() and (agg["m"] <= agg["m_hi"]).all()


def test_aggregate_weighs_every_video_the_same():
    # Video a has three rows, b one: the mean over videos is (mean(a) + b) / 2, not the row mean.
    rows = pd.DataFrame({"video": ["a", "a", "a", "b"], "tau_start": [100] * 4, "m": [0.0, 0.0, 3.0, 5.0]})
    agg = aggregate(rows, ["tau_start"], ["m"], n_boot=100)
    assert agg["m"].tolist() == [3.0] and agg["n_videos"].tolist() == [2]


def _sweep_rows(knees, seed=0):
    """Per-video curves whose knee (the tau* of test_threshold_picks_the_knee) is ``knees[v]``."""
    rng = np.random.default_rng(seed)
    rows = []
    for v, knee in enumerate(knees):
        for tau in range(100, 1001, 100):
            rows.append({"video": f"v{v}", "tau_start": tau, "tau_end": 0, "clip_change": tau / 100.0,
                         "flow_similarity": (0.9 - 0.0001 * tau if tau <= knee else 0.1) + rng.normal(0, 0.0005)})
        rows.append({"video": f"v{v}", "tau_start": 0, "tau_end": 0, "clip_change": 0.0, "flow_similarity": 1.0})
    return pd.DataFrame(rows)


def test_tradeoff_leaves_out_the_no_edit_row_and_tau_star_gets_an_interval():
    from motionlib.analysis import no_edit_row, threshold_interval, tradeoff

    same = _sweep_rows([700] * 8)
    curve, tau_star = tradeoff(aggregate(same, ["tau_start", "tau_end"], ["clip_change", "flow_similarity"], n_boot=50))
    assert tau_star == 700 and 0 not in curve["tau_start"].tolist() and len(no_edit_row(same)) == 8
    assert threshold_interval(same, n_boot=200) == (700, 700)
    mixed = _sweep_rows([500, 600, 700, 800, 500, 600, 700, 800])
    lo, hi = threshold_interval(mixed, n_boot=200)
    assert lo < hi and 500 <= lo and hi <= 800
