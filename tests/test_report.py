"""``motionlib report``: HTML pages of a profile's executed notebooks, checked in headless Chromium."""

import base64
import io
import json
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from motionlib import provenance, tables  # noqa: E402
from motionlib.cli import main  # noqa: E402
from motionlib.plotting import save_figure  # noqa: E402
from motionlib.report import build_report  # noqa: E402
from conftest import headless_chromium  # noqa: E402

TOY = {"family": "modelscope", "source": "toy", "toy_world": True}
TWIN = {"family": "latte", "source": "/twins/latte", "checkpoint_twin": True}
REAL = {"family": "cogvideox", "source": "hub"}


def _png_output(color) -> dict:
    """A notebook's inline figure, as an executed cell stores it."""
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.bar([0, 1, 2], [1, 3, 2], color=color)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(buf.getvalue()).decode(),
                                                        "text/plain": "<Figure>"})


def _run(profile: Path, name: str, model: dict, executed: bool = True, color="C0") -> Path:
    """A run folder laid out as ``motionlib reproduce`` writes it, by the writers the notebooks use."""
    out = profile / name
    rec = provenance.record([model], what=f"test {name}")
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [2, 0, 1], color=color)
    save_figure(fig, out, name, rec)  # name.pdf, name.png, name.provenance.json (label drawn in)
    plt.close(fig)
    ours = pd.DataFrame({"tau": [700, 0], "text_alignment": [30.0, 25.0], "text_alignment_lo": [29.0, 24.0],
                         "text_alignment_hi": [31.0, 26.0]})
    table = tables.beside_paper(ours, tables.paper_tab1("modelscope"), "tau", ("text_alignment",))
    tables.write_table(table, out, f"{name}_table", "a test table", rec)  # .md .tex .csv + provenance
    provenance.save_table(pd.DataFrame({"x": range(40)}), out / f"{name}_per_sample.csv", rec)  # long: linked
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}\n\nSee [the section](#{name})."),
                nbformat.v4.new_code_cell("plot()", execution_count=1 if executed else None,
                                          outputs=[_png_output(color)] if executed else [])]
    nb.metadata["papermill"] = {"exception": None}
    nbformat.write(nb, out / f"{name}.ipynb")
    return out


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    root = tmp_path_factory.mktemp("figures") / "smoke"
    _run(root, "fig_toy", TOY, color="C1")
    _run(root, "tab_twin", TWIN, color="C2")
    _run(root, "real_one", REAL, color="C3")
    _run(root, "not_run", TOY, executed=False)  # papermill never got to it: no page
    (root / "reproduce-summary.json").write_text(json.dumps([
        {"name": "fig_toy", "status": "ok"}, {"name": "tab_twin", "status": "failed"}]))  # real_one: not listed
    return root


# ---------------------------------------------------------------- headless Chromium
@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    drv = headless_chromium(tmp_path_factory.mktemp("chromium-profile"))
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


def inspect(driver, page: Path) -> dict:
    """Open ``page``: its images (src, loaded width), relative links that lead nowhere, and its text."""
    driver.get(page.as_uri())
    images = driver.execute_script(
        "return [...document.images].map(i => [i.getAttribute('src').slice(0, 80), i.complete && i.naturalWidth]);")
    links = driver.execute_script(
        "return [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href]);")
    relative = [(raw, url) for raw, url in links if not urlparse(raw).scheme and not raw.startswith("#")]
    broken = [raw for raw, url in relative if not Path(unquote(urlparse(url).path)).is_file()]
    return {"images": images, "relative": [raw for raw, _ in relative], "broken": broken,
            "text": driver.find_element("tag name", "body").text}


def check_screenshot(driver, path: Path) -> None:
    driver.save_screenshot(str(path))
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(float)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 200
    assert pixels.std() > 10 and (pixels.mean(axis=2) < 128).mean() > 0.002, "the screenshot is blank"


def test_report_pages_in_chromium(profile, driver, tmp_path):
    index = build_report(profile, tmp_path / "report")
    pages = {p.stem for p in index.parent.glob("*.html")} - {"index"}
    assert pages == {"fig_toy", "tab_twin", "real_one"}  # not_run has no executed cell

    seen = inspect(driver, index)
    assert len(seen["images"]) == 3 and all(width for _, width in seen["images"]), seen["images"]
    assert not seen["broken"], seen["broken"]
    assert {f"{p}.html" for p in pages} <= set(seen["relative"])
    rows = {line.split()[0]: line for line in seen["text"].splitlines() if line.split() and line.split()[0] in pages}
    assert " ok TOY WORLD modelscope (toy) " in rows["fig_toy"]
    assert " failed CHECKPOINT TWIN latte (/twins/latte) " in rows["tab_twin"]
    assert " executed REAL cogvideox (hub) " in rows["real_one"]
    check_screenshot(driver, tmp_path / "index.png")

    for name, label in (("fig_toy", provenance.TOY_LABEL), ("tab_twin", provenance.TWIN_LABEL),
                        ("real_one", "REAL: cogvideox (hub)")):
        seen = inspect(driver, index.parent / f"{name}.html")
        # the figure's PNG file and the notebook's inline output, both loaded
        assert len(seen["images"]) == 2 and all(width for _, width in seen["images"]), seen["images"]
        assert any(src == f"{name}/{name}.png" for src, _ in seen["images"])
        assert not seen["broken"], seen["broken"]
        for linked in (f"{name}/{name}.provenance.json", f"{name}/{name}_table.csv",
                       f"{name}/{name}_per_sample.csv", f"{name}/{name}.ipynb", "index.html"):
            assert linked in seen["relative"]
        assert seen["text"].count(label) >= 4  # the page, the figure and both tables
        # Tab. 1's paper numbers beside ours: ModelScope at tau 700 and 0
        assert "Text Align. (paper)" in seen["text"] and "28.16" in seen["text"] and "27.43" in seen["text"]
        assert "30.00 [29.00, 31.00]" in seen["text"]
        check_screenshot(driver, tmp_path / f"{name}.png")

    (index.parent / "fig_toy" / "fig_toy.png").unlink()  # the checks above can fail: a missing file shows
    seen = inspect(driver, index.parent / "fig_toy.html")
    assert [src for src, width in seen["images"] if not width] == ["fig_toy/fig_toy.png"]
    assert seen["broken"] == ["fig_toy/fig_toy.png"]


def test_rebuilding_in_the_profile_folder_reports_only_notebooks(profile):
    first = build_report(profile, None)  # default: <profile>/report, which the next build must not read
    assert first == profile / "report" / "index.html"
    again = build_report(profile, None)
    assert sorted(p.name for p in again.parent.glob("*.html")) == ["fig_toy.html", "index.html", "real_one.html",
                                                                   "tab_twin.html"]
    shutil.rmtree(profile / "report")


def test_no_executed_notebooks_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "smoke" / "empty_run").mkdir(parents=True)
    assert main(["report", "--figures", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "no executed notebooks" in err and f"motionlib reproduce --profile smoke --out {tmp_path}" in err
    assert main(["report", "--figures", str(tmp_path / "absent"), "--profile", "toy"]) == 2
    assert "motionlib reproduce --profile toy" in capsys.readouterr().err
    assert not (tmp_path / "smoke" / "report").exists()


def test_report_of_a_real_reproduce_run(tmp_path, driver):
    """fig1_resampling at its smoke settings (about 40 s on 2 cores), through reproduce and report."""
    from motionlib.reproduce import execute_all, plan

    runs = execute_all(plan("smoke", ["fig1_resampling"], tmp_path / "figures"), "smoke", jobs=1)
    assert [r.status for r in runs] == ["ok"], runs[0].error
    assert main(["report", "--figures", str(tmp_path / "figures")]) == 0
    index = tmp_path / "figures" / "smoke" / "report" / "index.html"
    seen = inspect(driver, index)
    assert len(seen["images"]) == 1 and all(width for _, width in seen["images"])
    assert not seen["broken"] and "TOY WORLD" in seen["text"] and " ok " in seen["text"]
    seen = inspect(driver, index.parent / "fig1_resampling.html")
    assert len(seen["images"]) >= 2 and all(width for _, width in seen["images"]), seen["images"]
    assert not seen["broken"], seen["broken"]
    assert "fig1_resampling/fig1_resampling.provenance.json" in seen["relative"]
    assert seen["text"].count(provenance.TOY_LABEL) >= 2
    check_screenshot(driver, tmp_path / "fig1_resampling.png")
    # and `motionlib figures` redraws the notebook's figure from what it recorded, at another width
    png = tmp_path / "figures" / "smoke" / "fig1_resampling" / "fig1_resampling.png"
    width = Image.open(png).size[0]
    assert main(["figures", "--figures", str(tmp_path / "figures"), "--width", "single"]) == 0
    assert Image.open(png).size[0] < width


def test_the_report_loads_nothing_from_the_network_and_its_index_is_by_paper_item(tmp_path):
    """Offline: no script, stylesheet or module import from a URL (nbconvert's lab template loads
    require.js, MathJax and mermaid from a CDN). The index groups runs under the paper item each reproduces."""
    import re

    from motionlib.report import OTHER_ITEM, PAPER_ITEMS

    root = tmp_path / "figures" / "smoke"
    for name in ("tab1_timestep_range-latte", "fig1_resampling", "tab1_timestep_range-modelscope", "odd"):
        run = _run(root, name, TOY)
        stem = name.split("-")[0]
        (run / f"{name}.ipynb").rename(run / f"{stem}.ipynb")  # the executed notebook keeps its notebook's name
    index = build_report(root, tmp_path / "report")
    for page in index.parent.glob("*.html"):
        text = page.read_text()
        remote = re.findall(r"""<(?:script|link|img)[^>]*(?:src|href)=["']https?://[^"']*|import[^;\n]*["']https?://""", text)
        assert not remote, (page.name, remote[:3])
    text = index.read_text()
    headings = [h for h in re.findall(r"<h2>([^<]*)</h2>", text)]
    assert headings == [PAPER_ITEMS["fig1_resampling"], PAPER_ITEMS["tab1_timestep_range"], OTHER_ITEM]
    tab1 = text.split(f"<h2>{PAPER_ITEMS['tab1_timestep_range']}</h2>")[1].split("<h2>")[0]
    assert "tab1_timestep_range-latte.html" in tab1 and "tab1_timestep_range-modelscope.html" in tab1
    page = (index.parent / "tab1_timestep_range-latte.html").read_text()
    assert "overflow-x: auto" in page  # wide tables scroll
    from motionlib import figures

    run = root / "tab1_timestep_range-latte"
    figures.draw(run, "drawn", {"what": "t"}, "metric_panels", summary=pd.DataFrame(
        {"tau": [0, 700], **{k: [1.0, 2.0] for m in ("text_alignment", "temporal_consistency", "pick_score")
                              for k in (m, m + "_lo", m + "_hi")}}), x="tau")
    index = build_report(root, tmp_path / "report2")
    page = (index.parent / "tab1_timestep_range-latte.html").read_text()
    assert "drawn.png" in page and "<h3><a href" in page and "drawn.inputs.summary.csv</a></h3>" not in page
