"""Prompt windows and the shared sweep: every window equals naive resampling, counted calls."""

import pytest
import torch

from motionlib.errors import ParameterError
from motionlib.sampling import ddim_schedule, denoise, initial_noise
from motionlib.resampling import naive_evaluations, resample, resample_windows, shared_evaluations
from motionlib.windows import NO_EDIT, PromptWindow, grid_values, grid_windows, window

from conftest import tiny


def test_grid_of_interval_100_has_the_papers_55_windows():
    windows = grid_windows(100)
    assert len(windows) == 55 and len(set(windows)) == 55
    assert windows[0] == PromptWindow(1000, 900) and windows[-1] == PromptWindow(100, 0)
    assert all(0 <= w.tau_end < w.tau_start <= 1000 and w.on_grid(100) for w in windows)
    assert len(grid_windows(250)) == 10 and grid_values(500) == [0, 500, 1000]


@pytest.mark.parametrize("bad", [(500, 500), (400, 600), (1100, 0), (500, -100)])
def test_invalid_windows_are_rejected(bad):
    with pytest.raises(ParameterError, match="must satisfy"):
        PromptWindow(*bad)


def test_off_grid_windows_and_grids_are_rejected():
    with pytest.raises(ParameterError, match="not on the grid"):
        window(750, 0, interval=100)
    with pytest.raises(ParameterError, match="divisor"):
        grid_values(300)


def test_window_maps_to_a_contiguous_block_of_steps():
    steps = ddim_schedule(tiny("latte"), 10)  # timesteps 900, 800, ..., 0
    w = PromptWindow(800, 300)
    assert [w.uses_edit(s.t) for s in steps] == [False, False, True, True, True, True, True, False, False, False]
    assert w.step_range(steps) == (2, 7)  # t = 800 is outside (half-open), t = 300 inside
    assert PromptWindow(1000, 0).step_range(steps) == (0, 10)
    assert PromptWindow(50, 0).step_range(steps) == (9, 10)


def count_denoiser_calls(model, monkeypatch):
    counter = {"latents": 0}
    original = model._denoise

    def counting(latents, t, embeds):
        counter["latents"] += latents.shape[0]
        return original(latents, t, embeds)

    monkeypatch.setattr(model, "_denoise", counting)
    return counter


@pytest.mark.parametrize("family, frames", [("modelscope", 8), ("latte", 16), ("cogvideox", 9)])
def test_shared_sweep_equals_naive_resampling_for_every_window(family, frames, monkeypatch):
    model = tiny(family)
    steps = ddim_schedule(model, 8)
    noise = initial_noise(model, frames, 32, 32, seed=1)
    cond, edit = model.encode_prompt("a jeep car is moving on the road"), model.encode_prompt("a sports car")
    windows = [NO_EDIT] + grid_windows(200)  # 21 windows over 8 steps, some sharing step ranges
    calls = count_denoiser_calls(model, monkeypatch)
    results, counts = resample_windows(model, noise, steps, cond, edit, windows, guidance_scale=1.0,
                            batch_size=4, progress=False)
    assert counts["evaluations"] == calls["latents"] == shared_evaluations(windows, steps)
    assert counts["evaluations"] < counts["naive"] == naive_evaluations(windows, steps)
    assert counts["passes"] < counts["evaluations"]  # suffixes really were batched
    for w in windows:
        naive = resample(model, noise, steps, cond, edit, w, guidance_scale=1.0)
        torch.testing.assert_close(results[w], naive, rtol=1e-4, atol=1e-4)
    # The no-edit window is the plain reconstruction: c at every step.
    torch.testing.assert_close(results[NO_EDIT], denoise(model, noise, cond, steps, 1.0, progress=False),
                               rtol=1e-4, atol=1e-4)
    # Early and late edits really differ (the comparison above is not vacuous).
    assert not torch.allclose(results[windows[1]], results[windows[-1]], atol=1e-3)
    assert not torch.allclose(results[NO_EDIT], results[windows[-1]], atol=1e-3)


def test_no_edit_window_uses_c_at_every_step():
    steps = ddim_schedule(tiny("latte"), 10)
    assert NO_EDIT.is_no_edit and not any(NO_EDIT.uses_edit(s.t) for s in steps)
    k_s, k_e = NO_EDIT.step_range(steps)
    assert k_s == k_e  # an empty block of c' steps


def test_sweep_with_guidance_counts_one_evaluation_per_latent(monkeypatch):
    model = tiny("cogvideox")
    steps = ddim_schedule(model, 6)
    noise = initial_noise(model, 9, 32, 32, seed=2)
    cond, edit = model.encode_prompt("a dog"), model.encode_prompt("a cat")
    windows = [PromptWindow(1000, 0), PromptWindow(600, 0), PromptWindow(600, 300)]
    results, counts = resample_windows(model, noise, steps, cond, edit, windows, guidance_scale=6.0, progress=False)
    torch.testing.assert_close(results[windows[2]],
                               resample(model, noise, steps, cond, edit, windows[2], 6.0), rtol=1e-4, atol=1e-4)
    assert counts["evaluations"] == shared_evaluations(windows, steps)


def test_shared_formula_at_paper_settings_is_well_under_half():
    for family in ("modelscope", "latte", "cogvideox"):
        steps = ddim_schedule(tiny(family), 50)
        windows = grid_windows(100)
        shared, naive = shared_evaluations(windows, steps), naive_evaluations(windows, steps)
        assert naive == 55 * 50 and shared / naive < 0.45, (family, shared)
