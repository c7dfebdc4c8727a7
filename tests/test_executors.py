"""Executors: Ray runs of the Fig. 1-2 sweeps and the Tab. 1-4 customizations write the serial run's rows.

Each Ray test starts its own cluster (a local one, or a head and a worker node on the loopback address)
and stops every Ray process it started: ``ray.shutdown()`` for local clusters, the process groups of
``ray start``, and at the end any Ray process still alive that was not there before the test, by its id.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import torch

from motionlib.customize import CustomizeSettings
from motionlib.data import bundled_dataset
from motionlib.evaluation import EvalSettings, Method, evaluate
from motionlib.errors import ParameterError
from motionlib.executors import Unit, run_units
from motionlib.metrics import tiny_clip_scorer, tiny_pick_scorer
from motionlib.models import load_model
from motionlib.sweep import SweepSettings, run_videos

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray
FAMILY = "cogvideox"
SWEEP = SweepSettings(num_steps=4, grid=500, num_frames=5, height=32, width=32)
SMALL = dict(num_frames=5, height=32, width=32)
EVAL = EvalSettings(edit_kinds=("object",), num_samples=1, num_steps=4, **SMALL)
METHODS = [Method("base", CustomizeSettings(tau=1000, **SMALL)),
           Method("ours", CustomizeSettings(tau=700, train_steps=3, **SMALL)),
           Method("ours again", CustomizeSettings(tau=700, train_steps=3, **SMALL)),  # shares the adapter
           Method("all timesteps", CustomizeSettings(tau=0, train_steps=3, **SMALL))]


def _ray_pids() -> set[int]:
    found = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "ray::" in cmd or "/ray/" in cmd or "raylet" in cmd or "gcs_server" in cmd:
            found.add(proc.info["pid"])
    return found


@pytest.fixture(autouse=True)
def no_ray_process_left(request):
    """Every Ray process a test started is gone after it: leftovers are killed by pid and reported."""
    before = _ray_pids()
    yield
    deadline = time.monotonic() + 1  # (processes that are shutting down get a second)
    while (left := _ray_pids() - before - {os.getpid()}) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, f"Ray processes left running (now killed): {sorted(left)}"


@pytest.fixture
def one_thread():
    """The workers' thread count in the driver too: CPU kernels then agree to the bit."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _runs(executor: str, cache: Path, monkeypatch, address: str | None = None, customize: bool = True):
    """The sweeps and (with ``customize``) the customizations of the bundled videos, as CSV text."""
    monkeypatch.setenv("MOTIONLIB_CACHE", str(cache))
    model = load_model(FAMILY, "tiny")
    sweeps, counts = run_videos(model, bundled_dataset(), tiny_clip_scorer(), settings=SWEEP,
                                executor=executor, address=address, progress=False)
    out = {"sweep": sweeps.to_csv(index=False), "evaluations": [c["evaluations"] for c in counts]}
    if customize:
        rows = evaluate(model, bundled_dataset(), METHODS, tiny_clip_scorer(), tiny_pick_scorer(), EVAL,
                        executor=executor, address=address, progress=False).rows
        out["customization"] = rows.to_csv(index=False)
    return out


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The serial run, once for the module (one thread)."""
    monkeypatch = pytest.MonkeyPatch()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _runs("serial", tmp_path_factory.mktemp("serial"), monkeypatch)
    finally:
        torch.set_num_threads(threads)
        monkeypatch.undo()


def test_a_two_worker_ray_run_equals_the_serial_run(serial, tmp_path, monkeypatch, one_thread):
    cache = tmp_path / "ray"
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"MOTIONLIB_CACHE": str(cache), "OMP_NUM_THREADS": "1"}})
    try:
        parallel = _runs("ray", cache, monkeypatch)
        with pytest.raises(ParameterError, match="num_samples must be"):  # a unit's error reaches the driver
            run_units([Unit("bad", EvalSettings, {"num_samples": 0})], "ray", progress=False)
    finally:
        ray.shutdown()
    assert parallel == serial  # the sweep CSV, evaluation counts and customization CSV, to the byte
    assert len(list((cache / "adapters").iterdir())) == 3 * 3  # 3 adapters per video: two methods share one
    assert len(serial["customization"].splitlines()) == 1 + 3 * len(METHODS)


def _finished_files(cache: Path) -> dict[str, tuple[int, int]]:
    """Every complete tensor file in the cache, with its inode and modification time."""
    return {str(p): (p.stat().st_ino, p.stat().st_mtime_ns) for p in cache.rglob("*.safetensors")
            if not p.name.startswith(".")}


def _kill_a_busy_worker(cache: Path, killed: list, snapshot: dict, timeout: float = 300) -> None:
    """Once the run has written results, SIGKILL one worker in the middle of a unit (a lost machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _finished_files(cache):
            for proc in psutil.process_iter(["pid", "cmdline"]):
                if (proc.info["cmdline"] or [""])[0].startswith("ray::_run_unit"):
                    snapshot.update(_finished_files(cache))
                    proc.kill()
                    killed.append(proc.info["pid"])
                    return
        time.sleep(0.02)


def test_a_worker_killed_mid_run_loses_nothing(serial, tmp_path, monkeypatch, one_thread):
    cache = tmp_path / "ray"
    killed, snapshot = [], {}
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"MOTIONLIB_CACHE": str(cache), "OMP_NUM_THREADS": "1"}})
    killer = threading.Thread(target=_kill_a_busy_worker, args=(cache, killed, snapshot), daemon=True)
    try:
        killer.start()
        parallel = _runs("ray", cache, monkeypatch, customize=False)
    finally:
        ray.shutdown()
    assert len(killed) == 1, "no worker was caught in the middle of a unit"
    assert parallel["sweep"] == serial["sweep"]  # the run completed, with the serial rows
    after = _finished_files(cache)
    assert snapshot and all(after.get(path) == stat for path, stat in snapshot.items())  # nothing redone


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"no Ray head on 127.0.0.1:{port} after {timeout} s")


def test_a_two_node_loopback_cluster_gives_the_serial_result(serial, tmp_path, monkeypatch, one_thread):
    ray_bin = str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    cache = tmp_path / "ray"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MOTIONLIB_CACHE": str(cache),
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}  # (a loopback test cluster: no token)
    common = ["--block", "--num-cpus=1", "--include-dashboard=false", "--disable-usage-stats"]
    head = subprocess.Popen([ray_bin, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", *common],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nodes = [head]
    try:
        _wait_for_port(port)
        nodes.append(subprocess.Popen([ray_bin, "start", f"--address=127.0.0.1:{port}",
                                       "--node-ip-address=127.0.0.1", *common[:2], "--disable-usage-stats"],
                                      env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        ray.init(address=f"127.0.0.1:{port}", log_to_driver=False)
        try:
            deadline = time.monotonic() + 60
            while sum(n["Alive"] for n in ray.nodes()) < 2 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert sum(n["Alive"] for n in ray.nodes()) == 2  # a head and a worker node
        finally:
            ray.shutdown()
        # the driver is `motionlib sweep` in its own process, as a user runs it on a cluster's head
        out = tmp_path / "out"
        cli = subprocess.run(
            [str(Path(sys.executable).with_name("motionlib")), "sweep", "--model", FAMILY, "--source", "tiny", "--videos", "bundled",
             "--steps", str(SWEEP.num_steps), "--grid", str(SWEEP.grid), "--frames", str(SWEEP.num_frames),
             "--height", str(SWEEP.height), "--width", str(SWEEP.width), "--executor", "ray",
             "--address", f"127.0.0.1:{port}", "--out", str(out)],
            env=env, capture_output=True, text=True, timeout=600)
        assert cli.returncode == 0, cli.stderr[-2000:]
        rows = pd.read_csv(out / "sweep.csv").drop(columns="label")
        assert rows.to_csv(index=False) == serial["sweep"]
    finally:
        for proc in reversed(nodes):  # every process the test started, by its process group
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        for proc in nodes:  # (`ray start --block` can take half a minute to stop on SIGTERM: 5 s in all)
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        current = Path("/tmp/ray/ray_current_cluster")  # what `ray start --head` left for `address="auto"`
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()


def _free_loopback_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_address_where_no_cluster_listens_is_a_prompt_one_line_error():
    """ray.init retries such an address for minutes; motionlib asks the port first and names it."""
    address = f"127.0.0.1:{_free_loopback_port()}"
    start = time.monotonic()
    with pytest.raises(ParameterError) as err:
        run_units([Unit("u", int, {})], "ray", address=address, progress=False)
    assert time.monotonic() - start < 30
    message = str(err.value)
    assert address in message and "ray start --head" in message and len(message.splitlines()) == 1
    with pytest.raises(ParameterError, match="HOST:PORT"):
        run_units([Unit("u", int, {})], "ray", address="no-port-here", progress=False)
