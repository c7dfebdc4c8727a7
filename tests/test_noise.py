"""One noise axis: log-SNR of each family's schedule, real (from the twins' published scheduler
configs) and toy (the model's own)."""

import numpy as np
import pandas as pd
import pytest

from motionlib import noise
from motionlib.errors import ParameterError


def test_the_real_schedules_give_the_published_log_snr_at_the_paper_taus():
    """The table in docs/claims.md, against log-SNR computed by hand from the published configs (the
    issue's table, to 0.1 dB): ModelScope linear, Latte scaled-linear, CogVideoX zero-terminal with shifts."""
    table = noise.noise_table((700, 800, 900, 950)).set_index("t").round(1)
    expected = {"modelscope": [-10.5, -14.2, -18.4, -20.8], "latte": [-21.6, -28.2, -35.7, -39.7],
                "cogvideox": [-17.2, -22.4, -30.2, -37.3], "cogvideox-5b": [-12.3, -17.5, -25.3, -32.3]}
    for family, values in expected.items():
        assert table[family].tolist() == values, family


def test_log_snr_falls_with_t_is_minus_infinity_at_a_zero_terminal_end_and_interpolates():
    linear = np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))
    db = noise.log_snr_db(linear, np.arange(1000))
    assert np.all(np.diff(db) < 0)
    assert noise.log_snr_db(linear, 500.25) == pytest.approx(0.75 * db[500] + 0.25 * db[501])
    assert noise.log_snr_db(linear, 1000) == db[999]  # tau 1000: the first sampling step
    assert np.isneginf(noise.log_snr_db(noise.published_schedule("cogvideox"), 999))
    assert np.isnan(noise.log_snr_db(linear, np.nan))
    with pytest.raises(ParameterError, match="timesteps must lie in"):
        noise.log_snr_db(linear, 1001)


def test_claims_get_the_noise_axis_from_each_rows_own_schedule():
    steep, flat = np.linspace(0.999, 0.001, 1000), np.linspace(0.9999, 0.5, 1000)
    commits = pd.DataFrame({"model": ["a", "b"], "commit": [700.0, 700.0], "commit_lo": [600.0, np.nan],
                            "commit_hi": [800.0, 800.0]})
    table = pd.DataFrame({"model": ["a", "a"], "claim": ["motion is decided before appearance",
                                                         "tau* of Fig. 2 lies in 700-900"],
                          "value": [700.0, 800.0], "lo": [600.0, 700.0], "hi": [800.0, 900.0]})
    c, t = noise.claims_with_log_snr(commits, table, {"a": steep, "b": flat})
    assert c["commit_db"].tolist() == [noise.log_snr_db(steep, 700), noise.log_snr_db(flat, 700)]
    assert c.loc[0, "commit_lo_db"] > c.loc[0, "commit_db"] > c.loc[0, "commit_hi_db"]  # later t: less signal
    assert np.isnan(c.loc[1, "commit_lo_db"])
    assert np.isnan(t.loc[0, "value_db"]) and t.loc[1, "value_db"] == noise.log_snr_db(steep, 800)
    with pytest.raises(ParameterError, match="no schedule for b"):
        noise.with_log_snr(commits, {"a": steep})
