"""Checkpoint twins: the real checkpoints' layout and configs with random weights, run through the real
loading path (``--source DIR`` and ``--source hub`` from an offline Hugging Face cache).

Reduced twins (one layer/block per stage, every width kept) run the whole pipeline on the CPU; the
full-scale facts (parameter counts against the published weight sizes, the attention inventory at full
depth, latent shapes through the real VAE configs) are computed on the meta device.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from motionlib import paths, provenance
from motionlib.customize import CustomizeSettings, generate_customized, train
from motionlib.data import bundled_dataset, read_video, write_video
from motionlib.data.video_io import to_model_pixels
from motionlib.errors import ParameterError
from motionlib.inversion import invert
from motionlib import families
from motionlib.models import load_model
from motionlib.resampling import resample, resample_windows
from motionlib.sampling import ddim_schedule, denoise, generate, initial_noise
from motionlib.twins import checkpoints, facts, hub_cache, write_twin
from motionlib.windows import NO_EDIT, window

CHECKPOINTS = checkpoints()
FAMILIES = list(CHECKPOINTS)
pytestmark = pytest.mark.twin
# The whole pipeline runs on three twins. CogVideoX-5b has CogVideoX-2b's classes and code paths (its
# rotary positions and schedule run on the tiny cogvideox-5b model in every tiny-model test); its twin is
# still written, checked, loaded and sampled from a folder and from a hub cache below.
PIPELINE_FAMILIES = ["modelscope", "latte", "cogvideox"]
# Small clips that every family accepts: Latte's temporal embedding is fixed at 16 frames; CogVideoX
# wants 4k + 1; the ModelScope UNet halves 64 px latents three times.
CLIP = {"modelscope": (2, 64, 64), "latte": (16, 64, 64), "cogvideox": (5, 64, 64), "cogvideox-5b": (5, 64, 64)}
PROMPT = "a corgi surfing"


@pytest.fixture(scope="module", params=FAMILIES)
def twin(request, tmp_path_factory):
    """(family, folder) of a reduced twin in the published dtypes; deleted after the family's tests."""
    family = request.param
    folder = write_twin(family, tmp_path_factory.mktemp("twins") / family, scale="reduced")
    yield family, folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def twin_sample(twin) -> np.ndarray:
    """The twin's 2-step sample of PROMPT (seed 0) from a freshly loaded model, (frames, h, w, 3) uint8: the
    reference that the pipeline, memory-saver and hub tests compare with."""
    family, folder = twin
    frames, h, w = CLIP[family]
    return generate(load_model(family, folder), PROMPT, num_frames=frames, height=h, width=w, num_steps=2, seed=0,
                    progress=False).video


def _clip(model, frames, height, width):
    video = read_video(bundled_dataset()[0].path, frames, (height, width))
    return model.encode_video(to_model_pixels(video)).float()


# ----------------------------------------------------------------------------- layout
def test_twin_folder_has_the_published_layout_and_configs(twin):
    family, folder = twin
    ckpt = CHECKPOINTS[family]
    index = json.loads((folder / "model_index.json").read_text())
    assert index == ckpt.model_index()
    for name, comp in ckpt.components.items():
        config = json.loads((folder / name / "config.json").read_text())
        for key, value in comp.config.items():
            if key in comp.layer_keys:
                assert config[key] == 1 < value  # reduced: one layer/block per stage ...
            elif key != "torch_dtype":
                assert config[key] == value, (name, key)  # ... every other published value kept
        weights = sorted(p.name for p in (folder / name).iterdir() if p.name != "config.json")
        assert weights and all(w.endswith((".safetensors", ".safetensors.index.json")) for w in weights), weights
    scheduler = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    assert {k: scheduler[k] for k in ckpt.scheduler_config} == ckpt.scheduler_config
    tokenizer = {p.name for p in (folder / "tokenizer").iterdir()}
    expected = {"spiece.model"} if ckpt.tokenizer_class == "T5Tokenizer" else {"vocab.json", "merges.txt"}
    assert expected | {"tokenizer_config.json", "special_tokens_map.json"} <= tokenizer


def test_twin_loads_with_the_published_schedule_and_text_length(twin):
    family, folder = twin
    model = load_model(family, folder)
    ckpt = CHECKPOINTS[family]
    assert model.twin and provenance.label(model) == provenance.TWIN_LABEL  # never passed off as the real model
    # The published scheduler config gives exactly the schedule motionlib assumes for the family.
    torch.testing.assert_close(model.alphas_cumprod, families.get(family).scheduler().alphas_cumprod.double())
    assert model.prediction_type == ckpt.scheduler_config["prediction_type"]
    assert model.tokenizer.model_max_length == ckpt.tokenizer_config["model_max_length"]
    if family.startswith("cogvideox"):  # the transformer's text length is the tokenizer's
        assert model.denoiser.config.max_text_seq_length == model.tokenizer.model_max_length
    # Real widths: the denoiser's cross-attention reads the text encoder's full hidden size.
    text_width = model.text_encoder.config.hidden_size if family == "modelscope" else model.text_encoder.config.d_model
    assert model.encode_prompt("a corgi surfing").cond.shape[-1] == text_width


def test_write_twin_refuses_to_overwrite_and_checks_its_arguments(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "keep.txt").write_text("x")
    with pytest.raises(ParameterError, match="not empty"):
        write_twin("latte", tmp_path / "t")
    with pytest.raises(ParameterError, match="--scale"):
        write_twin("latte", tmp_path / "u", scale="half")
    with pytest.raises(ParameterError, match="twins exist for"):
        write_twin("sora", tmp_path / "u")
    assert (tmp_path / "t" / "keep.txt").read_text() == "x" and not (tmp_path / "u").exists()


def test_an_interrupted_twin_leaves_nothing_behind(tmp_path, monkeypatch):
    from motionlib.twins import build

    real, calls = build.build_component, []

    def stop_at_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "build_component", stop_at_second)
    with pytest.raises(KeyboardInterrupt):
        write_twin("cogvideox", tmp_path / "twin")
    assert len(calls) == 2 and list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- the pipeline on a twin
@pytest.mark.parametrize("twin", PIPELINE_FAMILIES, indirect=True)
def test_sample_invert_sweep_customize_generate_on_a_twin(twin, twin_sample, tmp_path):
    family, folder = twin
    model = load_model(family, folder)
    frames, h, w = CLIP[family]
    # Sample 2 steps: deterministic in its seed (the same as twin_sample's, from another load), different
    # across seeds.
    a = generate(model, PROMPT, num_frames=frames, height=h, width=w, num_steps=2, seed=0, progress=False)
    c = generate(model, PROMPT, num_frames=frames, height=h, width=w, num_steps=2, seed=1, progress=False)
    assert a.video.shape == (frames, h, w, 3)
    assert np.array_equal(a.video, twin_sample) and not np.array_equal(a.video, c.video)

    # DDIM inversion: resampling the inverted noise rebuilds the clip; the fixed-point refinement does it
    # far better than plain DDIM inversion, and exactly wherever its fixed point converged at every step.
    # (Random full-width weights are a rough denoiser: the ModelScope twin's UNet does not converge in 6
    # iterations, Latte's and CogVideoX's do or nearly do; the tiny and toy models reconstruct exactly,
    # tests/test_inversion.py.)
    latents = _clip(model, frames, h, w)
    caption = model.encode_prompt(bundled_dataset()[0].caption)
    errors = {}
    for iters in (0, 6):
        inv = invert(model, latents, caption, 3, fixed_point_iters=iters, relaxation=0.5)
        rebuilt = denoise(model, inv.noise, caption, inv.steps, guidance_scale=1.0, progress=False)
        errors[iters] = ((rebuilt - latents).norm() / latents.norm()).item()
    assert errors[6] < errors[0] / 2, errors
    if max(inv.residuals) < 1e-2:
        assert errors[6] < 0.05, (errors, inv.residuals)

    # A sweep of 3 windows: the shared computation equals resampling each window on its own.
    steps = ddim_schedule(model, 3)
    noise = initial_noise(model, frames, h, w, seed=2)
    edit = model.encode_prompt("a sports car")
    windows = [NO_EDIT, window(1000, 500), window(500, 0)]
    results, counts = resample_windows(model, noise, steps, caption, edit, windows, guidance_scale=1.0,
                                       progress=False)
    assert counts["evaluations"] < counts["naive"]
    for win in windows:
        torch.testing.assert_close(results[win], resample(model, noise, steps, caption, edit, win, 1.0),
                                   rtol=1e-4, atol=1e-4)
    assert not torch.allclose(results[windows[1]], results[windows[2]], atol=1e-4)

    # Two customization steps on the paper's projections, then generate with the adapter on at t >= tau.
    video = read_video(bundled_dataset()[0].path, frames, (h, w))
    settings = CustomizeSettings(tau=500, train_steps=2, learning_rate=1e-2, num_frames=frames, height=h, width=w)
    result = train(model, video, bundled_dataset()[0].caption, settings, tmp_path / "adapter", progress=False)
    trainable = sum(p.numel() for p in model.denoiser.parameters() if p.requires_grad)
    assert result.steps == 2 and all(np.isfinite(result.losses))
    assert trainable == result.record["trainable_parameters"] > 0
    assert (tmp_path / "adapter" / "adapter.safetensors").is_file()
    assert any(v.abs().sum() > 0 for k, v in result.adapter.state_dict().items() if "lora_B" in k)  # it trained
    custom = generate_customized(model, result.adapter, PROMPT, tau=500, num_samples=1,
                                 num_frames=frames, height=h, width=w, num_steps=2, progress=False)[0]
    assert custom.video.shape == a.video.shape and not np.array_equal(custom.video, a.video)


@pytest.mark.parametrize("twin", PIPELINE_FAMILIES, indirect=True)
def test_memory_savers_and_bf16_on_a_twin(twin, twin_sample):
    family, folder = twin
    frames, h, w = CLIP[family]
    kwargs = dict(num_frames=frames, height=h, width=w, num_steps=2, seed=0, progress=False)
    saver = load_model(family, folder, vae_slicing=True, vae_tiling=True)
    assert saver.vae.use_slicing and saver.vae.use_tiling
    # At this size no tile boundary is crossed: the savers change memory, not the result.
    np.testing.assert_allclose(generate(saver, PROMPT, **kwargs).video.astype(float), twin_sample.astype(float), atol=2)
    with pytest.raises(ParameterError, match="cpu-offload"):
        load_model(family, folder, cpu_offload=True)  # this machine has no GPU to offload to
    half = load_model(family, folder, dtype=torch.bfloat16)
    assert half.denoiser.dtype == torch.bfloat16 and half.text_encoder.dtype == torch.bfloat16
    # bf16 sampling follows float32 (random weights amplify rounding; still strongly correlated). Compared
    # on the final latents: decoding the real-size CogVideoX VAE in bf16 takes minutes on CPUs without
    # bf16 instructions (AVX2 only), and the decode is the float32 VAE's code path.
    full = load_model(family, folder)
    noise = initial_noise(full, frames, h, w, seed=0)
    latents = {m.dtype: denoise(m, noise, m.encode_prompt(PROMPT), ddim_schedule(m, 2), m.defaults.guidance_scale,
                                progress=False) for m in (full, half)}
    low, ref = latents[torch.bfloat16], latents[torch.float32]
    assert low.shape == ref.shape
    corr = np.corrcoef(low.float().ravel().numpy(), ref.ravel().numpy())[0, 1]
    assert corr > 0.8, corr


def test_source_hub_resolves_an_offline_cache_laid_out_like_a_download(twin, twin_sample, tmp_path):
    family, folder = twin
    ckpt = CHECKPOINTS[family]
    cache = tmp_path / "hf"
    snapshot = hub_cache.install(folder, ckpt.hub_id, cache)
    repo = hub_cache.repo_folder(cache, ckpt.hub_id)
    assert (repo / "refs" / "main").read_text() == snapshot.name
    weights = next(snapshot.rglob("*.safetensors"))
    assert weights.is_symlink() and weights.resolve().parent == (repo / "blobs").resolve()
    frames, h, w = CLIP[family]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(tmp_path / "home"),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    out = tmp_path / "hub.mp4"
    # `motionlib sample --source hub` and then `motionlib models`, in one fresh process that sees only this cache
    sample = ["sample", "--model", family, "--source", "hub", "--prompt", PROMPT, "--steps", "2", "--frames",
              str(frames), "--height", str(h), "--width", str(w), "--out", str(out)]
    code = f"import sys; from motionlib.cli import main; sys.exit(main({sample!r}) or main(['models']))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=paths.REPO_ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(provenance.sidecar_path(out).read_text())
    assert record["models"][0]["source"] == f"hub:{ckpt.hub_id}" and record["label"] == provenance.TWIN_LABEL
    write_video(tmp_path / "dir.mp4", twin_sample, fps=8)  # the same sample from the folder, through the codec
    from_hub, from_dir = read_video(out, frames, (h, w)), read_video(tmp_path / "dir.mp4", frames, (h, w))
    assert np.abs(from_hub.astype(float) - from_dir.astype(float)).mean() < 1.0  # the same weights both ways
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(f"{family} "))
    assert "cached locally" in line


# ----------------------------------------------------------------------------- full-scale facts (meta)
@pytest.mark.parametrize("family", FAMILIES)
def test_full_scale_parameter_counts_match_the_published_weight_files(family):
    counts = facts.parameter_counts(family, "full")
    for name, count in counts.items():
        low, high = facts.published_range(family, name)
        assert low <= count <= high, (name, count, low, high)
    # The check can fail: one layer fewer is far outside the published range.
    name = facts.denoiser_name(family)
    ckpt = CHECKPOINTS[family]
    key = ckpt.components[name].layer_keys[0]
    fewer = {**ckpt.components[name].config, key: ckpt.components[name].config[key] - 1}
    with torch.device("meta"):
        smaller = facts.instantiate(ckpt.components[name], fewer)
    assert sum(p.numel() for p in smaller.parameters()) < facts.published_range(family, name)[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_full_scale_weights_shard_into_the_published_number_of_files(family):
    """diffusers saves at 10 GB per file, transformers at 5 GB: with those limits the full twins split
    into as many files as the published folders hold (Latte-1's fp32 T5: 4; CogVideoX's T5: 2; the
    CogVideoX-5b transformer: 2; the rest: 1)."""
    from huggingface_hub import split_torch_state_dict_into_shards

    from motionlib.twins.build import DTYPES

    for name, comp in CHECKPOINTS[family].components.items():
        state = facts.meta_component(family, name).to(DTYPES[comp.dtype]).state_dict()
        split = split_torch_state_dict_into_shards(state, max_shard_size=comp.shard_size)
        assert len(split.filename_to_tensors) == comp.shards, name


# Architecture facts, counted from each model's design (not from our code): ModelScope has one
# TransformerTemporalModel at transformer_in and one per spatial transformer (3 down levels x 2 + mid + 3
# up levels x 3 = 16), each with two self-attentions over frames (transformer_in works at 8 heads x 64 = 512
# wide, the others at their level's width); Latte-1 28 spatial blocks (self +
# cross) and 28 temporal blocks; CogVideoX one joint attention per block (30 / 42).
INVENTORY = {
    "modelscope": ({("temporal", "self"): 34, ("spatial", "self"): 16, ("spatial", "cross"): 16}, [320, 512, 640, 1280]),
    "latte": ({("spatial", "self"): 28, ("spatial", "cross"): 28, ("temporal", "self"): 28}, [1152]),
    "cogvideox": ({("joint", "self"): 30}, [1920]),
    "cogvideox-5b": ({("joint", "self"): 42}, [3072]),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_attention_inventory_at_full_depth(family):
    inv = facts.attention_inventory(family, "full")
    modules, widths = INVENTORY[family]
    assert dict(inv["modules"]) == modules
    for (group, kind, proj, fin, fout), _ in inv["projection_shapes"].items():
        if group in ("temporal", "joint") or kind == "self":
            assert fin == fout and fout in widths, (group, kind, proj, fin, fout)  # square, at the block width
    if family == "modelscope":  # spatial cross-attention reads the 1024-wide CLIP text features
        assert {fin for (g, k, p, fin, _o) in inv["projection_shapes"] if k == "cross" and p in "kv"} == {1024}
    if family == "latte":  # Latte's cross-attention reads the caption projected to 1152
        assert {fin for (g, k, p, fin, _o) in inv["projection_shapes"] if k == "cross"} == {1152}


def test_lora_parameter_formula_equals_peft_on_a_reduced_twin_and_the_docs_table(twin):
    # The docs/twins.md table is computed by facts.lora_parameters at full depth; here the same formula is
    # checked against the parameters peft really makes trainable (reduced depth, real widths).
    from motionlib.customize.lora import attach

    family, folder = twin
    model = load_model(family, folder)
    group = "joint" if family.startswith("cogvideox") else "temporal"
    attach(model, CustomizeSettings(projections="qkvo", rank=4).resolved(model))
    trainable = sum(p.numel() for p in model.denoiser.parameters() if p.requires_grad)
    assert trainable == facts.lora_parameters(family, group, "qkvo", rank=4, scale="reduced") > 0
    page = (paths.REPO_ROOT / "docs" / "twins.md").read_text()
    row = re.search(rf"^\| {re.escape(family)} \|([^\n]*)$", page, re.M)
    assert row, f"docs/twins.md has no LoRA table row for {family}"
    cells = [c.strip().replace(",", "") for c in row.group(1).split("|") if c.strip()]
    expected = [facts.lora_parameters(family, group, p) for p in ("qkvo", "qkv", "vo", "o")]
    expected.append(facts.lora_parameters(family, "all", "qkvo"))
    assert [int(c) for c in cells[1:6]] == expected


@pytest.mark.parametrize("family", FAMILIES)
def test_default_clip_shapes_through_the_real_vae_config(family):
    spec = families.get(family).spec
    d = spec.paper
    shape = facts.latent_shape(family, d.num_frames, d.height, d.width)
    if family.startswith("cogvideox"):  # 16 frames -> padded to 17 = 4 * 4 + 1 -> 5 latent frames
        assert shape == (1, 5, 16, d.height // 8, d.width // 8)
    else:
        assert shape == (1, 4, d.num_frames, d.height // 8, d.width // 8)
    # motionlib's own latent-shape arithmetic (used for noise and by every sampler) agrees with the real VAE
    # in every dimension but the channel count, which the tiny model keeps small.
    ours = list(load_model(family, "tiny").latent_shape(1, d.num_frames, d.height, d.width))
    channel = 2 if family.startswith("cogvideox") else 1
    ours[channel] = shape[channel]
    assert tuple(ours) == shape


@pytest.mark.parametrize("family", FAMILIES)
def test_paper_settings_are_what_the_twin_accepts(family):
    import yaml

    ckpt, spec = CHECKPOINTS[family], families.get(family).spec
    d = spec.paper
    params = paths.PARAMS_DIR / "paper" / f"{family}.yaml"
    if params.exists():
        p = yaml.safe_load(params.read_text())
        assert (p["num_frames"], p["height"], p["width"], p["steps"], p["guidance"]) == (
            d.num_frames, d.height, d.width, d.num_steps, d.guidance_scale)
    denoiser = ckpt.components[facts.denoiser_name(family)].config
    vae = ckpt.components["vae"].config
    scale = 2 ** (len(vae["block_out_channels"]) - 1)
    if family == "latte":
        assert d.num_frames == 16 and "video_length" not in denoiser  # the class default, 16, applies
        assert (d.height // scale) % denoiser["patch_size"] == 0
    elif family == "modelscope":
        assert (d.height // scale) % 2 ** (len(denoiser["block_out_channels"]) - 1) == 0
    else:
        assert (d.height // scale) % denoiser["patch_size"] == 0 and vae["temporal_compression_ratio"] == 4
        assert denoiser["max_text_seq_length"] == ckpt.tokenizer_config["model_max_length"] == 226


@pytest.mark.parametrize("twin", ["modelscope"], indirect=True)
def test_the_paper_profile_runs_on_a_reduced_twin(twin, tmp_path):
    """Fig. 1's paper profile (notebooks/params/paper/modelscope.yaml + fig1_resampling.yaml, merged by
    ``reproduce.plan``) on the reduced twin as ``source``: every key of the parameter files reaches the
    notebook and the notebook runs on the real layout. The CPU cannot afford the paper's compute, so
    frames, size, steps, rows and the CLIP are cut here; the paper's frames, size and text length
    themselves are checked against the twins' configs above."""
    from motionlib.reproduce import execute, plan

    family, folder = twin
    (run,) = [r for r in plan("paper", only=["fig1_resampling"], out=tmp_path) if r.name.endswith(family)]
    assert {"source", "device", "num_frames", "height", "width", "steps", "guidance", "clip", "tau_starts"} <= set(
        run.parameters)
    frames, h, w = CLIP[family]
    run.parameters.update(source=str(folder), device="cpu", num_frames=frames, height=h, width=w, steps=2,
                          clip="tiny", tau_starts=[1000, 500], frames_shown=2)
    execute(run)
    assert run.status == "ok", run.error
    written = {p.suffix for p in run.out_dir.rglob("*") if p.is_file()}
    assert {".pdf", ".png", ".json"} <= written
    sidecars = [json.loads(p.read_text()) for p in run.out_dir.rglob("*.provenance.json")]
    assert sidecars and all(r["label"] == provenance.TWIN_LABEL for r in sidecars)
    guidance = [r["settings"]["guidance_scale"] for r in sidecars if "guidance_scale" in r["settings"]]
    assert guidance and set(guidance) == {9.0}  # the paper file's CFG reached the run
