"""Keep notebooks clean: ``python scripts/notebook_tools.py clean notebooks/*.ipynb``.

Strips outputs and execution counts and sets the python3 kernelspec, as the repository stores them.
"""

import sys

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def clean(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    nbformat.write(nb, path)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "clean":
        sys.exit(__doc__)
    for p in sys.argv[2:]:
        clean(p)
