"""Motion customization: timestep range, exact targets, inference gating, save/load, resume, loss."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from motionlib.customize import (
    CustomizeSettings,
    adapter_active_at,
    attach,
    diffusion_loss,
    generate_customized,
    load_adapter,
    target_modules,
    train,
    trainable_parameter_count,
)
from motionlib.data import bundled_dataset, read_video, to_model_pixels
from motionlib.errors import ParameterError
from motionlib.models import load_model
from motionlib.sampling import ddim_schedule, generate

from conftest import tiny

FRAMES = {"modelscope": 8, "latte": 16, "cogvideox": 9}  # Latte's temporal embedding is fixed at 16
SIZE = 32
CAPTION = bundled_dataset()[0].caption


def fresh(family):
    """A model of our own to attach adapters to (the shared ``tiny`` models stay untouched)."""
    return load_model(family, "tiny", seed=0)


def clip(family):
    return read_video(bundled_dataset()[0].path, FRAMES[family], (SIZE, SIZE))


def small(family, **kwargs):
    return CustomizeSettings(num_frames=FRAMES[family], height=SIZE, width=SIZE, **kwargs)


def sample_kwargs(family, **kwargs):
    return dict(num_frames=FRAMES[family], height=SIZE, width=SIZE, num_steps=10, progress=False, **kwargs)


def test_training_draws_timesteps_only_from_tau_to_1000():
    drawn = []
    settings = small("cogvideox", tau=700, train_steps=50, batch_size=4)
    train(fresh("cogvideox"), clip("cogvideox"), CAPTION, settings, progress=False,
          timestep_hook=drawn.append)
    t = torch.cat(drawn)
    assert len(drawn) == 50 and t.dtype == torch.int64 and t.numel() == 200
    assert t.min() >= 700 and t.max() < 1000
    assert t.min() < 720 and t.max() > 980  # uniform over the whole range, both ends reached
    drawn.clear()
    train(fresh("cogvideox"), clip("cogvideox"), CAPTION, small("cogvideox", tau=999, train_steps=3),
          progress=False, timestep_hook=drawn.append)
    assert torch.cat(drawn).tolist() == [999, 999, 999]


def _base_name(name):
    return name.replace(".base_layer", "")


@pytest.mark.parametrize("family, where", [
    ("modelscope", lambda n: n.startswith("transformer_in.") or ".temp_attentions." in n),
    ("latte", lambda n: n.startswith("temporal_transformer_blocks.")),
    ("cogvideox", lambda n: n.startswith("transformer_blocks.") and ".attn1." in n),
])
def test_lora_training_changes_only_the_named_projections(family, where):
    model = fresh(family)
    before = {n: p.detach().clone() for n, p in model.denoiser.named_parameters()}
    result = train(model, clip(family), CAPTION, small(family, tau=0, train_steps=3, learning_rate=1e-2),
                   progress=False)
    targets = result.adapter.targets
    assert targets and all(where(n) for n in targets)
    assert {n.rsplit(".", 1)[-1] for n in targets} == {"to_q", "to_k", "to_v", "0"}
    base, lora = {}, {}
    for name, p in model.denoiser.named_parameters():
        (lora if ".lora_" in name else base)[_base_name(name)] = p
    assert base.keys() == before.keys()
    assert all(torch.equal(p, before[n]) for n, p in base.items())  # LoRA never touches base weights
    assert {n.split(".lora_")[0] for n in lora} == set(targets)  # LoRA layers on the targets only
    for n in targets:
        assert lora[f"{n}.lora_B.motion.weight"].abs().sum() > 0  # every target really trained


def test_direct_training_changes_only_the_target_weights_and_toggles_back():
    model = fresh("latte")
    before = {n: p.detach().clone() for n, p in model.denoiser.named_parameters()}
    settings = small("latte", tau=0, mode="direct", projections="vo", train_steps=3, learning_rate=1e-3)
    adapter = train(model, clip("latte"), CAPTION, settings, progress=False).adapter
    assert all(n.endswith((".to_v", ".to_out.0")) for n in adapter.targets) and len(adapter.targets) == 4
    changed = {f"{n}.{p}" for n in adapter.targets for p in ("weight", "bias")}  # latte linears have biases
    after = dict(model.denoiser.named_parameters())
    assert after.keys() == before.keys()
    for name, p in after.items():
        assert torch.equal(p, before[name]) != (name in changed), name
    tuned = adapter.state_dict()
    adapter.disable()
    assert all(torch.equal(p, before[n]) for n, p in model.denoiser.named_parameters())
    assert all(torch.equal(v, tuned[k]) for k, v in adapter.state_dict().items())
    adapter.enable()
    assert all(torch.equal(after[k], v) for k, v in tuned.items())


@pytest.mark.parametrize("family, mode", [("cogvideox", "lora"), ("modelscope", "lora"), ("latte", "direct")])
def test_adapter_is_applied_exactly_at_steps_with_t_at_least_tau(family, mode, monkeypatch):
    model = fresh(family)
    result = train(model, clip(family), CAPTION, small(family, tau=0, mode=mode, train_steps=2,
                                                        learning_rate=1e-2), progress=False)
    adapter, target = result.adapter, result.adapter.targets[0]
    layer = model.denoiser.get_submodule(target)
    base_weight = tiny(family).denoiser.get_submodule(target).weight  # direct mode: the untouched value
    lora_calls = []
    if mode == "lora":
        layer.lora_A["motion"].register_forward_hook(lambda *_: lora_calls.append(1))
    seen = []  # (t, adapter on, adapter really used in the forward)
    original = model.predict

    def predict(x, t, *args, **kwargs):
        n = len(lora_calls)
        out = original(x, t, *args, **kwargs)
        used = len(lora_calls) > n if mode == "lora" else not torch.equal(layer.weight, base_weight)
        seen.append((t, adapter.active, used))
        return out

    monkeypatch.setattr(model, "predict", predict)
    steps = ddim_schedule(model, 10)
    tau = steps[4].t  # on a step: ">= tau" includes it
    samples = generate_customized(model, adapter, "a dog running", tau=tau, **sample_kwargs(family))
    assert [s[0] for s in seen] == [s.t for s in steps]
    assert [(on, used) for _, on, used in seen] == [(t >= tau,) * 2 for t, _, _ in seen]
    assert sum(on for _, on, _ in seen) == 5 and adapter.active  # the adapter is restored to on
    assert samples[0].settings["tau"] == tau and samples[0].settings["seed"] == 0
    assert adapter_active_at(tau, tau) and not adapter_active_at(tau - 1, tau)
    # At tau = 1000 the trained adapter never applies: exactly the base model's samples.
    seen.clear()
    customized = generate_customized(model, adapter, "a dog running", tau=1000, seeds=[3],
                                     **sample_kwargs(family))[0]
    base = generate(tiny(family), "a dog running", seed=3, **sample_kwargs(family))
    assert not any(used for _, _, used in seen)
    assert torch.equal(customized.latents, base.latents) and np.array_equal(customized.video, base.video)
    # ... and at tau = 0 it applies everywhere and changes the result.
    assert not torch.equal(generate_customized(model, adapter, "a dog running", tau=0, seeds=[3],
                                               **sample_kwargs(family))[0].latents, base.latents)


@pytest.mark.parametrize("family, mode", [("modelscope", "lora"), ("latte", "direct")])
def test_saved_adapter_reloads_into_a_fresh_model_with_identical_outputs(family, mode, tmp_path):
    model = fresh(family)
    settings = small(family, tau=500, mode=mode, train_steps=3, learning_rate=1e-2)
    result = train(model, clip(family), CAPTION, settings, tmp_path, progress=False)
    record = json.loads((tmp_path / "adapter.json").read_text())
    assert record["family"] == family and record["mode"] == mode and record["steps"] == 3
    assert record["settings"]["tau"] == 500 and record["caption"] == CAPTION
    assert record["trainable_parameters"] == trainable_parameter_count(model, settings)
    assert record["final_loss"] == result.losses[-1] and record["model"]["tiny_random_weights"]
    again = fresh(family)
    loaded = load_adapter(again, tmp_path)
    assert all(torch.equal(v, result.adapter.state_dict()[k]) for k, v in loaded.state_dict().items())
    kwargs = sample_kwargs(family, num_samples=2, seed_base=7)
    first = generate_customized(model, result.adapter, "a cat", tau=500, **kwargs)
    second = generate_customized(again, loaded, "a cat", tau=500, **kwargs)
    assert [s.settings["seed"] for s in second] == [7, 8]
    for a, b in zip(first, second):
        assert torch.equal(a.latents, b.latents) and np.array_equal(a.video, b.video)
    other = "cogvideox"
    with pytest.raises(ParameterError, match=f"trained on {family}"):
        load_adapter(fresh(other), tmp_path)


def test_interrupted_training_resumes_to_the_uninterrupted_result(tmp_path):
    settings = small("cogvideox", tau=300, train_steps=6, checkpoint_every=3, learning_rate=1e-2)
    video = clip("cogvideox")
    whole = train(fresh("cogvideox"), video, CAPTION, settings, progress=False)

    def stop_at_step_4(t, calls=[]):
        calls.append(t)
        if len(calls) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(fresh("cogvideox"), video, CAPTION, settings, tmp_path, progress=False,
              timestep_hook=stop_at_step_4)
    assert not (tmp_path / "adapter.json").exists()
    resumed = train(fresh("cogvideox"), video, CAPTION, settings, tmp_path, progress=False)
    assert resumed.resumed_from == 3 and resumed.steps == 6
    assert resumed.losses == whole.losses
    final = resumed.adapter.state_dict()
    assert all(torch.equal(v, final[k]) for k, v in whole.adapter.state_dict().items())  # bitwise
    # A checkpoint of other settings is not resumed from.
    with pytest.warns(UserWarning, match="other settings"):
        other = train(fresh("cogvideox"), video, CAPTION, replace(settings, seed=1),
                      tmp_path, progress=False)
    assert other.resumed_from == 0 and other.steps == 6


def test_training_lowers_the_loss_on_the_reference_video():
    model = fresh("modelscope")
    video = clip("modelscope")
    x0 = model.encode_video(to_model_pixels(video)).float()
    embeds = model.encode_prompt(CAPTION)
    g = torch.Generator().manual_seed(123)
    draws = [(torch.randint(600, 1000, (1,), generator=g), torch.randn(x0.shape, generator=g))
             for _ in range(8)]

    def mean_loss():
        with torch.no_grad():
            return float(np.mean([diffusion_loss(model, x0, t, n, embeds).item() for t, n in draws]))

    before = mean_loss()
    result = train(model, video, CAPTION, small("modelscope", tau=600, train_steps=40, learning_rate=2e-2,
                                                 batch_size=2), progress=False)
    after = mean_loss()
    assert after < 0.85 * before, (before, after)  # about 0.73 over seeds 0-2
    assert np.mean(result.losses[-10:]) < np.mean(result.losses[:10])


@pytest.mark.parametrize("family, kwargs", [
    ("modelscope", dict(rank=4)), ("modelscope", dict(rank=8)), ("latte", dict(rank=8, projections="vo")),
    ("cogvideox", dict(rank=4)), ("modelscope", dict(mode="direct")), ("cogvideox", dict(mode="direct")),
    ("modelscope", dict(rank=4, placement="attention+ff+conv")), ("latte", dict(rank=2, placement="attention+ff")),
])
def test_trainable_parameter_count_matches_the_attached_adapter(family, kwargs):
    model = fresh(family)
    settings = CustomizeSettings(**kwargs)
    expected = trainable_parameter_count(model, settings)
    adapter = attach(model, settings)
    assert trainable_parameter_count(model, settings) == expected  # also once peft wrapped the linears
    assert sum(p.numel() for p in model.denoiser.parameters() if p.requires_grad) == expected
    assert sum(p.numel() for p in adapter.parameters()) == expected
    if family == "latte" and settings.mode == "lora" and settings.placement == "attention":
        assert expected == 4 * 8 * (32 + 32)  # 2 temporal blocks x (V, O), 32 -> 32 linears, rank 8


@pytest.mark.parametrize("mode", ["lora", "direct"])
def test_tau_1000_trains_nothing_and_is_the_base_model(mode, tmp_path):
    family = "modelscope"
    model = fresh(family)
    drawn = []
    result = train(model, clip(family), CAPTION, small(family, tau=1000, mode=mode), tmp_path,
                   progress=False, timestep_hook=drawn.append)
    assert result.steps == 0 and result.losses == [] and drawn == []
    record = json.loads((tmp_path / "adapter.json").read_text())
    assert record["mode"] == "base" and record["steps"] == 0 and record["final_loss"] is None
    assert not (tmp_path / "checkpoint.safetensors").exists()
    base = generate(tiny(family), "a horse", seed=1, **sample_kwargs(family))
    loaded_model = fresh(family)
    loaded = load_adapter(loaded_model, tmp_path)
    for m, a, tau in [(model, result.adapter, 1000), (model, result.adapter, 0), (loaded_model, loaded, 0)]:
        out = generate_customized(m, a, "a horse", tau=tau, seeds=[1], **sample_kwargs(family))[0]
        assert torch.equal(out.latents, base.latents) and np.array_equal(out.video, base.video)


@pytest.mark.parametrize("kwargs, message", [
    (dict(tau=1001), "tau must be an integer timestep in \\[0, 1000\\]"),
    (dict(tau=-1), "tau must be"),
    (dict(tau=700.5), "tau must be"),
    (dict(projections=""), "projections must be distinct letters from 'qkvo'"),
    (dict(projections="qx"), "projections must be"),
    (dict(projections="vv"), "projections must be"),
    (dict(mode="full"), "mode must be 'lora' or 'direct'"),
    (dict(group="middle"), "group must be one of"),
    (dict(rank=0), "rank must be an integer >= 1"),
    (dict(alpha=0), "alpha must be positive"),
    (dict(learning_rate=-1e-4), "learning_rate must be positive"),
    (dict(train_steps=0), "train_steps must be"),
    (dict(batch_size=0), "batch_size must be"),
    (dict(num_frames=0), "num_frames must be a positive integer"),
    (dict(checkpoint_every=0), "checkpoint_every must be"),
    (dict(placement="everywhere"), "placement must be one of"),
    (dict(dropout=1.0), "dropout must be a probability"),
])
def test_bad_settings_raise_clear_errors(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        CustomizeSettings(**kwargs)


def test_misuse_raises_clear_errors(tmp_path):
    with pytest.raises(ParameterError, match="modelscope has no joint attention projections"):
        target_modules(tiny("modelscope"), CustomizeSettings(group="joint"))
    model = fresh("latte")
    adapter = attach(model, CustomizeSettings(projections="vo"))
    with pytest.raises(ParameterError, match="already carries"):
        attach(model, CustomizeSettings())
    with pytest.raises(ParameterError, match="one seed per sample"):
        generate_customized(model, adapter, "a cat", tau=700, num_samples=2, seeds=[1])
    with pytest.raises(ParameterError, match="tau must be"):
        generate_customized(model, adapter, "a cat", tau=2000)
    with pytest.raises(ParameterError, match="holds no trained adapter"):
        load_adapter(model, tmp_path)
    with pytest.raises(ParameterError, match="do not match"):
        adapter.load_state_dict({})
    with pytest.raises(ParameterError, match=r"\(F, H, W, 3\) uint8"):
        train(fresh("latte"), np.zeros((16, 32, 32), np.uint8), CAPTION, small("latte"), progress=False)


@pytest.mark.parametrize("mode", ["lora", "direct"])
def test_removed_adapter_leaves_the_base_model_ready_for_another(mode):
    family = "latte"
    model = fresh(family)
    result = train(model, clip(family), CAPTION, small(family, tau=0, mode=mode, train_steps=2,
                                                        learning_rate=1e-2), progress=False)
    kwargs = sample_kwargs(family)
    base = generate(tiny(family), "a horse", seed=1, **kwargs)
    assert not torch.equal(generate_customized(model, result.adapter, "a horse", tau=0, seeds=[1],
                                               **kwargs)[0].latents, base.latents)
    result.adapter.remove()
    assert torch.equal(generate(model, "a horse", seed=1, **kwargs).latents, base.latents)
    assert not any(p.requires_grad for p in model.denoiser.parameters())
    again = attach(model, small(family, tau=0, mode=mode).resolved(model))  # no "already carries" error
    assert again.targets == result.adapter.targets


def test_an_adapter_applied_at_another_tau_than_it_was_trained_at_warns_and_records_both(tmp_path):
    import warnings

    from motionlib.customize import TauMismatchWarning

    model = fresh("modelscope")
    result = train(model, clip("modelscope"), CAPTION, small("modelscope", tau=500, train_steps=2), tmp_path,
                   progress=False)
    with pytest.warns(TauMismatchWarning, match="trained at t >= 500 and is applied at t >= 300"):
        mismatched = generate_customized(model, result.adapter, "a cat", tau=300, seeds=[0],
                                         **sample_kwargs("modelscope"))[0]
    assert mismatched.settings["tau"] == 300 and mismatched.settings["adapter"]["tau"] == 500
    with warnings.catch_warnings():
        warnings.simplefilter("error", TauMismatchWarning)
        for tau in (500, 1000):  # its own tau, and the base model
            generate_customized(model, result.adapter, "a cat", tau=tau, seeds=[0], **sample_kwargs("modelscope"))


def test_placement_adds_the_feed_forward_of_the_adapted_blocks_and_the_temporal_convolutions():
    model = fresh("modelscope")
    attention = set(target_modules(model, CustomizeSettings()))
    with_ff = set(target_modules(model, CustomizeSettings(placement="attention+ff")))
    with_conv = set(target_modules(model, CustomizeSettings(placement="attention+ff+conv")))
    assert attention < with_ff < with_conv
    temporal_blocks = {p.attention.rsplit(".", 1)[0] for p in model.attention_projections() if p.group == "temporal"}
    assert with_ff - attention and all(".ff." in n and n.split(".ff.")[0] in temporal_blocks for n in with_ff - attention)
    modules = dict(model.denoiser.named_modules())
    convs = with_conv - with_ff
    assert convs and all(isinstance(modules[n], torch.nn.Conv3d) and modules[n].kernel_size[0] > 1 for n in convs)
    with pytest.raises(ParameterError, match="no temporal convolutions"):
        target_modules(fresh("latte"), CustomizeSettings(placement="attention+ff+conv"))


def test_lora_dropout_acts_while_training_only():
    model = fresh("modelscope")
    adapter = attach(model, CustomizeSettings(rank=4, dropout=0.5))
    with torch.no_grad():
        for p in adapter.parameters():
            p.normal_()  # B is zero at first, which would hide the dropout
    layer = adapter._layers[0]
    x = torch.randn(4, layer.base_layer.in_features)
    with torch.no_grad():
        assert torch.equal(layer(x), layer(x))  # eval: deterministic
        with adapter.training():
            torch.manual_seed(0)
            a = layer(x)
            b = layer(x)
        assert not torch.equal(a, b)
        assert torch.equal(layer(x), layer(x))
