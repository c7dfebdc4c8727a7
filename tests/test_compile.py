"""--compile: torch.compile of the denoiser gives eager results (within float rounding) and says so."""

import os
import shutil

import pytest
import torch

from motionlib.customize import CustomizeSettings, attach
from motionlib.errors import ParameterError
from motionlib.models import load_model
from motionlib.models.loading import model_spec
from motionlib.sampling import ddim_schedule, denoise, initial_noise

# Compiled kernels fuse and reorder float32 sums: measured differences up to 4e-6 at |output| ~ 2 on
# the tiny models; 1e-4 leaves room for other CPUs while any real change (a wrong branch, a dropped
# mask or adapter) moves outputs by far more.
TOLERANCE = dict(rtol=1e-4, atol=1e-4)
HAS_COMPILER = any(shutil.which(c) for c in ("g++", "c++", "clang++"))
FRAMES = {"modelscope": 8, "latte": 16}

@pytest.mark.skipif(not HAS_COMPILER, reason="torch.compile on the CPU needs a C++ compiler")
@pytest.mark.parametrize("family, guidances", [("latte", (1.0, 5.0)), ("modelscope", (1.0,))])
def test_a_compiled_denoiser_gives_the_eager_results(family, guidances):
    eager, compiled = load_model(family, "tiny", seed=0), load_model(family, "tiny", seed=0, compile=True)
    x = initial_noise(eager, FRAMES[family], 32, 32, seed=1)
    embeds = eager.encode_prompt("a dog runs on the grass")
    for guidance in guidances:
        torch.testing.assert_close(compiled.predict(x, 500, embeds, guidance), eager.predict(x, 500, embeds, guidance),
                                   **TOLERANCE)
    assert compiled.describe()["compiled"] is True and "compiled" not in eager.describe()
    assert model_spec(compiled)["compile"] is True and model_spec(eager)["compile"] is False
    if family == "latte":  # a DDIM run: other timesteps, same shapes
        steps = ddim_schedule(eager, 3)
        torch.testing.assert_close(denoise(compiled, x, embeds, steps, 1.0), denoise(eager, x, embeds, steps, 1.0),
                                   **TOLERANCE)
    else:  # a motion adapter attaches to the compiled denoiser as to the eager one
        plain = eager.predict(x, 500, embeds)
        for model in (eager, compiled):
            adapter = attach(model, CustomizeSettings(num_frames=8, height=32, width=32))
            generator = torch.Generator().manual_seed(0)
            with torch.no_grad():
                for p in adapter.parameters():
                    p.copy_(0.3 * torch.randn(p.shape, generator=generator))
        with_adapter = eager.predict(x, 500, embeds)
        assert (with_adapter - plain).abs().max() > 1e-2  # the adapter changes the output
        torch.testing.assert_close(compiled.predict(x, 500, embeds), with_adapter, **TOLERANCE)

def test_compile_is_off_unless_asked_and_the_environment_turns_it_on(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: calls.append(type(self).__name__))
    monkeypatch.delenv("MOTIONLIB_COMPILE", raising=False)
    assert not load_model("cogvideox", "tiny").compiled and calls == []
    monkeypatch.setenv("MOTIONLIB_COMPILE", "1")  # what `motionlib reproduce --compile` sets for the notebooks
    assert load_model("cogvideox", "tiny").compiled and calls == ["CogVideoXTransformer3DModel"]
    assert not load_model("cogvideox", "tiny", compile=False).compiled

def test_compile_without_a_cpp_compiler_is_one_line(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ParameterError, match="needs a C\\+\\+ compiler") as info:
        load_model("modelscope", "tiny", compile=True)
    assert "\n" not in str(info.value) and "drop --compile" in str(info.value)

def test_reproduce_compile_reaches_the_notebooks_through_the_environment(monkeypatch, tmp_path):
    """(The variable must not outlive the test: every later model would compile.)"""
    from motionlib.cli import build_parser, main

    monkeypatch.setenv("MOTIONLIB_COMPILE", "0")  # so the teardown restores the environment as it was
    assert main(["reproduce", "--plan", "--compile", "--only", "00_tour", "--out", str(tmp_path)]) == 0
    assert os.environ["MOTIONLIB_COMPILE"] == "1"
    args = build_parser().parse_args(["sample", "--model", "latte", "--prompt", "a", "--out", "x.mp4", "--compile"])
    assert args.compile is True
