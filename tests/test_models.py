"""The three families behind one interface: sampling, latents, inventory, loading errors."""

import re

import numpy as np
import pytest
import torch

from motionlib.errors import UnknownFamilyError, UnknownSourceError, WeightsNotFoundError
from motionlib import families
from motionlib.models import load_model, select
from motionlib.sampling import ddim_schedule, denoise, generate, initial_noise
from tests.conftest import tiny


def _pipeline_latents(model, prompt, noise, num_frames, steps):
    """The official diffusers pipeline's final latents from the same initial noise."""
    d = model.defaults
    kwargs = dict(
        prompt=prompt, num_inference_steps=steps, guidance_scale=d.guidance_scale,
        latents=noise.clone(), output_type="latent", height=d.height, width=d.width,
    )
    if model.family == "latte":
        kwargs["video_length"] = num_frames
    elif model.family.startswith("cogvideox"):
        kwargs["num_frames"] = 17  # the 4k+1 frames behind 16 requested frames
    else:
        kwargs["num_frames"] = num_frames
    frames = model.pipeline(**kwargs).frames
    return (frames[0] if isinstance(frames, (list, tuple)) else frames).float()


def test_ddim_loop_equals_official_pipeline(tiny_model):
    prompt = "a rabbit is eating a watermelon"
    d = tiny_model.defaults
    noise = initial_noise(tiny_model, d.num_frames, d.height, d.width, seed=3)
    ours = denoise(tiny_model, noise, tiny_model.encode_prompt(prompt), ddim_schedule(tiny_model, 8),
                   d.guidance_scale)
    ref = _pipeline_latents(tiny_model, prompt, noise, d.num_frames, 8)
    scale = ref.abs().max()
    assert ours.shape == ref.shape
    assert (ours - ref).abs().max() <= 1e-4 * scale


def test_full_sample_has_requested_frames_and_size(tiny_model):
    sample = generate(tiny_model, "a man is skiing", seed=1, progress=False)
    d = tiny_model.defaults
    assert sample.video.shape == (d.num_frames, d.height, d.width, 3)
    assert sample.video.dtype == np.uint8
    again = generate(tiny_model, "a man is skiing", seed=1, progress=False)
    other = generate(tiny_model, "a man is skiing", seed=2, progress=False)
    assert np.array_equal(sample.video, again.video)  # seeded: reproducible
    assert not np.array_equal(sample.video, other.video)  # and the seed matters


@pytest.mark.parametrize("num_frames", [16, 9, 5])
def test_encode_decode_round_trip_keeps_shapes(tiny_model, num_frames):
    pixels = torch.rand(1, num_frames, 3, 64, 64) * 2 - 1
    latents = tiny_model.encode_video(pixels)
    assert tuple(latents.shape) == tiny_model.latent_shape(1, num_frames, 64, 64)
    assert tiny_model.decode_latents(latents, num_frames).shape == pixels.shape


def test_a_new_vae_scale_leaves_the_round_trip_unchanged(tiny_model):
    """A toy VAE's latent scale is set after its training; encode and decode must both see it (the
    CogVideoX pipeline keeps its own copy of the scale, which once kept the old one)."""
    pixels = torch.rand(1, 5, 3, 64, 64) * 2 - 1
    latents = tiny_model.encode_video(pixels)
    before = tiny_model.decode_latents(latents, 5)
    old = tiny_model.vae.config.scaling_factor
    try:
        tiny_model.set_vae_scaling_factor(old * 3)
        scaled = tiny_model.encode_video(pixels)
        assert torch.allclose(scaled, 3 * latents, rtol=1e-5, atol=1e-6)
        assert torch.allclose(tiny_model.decode_latents(scaled, 5), before, atol=1e-5)
    finally:
        tiny_model.set_vae_scaling_factor(old)


def test_cogvideox_compresses_time_4x():
    model = tiny("cogvideox")
    assert [model.latent_frames(f) for f in (1, 5, 9, 13, 16, 17, 49)] == [1, 2, 3, 4, 5, 5, 13]


def test_schedules_match_the_paper_families():
    assert tiny("modelscope").prediction_type == "epsilon"
    assert tiny("latte").prediction_type == "epsilon"
    cog = tiny("cogvideox")
    assert cog.prediction_type == "v_prediction"
    assert cog.alphas_cumprod[999] == 0  # zero terminal SNR
    assert cog.sampling_timesteps(50)[0] == 999 and tiny("modelscope").sampling_timesteps(50)[0] == 981
    # CogVideoX-2b's alphas are shifted by snr_shift_scale=3 relative to the 5b (scale 1) schedule.
    assert tiny("cogvideox").alphas_cumprod[500] < tiny("cogvideox-5b").alphas_cumprod[500]


def test_modelscope_temporal_inventory_covers_every_temporal_transformer():
    model = tiny("modelscope")
    temporal = {p.attention for p in select(model.attention_projections(), "temporal")}
    expected = {
        f"{name}.transformer_blocks.0.{attn}"
        for name, module in model.denoiser.named_modules()
        if type(module).__name__ == "TransformerTemporalModel"
        for attn in ("attn1", "attn2")
    }
    assert any(n.startswith("transformer_in.") for n in expected)
    assert any(".temp_attentions." in n for n in expected)
    assert temporal == expected
    spatial = select(model.attention_projections(), "spatial")
    assert spatial and all(".attentions." in p.module for p in spatial)
    assert {p.kind for p in spatial if p.attention.endswith("attn2")} == {"cross"}


def test_latte_and_cogvideox_inventories():
    latte = tiny("latte").attention_projections()
    temporal = select(latte, "temporal")
    assert temporal and all(p.module.startswith("temporal_transformer_blocks.") for p in temporal)
    blocks = {p.attention.split(".")[1] for p in temporal}
    assert blocks == {str(i) for i in range(tiny("latte").denoiser.config.num_layers)}
    assert all(re.match(r"transformer_blocks\.\d+\.attn[12]\.", p.module) for p in select(latte, "spatial"))

    cog = tiny("cogvideox").attention_projections()
    assert {p.group for p in cog} == {"joint"}
    assert len(cog) == 4 * tiny("cogvideox").denoiser.config.num_layers
    # Every inventoried name really is a Linear of the denoiser.
    modules = dict(tiny("cogvideox").denoiser.named_modules())
    assert all(isinstance(modules[p.module], torch.nn.Linear) for p in cog)


def test_local_folder_source_loads_the_same_model(tmp_path):
    tiny("latte").pipeline.save_pretrained(tmp_path / "latte")
    loaded = load_model("latte", tmp_path / "latte")
    assert loaded.source == str(tmp_path / "latte") and not loaded.is_tiny
    assert loaded.defaults.height == 512  # real sources get the paper's settings
    x = initial_noise(loaded, 16, 64, 64, seed=0)
    a = tiny("latte").predict(x, 500, tiny("latte").encode_prompt("a dog"), 7.5)
    b = loaded.predict(x, 500, loaded.encode_prompt("a dog"), 7.5)
    assert torch.allclose(a, b, atol=1e-5)


def test_missing_hub_weights_give_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsNotFoundError) as err:
        load_model("modelscope", "hub")
    message = str(err.value)
    assert "damo-vilab/text-to-video-ms-1.7b" in message and "--source" in message
    assert "\n" not in message

    # whole: the library's reason is quoted to its end, not cut mid-sentence (it was cut at 200 characters)
    from motionlib.models import loading

    long_reason = "the model is not fully cached locally (" + "x " * 150 + "and outgoing traffic has been disabled.)"

    class Refusing:
        @staticmethod
        def from_pretrained(*args, **kwargs):
            raise OSError(long_reason + "\nSecond line of the reason.")

    monkeypatch.setattr(loading, "pipeline_class", lambda spec: Refusing)
    with pytest.raises(WeightsNotFoundError) as err:
        load_model("modelscope", "hub")
    whole = " ".join(long_reason.split())
    assert whole in str(err.value) and "Second line of the reason." in str(err.value)
    assert str(err.value).endswith("with it") and "\n" not in str(err.value)


def test_bad_sources_and_families(tmp_path):
    with pytest.raises(UnknownFamilyError, match="modelscope, latte, cogvideox"):
        load_model("sora")
    with pytest.raises(UnknownSourceError, match="'tiny', 'toy', 'toy:<name>', 'hub'"):
        load_model("latte", "random")
    with pytest.raises(WeightsNotFoundError, match="does not exist"):
        load_model("latte", tmp_path / "nowhere")
    with pytest.raises(WeightsNotFoundError, match="model_index.json"):
        load_model("latte", tmp_path)


def test_every_family_has_paper_defaults():
    paper = {name: families.get(name).spec.paper for name in ("modelscope", "latte", "cogvideox", "cogvideox-5b")}
    assert (paper["modelscope"].height, paper["latte"].height, paper["cogvideox"].height) == (256, 512, 480)
    assert {p.num_frames for p in paper.values()} == {16}
    assert (paper["modelscope"].guidance_scale, paper["latte"].guidance_scale,
            paper["cogvideox"].guidance_scale) == (9.0, 7.5, 6.0)


def test_predict_and_decode_do_not_depend_on_memory_layout(tiny_model):
    """VAE latents and DDIM states can arrive with permuted strides; results must be bitwise the same,
    or a resumed sweep (latents read back contiguous from the cache) would differ from a fresh one."""
    from motionlib.sampling import initial_noise

    frames = 16 if tiny_model.family == "latte" else 9  # Latte's temporal embedding is fixed at 16
    x = initial_noise(tiny_model, frames, 32, 32, seed=0)
    permuted = x.permute(0, 2, 3, 4, 1).contiguous().permute(0, 4, 1, 2, 3)  # same values, other strides
    assert torch.equal(permuted, x) and not permuted.is_contiguous()
    embeds = tiny_model.encode_prompt("a dog runs")
    assert torch.equal(tiny_model.predict(permuted, 500, embeds, 3.0), tiny_model.predict(x, 500, embeds, 3.0))
    assert torch.equal(tiny_model.decode_latents(permuted, frames), tiny_model.decode_latents(x, frames))


def test_a_batch_of_prompts_conditions_each_row_as_its_prompt_alone(tiny_model):
    """``encode_prompts`` (toy training encodes its captions in batches) must give each row what
    ``encode_prompt`` gives that prompt, or a model trains on embeddings it never samples with. Latte's
    pipeline cuts the embeddings to the prompt's tokens only for a single prompt; for a batch it kept
    all 120, the padding zeroed but attended to (tiny Latte: output off by up to 0.12 without guidance,
    0.94 at guidance 7.5)."""
    frames = 16 if tiny_model.family == "latte" else 9  # Latte's temporal embedding is fixed at 16
    prompts = ["a dog runs", "a jeep car is moving on the road", "a cat"]
    x = torch.cat([initial_noise(tiny_model, frames, 32, 32, seed) for seed in range(len(prompts))])
    batch = tiny_model.encode_prompts(prompts)
    for guidance in (1.0, 7.5):
        together = tiny_model.predict(x, 500, batch, guidance)
        for i, prompt in enumerate(prompts):
            alone = tiny_model.predict(x[i:i + 1], 500, tiny_model.encode_prompt(prompt), guidance)
            torch.testing.assert_close(together[i:i + 1], alone, rtol=1e-4, atol=1e-4)


def test_family_defaults_resolve_given_settings_and_refuse_nonpositive_ones():
    from motionlib.errors import ParameterError
    from motionlib.models import FamilyDefaults

    d = FamilyDefaults(num_frames=16, height=64, width=64, num_steps=20, guidance_scale=9.0)
    assert d.resolved() == d
    got = d.resolved(num_frames=8, width=32, num_steps=3, guidance_scale=0.0)
    assert (got.num_frames, got.height, got.width, got.num_steps, got.guidance_scale) == (8, 64, 32, 3, 0.0)
    for bad in (dict(num_frames=0), dict(height=-1), dict(num_steps=-3), dict(num_steps=2.5),
                dict(num_frames=True), dict(guidance_scale=float("inf")), dict(guidance_scale=-1)):
        with pytest.raises(ParameterError):
            d.resolved(**bad)


@pytest.mark.parametrize("family", ["modelscope", "latte", "cogvideox"])
def test_an_empty_prompt_samples_unconditionally(family):
    """"" is the unconditional prompt: its embedding is the one CFG uses as negative, so the
    guidance scale cannot change the sample."""
    model = tiny(family)
    embeds = model.encode_prompt("")
    assert torch.equal(embeds.cond, embeds.uncond)
    frames = 16 if family == "latte" else 4  # Latte's position embedding is fixed at 16 frames
    a = generate(model, "", num_frames=frames, num_steps=2, guidance_scale=1.0, progress=False)
    b = generate(model, "", num_frames=frames, num_steps=2, guidance_scale=9.0, progress=False)
    torch.testing.assert_close(a.latents, b.latents)


@pytest.mark.parametrize("family", ["modelscope", "latte", "cogvideox"])
def test_group_all_is_every_attention_projection(family):
    """Tab. 4's "all attentions" reading: spatial + temporal (CogVideoX: its joint attention)."""
    projections = tiny(family).attention_projections()
    every = select(projections, "all")
    assert every == projections
    by_group = [p for g in ("temporal", "spatial", "joint") for p in select(projections, g)]
    assert sorted(p.module for p in by_group) == sorted(p.module for p in every)
    assert [p.proj for p in select(projections, "all", "vo")] == [p.proj for p in every if p.proj in "vo"]
    # Each one is a Linear of the denoiser.
    modules = dict(tiny(family).denoiser.named_modules())
    assert all(isinstance(modules[p.module], torch.nn.Linear) for p in every)


def test_a_source_is_labelled_the_same_by_the_loader_and_by_the_projection():
    """`model.source` and the GPU projection's unit source agree (the projection called every toy source "toy")."""
    from motionlib.models.loading import source_label

    for family, source in (("modelscope", "toy"), ("modelscope", "toy:modelscope-free"), ("latte", "tiny")):
        assert load_model(family, source).source == source_label(family, source) == source
    assert source_label("latte", "hub") == "hub:maxin-cn/Latte-1"
