"""`reproduce --plan` for the real-checkpoint profiles checks what they need on this machine (no network):
weights in the Hugging Face cache or a folder, TGVE, the CLIP, PickScore, a GPU, Ray."""

import json

import pytest

from motionlib.cli import main
from motionlib.data.datasets import make_tgve_miniature
from motionlib.prerequisites import check, hub_snapshot_status
from motionlib.reproduce import plan, prerequisites
from motionlib.twins import hub_cache


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """An empty, offline Hugging Face cache in tmp_path/hub."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("MOTIONLIB_TGVE", raising=False)
    return cache


def _checkpoint(folder, components=("unet", "vae", "text_encoder")):
    folder.mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "X", **{c: ["diffusers", "Y"] for c in components}}))
    for c in components:
        (folder / c).mkdir()
        (folder / c / "config.json").write_text("{}")
    return folder


def test_a_cached_checkpoint_is_found_and_an_interrupted_download_is_not(hub, tmp_path):
    hub_cache.install(_checkpoint(tmp_path / "ms"), "damo-vilab/text-to-video-ms-1.7b", hub)
    assert hub_snapshot_status("damo-vilab/text-to-video-ms-1.7b")[0]
    partial = _checkpoint(tmp_path / "latte", ("transformer", "vae"))
    (partial / "model_index.json").write_text(json.dumps({"transformer": [], "vae": [], "text_encoder": []}))
    hub_cache.install(partial, "maxin-cn/Latte-1", hub)
    ok, found = hub_snapshot_status("maxin-cn/Latte-1")
    assert not ok and "without text_encoder" in found
    assert not hub_snapshot_status("THUDM/CogVideoX-2b")[0]


def test_the_quick_plan_lists_what_is_here_and_what_is_missing_with_the_command_that_fetches_it(hub, tmp_path,
                                                                                                monkeypatch, capsys):
    hub_cache.install(_checkpoint(tmp_path / "ms"), "damo-vilab/text-to-video-ms-1.7b", hub)
    runs = plan("quick", out=tmp_path / "out")
    items = {p.what.split(" (")[0]: p for p in prerequisites(runs)}
    assert items["ModelScope T2V 1.7B weights"].ok
    assert not items["Latte-1 weights"].ok and items["Latte-1 weights"].fetch.startswith("hf download maxin-cn/Latte-1")
    assert not items["LOVEU-TGVE-2023 videos"].ok and "MOTIONLIB_TGVE" in items["LOVEU-TGVE-2023 videos"].found
    assert not items["CLIP ViT-L-14:openai"].ok and items["CLIP ViT-L-14:openai"].fetch.startswith("hf download ")
    assert not items["PickScore"].ok and "hf download yuvalkirstain/PickScore_v1" in items["PickScore"].fetch
    assert items["a CUDA GPU"].runs  # every quick run sets device: cuda
    # each listed once, with the runs that need it: ModelScope's weights for Fig. 2 and Tab. 1
    assert len(items["ModelScope T2V 1.7B weights"].runs) == 2
    # TGVE present, but without the videos the quick profile names: still missing, and says which
    make_tgve_miniature(tmp_path / "tgve")
    monkeypatch.setenv("MOTIONLIB_TGVE", str(tmp_path / "tgve"))
    tgve = next(p for p in prerequisites(runs) if p.what.startswith("LOVEU"))
    assert not tgve.ok and "basketball-mall" in tgve.found and str(tmp_path / "tgve") in tgve.found
    assert main(["reproduce", "--profile", "quick", "--plan", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "[ok] ModelScope T2V 1.7B weights" in out and "[MISSING] Latte-1 weights" in out
    assert "fetch: hf download maxin-cn/Latte-1" in out and not (tmp_path / "out").exists()


def test_toy_and_tiny_runs_need_nothing_and_a_local_folder_is_checked(tmp_path):
    assert check([("toy", {"family": "modelscope", "source": "toy", "clip": "auto", "pick": "auto",
                           "videos": "bundled", "device": "cpu"})]) == []
    (missing,) = check([("x", {"family": "latte", "source": str(tmp_path / "nowhere")})])
    assert not missing.ok and "does not exist" in missing.found
    (found,) = check([("x", {"family": "latte", "source": str(_checkpoint(tmp_path / "latte"))})])
    assert found.ok


def test_a_real_run_with_a_prerequisite_missing_is_refused_before_any_notebook(hub, tmp_path, capsys):
    assert main(["reproduce", "--profile", "quick", "--only", "tab1", "--executor", "serial",
                 "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "[MISSING] ModelScope T2V 1.7B weights" in captured.out
    assert "prerequisites of the quick profile missing" in captured.err and len(captured.err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
