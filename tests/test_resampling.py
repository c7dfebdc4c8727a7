"""Prompt windows and the shared sweep: every window equals naive resampling, counted calls."""

import pytest
import torch

from motionlib.errors import ParameterError
from motionlib.sampling import ddim_schedule, denoise, initial_noise
from motionlib.errors import MotionlibError
from motionlib.resampling import (SweepState, live_counts, naive_evaluations, resample, resample_windows,
                                  shared_evaluations, sweep_passes)
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
    counter = {"latents": 0, "passes": 0}
    original = model._denoise

    def counting(latents, t, embeds, **kwargs):
        counter["latents"] += latents.shape[0]
        counter["passes"] += 1
        return original(latents, t, embeds, **kwargs)

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
    results, counts = resample_windows(model, noise, steps, cond, edit, windows, guidance_scale=1.0, progress=False)
    assert counts["evaluations"] == calls["latents"] == shared_evaluations(windows, steps)
    assert counts["evaluations"] < counts["naive"] == naive_evaluations(windows, steps)
    # Step-synchronous: one pass per step, c and c' rows together (Latte's differ in length: masked).
    assert counts["passes"] == calls["passes"] == len(steps) == sweep_passes(windows, steps)
    assert (model.encode_prompt("a sports car").length != cond.length) == (family == "latte")
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


def test_paper_grid_is_one_pass_per_step():
    """55 windows and the no-edit reference at 50 steps: at most 56 live latents, 50 passes (from ~555)."""
    for family in ("modelscope", "latte", "cogvideox"):
        steps = ddim_schedule(tiny(family), 50)
        windows = [NO_EDIT] + grid_windows(100)
        live = live_counts(windows, steps)
        assert sum(live) == shared_evaluations(windows, steps) and max(live) == 56
        assert sweep_passes(windows, steps) == 50 <= len(steps) + 0
        assert sweep_passes(windows, steps, batch_size=16) == sum(-(-n // 16) for n in live) < 100


def sweep_case(family="latte", num_steps=6):
    model = tiny(family)
    steps = ddim_schedule(model, num_steps)
    frames = {"modelscope": 8, "latte": 16, "cogvideox": 9}[family]
    noise = initial_noise(model, frames, 32, 32, seed=3)
    cond, edit = model.encode_prompt("a jeep car is moving on the road"), model.encode_prompt("a sports car")
    return model, steps, noise, cond, edit, [NO_EDIT] + grid_windows(250)


def assert_same_results(a, b):
    assert a.keys() == b.keys()
    for w in a:
        torch.testing.assert_close(a[w], b[w], rtol=1e-4, atol=1e-4)


def test_capped_passes_and_unmaskable_lengths_give_the_same_windows(monkeypatch):
    model, steps, noise, cond, edit, windows = sweep_case()
    full, _ = resample_windows(model, noise, steps, cond, edit, windows, 3.0, progress=False)
    capped, counts = resample_windows(model, noise, steps, cond, edit, windows, 3.0, batch_size=2, progress=False)
    assert_same_results(capped, full)
    assert counts["passes"] == sweep_passes(windows, steps, batch_size=2) > len(steps)
    # A model that could not mask text padding runs c and c' (different lengths here) in separate passes.
    monkeypatch.setattr(model, "masks_text", False)
    split, counts = resample_windows(model, noise, steps, cond, edit, windows, 3.0, progress=False)
    assert_same_results(split, full)
    edited_steps = sum(any(b for b in row) for row in edited_rows(windows, steps))
    assert counts["passes"] == len(steps) + edited_steps - sum(1 for n in live_counts(windows, steps) if not n)


def edited_rows(windows, steps):
    """Per step, whether each live branch runs c' (a step with both c and c' rows needs two passes
    when the lengths differ and cannot be masked)."""
    from motionlib.resampling import sweep_branches

    branches = sweep_branches(windows, steps)
    rows = [[b.edited for b in branches if b.start <= k < b.stop] for k in range(len(steps))]
    return [r if (any(r) and not all(r)) else [] for r in rows]


def test_a_sweep_resumes_from_its_checkpoint(monkeypatch):
    model, steps, noise, cond, edit, windows = sweep_case("modelscope")
    full, counts_full = resample_windows(model, noise, steps, cond, edit, windows, 1.0, progress=False)
    saved = []
    resample_windows(model, noise, steps, cond, edit, windows, 1.0, checkpoint_every=2, progress=False,
                     on_checkpoint=lambda state: saved.append(SweepState(state.step, dict(state.states))))
    assert [state.step for state in saved] == [2, 4]
    resumed, counts = resample_windows(model, noise, steps, cond, edit, windows, 1.0, resume=saved[1],
                                       progress=False)
    assert_same_results(resumed, full)
    assert counts["evaluations"] == sum(live_counts(windows, steps)[4:]) < counts_full["evaluations"]
    # Ctrl-C saves the state it reached, and raises.
    original, passes = model._denoise, {"n": 0}

    def interrupted(*a, **kw):
        passes["n"] += 1
        if passes["n"] == 4:
            raise KeyboardInterrupt
        return original(*a, **kw)

    monkeypatch.setattr(model, "_denoise", interrupted)
    saved.clear()
    with pytest.raises(KeyboardInterrupt):
        resample_windows(model, noise, steps, cond, edit, windows, 1.0, progress=False,
                         on_checkpoint=saved.append)
    assert [state.step for state in saved] == [3]
    monkeypatch.setattr(model, "_denoise", original)
    resumed, _ = resample_windows(model, noise, steps, cond, edit, windows, 1.0, resume=saved[0], progress=False)
    assert_same_results(resumed, full)


def test_out_of_memory_halves_the_passes(monkeypatch, capsys):
    model, steps, noise, cond, edit, windows = sweep_case("cogvideox")
    full, _ = resample_windows(model, noise, steps, cond, edit, windows, 1.0, progress=False)
    original = model._denoise

    def small_gpu(latents, t, embeds, **kw):  # fits 3 latents a pass
        if latents.shape[0] > 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return original(latents, t, embeds, **kw)

    monkeypatch.setattr(model, "_denoise", small_gpu)
    capsys.readouterr()
    split, counts = resample_windows(model, noise, steps, cond, edit, windows, 1.0, progress=False)
    assert_same_results(split, full)
    log = capsys.readouterr().out.strip().splitlines()
    assert 4 in live_counts(windows, steps) and max(live_counts(windows, steps)) > 3  # a pass of 4 is the first too big
    assert log == ["cogvideox sweep: out of CUDA memory at 4 latents a pass; continuing with 2 (batch_size)"]
    monkeypatch.setattr(model, "_denoise", lambda *a, **kw: (_ for _ in ()).throw(torch.cuda.OutOfMemoryError()))
    with pytest.raises(MotionlibError, match="single cogvideox latent") as info:
        resample_windows(model, noise, steps, cond, edit, windows, 1.0, progress=False)
    assert info.value.__suppress_context__


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_batch_size_is_one_line(bad):
    model, steps, noise, cond, edit, windows = sweep_case("cogvideox", 2)
    with pytest.raises(ParameterError, match="batch_size"):
        resample_windows(model, noise, steps, cond, edit, windows, 1.0, batch_size=bad, progress=False)
