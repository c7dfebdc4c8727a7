"""The figure check (motionlib.figure_check) catches what it must, and passes what it should."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from motionlib import figure_check, plotting  # noqa: E402
from motionlib.figure_check import FigureCheckError, FigureCheckWarning, check_figure  # noqa: E402


def kinds(fig, **kw) -> list[str]:
    return sorted({p.kind for p in check_figure(fig, **kw)})


@pytest.fixture(autouse=True)
def _style():
    plotting.use_style()
    yield
    plt.close("all")


def test_crowded_rotated_tick_labels_overlap_and_fewer_do_not():
    """Fig. 2's blob: 20 rotated tau labels on a narrow axis."""
    fig, ax = plt.subplots(figsize=(1.6, 1.6))
    ax.imshow(np.random.default_rng(0).random((20, 20)))
    ax.set_xticks(range(20), [str(1000 - 50 * i) for i in range(20)], rotation=45)
    ax.set_yticks([])
    assert "overlap" in kinds(fig)
    ax.set_xticks(range(0, 20, 5), [str(1000 - 250 * i) for i in range(4)], rotation=0)
    assert kinds(fig) == []


def test_two_titles_that_run_into_each_other_overlap():
    fig, axes = plt.subplots(1, 2, figsize=(3.3, 1.5))
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set_title("a long column title (no edit: -16.1)")
    problems = check_figure(fig)
    assert [p.kind for p in problems] == ["overlap"] and "title" in problems[0].detail


def test_a_legend_over_a_data_point_is_caught_and_one_beside_the_axes_is_not():
    fig, ax = plt.subplots(figsize=(3.3, 2.0))
    ax.plot([0, 1, 2], [0.0, 0.5, 1.0], marker="o", label="curve")
    ax.scatter([0.1], [0.95], label="a point under the legend")
    ax.legend(loc="upper left")
    assert "legend over data" in kinds(fig)
    ax.get_legend().remove()
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    assert "legend over data" not in kinds(fig)


def test_an_empty_panel_is_caught_and_one_that_says_why_is_not():
    fig, axes = plt.subplots(1, 2, figsize=(5, 2))
    axes[0].plot([0, 1], [1, 2])
    axes[1].errorbar([0, 1], [np.nan, np.nan], yerr=[np.nan, np.nan])  # PickScore on a toy model: all NaN
    axes[1].set_title("PickScore")
    problems = check_figure(fig)
    assert [p.kind for p in problems] == ["empty axes"] and "PickScore" in problems[0].detail
    axes[1].text(0.5, 0.5, "n/a (toy model)", ha="center", transform=axes[1].transAxes)
    assert kinds(fig) == []


def test_text_under_5_pt_at_the_printed_width_is_caught():
    fig, ax = plt.subplots(figsize=(3.3, 2))
    ax.plot([0, 1], [0, 1])
    ax.text(0.2, 0.8, "tiny", fontsize=4)
    assert kinds(fig) == ["small text"]
    fig, ax = plt.subplots(figsize=(14, 4))  # printed at 7 in: every 8 pt text becomes 4 pt
    ax.plot([0, 1], [0, 1])
    ax.set_title("a wide figure")
    assert kinds(fig) == ["small text"] and kinds(fig, printed_width_in=14) == []


def test_error_under_test_warning_otherwise_and_save_figure_still_writes(tmp_path, monkeypatch):
    fig, ax = plt.subplots(figsize=(3.3, 2))
    ax.plot([0, 1], [0, 1])
    ax.text(0.2, 0.8, "tiny", fontsize=3)
    monkeypatch.setenv(figure_check.ENV, "error")
    with pytest.raises(FigureCheckError, match="small text"):
        figure_check.enforce(fig, "bad")
    monkeypatch.setenv(figure_check.ENV, "warn")
    with pytest.warns(FigureCheckWarning, match="figure bad: small text"):
        written = plotting.save_figure(fig, tmp_path, "bad", {"what": "t"})
    assert all(p.is_file() for p in written)
    monkeypatch.setenv(figure_check.ENV, "off")
    assert figure_check.enforce(fig, "bad") == []


def test_a_panel_with_only_labels_of_points_at_nan_is_empty():
    """Tab. 3's PickScore panel on a toy model: every point NaN, each with its label annotated at NaN."""
    fig, axes = plt.subplots(2, 1, figsize=(3.3, 3))
    axes[0].plot([0, 1], [1, 2])
    axes[1].errorbar([0.0], [np.nan], yerr=[[np.nan], [np.nan]], fmt="o")
    axes[1].annotate("QKVO", (0.0, np.nan), xytext=(0, 6), textcoords="offset points")
    assert [p.kind for p in check_figure(fig)] == ["empty axes"]
