"""The executors' serial path and their checks, which need no Ray: this module runs where Ray is not
installed (tests/test_executors.py, the Ray runs, is skipped there)."""

from __future__ import annotations

import sys

import pytest

from motionlib.data import bundled_dataset
from motionlib.errors import ParameterError
from motionlib.executors import Unit, run_units


@pytest.fixture
def no_ray(monkeypatch):
    """`import ray` fails, as without the extra."""
    monkeypatch.setitem(sys.modules, "ray", None)


def test_run_units_keeps_unit_order_and_the_serial_path_needs_no_ray(no_ray):
    units = [Unit(str(i), _double, {"x": i}) for i in range(5)]
    assert run_units(units, "serial", progress=False, shared={"factor": 3}) == [0, 3, 6, 9, 12]


def _double(x, factor=2):
    return factor * x


def test_a_worker_that_cannot_see_the_cache_says_so(tmp_path):
    from motionlib.executors import CacheNotSharedError, _run_unit

    with pytest.raises(CacheNotSharedError, match="MOTIONLIB_CACHE on storage that every machine"):
        _run_unit(_double, {"x": 1}, {}, str(tmp_path / "executor" / "driver.token"), 1)  # (no such token here)
    assert run_units([Unit("1", _double, {"x": 1})], "serial", progress=False) == [2]


def test_negative_gpu_or_cpu_counts_are_refused():
    from motionlib.executors import gpus_per_unit

    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ParameterError, match="--num-gpus"):
            gpus_per_unit("cpu", bad)
    assert gpus_per_unit("cpu", 0.5) == 0.5 and gpus_per_unit("cpu", None) == 0.0
    with pytest.raises(ParameterError, match="--num-cpus"):
        run_units([Unit("u", int, {})], "serial", num_cpus=0, progress=False)


def test_a_single_video_sweep_refuses_the_scale_out_options(tmp_path, capsys):
    from motionlib.cli import main

    video = bundled_dataset()[0]
    code = main(["sweep", "--model", "modelscope", "--video", str(video.path), "--caption", video.caption,
                 "--edit", video.edit("object"), "--executor", "ray", "--num-gpus", "-1",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "--executor ray" in err and "--num-gpus" in err and "--videos" in err
    assert not (tmp_path / "out").exists()
