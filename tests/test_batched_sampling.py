"""Batched customized sampling: denoiser passes per unit, batched = one at a time, one text-encoder call
per prompt, shared cache names, the batch-size option and the out-of-memory split.

Tolerance: a batched sample equals the sample drawn alone up to float32 rounding (CPU kernels block a
batch differently), so the final latents agree to ``LATENT_RTOL = 1e-5`` of their largest magnitude
(max |difference| <= 1e-5 x max |latent|; the tiny random models reach |latent| ~ 75 and differ by
<= 1e-6 of that) and the uint8 videos by at most 1 level (a value on a rounding boundary may flip).
"""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from motionlib.cache import cache_key
from motionlib.customize import CustomizeSettings, attach, generate_customized, generate_customized_batch
from motionlib.data import bundled_dataset
from motionlib.errors import MotionlibError, ParameterError
from motionlib.evaluation import EvalSettings, Method, evaluate
from motionlib.metrics import tiny_clip_scorer
from motionlib.models import load_model
from motionlib.sampling import ddim_schedule

FRAMES = {"modelscope": 8, "latte": 16, "cogvideox": 9}  # Latte's temporal embedding is fixed at 16
SIZE = 32
STEPS = 4
LATENT_RTOL = 1e-5
PROMPTS = ["a dog", "a red car driving along a winding mountain road at sunset"]  # different token counts


def customized(family):
    """A fresh tiny model with a LoRA whose weights are seeded noise (so it changes the samples)."""
    model = load_model(family, "tiny", seed=0)
    adapter = attach(model, CustomizeSettings(num_frames=FRAMES[family], height=SIZE, width=SIZE))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in adapter.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=generator))
    return model, adapter


def sample_kwargs(model, **kwargs):
    """Small settings with ``tau`` on the middle step, so the adapter switches off mid-sampling."""
    return dict(tau=ddim_schedule(model, STEPS)[STEPS // 2].t, num_frames=FRAMES[model.family], height=SIZE,
                width=SIZE, num_steps=STEPS, progress=False, **kwargs)


def count_calls(monkeypatch, model, name):
    """Wrap ``model.<name>``; returns the list of the batch sizes of its calls (first argument's rows)."""
    calls, original = [], getattr(model, name)

    def counted(*args, **kwargs):
        calls.append(args[0].shape[0] if torch.is_tensor(args[0]) else args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(model, name, counted)
    return calls


def assert_same_samples(batched, alone):
    for a, b in zip(batched, alone, strict=True):
        assert a.settings == b.settings
        assert (a.latents - b.latents).abs().max() <= LATENT_RTOL * b.latents.abs().max()
        assert np.abs(a.video.astype(int) - b.video.astype(int)).max() <= 1


@pytest.mark.parametrize("family", ["modelscope", "latte", "cogvideox"])
def test_batched_samples_equal_the_samples_drawn_one_at_a_time(family, monkeypatch):
    model, adapter = customized(family)
    requests = [(prompt, seed) for prompt in PROMPTS for seed in (3, 4)]
    alone = generate_customized_batch(model, adapter, requests, sample_batch=1, **sample_kwargs(model))
    calls = count_calls(monkeypatch, model, "_denoise")
    batched = generate_customized_batch(model, adapter, requests, **sample_kwargs(model))
    assert_same_samples(batched, alone)
    assert [(s.settings["prompt"], s.settings["seed"]) for s in batched] == requests
    assert adapter.active  # restored
    # Latte's embeddings have the prompt's own length: padded into one batch, the padding masked.
    lengths = {model.encode_prompt(p).length for p in PROMPTS}
    assert (len(lengths) == 2) == (family == "latte") == model.masks_text
    assert calls == [2 * len(requests)] * STEPS  # 2x: both guidance branches
    # The single-prompt API is the batched one with one prompt; its default, one at a time, is unchanged.
    one = generate_customized(model, adapter, PROMPTS[0], seeds=[3, 4], num_samples=2, **sample_kwargs(model))
    assert all(torch.equal(a.latents, b.latents) for a, b in zip(one, alone[:2]))


def test_the_text_encoder_runs_once_per_distinct_prompt(monkeypatch):
    model, adapter = customized("modelscope")
    calls = count_calls(monkeypatch, model, "encode_prompt")
    requests = [("a dog", 0), ("a cat", 0), ("a dog", 1), ("a cat", 1), ("a dog", 2)]
    samples = generate_customized_batch(model, adapter, requests, **sample_kwargs(model))
    assert calls == ["a dog", "a cat"] and len(samples) == 5


def unit_settings(**kwargs):
    return EvalSettings(edit_kinds=("object", "background"), num_samples=3, num_steps=STEPS,
                        num_frames=FRAMES["modelscope"], height=SIZE, width=SIZE, **kwargs)


BASE = [Method("base", CustomizeSettings(tau=1000, num_frames=FRAMES["modelscope"], height=SIZE, width=SIZE))]


@pytest.mark.parametrize("sample_batch", [None, 4, 1])
def test_a_unit_makes_num_steps_denoiser_calls_per_batch(sample_batch, monkeypatch, tmp_path):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    model = load_model("modelscope", "tiny", seed=0)
    denoiser_calls = count_calls(monkeypatch, model, "_denoise")
    prompts = count_calls(monkeypatch, model, "encode_prompt")
    settings = unit_settings(sample_batch=sample_batch)
    rows = evaluate(model, bundled_dataset()[:1], BASE, tiny_clip_scorer(), None, settings, progress=False).rows
    samples = 2 * 3  # P prompts x S seeds
    batch = samples if sample_batch is None else sample_batch
    assert len(denoiser_calls) == math.ceil(samples / batch) * STEPS
    assert len(prompts) == 2  # once per edit prompt
    # Rows keep their order: edit kind, then sample.
    assert list(zip(rows.edit_kind, rows["sample"], rows.seed)) == [
        (kind, i, i) for kind in ("object", "background") for i in range(3)]


@pytest.mark.parametrize("first, second", [(None, 1), (1, None)])
def test_batched_and_one_at_a_time_evaluations_read_each_others_samples(first, second, monkeypatch, tmp_path):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    model = load_model("modelscope", "tiny", seed=0)
    item, clip = bundled_dataset()[0], tiny_clip_scorer()
    one = evaluate(model, [item], BASE, clip, None, unit_settings(sample_batch=first), keep_videos=True,
                   progress=False)
    names = sorted(p.name for p in tmp_path.glob("customized-samples/*/sample-*.safetensors"))
    assert names == sorted(f"sample-{cache_key({'prompt': item.edit(kind), 'seed': seed})}.safetensors"
                           for kind in ("object", "background") for seed in range(3))
    calls = count_calls(monkeypatch, model, "_denoise")
    two = evaluate(model, [item], BASE, clip, None, unit_settings(sample_batch=second), keep_videos=True,
                   progress=False)
    assert calls == []  # every sample read back, none drawn again
    pd.testing.assert_frame_equal(one.rows, two.rows)
    assert one.videos.keys() == two.videos.keys()
    assert all(np.array_equal(one.videos[k], two.videos[k]) for k in one.videos)


def test_a_bad_sample_batch_is_refused_in_one_line():
    model = load_model("modelscope", "tiny", seed=0)
    adapter = attach(model, CustomizeSettings())
    for bad in (0, -1, 2.5, True, "4"):
        with pytest.raises(ParameterError, match="sample_batch must be an integer >= 1") as info:
            EvalSettings(sample_batch=bad)
        assert "\n" not in str(info.value)
        with pytest.raises(ParameterError, match="sample_batch must be an integer >= 1"):
            generate_customized_batch(model, adapter, [("a dog", 0)], sample_batch=bad, **sample_kwargs(model))


def test_out_of_memory_splits_the_batch_in_half_and_retries(monkeypatch, capsys):
    model, adapter = customized("modelscope")
    requests = [("a dog", seed) for seed in range(5)]
    alone = generate_customized_batch(model, adapter, requests, sample_batch=1, **sample_kwargs(model))
    original, calls = model._denoise, []

    def small_gpu(latents, t, embeds):  # fits 2 samples (4 rows with both guidance branches)
        calls.append(latents.shape[0] // 2)
        if latents.shape[0] > 4:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return original(latents, t, embeds)

    monkeypatch.setattr(model, "_denoise", small_gpu)
    capsys.readouterr()
    batched = generate_customized_batch(model, adapter, requests, **sample_kwargs(model))
    assert_same_samples(batched, alone)
    # 5 fails, then 3 fails: 2 + 1 + 2, each a whole run of steps.
    assert calls == [5, 3] + [2] * STEPS + [1] * STEPS + [2] * STEPS
    log = capsys.readouterr().out.strip().splitlines()
    assert log == ["modelscope: out of CUDA memory sampling 5 videos at once; retrying 3 at a time",
                   "modelscope: out of CUDA memory sampling 3 videos at once; retrying 2 at a time"]
    assert adapter.active
    # One video that does not fit: a one-line error, not the CUDA traceback.
    monkeypatch.setattr(model, "_denoise", lambda *a: (_ for _ in ()).throw(torch.cuda.OutOfMemoryError("oom")))
    with pytest.raises(MotionlibError, match="out of CUDA memory sampling a single modelscope video") as info:
        generate_customized_batch(model, adapter, requests[:1], **sample_kwargs(model))
    assert "\n" not in str(info.value) and info.value.__cause__ is None and info.value.__suppress_context__


def test_padded_rows_of_different_lengths_equal_their_unpadded_results():
    """Latte's embeddings have each prompt's own length; stacked, they are zero-padded and the padding
    is masked out of the cross-attention, so each row gives what it gives alone."""
    from motionlib.models.base import PromptEmbeds
    from motionlib.sampling import initial_noise

    model = load_model("latte", "tiny", seed=0)
    short, long = model.encode_prompt("a dog"), model.encode_prompt("a jeep car is moving on the road quickly")
    assert short.length != long.length and model.masks_text
    x = torch.cat([initial_noise(model, FRAMES["latte"], SIZE, SIZE, seed) for seed in (0, 1)])
    for guidance in (1.0, 7.5):
        both = model.predict(x, 500, PromptEmbeds.stack([short, long]), guidance)
        alone = torch.cat([model.predict(x[:1], 500, short, guidance), model.predict(x[1:], 500, long, guidance)])
        torch.testing.assert_close(both, alone, rtol=1e-4, atol=1e-4)
        unmasked = PromptEmbeds.stack([short, long])
        unmasked.mask = None  # the padding attended to: not the same (the mask matters)
        assert (model.predict(x, 500, unmasked, guidance) - alone).abs().max() > 1e-2
    # A model that cannot mask padding refuses padded rows rather than attend to the padding.
    modelscope = load_model("modelscope", "tiny", seed=0)
    padded = PromptEmbeds.stack([short, long])
    with pytest.raises(ValueError, match="cannot mask text tokens"):
        modelscope.predict(x[:, :4], 500, padded)
