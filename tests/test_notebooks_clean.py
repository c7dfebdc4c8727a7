"""Notebooks are stored clean and parameterised, and paper parameter files fit their parameters."""

import nbformat
import pytest
import yaml

from motionlib import paths
from motionlib.reproduce import notebook_parameters, notebooks

NOTEBOOKS = notebooks()


def test_there_are_notebooks():
    assert any(nb.stem == "00_tour" for nb in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_and_parameterised(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(cell.get("id") for cell in nb.cells), "every cell has an id (nbformat 4.5; else every read warns)"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "store notebooks without outputs"
    params = notebook_parameters(path)
    assert "out_dir" in params and params["out_dir"] is None  # reproduce sets it


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_paper_parameter_files_only_set_known_parameters(path):
    from motionlib.reproduce import PROFILE_KEYS

    params = notebook_parameters(path)
    specific = paths.PARAMS_DIR / "paper" / f"{path.stem}.yaml"
    extra = yaml.safe_load(specific.read_text()) if specific.exists() else {}
    if "family" not in params:
        return  # notebooks without a model (e.g. the user study) take no per-family file
    for family_file in sorted((paths.PARAMS_DIR / "paper").glob("*.yaml")):
        if family_file.stem in {nb.stem for nb in NOTEBOOKS}:
            continue
        settings = {**yaml.safe_load(family_file.read_text()), **(extra or {})}
        unknown = set(settings) - set(params) - set(PROFILE_KEYS)  # run_families steers reproduce.plan
        assert not unknown, f"{family_file.name} sets {unknown}, which {path.name} does not take"


@pytest.mark.parametrize("profile", ["quick", "toy"])
def test_profile_parameter_files_only_set_known_parameters(profile):
    from motionlib.reproduce import PROFILE_KEYS

    by_stem = {nb.stem: nb for nb in NOTEBOOKS}
    files = sorted((paths.PARAMS_DIR / profile).glob("*.yaml"))
    assert files
    for file in files:
        assert file.stem in by_stem, f"{file.name} names no notebook"
        unknown = set(yaml.safe_load(file.read_text())) - set(notebook_parameters(by_stem[file.stem])) - set(PROFILE_KEYS)
        assert not unknown, f"{profile}/{file.name} sets {unknown}, which {file.stem}.ipynb does not take"


def test_figures_readme_lists_every_notebook():
    from motionlib import paths
    from motionlib.reproduce import notebooks

    readme = (paths.REPO_ROOT / "figures" / "README.md").read_text()
    missing = [nb.stem for nb in notebooks() if f"| `{nb.stem}` |" not in readme]
    assert not missing, f"figures/README.md does not say what these notebooks write: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_reads_every_parameter(path, caplog):
    """papermill.inspect_notebook must parse each line of the parameters cell (a comment holding '='
    makes it skip the line with only a log message)."""
    import ast

    import papermill

    cell = next(c for c in nbformat.read(path, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    assigned = [node.targets[0].id for node in ast.parse(cell.source).body]
    assert list(papermill.inspect_notebook(str(path))) == assigned
    assert "Unable to parse" not in caplog.text
    assert list(notebook_parameters(path)) == assigned
