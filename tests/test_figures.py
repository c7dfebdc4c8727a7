"""`motionlib figures`: every figure redrawn from the inputs it recorded, with no model, in a new style."""

import json

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from motionlib import analysis, figures, plotting  # noqa: E402
from motionlib.cli import main  # noqa: E402
from motionlib.errors import ParameterError, ResultsNotFoundError  # noqa: E402

REC = {"what": "test", "models": [{"family": "modelscope", "source": "toy", "toy_world": True}],
       "label": "TOY WORLD: test"}


def _pixels(path):
    return np.asarray(Image.open(path).convert("RGB"))


def _summary():
    d = {"tau": [1000, 700, 0]}
    for m in ("text_alignment", "temporal_consistency", "pick_score"):
        d[m] = [20.0, 22.0, 21.0]
        d[m + "_lo"], d[m + "_hi"] = [19.0, 21.0, 20.0], [21.0, 23.0, 22.0]
    return pd.DataFrame(d)


def _tradeoff():
    rng = np.random.default_rng(0)
    rows = [{"model": "m", "video": v, "tau_start": a, "tau_end": b, "clip_change": (a - b) / 100 + rng.normal(0, .2),
             "flow_similarity": 1 - a / 1200 + rng.normal(0, .02)}
            for v in range(3) for a in range(0, 1001, 250) for b in range(0, a + 1, 250)]
    return analysis.summarize_tradeoff(pd.DataFrame(rows), n_boot=50)


@pytest.fixture
def profile(tmp_path):
    """A profile folder with four recorded figures of unlike inputs (tables, frames, tuple keys, a dataclass)."""
    plotting.use_style()  # as every notebook draws
    run = tmp_path / "smoke" / "run"
    videos = [np.random.default_rng(i).integers(0, 255, (16, 12, 12, 3), dtype=np.uint8) for i in range(2)]
    curves = pd.DataFrame({"model": "m", "protocol": "p", "attribute": "direction", "tau": [1000, 500, 0],
                           "follows_a": [0.0, 0.6, 1.0]})
    commits = pd.DataFrame({"model": ["m"], "protocol": ["p"], "attribute": ["direction"], "testable": [True],
                            "commit": [600.0], "commit_lo": [550.0], "commit_hi": [650.0]})
    figures.draw(run, "panels", REC, "metric_panels", summary=_summary(), x="tau", xlabel="tau")
    figures.draw(run, "strips", REC, "frame_rows", videos=videos, labels=["a", "b"], num_frames=4,
                 motions=["left", None])
    figures.draw(run, "curves", REC, "follow_curves", curves=curves, commits=commits, models=["m"], protocols=["p"],
                 verdicts={("m", "p"): "pass"})
    figures.draw(run, "fig2", REC, "tradeoff_figure", tradeoffs={"modelscope": _tradeoff()})
    return tmp_path / "smoke"


def test_a_redraw_in_the_same_style_gives_the_same_figure_and_keeps_only_shown_frames(profile):
    run = profile / "run"
    before = {p.name: _pixels(p) for p in run.glob("*.png")}
    assert np.load(run / "strips.inputs.npz", allow_pickle=False)["a0"].shape == (4, 12, 12, 3)  # 4 of 16 frames
    done, others, seconds = figures.redraw(profile)
    assert sorted(p.name for p in done) == sorted(before) and others == [] and not any(done.values())
    for name, pixels in before.items():
        assert np.array_equal(_pixels(run / name), pixels), name


def test_a_new_width_and_style_redraw_every_figure_and_bad_ones_change_nothing(profile, tmp_path, capsys):
    run = profile / "run"
    widths = {p.name: Image.open(p).size[0] for p in run.glob("*.png")}
    assert main(["figures", "--figures", str(tmp_path), "--profile", "smoke", "--width", "single"]) == 0
    out = capsys.readouterr().out  # every figure's verdict, even under test (where a failing save raises)
    assert "redrew 4 figures" in out and out.count(": figure check ") == 4
    assert all(Image.open(run / n).size[0] < w for n, w in widths.items() if n != "strips.png")
    stamp = {p: p.stat().st_mtime_ns for p in run.glob("*.png")}
    bad = tmp_path / "bad.mplstyle"
    bad.write_text("font.size: big\n")
    for style in (bad, tmp_path / "absent.mplstyle"):
        assert main(["figures", "--figures", str(tmp_path), "--profile", "smoke", "--style", str(style)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(style) in err
    assert {p: p.stat().st_mtime_ns for p in run.glob("*.png")} == stamp  # refused before any figure was drawn
    assert main(["figures", "--figures", str(tmp_path), "--profile", "toy"]) == 2
    assert "make reproduce PROFILE=toy" in capsys.readouterr().err


def test_a_redraw_loads_no_model_and_calls_only_plotting_functions(profile, monkeypatch):
    from motionlib.models import loading

    monkeypatch.setattr(loading, "load_model", lambda *a, **k: pytest.fail("a redraw loaded a model"))
    assert len(figures.redraw(profile)[0]) == 4
    recipe = profile / "run" / "panels.inputs.json"
    spec = json.loads(recipe.read_text())
    recipe.write_text(json.dumps({**spec, "function": "savefig"}))
    with pytest.raises(ParameterError, match="not a figure function"):
        figures.redraw_one(recipe)
    with pytest.raises(ParameterError, match="cannot be recorded"):
        figures.draw(profile / "x", "y", REC, "metric_panels", summary=object())
    with pytest.raises(ResultsNotFoundError):
        figures.redraw(profile / "nothing")
