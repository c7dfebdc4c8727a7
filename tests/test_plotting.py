"""Figures a reader can read: heatmap cell labels fit their cells."""

import matplotlib
import numpy as np
import pandas as pd

from motionlib import plotting

matplotlib.use("Agg")


def _windows(step: int) -> pd.DataFrame:
    taus = range(1000, -1, -step)
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"tau_start": a, "tau_end": b, "v": rng.uniform(0, 0.5)} for a in taus for b in taus if a > b])


def _cell_and_widest(fig, ax):
    fig.set_dpi(300)  # fine enough that hinting does not round a label's width by a tenth
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_gid() == plotting.CELL_LABEL]
    cell = ax.get_window_extent(renderer).width / ax.images[0].get_array().shape[1]
    return cell, max((t.get_window_extent(renderer).width for t in labels), default=0.0), len(labels)


def test_heatmap_labels_fit_their_cells_at_a_readable_size_or_are_left_out(tmp_path):
    plotting.use_style()  # as the notebooks draw (the suite's other tests may have set it already)
    fig, axes = plotting.figure("two", aspect=1.25, nrows=2, ncols=3, layout="constrained")  # Fig. 2, 3 families
    for ax in axes.flat:
        fig.colorbar(plotting.window_heatmap(ax, _windows(100), "v"), ax=ax, shrink=0.8)
    plotting.save_figure(fig, tmp_path, "heat3", {"what": "test"})
    labels = [t for ax in axes.flat for t in ax.texts if t.get_gid() == plotting.CELL_LABEL]
    assert all(t.get_fontsize() >= plotting.CELL_FONT[0] for t in labels)  # none under 5 pt: left out instead
    fig, axes = plotting.figure("two", aspect=1.2, nrows=2, ncols=1, layout="constrained")  # Fig. 2, one family
    for ax in axes.flat:
        fig.colorbar(plotting.window_heatmap(ax, _windows(100), "v"), ax=ax, shrink=0.8)
    plotting.save_figure(fig, tmp_path, "heat", {"what": "test"})
    cell, widest, n = _cell_and_widest(fig, axes[0])
    assert n == 55 and 0 < widest <= 0.9 * cell
    plotting.fit_cell_labels(fig)  # a second call (a figure saved twice) leaves them as they are
    assert _cell_and_widest(fig, axes[0])[1] == widest
    assert axes[0].texts[0].get_text().startswith(".")  # values within (-1, 1) drop the leading zero


def test_heatmap_labels_go_where_no_readable_size_fits():
    fig, ax = plotting.figure("one", aspect=0.5)
    plotting.window_heatmap(ax, _windows(20), "v")  # 50 x 50 cells in one column's width
    plotting.fit_cell_labels(fig)
    assert not [t for t in ax.texts if t.get_gid() == plotting.CELL_LABEL]


def test_an_executed_notebook_shows_each_saved_figure_once_and_no_stray_warning(tmp_path):
    """save_figure closes the figure, so the inline backend does not draw it a second time beside the
    cell's result (the report showed every figure twice); importing motionlib silences tqdm's widget warning."""
    import nbformat
    from nbclient import NotebookClient

    from motionlib.reproduce import ensure_kernelspec

    nb = nbformat.v4.new_notebook()
    setup = ("import matplotlib.pyplot as plt\nfrom motionlib import plotting\nimport tqdm.auto\n"
             f"out = {str(tmp_path)!r}\n")
    as_result = "fig, ax = plt.subplots()\nax.plot([0, 1])\nplotting.save_figure(fig, out, 'a', {'what': 't'})\nfig\n"
    as_display = ("for name in ('b', 'c'):\n    fig, ax = plt.subplots()\n    ax.plot([1, 0])\n"
                  "    plotting.save_figure(fig, out, name, {'what': 't'})\n    display(fig)\n")
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (setup, as_result, as_display)]
    NotebookClient(nb, kernel_name=ensure_kernelspec(), timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    images = [sum("image/png" in o.get("data", {}) for o in cell.outputs) for cell in nb.cells]
    assert images == [0, 1, 2]
    # and no stray warnings: tqdm.auto's "IProgress not found" without ipywidgets is filtered by motionlib
    stderr = [o.get("text", "") for cell in nb.cells for o in cell.outputs if o.get("name") == "stderr"]
    assert not stderr, stderr


def test_a_style_file_and_a_column_width_restyle_every_figure_and_bad_ones_are_refused(tmp_path):
    import matplotlib.pyplot as plt
    import pytest

    from motionlib.errors import ParameterError

    style = tmp_path / "venue.mplstyle"
    style.write_text("font.size: 9\nfont.family: serif\n")
    try:
        plotting.use_style(style, width="single")
        assert plt.rcParams["font.size"] == 9 and plt.rcParams["font.family"] == ["serif"]
        fig, _ = plotting.figure("two")  # a two-column figure, drawn at the forced single width
        assert fig.get_figwidth() == plotting.ONE_COLUMN_IN
        fig = plotting.frame_rows([np.zeros((4, 8, 8, 3), np.uint8)], ["a"], num_frames=4)
        assert fig.get_figwidth() == plotting.ONE_COLUMN_IN
        plotting.use_style()
        assert plotting.figure("two")[0].get_figwidth() == plotting.TWO_COLUMN_IN and plt.rcParams["font.size"] == 8
        bad = tmp_path / "bad.mplstyle"
        bad.write_text("font.size: nine\n")
        for path, match in ((tmp_path / "absent.mplstyle", "does not exist"), (bad, "does not parse")):
            with pytest.raises(ParameterError, match=match):
                plotting.use_style(path)
        with pytest.raises(ParameterError, match="single or double"):
            plotting.use_style(width="triple")
        assert plt.rcParams["font.size"] == 8  # a refused style changes nothing
        from motionlib import paths

        shipped = plotting.read_style(paths.ASSETS_DIR / "styles" / "serif.mplstyle")  # the README's example
        assert shipped["font.family"] == ["serif"]
    finally:
        plotting.use_style()
        plt.close("all")
