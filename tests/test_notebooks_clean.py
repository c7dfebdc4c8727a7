"""Notebooks are stored clean and parameterised, and paper parameter files fit their parameters."""

import nbformat
import pytest
import yaml

from motionlib import paths
from motionlib.reproduce import notebook_parameters, notebooks

NOTEBOOKS = notebooks()


def test_every_paper_item_has_its_notebook_and_every_notebook_its_item():
    from motionlib.report import PAPER_ITEMS

    assert {nb.stem for nb in NOTEBOOKS} == set(PAPER_ITEMS)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key set twice (PyYAML keeps the last silently)."""


def _no_duplicates(loader, node, deep=False):
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValueError(f"keys set twice: {twice}")
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


@pytest.mark.parametrize("path", sorted(paths.PARAMS_DIR.rglob("*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_parameter_file_sets_a_key_twice(path):
    yaml.load(path.read_text(), Loader=_UniqueKeyLoader)


def test_a_key_set_twice_is_caught():
    with pytest.raises(ValueError, match="edit_kind"):
        yaml.load("edit_kind: object\ngrid: 100\nedit_kind: style\n", Loader=_UniqueKeyLoader)


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
    if "family" not in params:  # a notebook without one model (Fig. 2 across families, the user study): its own file
        unknown = set(extra or {}) - set(params) - set(PROFILE_KEYS)
        assert not unknown, f"{specific.name} sets {unknown}, which {path.name} does not take"
        return
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


def _papermill_commands() -> list[tuple[str, list[str]]]:
    """Every papermill command the docs, notebooks and parameter files show: (where, its tokens)."""
    import json
    import re
    import shlex

    root = paths.REPO_ROOT
    texts = {str(p.relative_to(root)): p.read_text() for p in [root / "README.md", root / "figures" / "README.md",
                                                               *sorted((root / "docs").glob("*.md"))]}
    texts.update({str(p.relative_to(root)): p.read_text() for p in sorted(paths.PARAMS_DIR.rglob("*.yaml"))})
    for nb in NOTEBOOKS:
        texts[str(nb.relative_to(root))] = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"])
    found = []
    for where, text in texts.items():
        for match in re.finditer(r"papermill\s+(?:notebooks/|\S+\.ipynb|-f\s)[^`\n)#]*(?:\n(?!\n)[^`\n)#]*)?", text):
            command = re.split(r"`|\s#", match.group(0))[0]
            found.append((where, shlex.split(" ".join(command.split()))))
    return found


def _convention_problems(commands: list[tuple[str, list[str]]]) -> list[str]:
    from motionlib.families import paper_names

    problems = []
    for where, tokens in commands:
        if "--cwd" in tokens:
            problems.append(f"{where}: --cwd ({' '.join(tokens)})")
        if len(tokens) > 1 and not tokens[1].startswith("-"):
            if not tokens[1].startswith("notebooks/"):
                problems.append(f"{where}: the notebook is not named from the repository root: {tokens[1]}")
            elif "<" not in tokens[1] and not (paths.REPO_ROOT / tokens[1]).is_file():
                problems.append(f"{where}: no such notebook {tokens[1]}")
        for name in [tokens[i + 1] for i, t in enumerate(tokens[:-1]) if t == "-f"]:
            if name.split(".")[0].isupper():  # a placeholder (PARAMS.yaml)
                continue
            for f in [name.replace("<family>", fam) for fam in paper_names()] if "<family>" in name else [name]:
                if not (paths.REPO_ROOT / f).is_file():
                    problems.append(f"{where}: -f {f} is not a file under the repository root")
    return problems


def test_every_papermill_command_shown_runs_from_the_repository_root():
    """One convention everywhere: run from the repository root, `papermill notebooks/<nb>.ipynb OUT -f
    notebooks/params/...`; every notebook and parameter file named exists (``<family>``: each family's)."""
    commands = _papermill_commands()
    assert len(commands) >= 10  # the notebooks' paper-settings lines, docs/reproduce.md, the parameter files
    problems = _convention_problems(commands)
    assert not problems, "\n".join(problems)


def test_a_papermill_line_of_another_convention_is_caught():
    bad = [("x.md", "papermill fig2_tradeoff.ipynb out.ipynb -f params/paper/latte.yaml --cwd notebooks".split()),
           ("y.md", "papermill notebooks/fig2_tradeoff.ipynb out.ipynb -f notebooks/params/paper/sora.yaml".split()),
           ("z.md", "papermill notebooks/fig9.ipynb out.ipynb".split())]
    problems = _convention_problems(bad)
    assert len(problems) == 5 and all(p.split(":")[0] in {"x.md", "y.md", "z.md"} for p in problems)


def test_make_lab_offers_one_kernel_on_which_every_notebook_opens():
    """`make lab` (scripts/jupyter_lab_config.json): the only kernel is motionlib's, so JupyterLab opens each
    notebook (kernelspec python3, language python) on it: it takes the spec of the notebook's name, else
    the one spec of its language. The server is rooted at the repository, so figures/ is in reach."""
    import json

    from jupyter_client.kernelspec import KernelSpecManager

    from motionlib.reproduce import KERNEL_NAME, ensure_kernelspec

    config = json.loads((paths.REPO_ROOT / "scripts" / "jupyter_lab_config.json").read_text())
    ensure_kernelspec()
    specs = KernelSpecManager(allowed_kernelspecs=set(config["KernelSpecManager"]["allowed_kernelspecs"])).get_all_specs()
    assert list(specs) == [KERNEL_NAME] and config["MappingKernelManager"]["default_kernel_name"] == KERNEL_NAME
    for path in NOTEBOOKS:
        wanted = nbformat.read(path, as_version=4).metadata["kernelspec"]
        same_language = [n for n, s in specs.items() if s["spec"]["language"] == wanted["language"]]
        assert wanted["name"] in specs or same_language == [KERNEL_NAME], path.name
    recipe = (paths.REPO_ROOT / "Makefile").read_text().split("\nlab:")[1].split("\n\n")[0]
    assert "--config=scripts/jupyter_lab_config.json" in recipe and "--ServerApp.root_dir=$(CURDIR)" in recipe
