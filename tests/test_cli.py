"""The command line: listing, sampling, clear one-line errors, and the reproduce runner."""

import json
from pathlib import Path

import pytest

from motionlib import provenance
from motionlib.cli import main
from motionlib.data import count_frames, read_video
from motionlib.errors import ParameterError
from motionlib.reproduce import _expected_seconds, cores, lanes, notebook_parameters, plan, reproduce, uses_ray


def test_models_lists_the_three_families(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("modelscope", "latte", "cogvideox", "damo-vilab/text-to-video-ms-1.7b"):
        assert name in out
    rows = {line.split()[0]: line for line in out.splitlines()[1:5]}
    assert rows["modelscope"].endswith("toy, toy:modelscope-free") and rows["latte"].endswith("toy, toy:latte-free")
    assert rows["cogvideox-5b"].endswith(" -")  # no toy model ships for it


@pytest.mark.parametrize("family", ["modelscope", "latte", "cogvideox"])
def test_sample_writes_a_16_frame_mp4(tmp_path, family, capsys):
    out = tmp_path / f"{family}.mp4"
    assert main(["sample", "--model", family, "--source", "tiny", "--prompt", "a dog runs", "--out", str(out)]) == 0
    assert count_frames(out) == 16
    assert read_video(out, num_frames=16).shape == (16, 64, 64, 3)
    record = json.loads((tmp_path / f"{family}.provenance.json").read_text())
    assert record["tiny_random_weights"] and record["models"][0]["family"] == family
    assert provenance.TINY_LABEL in capsys.readouterr().out


def test_without_a_source_commands_use_the_shipped_toy_model(tmp_path, capsys):
    out = tmp_path / "toy.mp4"
    assert main(["sample", "--model", "latte", "--prompt", "a red square moves right on a gray background",
                 "--steps", "2", "--out", str(out)]) == 0
    record = json.loads((tmp_path / "toy.provenance.json").read_text())
    assert record["toy_world"] and not record["tiny_random_weights"] and record["models"][0]["source"] == "toy"
    assert read_video(out, num_frames=None).shape[1:3] == (32, 32) and provenance.TOY_LABEL in capsys.readouterr().out
    # A family without a shipped toy model names the sources to choose from, in one line.
    assert main(["sample", "--model", "cogvideox-5b", "--prompt", "x", "--out", str(tmp_path / "x.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no toy model ships for cogvideox-5b" in err and "--source" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("argv, fragment", [
    (["sample", "--model", "sora", "--prompt", "x", "--out", "x.mp4"], "unknown model family 'sora'"),
    (["sample", "--model", "latte", "--source", "nope", "--prompt", "x", "--out", "x.mp4"], "unknown source"),
    (["sample", "--model", "latte", "--prompt", "x", "--out", "x.avi"], "must end in .mp4 or .gif"),
    (["sample", "--model", "latte", "--source", "hub", "--prompt", "x", "--out", "x.mp4"], "maxin-cn/Latte-1"),
    (["reproduce", "--only", "no-such-notebook"], "matches no notebook"),
    (["sample", "--model", "modelscope", "--prompt", "x", "--frames", "0", "--out", "x.mp4"],
     "num_frames (--frames) must be a positive integer, got 0"),
    (["sample", "--model", "modelscope", "--prompt", "x", "--steps", "-3", "--out", "x.mp4"],
     "num_steps (--steps) must be a positive integer, got -3"),
    (["sample", "--model", "latte", "--prompt", "x", "--steps", "1001", "--out", "x.mp4"], "from 1 to 1000"),
    (["sample", "--model", "latte", "--prompt", "x", "--guidance", "nan", "--out", "x.mp4"], "finite number >= 0"),
    (["sweep", "--model", "latte", "--video", "v.mp4", "--caption", "c", "--edit", "e", "--frames", "0",
      "--out", "sweep"], "(--frames) must be a positive integer"),
    (["customize", "--model", "latte", "--video", "v.mp4", "--caption", "c", "--steps", "-3", "--out", "ad"],
     "train_steps must be an integer >= 1, got -3"),
    (["sample", "--model", "latte", "--prompt", "x", "--device", "gpu0", "--out", "x.mp4"], "not a device torch knows"),
])
def test_bad_input_gives_one_line_error(argv, fragment, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir()), "a refused command wrote output"


def _no_work(monkeypatch):
    """Make loading a model, inverting a video or sampling a claim fail the test if anything tries."""
    import motionlib.models
    import motionlib.sweep
    from motionlib.toyworld import claim

    def refuse(*args, **kwargs):
        raise AssertionError("work was started before the bad input was refused")

    monkeypatch.setattr(motionlib.models, "load_model", refuse)
    monkeypatch.setattr(motionlib.sweep, "invert", refuse)
    monkeypatch.setattr(claim, "inversion_samples", refuse)


SWEEP = ["sweep", "--model", "latte", "--video", "v.mp4", "--caption", "c", "--edit", "e", "--out", "sweep"]


@pytest.mark.parametrize("extra, message", [
    (["--batch-size", "0"], "batch_size (--batch-size) must be a positive integer (latents per denoiser pass; None, "
                            "i.e. no --batch-size: every live latent in one pass), got 0"),
    (["--batch-size", "-4"], "batch_size (--batch-size) must be a positive integer"),
    (["--grid", "0"], "grid (--grid) must be a positive divisor of 1000 (the window grid interval, e.g. 50, 100, "
                      "200, 250), got 0"),
    (["--grid", "7"], "grid (--grid) must be a positive divisor of 1000"),
    (["--fixed-point-iters", "-1"], "fixed_point_iters (--fixed-point-iters) must be an integer >= 0 (0: plain DDIM "
                                    "inversion), got -1"),
    (["--steps", "0"], "num_steps (--steps) must be a positive integer, got 0"),
    (["--guidance", "-1"], "guidance_scale (--guidance) must be a finite number >= 0"),
])
def test_sweep_refuses_bad_counts_before_loading_or_inverting(extra, message, capsys, monkeypatch, tmp_path):
    _no_work(monkeypatch)
    monkeypatch.chdir(tmp_path)
    for argv in (SWEEP + extra, ["sweep", "--model", "latte", "--videos", "toy:2", "--out", "sweep"] + extra):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert f"motionlib: error: {message}" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir()), "a refused command wrote output"
    # The library refuses it where the settings are built, before run_sweep could invert anything.
    from motionlib.sweep import SweepSettings

    flag = extra[0].lstrip("-").replace("-", "_")
    field = {"steps": "num_steps", "guidance": "guidance_scale"}.get(flag, flag)
    with pytest.raises(ParameterError, match=r"\(" + extra[0]):
        SweepSettings(**{field: float(extra[1]) if field == "guidance_scale" else int(extra[1])})


@pytest.mark.parametrize("argv, message", [
    (["--videos", "toy:0"], "videos='toy:0': write toy:N with N a positive number of toy clips (e.g. toy:3)"),
    (["--videos", "toy:2", "--num-cpus", "0"], "--num-cpus must be a whole number >= 1 of CPUs per task, got 0"),
])
def test_sweep_over_videos_refuses_bad_counts_before_loading(argv, message, capsys, monkeypatch, tmp_path):
    _no_work(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--model", "latte", *argv, "--out", "sweep"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"motionlib: error: {message}"
    assert not any(tmp_path.iterdir()), "a refused command wrote output"


@pytest.mark.parametrize("extra, message", [
    (["--clips", "0"], "clips (--clips) must be a positive integer (held-out toy clips), got 0"),
    (["--clips", "-3"], "clips (--clips) must be a positive integer (held-out toy clips), got -3"),
    (["--seeds", "0"], "seeds (--seeds) must be a positive integer (noise seeds per clip), got 0"),
    (["--steps", "25", "0"], "num_steps (--steps) must be a positive integer, got 0"),
    (["--grid", "0"], "grid (--grid) must be a positive divisor of 1000 (the tau grid interval, e.g. 50, 100, 200, "
                      "250), got 0"),
    (["--guidance", "nan"], "guidance_scale (--guidance) must be a finite number >= 0 (1: no classifier-free "
                            "guidance) or 'family', got nan"),
    (["--tolerance", "1.5", "-1"], "tolerances (--tolerance) must be positive numbers of px, got -1.0"),
])
def test_toyworld_claim_refuses_bad_counts_before_loading_a_model(extra, message, capsys, monkeypatch, tmp_path):
    """``--clips 0`` used to load the model, sample nothing and end in ``KeyError: 'a_direction'``."""
    _no_work(monkeypatch)
    assert main(["toyworld", "claim", "--model", "modelscope", *extra, "--out", str(tmp_path / "claim")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"motionlib: error: {message}"
    assert not any(tmp_path.iterdir()), "a refused command wrote output"


def test_claim_protocol_samples_refuses_bad_counts_before_touching_the_model():
    from motionlib.toyworld import claim

    for kwargs, match in (({"clips": 0}, r"clips \(--clips\)"), ({"clips": 2, "seeds": 0}, r"seeds \(--seeds\)"),
                          ({"clips": 2, "grid": 7}, r"grid \(--grid\)")):
        clips = kwargs.pop("clips")
        with pytest.raises(ParameterError, match=match):  # model=None: any use of it would be an AttributeError
            claim.protocol_samples(None, "switching", clips, **kwargs)


@pytest.mark.parametrize("argv", [
    ["sweep", "--model", "cogvideox", "--videos", "bundled", "--executor", "ray", "--out", "sweep"],
    ["reproduce", "--profile", "paper", "--only", "tab2"],  # the paper profile's batch notebooks use Ray
])
def test_ray_without_ray_installed_says_how_to_install_it(argv, capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # `import ray` now fails, as without the extra
    monkeypatch.chdir(tmp_path)
    assert main(argv + ["--out", str(tmp_path / "out")] if argv[0] == "reproduce" else argv) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install -e .[ray]" in err and "--executor serial" in err and len(err.splitlines()) == 1
    assert not any(tmp_path.iterdir()), "a refused command wrote output"


def test_cuda_without_a_gpu_is_a_one_line_error(capsys, monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["sample", "--model", "modelscope", "--prompt", "x", "--device", "cuda",
                 "--out", str(tmp_path / "x.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--device cuda: torch sees no CUDA GPU" in err and "use --device cpu" in err
    assert len(err.splitlines()) == 1 and not any(tmp_path.iterdir())


def test_paper_profile_plans_each_notebook_per_family():
    runs = plan("paper", only=["00_tour"])
    assert [r.name for r in runs] == ["00_tour-modelscope", "00_tour-latte", "00_tour-cogvideox"]
    assert runs[1].parameters["height"] == 512 and runs[1].parameters["source"] == "hub"
    assert [r.name for r in plan("paper", only=["tab5_user_study"])] == ["tab5_user_study"]  # no model
    with pytest.raises(ParameterError):
        plan("fast")


def test_the_paper_profile_keeps_the_papers_scope_unless_told_the_families():
    """The paper runs Tab. 3 and Tab. 4 with Latte only; --families runs every notebook for the given ones."""
    scoped = [r.name for r in plan("paper", only=["tab3", "tab4", "tab2"])]
    assert scoped == ["tab2_comparison-modelscope", "tab2_comparison-latte", "tab2_comparison-cogvideox",
                      "tab3_projections-latte", "tab4_rank-latte"]
    every = plan("paper", only=["tab3", "tab4"], families=["modelscope", "latte", "cogvideox"])
    assert [r.name for r in every] == [f"{nb}-{f}" for nb in ("tab3_projections", "tab4_rank")
                                       for f in ("modelscope", "latte", "cogvideox")]
    assert all("run_families" not in r.parameters for r in every)  # a profile key, not a notebook parameter
    assert [r.name for r in plan("paper", only=["tab3"], families=["cogvideox"])] == ["tab3_projections-cogvideox"]
    for bad, profile in ((["sora"], "paper"), (["latte"], "smoke")):
        with pytest.raises(ParameterError, match="--families"):
            plan(profile, families=bad)


def test_toy_profile_runs_the_full_toy_world_measurement_once_per_notebook():
    runs = {r.name: r for r in plan("toy")}
    assert set(runs) == {"claims", "toyworld", "toyworld_transfer-modelscope", "toyworld_transfer-latte"}
    claims = runs["claims"].parameters
    assert claims["clips"] >= 20 and ["family", 50] in claims["settings"] and [1, 25] in claims["settings"]
    assert runs["toyworld"].parameters["quality_clips"] >= 20
    for family in ("modelscope", "latte"):  # one run per family, each measuring that family only
        transfer = runs[f"toyworld_transfer-{family}"]
        assert transfer.parameters["families"] == [family] and transfer.parameters["appearances"] >= 6
        assert transfer.out_dir.name == f"toyworld_transfer-{family}"
    for run in runs.values():  # every profile setting is a parameter of its notebook, none a profile key
        assert set(run.parameters) <= set(notebook_parameters(run.notebook)), run.name
        assert run.expected_seconds and run.expected_seconds > 60, run.name  # measured, orders a fresh machine


def test_a_fresh_machine_starts_the_longest_toy_runs_first(tmp_path):
    """With no earlier summary, the parameter files' measured minutes order the runs (longest first), so
    the two cores share the long ones; an earlier summary's times take over."""
    runs = plan("toy", out=tmp_path)
    expected = _expected_seconds(runs)
    assert expected == {r.name: r.expected_seconds for r in runs}
    order = [c[0].name for c in sorted(lanes(runs), key=lambda c: -sum(expected[r.name] for r in c))]
    assert set(order[:2]) == {"claims", "toyworld_transfer-modelscope"}  # the two long runs side by side
    assert order.index("toyworld_transfer-latte") < order.index("toyworld")  # the shortest last (measured)
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "reproduce-summary.json").write_text(json.dumps([{"name": "toyworld", "status": "ok",
                                                                          "seconds": 9999.0}]))
    assert _expected_seconds(runs)["toyworld"] == 9999.0 and _expected_seconds(runs)["claims"] == next(r for r in runs if r.name == "claims").expected_seconds


def test_run_families_in_a_toy_parameter_file_needs_a_families_parameter(tmp_path, monkeypatch):
    from motionlib import reproduce

    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "fig1_resampling.yaml").write_text("run_families: [latte]\n")
    monkeypatch.setattr(reproduce.paths, "PARAMS_DIR", tmp_path)
    with pytest.raises(ParameterError, match="no `families` parameter"):
        plan("toy", only=["fig1"])


def test_the_paper_profile_runs_batch_notebooks_on_ray_and_the_command_line_overrides_it():
    batch = ["fig2", "fig4", "fig6", "tab1", "tab2", "tab3", "tab4"]
    paper = plan("paper", only=batch)
    assert len(paper) >= 8 and all(r.parameters["executor"] == "ray" for r in paper)
    assert all("executor" not in r.parameters for r in plan("smoke", only=batch))  # stored default: serial
    trains = [r for r in paper if "train_steps" in notebook_parameters(r.notebook)]
    assert len(trains) == 4 * 3 + 2 and all(r.parameters["train_steps"] is None for r in trains)  # the family's 300
    serial = plan("paper", only=batch + ["fig1", "tab5"], overrides={"executor": "serial", "ray_address": "auto"})
    with_executor = [r for r in serial if "executor" in r.parameters]
    assert {r.notebook.stem for r in with_executor} == {r.notebook.stem for r in paper}  # not fig1, tab5
    assert all(r.parameters["executor"] == "serial" and r.parameters["ray_address"] == "auto" for r in with_executor)
    # what `motionlib reproduce` checks Ray for before any notebook starts
    assert uses_ray(paper) and not uses_ray(plan("smoke", only=batch)) and not uses_ray(serial)
    assert uses_ray(plan("smoke", only=["tab2"], overrides={"executor": "ray"}))


def test_a_finished_notebook_kernel_is_asked_to_stop_not_interrupted(monkeypatch):
    """jupyter_client interrupts a kernel before each shutdown request; on a busy machine the kernel can
    still be closing the last cell and prints "KeyboardInterrupt caught in kernel". Ours only asks."""
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    from motionlib.reproduce import _kernel_manager_class

    interrupted = []

    async def interrupt(self):
        interrupted.append(self.shutting_down)

    monkeypatch.setattr(AsyncKernelManager, "_async_interrupt_kernel", interrupt)
    manager = _kernel_manager_class()()
    asyncio.run(manager._async_interrupt_kernel())  # a user's interrupt while a cell runs: passed on
    manager.shutting_down = True
    asyncio.run(manager._async_interrupt_kernel())  # the one that shutdown_kernel sends first: dropped
    assert interrupted == [False]


@pytest.mark.parametrize("profile", ["smoke", "paper"])
def test_notebooks_that_share_cached_results_run_in_one_lane(profile):
    from motionlib.reproduce import SHARED_CACHE, lanes

    runs = plan(profile)
    chains = lanes(runs)
    assert sorted(r.name for chain in chains for r in chain) == sorted(r.name for r in runs)  # each once
    for chain in chains:
        stems = [r.notebook.stem for r in chain]
        group = next((g for g in SHARED_CACHE if stems[0] in g), None)
        if group is None:
            assert len(chain) == 1
        else:  # every run of the group, in the group's order
            assert [r.name for r in chain] == [r.name for stem in group for r in runs if r.notebook.stem == stem]
    assert len(chains) == len(runs) - sum(1 for r in runs if any(r.notebook.stem in g for g in SHARED_CACHE)) \
        + len(SHARED_CACHE)


def test_reproduce_runs_a_notebook_and_reports(tmp_path, capfd):
    """Two notebooks side by side (jobs=2), each kernel on half the cores' torch threads."""
    runs = reproduce("smoke", only=["00_tour", "tab5"], out=tmp_path, jobs=2)
    assert [(r.name, r.status) for r in runs] == [("00_tour", "ok"), ("tab5_user_study", "ok")], \
        [r.error for r in runs]
    said = capfd.readouterr()  # our output and the kernel's (a subprocess writing to fd 1 and 2)
    for noise in ("WARNING", "Unable to parse", "without encryption", "FutureWarning", "KeyboardInterrupt",
                  "Loading pipeline components", "Loading weights"):
        assert noise not in said.out + said.err, noise
    out = tmp_path / "smoke" / "00_tour"
    for name in ("00_tour.ipynb", "tour_frames.pdf", "tour_frames.png", "tour_frames.provenance.json",
                 "sample.mp4"):
        assert (out / name).exists(), name
    summary = json.loads((tmp_path / "smoke" / "reproduce-summary.json").read_text())
    assert [row["status"] for row in summary] == ["ok", "ok"]
    provenance = json.loads((out / "tour_frames.provenance.json").read_text())
    assert provenance["torch_threads"] == max(1, cores() // 2)


def _worker_that_dies_on_the_tour(run, threads):
    """Stands in for the notebook worker (in a spawned process): 00_tour kills its process."""
    import os
    import time

    if run.name == "00_tour":
        os._exit(3)
    time.sleep(0.2)
    run.status, run.seconds = "ok", 0.2
    return run


def test_a_dying_worker_fails_its_notebooks_and_the_rest_still_run(tmp_path):
    """A worker process that dies (killed, out of memory) fails what it ran; the remaining notebooks run
    in a fresh pool and the summary lists every run."""
    from motionlib.reproduce import execute_all

    runs = plan("smoke", only=["00_tour", "tab5", "fig1"], out=tmp_path)
    runs = execute_all(runs, "smoke", jobs=2, worker=_worker_that_dies_on_the_tour)
    status = {r.name: (r.status, r.error) for r in runs}
    assert status["00_tour"][0] == "failed" and "worker process died" in status["00_tour"][1]
    assert "--only 00_tour" in status["00_tour"][1]
    started_after = [r for r in runs if r.name != "00_tour" and r.status == "ok"]
    assert started_after, status  # at least the run submitted after the death ran, in a fresh pool
    summary = json.loads((tmp_path / "smoke" / "reproduce-summary.json").read_text())
    assert sorted(row["name"] for row in summary) == sorted(status)


def _worker_that_sleeps(run, threads):
    import time

    time.sleep(0.1)
    run.status, run.seconds = "ok", 0.1
    return run


def test_a_pool_that_broke_between_wait_and_submit_does_not_end_the_reproduction(tmp_path, monkeypatch):
    """The race CI met: a worker dies after the last wait returned, so the next submit raises
    BrokenProcessPool. The runs not yet submitted must still run (here the refusal is forced once)."""
    import motionlib.reproduce as reproduce
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    refused = []

    class PoolThatRefusesItsThirdSubmit(ProcessPoolExecutor):
        submits = 0

        def submit(self, fn, /, *args, **kwargs):
            PoolThatRefusesItsThirdSubmit.submits += 1
            if PoolThatRefusesItsThirdSubmit.submits == 3:
                refused.append(args[0].name)
                raise BrokenProcessPool("forced by the test")
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(reproduce, "ProcessPoolExecutor", PoolThatRefusesItsThirdSubmit)
    runs = plan("smoke", only=["00_tour", "tab5", "fig1"], out=tmp_path)
    runs = reproduce.execute_all(runs, "smoke", jobs=2, worker=_worker_that_sleeps)
    assert refused, "the forced refusal never happened: the test does not exercise the race"
    assert {r.name: r.status for r in runs} == {r.name: "ok" for r in runs}


@pytest.fixture(scope="module")
def outside_clip(tmp_path_factory):
    """A real clip that is not in the repository: a bundled one reversed, cropped, as a gif."""
    from motionlib.data import bundled_dataset, write_video

    frames = read_video(bundled_dataset()[2].path, num_frames=20, size=(72, 96))[::-1]
    return write_video(tmp_path_factory.mktemp("clip") / "walk.gif", frames)


@pytest.mark.parametrize("family", ["modelscope", "latte", "cogvideox"])
def test_customize_then_generate_on_an_outside_clip(family, outside_clip, tmp_path, capsys):
    adapter = tmp_path / "adapter"
    assert main(["customize", "--model", family, "--source", "tiny", "--video", str(outside_clip), "--caption",
                 "a person walks", "--tau", "700", "--steps", "3", "--out", str(adapter)]) == 0
    record = json.loads((adapter / "adapter.json").read_text())
    assert record["settings"]["tau"] == 700 and record["steps"] == 3 and record["mode"] == "lora"
    assert (adapter / "adapter.safetensors").exists() and "3 steps" in capsys.readouterr().out
    # Run again: the finished run is resumed at its last checkpoint, not retrained.
    assert main(["customize", "--model", family, "--source", "tiny", "--video", str(outside_clip), "--caption",
                 "a person walks", "--tau", "700", "--steps", "3", "--out", str(adapter)]) == 0
    assert "resumed at step 3" in capsys.readouterr().out
    out = tmp_path / "videos"
    assert main(["generate", "--model", family, "--source", "tiny", "--adapter", str(adapter), "--prompt",
                 "a robot walks", "--samples", "2", "--seed", "7", "--out", str(out)]) == 0
    videos = sorted(out.glob("*.mp4"))
    assert [v.name for v in videos] == ["sample0_seed7.mp4", "sample1_seed8.mp4"]
    first, second = (read_video(v) for v in videos)
    assert len(first) == 16 and not (first == second).all()  # distinct seeds, distinct samples
    meta = json.loads((out / "sample0_seed7.provenance.json").read_text())
    assert meta["settings"]["tau"] == 700 and meta["tiny_random_weights"]


def test_generate_refuses_an_adapter_of_another_family(outside_clip, tmp_path, capsys):
    adapter = tmp_path / "adapter"
    assert main(["customize", "--model", "latte", "--source", "tiny", "--video", str(outside_clip), "--caption",
                 "a person walks", "--steps", "1", "--out", str(adapter)]) == 0
    assert main(["generate", "--model", "cogvideox", "--source", "tiny", "--adapter", str(adapter), "--prompt", "x",
                 "--out", str(tmp_path / "v")]) == 2
    assert "trained on latte" in capsys.readouterr().err


def _model_calls(notebook) -> list[str]:
    """Every load_model(...) and open_experiment(...) call in the notebook's code cells, as written."""
    import re

    cells = json.loads(Path(notebook).read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    calls = []
    for m in re.finditer(r"\b(load_model|open_experiment)\(", code):
        i, depth = m.end(), 1
        while depth:
            depth += {"(": 1, ")": -1}.get(code[i], 0)
            i += 1
        calls.append(code[m.start():i])
    return calls


def test_reproduce_device_reaches_every_model_a_notebook_loads(tmp_path):
    """``--device`` (``make reproduce DEVICE=...``) is set in every notebook that loads a model, and each of
    its load_model / open_experiment calls passes it on."""
    for profile in ("smoke", "toy"):
        for run in plan(profile, out=tmp_path, overrides={"device": "cpu"}):
            calls = _model_calls(run.notebook)
            if calls:
                assert "device" in notebook_parameters(run.notebook), run.name
                assert run.parameters["device"] == "cpu", run.name
                assert all("device=device" in call for call in calls), (run.name, calls)
    assert any(_model_calls(run.notebook) for run in plan("toy", out=tmp_path))  # (the test reads real calls)


def test_reproduce_on_a_missing_gpu_says_so_in_one_line_before_any_notebook(tmp_path, monkeypatch, capsys):
    import torch

    import motionlib.reproduce as reproduce

    def no_notebook(*args, **kwargs):
        raise AssertionError("a notebook started")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(reproduce, "execute_all", no_notebook)
    assert main(["reproduce", "--profile", "toy", "--device", "cuda", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--device cuda" in err and "no CUDA GPU" in err
    assert not list(tmp_path.iterdir())
