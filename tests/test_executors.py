"""Executors: a Ray run of the Fig. 1-2 sweeps writes the same rows as the serial run."""

from __future__ import annotations

import pytest
import torch

from motionlib.data import bundled_dataset
from motionlib.executors import run_units
from motionlib.metrics import tiny_clip_scorer
from motionlib.models import load_model
from motionlib.sweep import SweepSettings, run_videos

ray = pytest.importorskip("ray")
SETTINGS = SweepSettings(num_steps=4, grid=500, num_frames=5, height=32, width=32)


def _sweep(executor: str, cache, monkeypatch):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(cache))
    model = load_model("cogvideox", "tiny")
    rows, counts = run_videos(model, bundled_dataset(), tiny_clip_scorer(), settings=SETTINGS,
                              executor=executor, progress=False)
    return rows, counts


def test_ray_sweeps_equal_the_serial_run(tmp_path, monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers' thread count: CPU kernels then agree to the bit
    try:
        serial, serial_counts = _sweep("serial", tmp_path / "serial", monkeypatch)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"MOTIONLIB_CACHE": str(tmp_path / "ray")}})
        try:
            parallel, counts = _sweep("ray", tmp_path / "ray", monkeypatch)
        finally:
            ray.shutdown()
    finally:
        torch.set_num_threads(threads)
    assert list(parallel["video"].unique()) == [i.name for i in bundled_dataset()]
    assert parallel.to_csv(index=False) == serial.to_csv(index=False)
    assert [c["evaluations"] for c in counts] == [c["evaluations"] for c in serial_counts]
    assert any((tmp_path / "ray").rglob("*.safetensors"))  # the workers wrote into the driver's cache


def _double(x):
    return 2 * x


def test_run_units_keeps_unit_order_and_the_serial_path_needs_no_ray():
    from motionlib.executors import Unit

    units = [Unit(str(i), _double, {"x": i}) for i in range(5)]
    assert run_units(units, "serial", progress=False) == [0, 2, 4, 6, 8]
