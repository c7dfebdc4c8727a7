"""The one training loop: resume to the uninterrupted result, Ctrl-C saves, other runs' files are left alone."""

import os
import signal

import pytest
import torch

from motionlib import checkpoint
from motionlib.training_loop import Loop, cosine_factor, loss_curve


def _loop(path, seed=0, **kw):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    return net, Loop({"net": net}, lr=1e-2, seed=seed, path=path, run={"what": "tiny", "seed": seed}, ema=0.9)


def _train(loop, net, stop_at=None):
    def step_loss(step):
        x = torch.randn(16, 3, generator=loop.generator)
        if step == stop_at:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of a step
        return ((net(x) - x.sum(1, keepdim=True)) ** 2).mean()

    loop.run_steps(step_loss, 10, checkpoint_every=4, desc="tiny", progress=False, warmup=2, max_grad_norm=1.0)


@pytest.fixture
def python_ctrl_c():
    """Python's own Ctrl-C handling for the test (a job started in the background inherits SIGINT ignored)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_saves_after_the_step_and_the_resumed_run_equals_the_uninterrupted_one(tmp_path, python_ctrl_c):
    whole_net, whole = _loop(None)
    _train(whole, whole_net)
    net, loop = _loop(tmp_path / "ckpt.safetensors")
    with pytest.raises(KeyboardInterrupt, match="saved at step 6"):
        _train(loop, net, stop_at=5)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's own handling is back
    assert checkpoint.read_meta(tmp_path / "ckpt.safetensors")["step"] == 6
    net, loop = _loop(tmp_path / "ckpt.safetensors")
    assert loop.start == 6 and len(loop.losses) == 6
    _train(loop, net)
    assert loop.losses == whole.losses and len(loop.losses) == 10
    for a, b in zip([*whole_net.parameters(), *whole.ema["net"].parameters()],
                    [*net.parameters(), *loop.ema["net"].parameters()]):
        assert torch.equal(a, b)
    loop.apply_ema()
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), whole.ema["net"].parameters()))


def test_a_checkpoint_of_another_run_is_not_resumed_from(tmp_path):
    net, loop = _loop(tmp_path / "ckpt.safetensors")
    _train(loop, net)
    with pytest.warns(UserWarning, match="other settings"):
        _, other = _loop(tmp_path / "ckpt.safetensors", seed=1)
    assert other.start == 0 and other.losses == []


def test_the_schedule_and_the_curve():
    assert [cosine_factor(s, 10, 2) for s in (0, 1, 2)] == [0.5, 1.0, 1.0]
    assert cosine_factor(10, 10, 2) == pytest.approx(0.1)
    assert loss_curve([1.0, 3.0, 5.0, 7.0], points=2) == [[2, 2.0], [4, 6.0]]
