"""The Tab. 5 user study: a static questionnaire, its response files, and the top-pick table.

Workflow: :func:`build_questionnaire` writes a self-contained folder (``index.html`` + ``videos/`` +
``study.json``) that can be zipped and mailed; each participant opens ``index.html``, answers, and
clicks *Download*, which saves one response JSON; :func:`read_responses` checks a folder of them,
:func:`aggregate` gives top-pick rates with participant-bootstrap intervals, and
:func:`tab5_markdown` / :func:`tab5_latex` print them beside :data:`PAPER_TAB5`.

Response file format (``motionlib-userstudy-response/1``)::

    {"format": ..., "study_id": str, "participant": str, "seed": int, "user_agent": str,
     "started_utc": ISO-8601, "submitted_utc": ISO-8601, "simulated": bool,
     "answers": [{"item": item id, "question": "fidelity" | "diversity", "method": method key,
                  "label": "Method B", "order": [method keys as displayed], "answered_utc": ...}]}

Method order per (participant, item) is :func:`display_order`: a Fisher-Yates shuffle driven by
mulberry32 seeded with FNV-1a of ``"{seed}|{participant}|{item}"``, implemented identically in the
page's JavaScript, so every recorded order can be checked.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from motionlib.errors import ParameterError
from motionlib.tables import tex_escape

FORMAT = "motionlib-userstudy-response/1"
QUESTIONS = {
    "fidelity": "Which method best preserves the motion of the reference video?",
    "diversity": "Which method's two samples show the most varied motion?",
}
PAPER_TAB5 = {
    "participants": 30, "valid_answers": 289,
    "rates": {"VMC": {"fidelity": 3.8, "diversity": 10.7},
              "MotionDirector": {"fidelity": 19.4, "diversity": 35.6},
              "MotionClone": {"fidelity": 31.8, "diversity": 0.0},
              "Ours": {"fidelity": 45.0, "diversity": 53.6}},
}
SIMULATED_LABEL = "SIMULATED responses: a pipeline check, not the paper's user study"
_M32 = 0xFFFFFFFF
_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


# ---------------------------------------------------------------- the shuffle (mirrored in assets/userstudy/shuffle.js)
def _fnv1a(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & _M32
    return h


def _mulberry32(a: int):
    while True:
        a = (a + 0x6D2B79F5) & _M32
        t = ((a ^ (a >> 15)) * (a | 1)) & _M32
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & _M32)) & _M32
        yield ((t ^ (t >> 14)) & _M32) / 4294967296


def display_order(methods: Iterable[str], seed: int, participant: str, item: str) -> list[str]:
    """The order the page shows ``methods`` in for this participant and item (deterministic)."""
    order, rand = list(methods), _mulberry32(_fnv1a(f"{int(seed)}|{participant}|{item}"))
    for i in range(len(order) - 1, 0, -1):
        j = int(next(rand) * (i + 1))
        order[i], order[j] = order[j], order[i]
    return order


# ---------------------------------------------------------------- the study and its questionnaire
@dataclass
class StudyItem:
    """One question page: a reference clip, the edit prompt, and per method 1-2 output clips."""

    item_id: str
    reference: Path
    prompt: str
    outputs: dict[str, list[Path]] = field(default_factory=dict)


@dataclass
class Study:
    """What ``study.json`` holds; paths are relative to the questionnaire folder."""

    study_id: str
    seed: int
    methods: list[str]
    items: list[StudyItem]
    title: str = "Motion transfer user study"

    def item(self, item_id: str) -> StudyItem:
        return next(i for i in self.items if i.item_id == item_id)


def _as_item(raw: StudyItem | Mapping) -> StudyItem:
    if isinstance(raw, StudyItem):
        return raw
    try:
        return StudyItem(str(raw["item_id"]), Path(raw["reference"]), str(raw["prompt"]),
                         {str(m): [Path(p) for p in ps] for m, ps in raw["outputs"].items()})
    except (KeyError, TypeError, AttributeError) as err:
        raise ParameterError(f"a study item needs item_id, reference, prompt, outputs; got {raw!r}") from err


def _check_items(items: list[StudyItem]) -> list[str]:
    if not items:
        raise ParameterError("a questionnaire needs at least one item")
    methods = list(items[0].outputs)
    ids = [i.item_id for i in items]
    if len(set(ids)) != len(ids):
        raise ParameterError(f"item ids must be unique, got {ids}")
    for item in items:
        if not _ID.match(item.item_id):
            raise ParameterError(f"item id {item.item_id!r} may use only letters, digits, '_', '-', '.'")
        if len(item.outputs) < 2 or set(item.outputs) != set(methods):
            raise ParameterError(f"item {item.item_id!r} has methods {sorted(item.outputs)}; every item "
                                 f"needs the same two or more methods ({sorted(methods)})")
        for method, clips in item.outputs.items():
            if len(clips) not in (1, 2):
                raise ParameterError(f"item {item.item_id!r}, method {method!r}: give 2 samples "
                                     f"(1 for a deterministic method), got {len(clips)}")
        for path in [item.reference, *(p for ps in item.outputs.values() for p in ps)]:
            if not Path(path).is_file():
                raise ParameterError(f"item {item.item_id!r}: video file {path} does not exist")
    return methods


def build_questionnaire(items: Iterable[StudyItem | Mapping], out_dir: str | Path, *, seed: int,
                        title: str = "Motion transfer user study", study_id: str = "tab5") -> Path:
    """Write ``out_dir/index.html`` (+ ``videos/``, ``study.json``); return the HTML path.

    ``items``: :class:`StudyItem` or dicts with the same keys; every item has the same methods, two
    output clips each (one for a deterministic method). The page needs no server or network.
    """
    items = [_as_item(i) for i in items]
    methods = _check_items(items)
    if not _ID.match(study_id):
        raise ParameterError(f"study_id {study_id!r} may use only letters, digits, '_', '-', '.'")
    out = Path(out_dir)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    copied = []
    for item in items:
        def copy(src: Path, name: str) -> Path:
            rel = Path("videos") / f"{item.item_id}_{name}{src.suffix.lower()}"
            shutil.copyfile(src, out / rel)
            return rel
        outputs = {}
        for method, clips in item.outputs.items():  # neutral file names: no method name in the page
            tag = hashlib.sha1(f"{study_id}|{method}".encode()).hexdigest()[:8]
            outputs[method] = [copy(p, f"{tag}_{k + 1}") for k, p in enumerate(clips)]
        copied.append(StudyItem(item.item_id, copy(item.reference, "ref"), item.prompt, outputs))
    study = Study(study_id, int(seed), methods, copied, title)
    manifest = _study_json(study)
    (out / "study.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    page = _page_asset("page.html").replace("__TITLE__", title.replace("<", "&lt;"))
    page = page.replace("__CSS__", _page_asset("style.css"))
    page = page.replace("__JS__", _page_asset("shuffle.js") + _page_asset("questionnaire.js"))
    page = page.replace("__STUDY__", json.dumps(manifest).replace("</", "<\\/"))
    (out / "index.html").write_text(page, encoding="utf-8")
    return out / "index.html"


def _study_json(study: Study) -> dict:
    return {"study_id": study.study_id, "seed": study.seed, "title": study.title, "methods": study.methods,
            "questions": QUESTIONS, "format": FORMAT,
            "items": [{"item_id": i.item_id, "prompt": i.prompt, "reference": i.reference.as_posix(),
                       "outputs": {m: [p.as_posix() for p in ps] for m, ps in i.outputs.items()}}
                      for i in study.items]}


def load_study(path: str | Path | Study) -> Study:
    """A :class:`Study` from a questionnaire folder or its ``study.json``."""
    if isinstance(path, Study):
        return path
    path = Path(path)
    path = path / "study.json" if path.is_dir() else path
    if not path.is_file():
        raise ParameterError(f"no study manifest at {path}; pass the folder build_questionnaire wrote")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Study(raw["study_id"], int(raw["seed"]), list(raw["methods"]),
                 [_as_item(i) for i in raw["items"]], raw.get("title", ""))


# ---------------------------------------------------------------- reading responses
def _check_response(data: Any, study: Study) -> tuple[str, str, list[dict]]:
    """(status, reason, answers) of one parsed response file."""
    if not isinstance(data, dict) or not isinstance(data.get("answers"), list):
        return "invalid", "not a response object with an 'answers' list", []
    if data.get("study_id") != study.study_id:
        return "invalid", f"study_id {data.get('study_id')!r} is not {study.study_id!r}", []
    pid = data.get("participant")
    if not isinstance(pid, str) or not pid.strip():
        return "invalid", "no participant id", []
    items, seen = {i.item_id for i in study.items}, set()
    for a in data["answers"]:
        if not isinstance(a, dict):
            return "invalid", "an answer is not an object", []
        if a.get("item") not in items:
            return "invalid", f"unknown item {a.get('item')!r}", []
        if a.get("question") not in QUESTIONS:
            return "invalid", f"unknown question {a.get('question')!r}", []
        if a.get("method") not in study.methods:
            return "invalid", f"unknown method {a.get('method')!r}", []
        if a.get("order") != display_order(study.methods, study.seed, pid, a["item"]):
            return "invalid", f"item {a['item']!r}: recorded order does not match the study seed", []
        if (a["item"], a["question"]) in seen:
            return "invalid", f"item {a['item']!r} {a['question']} answered twice", []
        seen.add((a["item"], a["question"]))
    missing = len(items) * len(QUESTIONS) - len(seen)
    if missing:
        return "partial", f"{missing} of {len(items) * len(QUESTIONS)} questions unanswered", data["answers"]
    return "valid", "", data["answers"]


def _when(text: str) -> datetime:
    """A timestamp for ordering submissions; unreadable ones sort last."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return datetime.max.replace(tzinfo=timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def read_responses(folder: str | Path, study: str | Path | Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every ``*.json`` in ``folder``; return ``(answers, report)``.

    ``answers``: one row per (participant, item, question) of valid files: participant, item,
    question, method, label, order ("|"-joined), simulated, file. ``report``: one row per file with
    status valid / invalid / duplicate / partial and a reason; only ``valid`` files reach ``answers``.
    A participant's later submissions (by ``submitted_utc``) are reported as duplicates.
    """
    study, folder = load_study(study), Path(folder)
    if not folder.is_dir():
        raise ParameterError(f"response folder {folder} does not exist")
    files = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            data = None
            status, reason, answers = "invalid", f"not valid JSON ({err})", []
        else:
            status, reason, answers = _check_response(data, study)
        meta = data if isinstance(data, dict) else {}
        files.append({"file": path.name, "participant": meta.get("participant"), "status": status,
                      "reason": reason, "submitted_utc": str(meta.get("submitted_utc", "")),
                      "simulated": bool(meta.get("simulated")), "_answers": answers})
    first: dict[str, dict] = {}
    for f in sorted((f for f in files if f["status"] == "valid"), key=lambda f: (_when(f["submitted_utc"]), f["file"])):
        if f["participant"] in first:
            f["status"], f["reason"] = "duplicate", f"participant already answered in {first[f['participant']]['file']}"
        else:
            first[f["participant"]] = f
    rows = [{"participant": f["participant"], "item": a["item"], "question": a["question"],
             "method": a["method"], "label": a.get("label", ""), "order": "|".join(a["order"]),
             "simulated": f["simulated"], "file": f["file"]}
            for f in files if f["status"] == "valid" for a in f["_answers"]]
    answers = pd.DataFrame(rows, columns=["participant", "item", "question", "method", "label", "order",
                                          "simulated", "file"])
    report = pd.DataFrame([{k: v for k, v in f.items() if k != "_answers"} for f in files],
                          columns=["file", "participant", "status", "reason", "submitted_utc", "simulated"])
    answers.attrs["methods"] = list(study.methods)
    return answers, report


def report_summary(report: pd.DataFrame) -> str:
    """One line per non-valid file and a count line, for printing."""
    counts = report["status"].value_counts()
    lines = [f"{len(report)} response files: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in
                                                           ("valid", "invalid", "duplicate", "partial"))]
    lines += [f"  dropped {r.file}: {r.status} ({r.reason})" for r in report.itertuples() if r.status != "valid"]
    return "\n".join(lines)


# ---------------------------------------------------------------- aggregation
def _methods(answers: pd.DataFrame, methods: Iterable[str] | None) -> list[str]:
    if methods is not None:
        return list(methods)
    if answers.attrs.get("methods"):
        return list(answers.attrs["methods"])
    return sorted({m for o in answers["order"] for m in o.split("|")} | set(answers["method"]))


def aggregate(answers: pd.DataFrame, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
              methods: Iterable[str] | None = None) -> pd.DataFrame:
    """Top-pick rate (%) per criterion and method with a bootstrap interval over participants.

    Columns: criterion, method, rate, rate_lo, rate_hi, n_picks, n_answers (valid answers for the
    criterion), n_participants, simulated. Each bootstrap draw resamples participants with
    replacement and recomputes picks / answers, so a participant's answers stay together.
    """
    if answers.empty:
        raise ParameterError("no valid answers to aggregate (see the report from read_responses)")
    methods, rng, out = _methods(answers, methods), np.random.default_rng(seed), []
    for criterion in [q for q in QUESTIONS if q in set(answers["question"])]:
        sub = answers[answers["question"] == criterion]
        picks = pd.crosstab(sub["participant"], sub["method"]).reindex(columns=methods, fill_value=0)
        counts, totals = picks.to_numpy(float), picks.to_numpy(float).sum(axis=1)
        idx = rng.integers(0, len(picks), size=(n_boot, len(picks)))
        boot = 100 * counts[idx].sum(axis=1) / totals[idx].sum(axis=1)[:, None]
        lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=0)
        for k, method in enumerate(methods):
            out.append({"criterion": criterion, "method": method, "rate": 100 * counts[:, k].sum() / totals.sum(),
                        "rate_lo": lo[k], "rate_hi": hi[k], "n_picks": int(counts[:, k].sum()),
                        "n_answers": int(totals.sum()), "n_participants": len(picks),
                        "simulated": bool(answers["simulated"].any())})
    return pd.DataFrame(out)


def per_item(answers: pd.DataFrame, methods: Iterable[str] | None = None) -> pd.DataFrame:
    """Top-pick rate (%) per item, criterion and method: item, criterion, method, n_picks, n_answers, rate."""
    methods, out = _methods(answers, methods), []
    for (item, criterion), sub in answers.groupby(["item", "question"], sort=True):
        for method in methods:
            n = int((sub["method"] == method).sum())
            out.append({"item": item, "criterion": criterion, "method": method, "n_picks": n,
                        "n_answers": len(sub), "rate": 100 * n / len(sub)})
    return pd.DataFrame(out)


# ---------------------------------------------------------------- the paper's layout
def tab5_table(agg: pd.DataFrame) -> pd.DataFrame:
    """Method rows (paper order first); measured rate, interval and the paper's rate per criterion."""
    methods = list(dict.fromkeys([m for m in PAPER_TAB5["rates"] if m in set(agg["method"])] + list(agg["method"])))
    rows = []
    for method in methods:
        row = {"method": method}
        for c in QUESTIONS:
            r = agg[(agg["method"] == method) & (agg["criterion"] == c)]
            row |= {c: r["rate"].iloc[0], f"{c}_lo": r["rate_lo"].iloc[0], f"{c}_hi": r["rate_hi"].iloc[0]} \
                if len(r) else {c: np.nan, f"{c}_lo": np.nan, f"{c}_hi": np.nan}
            row[f"paper_{c}"] = PAPER_TAB5["rates"].get(method, {}).get(c, np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def _caption(agg: pd.DataFrame) -> str:
    n = agg.groupby("criterion")["n_answers"].first().to_dict()
    what = SIMULATED_LABEL if agg["simulated"].any() else "Responses collected with motionlib.userstudy"
    return (f"{what}. Top-pick rate (%) with 95% bootstrap interval over participants; "
            f"{agg['n_participants'].max()} participants, valid answers fidelity {n.get('fidelity', 0)}, "
            f"diversity {n.get('diversity', 0)}. Paper (Tab. 5): {PAPER_TAB5['participants']} participants, "
            f"{PAPER_TAB5['valid_answers']} valid answers.")


def _cell(row, c: str) -> str:
    return "-" if np.isnan(row[c]) else f"{row[c]:.1f} [{row[c + '_lo']:.1f}, {row[c + '_hi']:.1f}]"


def tab5_markdown(agg: pd.DataFrame) -> str:
    """Tab. 5 as a Markdown table beside the paper's rates; simulated data says so in the header."""
    tag = " (SIMULATED)" if agg["simulated"].any() else ""
    lines = [f"| Method | Fidelity{tag} | Diversity{tag} | Paper fidelity | Paper diversity |",
             "|---|---|---|---|---|"]
    for _, r in tab5_table(agg).iterrows():
        paper = [("-" if np.isnan(r[f"paper_{c}"]) else f"{r[f'paper_{c}']:.1f}") for c in QUESTIONS]
        lines.append(f"| {r['method']} | {_cell(r, 'fidelity')} | {_cell(r, 'diversity')} | {' | '.join(paper)} |")
    return "\n".join(lines) + f"\n\n{_caption(agg)}\n"


def tab5_latex(agg: pd.DataFrame) -> str:
    """Tab. 5 as a LaTeX ``table`` (booktabs); simulated data says so in the caption and header."""
    tag = " (sim.)" if agg["simulated"].any() else ""
    body = []
    for _, r in tab5_table(agg).iterrows():
        cells = [("--" if np.isnan(r[c]) else f"{r[c]:.1f} {{\\scriptsize [{r[c + '_lo']:.1f}, {r[c + '_hi']:.1f}]}}")
                 for c in QUESTIONS] + [("--" if np.isnan(r[f"paper_{c}"]) else f"{r[f'paper_{c}']:.1f}") for c in QUESTIONS]
        body.append(f"{tex_escape(r['method'])} & " + " & ".join(cells) + r" \\")
    return "\n".join([r"\begin{table}[t]", r"\centering", r"\begin{tabular}{lcccc}", r"\toprule",
                      rf"Method & Fidelity{tag} & Diversity{tag} & Paper fid. & Paper div. \\", r"\midrule",
                      *body, r"\bottomrule", r"\end{tabular}",
                      r"\caption{" + tex_escape(_caption(agg)) + "}", r"\label{tab:user_study}",
                      r"\end{table}"]) + "\n"


# ---------------------------------------------------------------- simulated responses
def simulate_responses(study: str | Path | Study, out_dir: str | Path, n_participants: int = 30,
                       weights: Mapping[str, Mapping[str, float]] | None = None, seed: int = 0, *,
                       n_invalid: int = 2, n_duplicate: int = 1, n_partial: int = 1) -> pd.DataFrame:
    """Write seeded response files in the page's format, each marked ``"simulated": true``.

    ``weights``: ``{criterion: {method: weight}}`` (unnormalised pick probabilities; missing: uniform).
    Besides ``n_participants`` valid files it writes ``n_invalid`` invalid (bad JSON, wrong study,
    unknown method, in turn), ``n_duplicate`` later resubmissions and ``n_partial`` incomplete
    files. Returns one row per file: file, participant, kind.
    """
    study, out = load_study(study), Path(out_dir)
    if n_participants < 1 or min(n_invalid, n_duplicate, n_partial) < 0:
        raise ParameterError("n_participants must be >= 1 and the invalid/duplicate/partial counts >= 0")
    if n_duplicate > n_participants:
        raise ParameterError(f"n_duplicate ({n_duplicate}) cannot exceed n_participants ({n_participants})")
    probs = {}
    for c in QUESTIONS:
        w = np.array([float((weights or {}).get(c, {}).get(m, 1.0 if not weights or c not in weights else 0.0))
                      for m in study.methods])
        if (w < 0).any() or w.sum() <= 0:
            raise ParameterError(f"weights for {c!r} must be >= 0 with a positive sum, got {w.tolist()}")
        probs[c] = w / w.sum()
    rng, t0 = np.random.default_rng(seed), datetime(2025, 1, 1, tzinfo=timezone.utc)
    out.mkdir(parents=True, exist_ok=True)

    def response(pid: str, minute: int) -> dict:
        start, answers = t0 + timedelta(minutes=minute), []
        for item in study.items:
            order = display_order(study.methods, study.seed, pid, item.item_id)
            for c in QUESTIONS:
                method = study.methods[rng.choice(len(study.methods), p=probs[c])]
                answers.append({"item": item.item_id, "question": c, "method": method,
                                "label": f"Method {chr(65 + order.index(method))}", "order": order,
                                "answered_utc": start.isoformat()})
        return {"format": FORMAT, "study_id": study.study_id, "participant": pid, "seed": study.seed,
                "user_agent": "motionlib.userstudy.simulate_responses", "started_utc": start.isoformat(),
                "submitted_utc": (start + timedelta(minutes=5)).isoformat(), "simulated": True,
                "answers": answers}

    written = []
    def write(name: str, pid: str, kind: str, data: dict | str) -> None:
        text = data if isinstance(data, str) else json.dumps(data, indent=1)
        (out / name).write_text(text, encoding="utf-8")
        written.append({"file": name, "participant": pid, "kind": kind})

    for p in range(n_participants):
        pid = f"sim-{p + 1:03d}"
        write(f"response_{pid}.json", pid, "valid", response(pid, p))
    for k in range(n_duplicate):
        pid = f"sim-{k + 1:03d}"
        write(f"response_{pid}_again.json", pid, "duplicate", response(pid, 10_000 + k))
    for k in range(n_partial):
        pid = f"sim-partial-{k + 1:03d}"
        data = response(pid, 20_000 + k)
        data["answers"] = data["answers"][: len(data["answers"]) // 2]
        write(f"response_{pid}.json", pid, "partial", data)
    for k in range(n_invalid):
        pid, data = f"sim-invalid-{k + 1:03d}", response(f"sim-invalid-{k + 1:03d}", 30_000 + k)
        if k % 3 == 0:
            data = json.dumps(data)[: 80]
        elif k % 3 == 1:
            data["study_id"] = "another-study"
        else:
            data["answers"][0]["method"] = "NotAMethod"
        write(f"response_{pid}.json", pid, "invalid", data)
    return pd.DataFrame(written)


# ---------------------------------------------------------------- placeholder items
def placeholder_items(clips, folder: str | Path, num_frames: int = 8, size: int = 96) -> list[StudyItem]:
    """Question pages for ``clips`` (bundled ``VideoItem``s) whose "method outputs" are cheap stand-ins
    made from the reference itself (2 samples each; 1 for the deterministic MotionClone), written
    as mp4 under ``folder``: a working page before any method has run, never a result."""
    from motionlib.data import read_video, write_video

    folder = Path(folder)
    items = []
    for clip in clips:
        frames = read_video(clip.path, num_frames=num_frames, size=size)
        stand_ins = {"VMC": [np.repeat(frames[:1], len(frames), 0), frames[:, :, ::-1]],
                     "MotionDirector": [np.roll(frames, 2, axis=0), np.roll(frames, 6, axis=2)],
                     "MotionClone": [frames.copy()],
                     "Ours": [np.roll(frames, 4, axis=2), frames[::-1].copy()]}
        outputs = {m: [write_video(folder / f"{clip.name}_{m}_{k}.mp4", v) for k, v in enumerate(vs)]
                   for m, vs in stand_ins.items()}
        reference = write_video(folder / f"{clip.name}_reference.mp4", frames)
        items.append(StudyItem(clip.name, reference, clip.edit("object"), outputs))
    return items


# ---------------------------------------------------------------- the page
def _page_asset(name: str) -> str:
    """A file of the questionnaire page (``motionlib/assets/userstudy/``): page.html, style.css,
    shuffle.js (:func:`display_order` in JavaScript), questionnaire.js."""
    from motionlib import paths

    return (paths.ASSETS_DIR / "userstudy" / name).read_text(encoding="utf-8")
