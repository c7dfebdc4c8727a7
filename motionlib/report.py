"""A static HTML report of a profile's executed notebooks (``motionlib report``, ``make report``).

:func:`build_report` turns ``figures/<profile>/`` (what ``motionlib reproduce`` writes: one folder
per run with the executed notebook, its figures as PDF + PNG, its CSVs and their
``*.provenance.json`` sidecars, and ``reproduce-summary.json``) into ``<out>/index.html`` plus one
page per notebook, ``<out>/<run>.html``. nbconvert's HTML exporter renders each notebook; above it
the page shows the run's model label (TOY WORLD, CHECKPOINT TWIN, TINY RANDOM MODEL or the real
model), every PNG figure and every small CSV table (the tables' ``(paper)`` columns are the paper's
numbers beside ours, as the notebooks wrote them), each item with its own label and links to its
files and provenance. Each run folder is copied to ``<out>/<run>/``, so the report is
self-contained and every link is relative.
"""

from __future__ import annotations

import html
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import nbformat
import pandas as pd

from motionlib import paths
from motionlib.errors import MotionlibError, ResultsNotFoundError

OFFLINE_TEMPLATE = "motionlib_offline"  # motionlib/assets/report/<this>: the page opens with no network
# The index's sections, in the paper's order: notebook stem -> the paper item it reproduces.
PAPER_ITEMS = {
    "fig1_resampling": "Fig. 1: resampling with an edited caption over timestep windows",
    "fig2_tradeoff": "Fig. 2: the motion-appearance trade-off over (tau_start, tau_end)",
    "fig2_families": "Fig. 2: the three families side by side",
    "tab1_timestep_range": "Tab. 1: the timestep range of the motion LoRA",
    "tab2_comparison": "Tab. 2: against prior methods",
    "tab3_projections": "Tab. 3: which attention projections",
    "tab4_rank": "Tab. 4: LoRA rank and direct tuning",
    "fig4_qualitative": "Fig. 4: qualitative comparison",
    "fig6_gallery": "Fig. 5-6: gallery",
    "tab5_user_study": "Tab. 5: user study",
    "claims": "The paper's claims, judged in the toy world",
    "toyworld_transfer": "Tab. 1 in the toy world: paired direction transfer",
    "toyworld": "The toy world: its oracle, samples and quality",
    "00_tour": "Tour: load a family, sample a clip",
}
OTHER_ITEM = "Other notebooks"
INLINE_ROWS = 30  # CSVs with at most this many rows are shown as tables; longer ones are linked
PAPER_NOTE = "Columns marked (paper) hold the paper's published numbers, beside ours as computed here."


@dataclass
class Page:
    """One executed notebook of the profile and what its run folder holds."""

    name: str  # the run: the notebook stem, or <stem>-<family> in the paper profile
    notebook: Path
    folder: Path
    status: str
    labels: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # every file of the run folder the report copies
    models: list[str] = field(default_factory=list)  # "family (source)" of every model its records name

    @property
    def short_labels(self) -> str:
        return ", ".join(short(label) for label in self.labels)


def short(label: str) -> str:
    """The label's name: ``TOY WORLD``, ``CHECKPOINT TWIN``, ``TINY RANDOM MODEL``, ``REAL`` ..."""
    return label.split(":")[0]


def model_label(record: dict) -> str:
    """The label of a provenance record: its own (tiny, twin, toy), else the real models it names."""
    if record.get("label"):
        return record["label"]
    models = [m for m in record.get("models", []) if isinstance(m, dict)]
    if not models:
        return "NO MODEL: data and analysis only"
    return "REAL: " + ", ".join(f"{m.get('family', '?')} ({m.get('source', '?')})" for m in models)


def sidecar(path: Path) -> Path | None:
    """The ``*.provenance.json`` beside ``path`` (``fig.png`` -> ``fig.provenance.json``), if any."""
    found = path.with_name(path.stem + ".provenance.json")
    return found if found.is_file() else None


def _record(path: Path | None) -> dict:
    try:
        return json.loads(path.read_text()) if path else {}
    except (OSError, ValueError):
        return {}


def executed_notebooks(profile_dir: Path, skip: Path | None = None) -> list[Path]:
    """The executed notebooks ``<profile_dir>/<run>/<name>.ipynb`` (at least one code cell ran)."""
    found = []
    for path in sorted(profile_dir.glob("*/*.ipynb")):
        if skip is not None and path.parent.resolve() == skip.resolve():
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # a half-written or foreign file is not a result
            continue
        if any(c.cell_type == "code" and c.get("execution_count") for c in nb.cells):
            found.append(path)
    return found


def _statuses(profile_dir: Path) -> dict[str, str]:
    """Each run's status in ``reproduce-summary.json`` (``ok``, ``failed``), if it is there."""
    rows = _record(profile_dir / "reproduce-summary.json") or []
    return {row["name"]: row.get("status", "?") for row in rows if isinstance(row, dict) and "name" in row}


def collect(notebook: Path, statuses: dict[str, str]) -> Page:
    """What the report shows of one run folder."""
    folder = notebook.parent
    status = statuses.get(folder.name)
    if status is None:  # not in the last summary (an --only run, or by hand): papermill's own record
        meta = nbformat.read(notebook, as_version=4).metadata.get("papermill", {})
        status = "failed" if meta.get("exception") else "executed"
    records = sorted(folder.rglob("*.provenance.json"))
    labels = list(dict.fromkeys(model_label(_record(p)) for p in records))
    models = list(dict.fromkeys(f"{m.get('family', '?')} ({m.get('source', '?')})" for p in records
                                for m in _record(p).get("models", []) if isinstance(m, dict)))
    files = sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts
                   and not p.name.startswith("kernel-ipc-"))  # (a running kernel's sockets)
    return Page(folder.name, notebook, folder, status, labels or ["NO PROVENANCE RECORD"],
                [p for p in files if p.suffix.lower() == ".png"], [p for p in files if p.suffix.lower() == ".csv" and ".inputs." not in p.name],
                files, models)


def _href(page: Page, path: Path) -> str:
    """The relative URL of a run's file in the report (its copy in ``<out>/<run>/``)."""
    return quote(f"{page.name}/{path.relative_to(page.folder).as_posix()}")


def _link(href: str, text: str) -> str:
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def _label_html(label: str, links: str = "") -> str:
    """A label as a line: its name in bold, then what it means (and links, if given)."""
    name = short(label)
    return (f'<p class="motionlib-label"><b>{html.escape(name)}</b>{html.escape(label[len(name):])}'
            f"{' &middot; ' + links if links else ''}</p>")


def _item_note(page: Page, path: Path) -> str:
    """Under a figure or table: its label and links to its files (same stem) and provenance."""
    record = sidecar(path)
    label = model_label(_record(record)) if record else f"{page.short_labels} (the notebook's models)"
    siblings = [p for p in page.files if p.parent == path.parent and p.name.startswith(path.stem + ".")
                and p.suffix not in (".json", ".ipynb")]  # fig.pdf, fig.png; tab.md, tab.tex, tab.csv
    links = [_link(_href(page, p), p.suffix.lstrip(".")) for p in siblings]
    if record:
        links.append(_link(_href(page, record), "provenance"))
    return _label_html(label, " ".join(links))


def _table_html(page: Page, path: Path) -> str:
    head = f"<h3>{_link(_href(page, path), path.name)}</h3>"
    try:
        df = pd.read_csv(path)
    except Exception as err:  # an empty or odd CSV is still linked
        return f"{head}<p>(not shown: {html.escape(type(err).__name__)})</p>"
    if len(df) > INLINE_ROWS:
        return f"{head}<p>{len(df)} rows, {len(df.columns)} columns (open the CSV)</p>{_item_note(page, path)}"
    if "label" in df.columns and df["label"].nunique() == 1:  # the note below says it once
        df = df.drop(columns="label")
    return head + df.to_html(index=False, na_rep="-", border=0, float_format=lambda x: f"{x:.4g}") + \
        _item_note(page, path)


def page_header(page: Page, profile: str) -> str:
    """The HTML above the notebook: label, status, figures, tables, files and provenance."""
    parts = [f"<p>{_link('index.html', 'All notebooks')} &middot; profile <b>{html.escape(profile)}</b> &middot; "
             f"status <b>{html.escape(page.status)}</b> &middot; "
             f"{_link(_href(page, page.notebook), 'executed notebook')}</p>"]
    parts += [_label_html(label) for label in page.labels]
    if page.figures:
        parts.append("<h2>Figures</h2>")
        for png in page.figures:
            parts.append(f'<figure><img src="{html.escape(_href(page, png))}" alt="{html.escape(png.name)}" '
                         f'style="max-width:100%"><figcaption>{html.escape(png.name)}{_item_note(page, png)}'
                         "</figcaption></figure>")
    if page.tables:  # the paper-style tables (written with a .md beside them) first
        tables = sorted(page.tables, key=lambda p: not p.with_suffix(".md").is_file())
        parts.append(f"<h2>Tables</h2><p>{PAPER_NOTE}</p>")
        parts += [_table_html(page, csv) for csv in tables]
    shown = set(page.figures) | set(page.tables) | {page.notebook}
    rest = [p for p in page.files if p not in shown]
    if rest:
        parts.append("<h2>Files and provenance</h2><ul>" +
                     "".join(f"<li>{_link(_href(page, p), p.relative_to(page.folder).as_posix())}</li>" for p in rest) +
                     "</ul>")
    parts.append("<h2>The executed notebook</h2>")
    return '<div class="jp-RenderedHTMLCommon motionlib-report">' + "\n".join(parts) + "</div>"


def _exporter():
    """nbconvert's HTML exporter, images embedded, on the lab template with nothing loaded from the network
    (``motionlib/assets/report/motionlib_offline``: no require.js, MathJax or mermaid; wide tables scroll)."""
    try:
        from nbconvert import HTMLExporter
    except ImportError:  # an environment made before nbconvert joined the runtime lock
        raise MotionlibError("the report needs nbconvert: `make env` (or `pip install -r requirements/runtime.lock`) "
                             "installs it") from None
    return HTMLExporter(embed_images=True, template_name=OFFLINE_TEMPLATE,
                        extra_template_basedirs=[str(paths.ASSETS_DIR / "report")])


def _export(exporter, nb, title: str, header: str) -> str:
    """The HTML page of ``nb`` with ``header`` first: the HTML output of a cell without input (the lab
    template sanitizes raw cells; outputs it passes through)."""
    nb = nbformat.from_dict(nb)
    cell = nbformat.v4.new_code_cell("", metadata={"transient": {"remove_source": True}})
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": header})]
    nb.cells.insert(0, cell)
    nb.metadata["title"] = title
    return exporter.from_notebook_node(nb)[0]


def paper_item(page: Page) -> str:
    """The paper item a page reproduces (:data:`PAPER_ITEMS`, by its notebook), else :data:`OTHER_ITEM`."""
    return PAPER_ITEMS.get(page.notebook.stem, OTHER_ITEM)


def _index(pages: list[Page], profile: str) -> str:
    order = list(PAPER_ITEMS.values()) + [OTHER_ITEM]
    sections = []
    for item in sorted({paper_item(p) for p in pages}, key=order.index):
        rows = []
        for page in [p for p in pages if paper_item(p) == item]:
            thumb = (f'<img src="{html.escape(_href(page, page.figures[0]))}" '
                     f'alt="{html.escape(page.figures[0].name)}" style="max-width:240px">' if page.figures else "")
            rows.append(f"<tr><td>{_link(quote(page.name + '.html'), page.name)}</td>"
                        f"<td>{html.escape(page.status)}</td>"
                        f"<td><b>{html.escape(page.short_labels)}</b> {html.escape(', '.join(page.models))}</td>"
                        f"<td>{thumb}</td><td>{len(page.figures)} figures, {len(page.tables)} tables &middot; "
                        f"{_link(_href(page, page.notebook), 'notebook')}</td></tr>")
        sections.append(f"<h2>{html.escape(item)}</h2><table><thead><tr><th>run</th><th>status</th><th>model</th>"
                        "<th>first figure</th><th>contents</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    labels = sorted({label for page in pages for label in page.labels})
    return ('<div class="jp-RenderedHTMLCommon motionlib-report">'
            f"<h1>motionlib results: profile {html.escape(profile)}</h1>"
            f"<p>{len(pages)} executed notebooks, by the paper item each reproduces. {PAPER_NOTE}</p><ul>"
            + "".join(f"<li>{_label_html(label)}</li>" for label in labels) + "</ul>" + "".join(sections) + "</div>")


def build_report(profile_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write the report of ``profile_dir`` (``figures/<profile>``) into ``out_dir`` (default
    ``<profile_dir>/report``); returns the path of its ``index.html``.

    Raises :class:`ResultsNotFoundError` when the folder holds no executed notebook.
    """
    profile_dir = Path(profile_dir).resolve()
    out_dir = Path(out_dir).resolve() if out_dir else profile_dir / "report"
    profile = profile_dir.name
    notebooks = executed_notebooks(profile_dir, skip=out_dir) if profile_dir.is_dir() else []
    if not notebooks:
        out = "" if profile_dir.parent == paths.figures_dir() else f" --out {profile_dir.parent}"
        raise ResultsNotFoundError(
            f"no executed notebooks in {profile_dir}; make them first with `motionlib reproduce --profile {profile}"
            f"{out}`" + ("" if out else f" (`make reproduce PROFILE={profile}`)"))
    statuses = _statuses(profile_dir)
    pages = [collect(nb, statuses) for nb in notebooks]
    exporter = _exporter()
    out_dir.mkdir(parents=True, exist_ok=True)
    for page in pages:
        for path in page.files:
            target = out_dir / page.name / path.relative_to(page.folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        nb = nbformat.read(page.notebook, as_version=4)
        text = _export(exporter, nb, f"{page.name} ({page.short_labels})", page_header(page, profile))
        (out_dir / f"{page.name}.html").write_text(text, encoding="utf-8")
    index = out_dir / "index.html"
    text = _export(exporter, nbformat.v4.new_notebook(), f"motionlib results: {profile}", _index(pages, profile))
    index.write_text(text, encoding="utf-8")
    return index
