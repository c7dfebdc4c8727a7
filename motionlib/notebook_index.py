"""The project's notebooks and the stored defaults of their ``parameters`` cells (what papermill reads).

Below :mod:`motionlib.reproduce` and :mod:`motionlib.projection`, which both read them.
"""

from __future__ import annotations

from pathlib import Path

from motionlib import paths
from motionlib.errors import ParameterError


def notebooks() -> list[Path]:
    """Every notebook under ``notebooks/`` (names starting with ``_`` left out), sorted."""
    return sorted(p for p in paths.NOTEBOOKS_DIR.glob("*.ipynb") if not p.name.startswith("_"))


def notebook_parameters(notebook: Path) -> dict:
    """The stored defaults of a notebook's ``parameters``-tagged cell, as papermill reads them
    (``papermill.inspect_notebook``); every line must be a plain literal assignment."""
    import ast

    import nbformat
    import papermill

    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(f"{notebook.name} must have exactly one cell tagged 'parameters'")
    found = papermill.inspect_notebook(str(notebook))
    assigned = [node.targets[0].id for node in ast.parse(cells[0].source).body]
    if sorted(found) != sorted(assigned):
        missing = sorted(set(assigned) - set(found))
        raise ParameterError(f"papermill cannot read the parameters {missing} of {notebook.name}; keep each one "
                             "a plain `name = literal  # comment` line without '=' in the comment")
    return {name: ast.literal_eval(p["default"]) for name, p in found.items()}
