"""The Fig. 2 study for one video: tidy rows, caching, and resuming an interrupted sweep."""

import numpy as np
import pandas as pd
import pytest

from motionlib.cli import main
from motionlib.data import bundled_dataset, read_video, write_video
from motionlib.metrics import tiny_clip_scorer
from motionlib.sweep import SweepSettings, run_sweep

from conftest import tiny

SETTINGS = SweepSettings(num_steps=6, grid=250, num_frames=9, height=32, width=32)


@pytest.fixture
def clip_path(tmp_path):
    """A real clip that is not one of the bundled files (re-encoded, 20 frames at 48x48)."""
    item = bundled_dataset()[1]
    return write_video(tmp_path / "skier.mp4", read_video(item.path, 20, (48, 48)))


def test_rows_are_tidy_and_metrics_finite(clip_path):
    result = run_sweep(tiny("cogvideox"), clip_path, "a man is skiing", "a robot is skiing",
                       tiny_clip_scorer(), settings=SETTINGS, cache=False, progress=False)
    rows = result.rows
    assert len(rows) == 11 and rows["video"].eq("skier").all()
    no_edit = rows.iloc[0]  # the reference row comes first: c at every step
    assert (no_edit["tau_start"], no_edit["tau_end"], no_edit["edit_steps"]) == (0, 0, 0)
    assert no_edit["clip_change_vs_no_edit"] == 0.0
    np.testing.assert_allclose(rows["clip_change_vs_no_edit"], rows["clip_edit"] - no_edit["clip_edit"])
    assert rows["flow_similarity_vs_no_edit"].between(-1, 1).all()
    assert {"model", "video", "tau_start", "tau_end", "clip_change", "flow_similarity"} <= set(rows)
    assert np.isfinite(rows[["clip_change", "flow_similarity"]].to_numpy()).all()
    assert rows["flow_similarity"].between(-1, 1).all()
    np.testing.assert_allclose(rows["clip_change"], rows["clip_edit"] - rows["clip_source"])
    # Fig. 2's CLIP score change is CLIP(edited, c') - CLIP(source, c'): the source's score, by the scorer directly
    assert rows["clip_source"].iloc[0] == pytest.approx(tiny_clip_scorer().score(result.source_video, "a robot is skiing"))
    assert result.counts["evaluations"] == result.counts["shared_formula"] < result.counts["naive"]


def test_interrupted_sweep_resumes_without_recomputing(clip_path, tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path / "cache"))
    model, scorer = tiny("cogvideox"), tiny_clip_scorer()
    args = (model, clip_path, "a man is skiing", "a robot is skiing", scorer)
    reference = run_sweep(*args, settings=SETTINGS, cache=False, progress=False)

    original, passes = model._denoise, {"n": 0}

    def interrupting(*a, **kw):  # Ctrl-C in the last of the 5 steps (6 steps, the first not invertible)
        passes["n"] += 1
        if passes["n"] == 5 + 5:  # the inversion's 5 passes, 4 sweep steps, then the 5th step's pass
            raise KeyboardInterrupt
        return original(*a, **kw)

    monkeypatch.setattr(model, "_denoise", interrupting)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(*args, settings=SETTINGS, progress=False)
    monkeypatch.setattr(model, "_denoise", original)

    resumed = run_sweep(*args, settings=SETTINGS, progress=False)
    assert resumed.counts["resumed_at_step"] == 4
    assert 0 < resumed.counts["evaluations"] < reference.counts["evaluations"]
    assert resumed.counts["passes"] == 1  # the step left
    pd.testing.assert_frame_equal(resumed.rows, reference.rows, rtol=1e-4)

    again = run_sweep(*args, settings=SETTINGS, progress=False)
    assert again.counts["evaluations"] == 0 and again.counts["windows_from_cache"] == 11
    pd.testing.assert_frame_equal(again.rows, resumed.rows)
    assert not list((tmp_path / "cache").rglob("progress-*"))  # the checkpoint goes once the windows are saved


def test_cache_key_changes_with_the_video_content(clip_path, tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path / "cache"))
    model, scorer = tiny("cogvideox"), tiny_clip_scorer()
    run_sweep(model, clip_path, "a", "b", scorer, settings=SETTINGS, progress=False)
    flipped = write_video(tmp_path / "flipped.mp4", read_video(clip_path, None)[:, :, ::-1].copy())
    other = run_sweep(model, flipped, "a", "b", scorer, settings=SETTINGS, progress=False)
    assert other.counts["windows_from_cache"] == 0 and other.counts["evaluations"] > 0


def test_cli_sweep_writes_55_rows(clip_path, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["sweep", "--model", "latte", "--source", "tiny", "--video", str(clip_path), "--caption", "a man is skiing",
            "--edit", "a robot is skiing", "--steps", "10", "--out", str(out)]
    assert main(argv) == 0
    rows = pd.read_csv(out / "sweep.csv")
    assert len(rows) == 56 and rows["flow_similarity"].between(-1, 1).all()
    assert np.isfinite(rows["clip_change"]).all() and rows["label"].str.contains("TINY").all()
    assert (out / "sweep.provenance.json").exists()
    assert main(argv) == 0  # a second run reads every window back
    assert "55 windows and the no-edit reference" in (said := capsys.readouterr().out)
    assert "56 of 56 from cache" in said
    pd.testing.assert_frame_equal(pd.read_csv(out / "sweep.csv"), rows)


def test_cli_sweep_on_a_missing_video_is_one_line(tmp_path, capsys):
    argv = ["sweep", "--model", "latte", "--video", str(tmp_path / "none.mp4"), "--caption", "a",
            "--edit", "b", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "video not found" in capsys.readouterr().err
