"""`make test`'s two lanes (scripts/test_lanes.py): the exit status is a failure whenever a lane failed."""

import importlib.util
import types

import pytest

from motionlib import paths

spec = importlib.util.spec_from_file_location("test_lanes", paths.REPO_ROOT / "scripts" / "test_lanes.py")
lanes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lanes)


class _Finished:
    def __init__(self, returncode: int):
        self.returncode = returncode

    def poll(self):
        return self.returncode

    def wait(self):
        return self.returncode


@pytest.mark.parametrize("tests, notebooks, status", [
    (0, 0, 0), (1, 0, 1), (0, 1, 1), (-9, 0, -9),  # a lane killed by a signal fails the run
    (5, 0, 0), (0, 5, 0), (5, 2, 2), (5, 5, 5),  # 5: nothing selected (-k EXPR), fine in one lane only
])
def test_the_run_fails_when_either_lane_fails(monkeypatch, capsys, tests, notebooks, status):
    launched = []
    fake = types.SimpleNamespace(STDOUT=None, call=lambda cmd, **kw: launched.append(cmd) or tests,
                                 Popen=lambda cmd, **kw: launched.append(cmd) or _Finished(notebooks))
    monkeypatch.setattr(lanes, "subprocess", fake)
    assert lanes.main(["-x"]) == status
    assert sorted(cmd[3] for cmd in launched) == ["notebooks", "tests"] and all(cmd[-1] == "-x" for cmd in launched)
    assert f"tests lane: exit {tests}; notebooks lane: exit {notebooks}" in capsys.readouterr().out
