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


def _flaky(x: int, marker: str) -> int:
    """Unit 2 kills its worker process the first time it runs; every run is logged."""
    import os
    from pathlib import Path

    log = Path(f"{marker}.{x}.runs")
    log.write_text((log.read_text() if log.exists() else "") + "x")
    if x == 2 and not Path(marker).exists():
        Path(marker).write_text("killed")
        os._exit(1)  # the worker dies mid-run, as a lost machine would
    return 2 * x


def test_a_killed_worker_is_retried_and_nothing_finished_reruns(tmp_path):
    import sys

    from motionlib.executors import Unit

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = str(tmp_path / "marker")
    units = [Unit(str(i), _flaky, {"x": i, "marker": marker}) for i in range(5)]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert run_units(units, "ray", progress=False) == [0, 2, 4, 6, 8]
    finally:
        ray.shutdown()
    runs = {i: (tmp_path / f"marker.{i}.runs").read_text() for i in range(5)}
    assert runs == {0: "x", 1: "x", 2: "xx", 3: "x", 4: "x"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_two_node_loopback_cluster_gives_the_serial_result(tmp_path, monkeypatch):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    ray_bin = str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MOTIONLIB_CACHE": str(tmp_path / "ray"),
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}  # (a loopback test cluster: no token)
    common = ["--block", "--num-cpus=1", "--include-dashboard=false", "--disable-usage-stats"]
    head = subprocess.Popen([ray_bin, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", *common],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nodes = [head]
    try:
        time.sleep(8)
        nodes.append(subprocess.Popen([ray_bin, "start", f"--address=127.0.0.1:{port}",
                                       "--node-ip-address=127.0.0.1", *common[:2], "--disable-usage-stats"],
                                      env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        time.sleep(6)
        ray.init(address=f"127.0.0.1:{port}", log_to_driver=False)
        try:
            assert sum(n["Alive"] for n in ray.nodes()) == 2  # a head and a worker node
        finally:
            ray.shutdown()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            serial, _ = _sweep("serial", tmp_path / "serial", monkeypatch)
            monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path / "ray"))
            model = load_model("cogvideox", "tiny")
            parallel, _ = run_videos(model, bundled_dataset(), tiny_clip_scorer(), settings=SETTINGS,
                                     executor="ray", address=f"127.0.0.1:{port}", progress=False)
        finally:
            torch.set_num_threads(threads)
        assert parallel.to_csv(index=False) == serial.to_csv(index=False)
    finally:
        for proc in reversed(nodes):  # every process the test started, by its process group
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in nodes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
