"""The family registry: every family in one module, and a new family is one new file.

``tests/plugins/fakescope.py`` is a fourth family written as a newcomer would write one; these tests load
it through ``MOTIONLIB_FAMILIES`` and run sample, sweep, customize + generate and a notebook on it with no
edit anywhere else. The layering test holds the rule that only ``motionlib/families/`` knows family names.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from motionlib import families, paths
from motionlib.cli import main
from motionlib.data import bundled_dataset, read_video
from motionlib.errors import UnknownFamilyError

PLUGIN = Path(__file__).parent / "plugins" / "fakescope.py"


@pytest.fixture(scope="module")
def fakescope():
    families.load_module(str(PLUGIN))
    yield families.get("fakescope")
    families.unregister("fakescope")  # the rest of the session sees only the shipped families


def test_the_registry_lists_the_papers_families_in_order():
    assert families.paper_names() == ["modelscope", "latte", "cogvideox"]
    assert families.toy_names() == ["modelscope", "latte", "cogvideox"]
    assert [families.get(n).paper_best_tau for n in ("modelscope", "latte", "cogvideox")] == [700, 700, 950]
    assert families.get("cogvideox-5b").paper_taus == families.get("cogvideox").paper_taus
    assert families.get("cogvideox-5b").paper_tab1 == {}  # the paper's numbers stay with the model it names
    with pytest.raises(UnknownFamilyError, match="choose one of: modelscope, latte, cogvideox"):
        families.get("sora")


def _family_literals(tree: ast.AST, names: set[str]):
    """String constants equal to a family name used in control flow: compared, tested with startswith,
    or used as an ``in`` test's left side."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for part in (node.left, *node.comparators):
                if isinstance(part, ast.Constant) and part.value in names:
                    yield node.lineno, part.value
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("startswith", "endswith"):
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and \
                        any(n.startswith(arg.value) for n in names):
                    yield node.lineno, arg.value
        if isinstance(node, ast.Dict):  # a table keyed by family names belongs to the family
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if sum(k in names for k in keys) >= 2:
                yield node.lineno, ",".join(k for k in keys if k in names)


def test_no_module_outside_families_branches_on_a_family_name():
    names = set(families.names())
    found = []
    for path in sorted(paths.PACKAGE_DIR.rglob("*.py")):
        if "families" in path.relative_to(paths.PACKAGE_DIR).parts:
            continue
        for line, value in _family_literals(ast.parse(path.read_text()), names):
            found.append(f"{path.relative_to(paths.PACKAGE_DIR)}:{line} {value!r}")
    assert not found, "family names in control flow outside motionlib/families/:\n" + "\n".join(found)


def test_the_layering_rule_catches_a_branch():
    tree = ast.parse('if family == "latte":\n    x = 1\nif name.startswith("cogvideox"):\n    y = 2\n'
                     'T = {"latte": 1, "modelscope": 2}\n')
    assert [line for line, _ in _family_literals(tree, set(families.names()))] == [1, 3, 5]


def test_a_fourth_family_from_one_file_samples_sweeps_and_customizes(fakescope, tmp_path, capsys):
    assert "fakescope" in families.names() and "fakescope" not in families.paper_names()
    clip = bundled_dataset()[0]
    sample = tmp_path / "sample.mp4"
    assert main(["sample", "--model", "fakescope", "--source", "tiny", "--prompt", "a dog runs", "--steps", "3",
                 "--out", str(sample)]) == 0
    assert read_video(sample, num_frames=None).shape == (8, 64, 64, 3)  # the family's own defaults: 8 frames
    assert json.loads((tmp_path / "sample.provenance.json").read_text())["models"][0]["family"] == "fakescope"
    sweep = tmp_path / "sweep"
    assert main(["sweep", "--model", "fakescope", "--source", "tiny", "--video", str(clip.path), "--caption",
                 clip.caption, "--edit", clip.edit("object"), "--steps", "4", "--grid", "500", "--out",
                 str(sweep)]) == 0
    assert (sweep / "sweep.csv").read_text().count("\n") > 3
    adapter = tmp_path / "adapter"
    assert main(["customize", "--model", "fakescope", "--source", "tiny", "--video", str(clip.path), "--caption",
                 clip.caption, "--steps", "2", "--out", str(adapter)]) == 0
    record = json.loads((adapter / "adapter.json").read_text())
    assert record["settings"]["tau"] == 700 and record["settings"]["group"] == "temporal"
    assert all(".temp_attentions." in m or m.startswith("transformer_in.") for m in record["target_modules"])
    videos = tmp_path / "videos"
    assert main(["generate", "--model", "fakescope", "--source", "tiny", "--adapter", str(adapter), "--prompt",
                 "a cat runs", "--samples", "1", "--steps", "3", "--out", str(videos)]) == 0
    assert len(list(videos.glob("*.mp4"))) == 1
    # No toy model ships for it: without --source, one line naming the choice.
    assert main(["sample", "--model", "fakescope", "--prompt", "x", "--out", str(tmp_path / "x.mp4")]) == 2
    assert "no toy model ships for fakescope" in capsys.readouterr().err


def test_a_notebook_runs_on_the_fourth_family_from_a_params_file(fakescope, tmp_path, monkeypatch):
    import papermill
    import yaml

    from motionlib.reproduce import ensure_kernelspec

    params = tmp_path / "fakescope.yaml"
    params.write_text(yaml.safe_dump({"family": "fakescope", "source": "tiny", "steps": 3, "video": "toy00",
                                      "out_dir": str(tmp_path / "tour")}))
    monkeypatch.setenv("MOTIONLIB_FAMILIES", str(PLUGIN))  # the kernel (another process) loads the family too
    papermill.execute_notebook(str(paths.NOTEBOOKS_DIR / "00_tour.ipynb"), str(tmp_path / "tour.ipynb"),
                               parameters=yaml.safe_load(params.read_text()), kernel_name=ensure_kernelspec(),
                               progress_bar=False, cwd=str(tmp_path))
    record = json.loads(next((tmp_path / "tour").glob("*.provenance.json")).read_text())
    assert record["models"][0]["family"] == "fakescope"
    assert os.environ["MOTIONLIB_FAMILIES"] == str(PLUGIN)
