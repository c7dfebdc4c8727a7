"""DDIM inversion: exact step inverse, the sampler's own schedule, reconstruction per family."""

import pytest
import torch

from motionlib.data import bundled_dataset, read_video, to_model_pixels
from motionlib.inversion import invert, invertible_steps, inverse_ddim_step
from motionlib.sampling import ddim_schedule, ddim_step, denoise

from conftest import tiny


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("alpha, alpha_prev", [(0.02, 0.1), (0.5, 0.7), (0.93, 0.9991)])
def test_inverse_step_undoes_the_sampler_step(prediction_type, alpha, alpha_prev):
    g = torch.Generator().manual_seed(0)
    x_t, out = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    x_prev = ddim_step(x_t, out, alpha, alpha_prev, prediction_type)
    back = inverse_ddim_step(x_prev, out, alpha, alpha_prev, prediction_type)
    torch.testing.assert_close(back, x_t, rtol=1e-4, atol=1e-4)


def test_cogvideox_inversion_stops_short_of_zero_snr():
    model = tiny("cogvideox")
    assert model.alphas_cumprod[999] == 0.0  # the shifted zero-SNR schedule the sampler really uses
    full, invertible = ddim_schedule(model, 50), invertible_steps(model, 50)
    assert full[0].t == 999 and [s.t for s in invertible] == [s.t for s in full[1:]]
    assert invertible[0].t == 979 and all(s.alpha > 0 for s in invertible)
    # The 5B schedule (snr_shift 1.0) differs from the 2B one: inversion reads the model's own.
    assert not torch.allclose(model.alphas_cumprod, tiny("cogvideox-5b").alphas_cumprod)
    for family in ("modelscope", "latte"):
        assert len(invertible_steps(tiny(family), 50)) == 50


def clip_latents(model):
    frames = 16 if model.family == "latte" else 8  # Latte's temporal embedding is fixed at 16
    video = read_video(bundled_dataset()[0].path, frames, (32, 32))
    return model.encode_video(to_model_pixels(video))


@pytest.mark.parametrize("family, relaxation", [
    ("modelscope", 0.5), ("latte", 1.0), ("cogvideox", 1.0), ("cogvideox-5b", 1.0)])
def test_resampling_the_inversion_reconstructs_the_input(family, relaxation):
    model = tiny(family)
    latents = clip_latents(model)
    caption = model.encode_prompt(bundled_dataset()[0].caption)
    inv = invert(model, latents, caption, 10, fixed_point_iters=20, relaxation=relaxation)
    assert len(inv.trajectory) == len(inv.steps) + 1 and inv.trajectory[-1] is not None
    assert max(inv.residuals) < 1e-3
    rebuilt = denoise(model, inv.noise, caption, inv.steps, guidance_scale=1.0)
    error = ((rebuilt - latents).norm() / latents.norm()).item()
    assert error < 1e-2, error
    # The noise really is noise-like: far from the clean latents.
    assert ((inv.noise - latents).norm() / latents.norm()).item() > 1.0


def test_plain_inversion_is_one_evaluation_per_step(monkeypatch):
    model = tiny("cogvideox")
    calls = []
    original = model.predict
    monkeypatch.setattr(model, "predict", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    inv = invert(model, clip_latents(model), model.encode_prompt("a car"), 10)
    assert calls == [s.t for s in inv.steps[::-1]]  # least noisy first, each timestep once
