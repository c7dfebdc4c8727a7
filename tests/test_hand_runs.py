"""A notebook run by hand, as the docs show it (papermill from the repository root, no out_dir), names
its output folder by its family, so that runs for two families keep both."""

import os

import pytest

from motionlib import paths
from motionlib.errors import ParameterError


def test_output_dir_names_a_hand_run_by_its_parameters_and_keeps_a_given_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLIB_FIGURES", str(tmp_path / "figures"))
    assert paths.output_dir("fig2_tradeoff", by=("latte",)) == (tmp_path / "figures" / "fig2_tradeoff-latte").resolve()
    assert paths.output_dir("fig2_tradeoff", by=("modelscope",)).name == "fig2_tradeoff-modelscope"
    assert paths.output_dir("claims").name == "claims"
    given = tmp_path / "run"
    assert paths.output_dir("fig2_tradeoff", given, by=("latte",)) == given and given.is_dir()  # reproduce's folder
    with pytest.raises(ParameterError, match="plain names"):
        paths.output_dir("fig2_tradeoff", by=("../x",))


def test_two_hand_runs_for_two_families_keep_both_outputs(tmp_path):
    import papermill

    from motionlib.reproduce import ensure_kernelspec

    figures = tmp_path / "figures"
    env = {"MOTIONLIB_FIGURES": str(figures), "OMP_NUM_THREADS": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        for family in ("modelscope", "latte"):  # as figures/README.md shows it, from the repository root
            papermill.execute_notebook(str(paths.NOTEBOOKS_DIR / "00_tour.ipynb"), str(tmp_path / f"{family}.ipynb"),
                                       parameters={"family": family}, kernel_name=ensure_kernelspec(),
                                       cwd=str(paths.REPO_ROOT), progress_bar=False)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    for family in ("modelscope", "latte"):
        written = sorted(p.name for p in (figures / f"00_tour-{family}").iterdir())
        assert "sample.mp4" in written and any(n.endswith(".provenance.json") for n in written), (family, written)
    assert not (figures / "00_tour").exists()
