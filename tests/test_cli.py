"""The command line: listing, sampling, clear one-line errors, and the reproduce runner."""

import json

import pytest

from motionlib.cli import main
from motionlib.data import count_frames, read_video
from motionlib.errors import ParameterError
from motionlib.reproduce import plan, reproduce


def test_models_lists_the_three_families(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("modelscope", "latte", "cogvideox", "damo-vilab/text-to-video-ms-1.7b"):
        assert name in out


@pytest.mark.parametrize("family", ["modelscope", "latte", "cogvideox"])
def test_sample_writes_a_16_frame_mp4(tmp_path, family, capsys):
    out = tmp_path / f"{family}.mp4"
    assert main(["sample", "--model", family, "--prompt", "a dog runs", "--out", str(out)]) == 0
    assert count_frames(out) == 16
    assert read_video(out, num_frames=16).shape == (16, 64, 64, 3)
    record = json.loads((tmp_path / f"{family}.provenance.json").read_text())
    assert record["tiny_random_weights"] and record["models"][0]["family"] == family
    assert "tiny random model" in capsys.readouterr().out


@pytest.mark.parametrize("argv, fragment", [
    (["sample", "--model", "sora", "--prompt", "x", "--out", "x.mp4"], "unknown model family 'sora'"),
    (["sample", "--model", "latte", "--source", "nope", "--prompt", "x", "--out", "x.mp4"], "unknown source"),
    (["sample", "--model", "latte", "--prompt", "x", "--out", "x.avi"], "must end in .mp4 or .gif"),
    (["sample", "--model", "latte", "--source", "hub", "--prompt", "x", "--out", "x.mp4"], "maxin-cn/Latte-1"),
    (["reproduce", "--only", "no-such-notebook"], "matches no notebook"),
])
def test_bad_input_gives_one_line_error(argv, fragment, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_paper_profile_plans_each_notebook_per_family():
    runs = plan("paper", only=["00_tour"])
    assert [r.name for r in runs] == ["00_tour-modelscope", "00_tour-latte", "00_tour-cogvideox"]
    assert runs[1].parameters["height"] == 512 and runs[1].parameters["source"] == "hub"
    assert [r.name for r in plan("paper", only=["tab5_user_study"])] == ["tab5_user_study"]  # no model
    with pytest.raises(ParameterError):
        plan("fast")


def test_reproduce_runs_a_notebook_and_reports(tmp_path):
    runs = reproduce("smoke", only=["00_tour"], out=tmp_path)
    assert [r.status for r in runs] == ["ok"], runs[0].error
    out = tmp_path / "smoke" / "00_tour"
    for name in ("00_tour.ipynb", "tour_frames.pdf", "tour_frames.png", "tour_frames.provenance.json",
                 "sample.mp4"):
        assert (out / name).exists(), name
    summary = json.loads((tmp_path / "smoke" / "reproduce-summary.json").read_text())
    assert summary[0]["status"] == "ok"
