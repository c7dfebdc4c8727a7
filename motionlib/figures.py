"""Every figure drawn from the data it records, so that ``motionlib figures`` redraws it without recomputing.

A notebook draws a figure with :func:`draw`: ``fig = figures.draw(out, "tab1_timestep_range", record,
"metric_panels", summary=summary, x="tau", ...)`` calls :mod:`motionlib.plotting`'s ``metric_panels``
with those inputs, saves the figure (:func:`motionlib.plotting.save_figure`: PDF, PNG, provenance) and
writes its inputs beside it: ``<stem>.inputs.json`` (the function and every JSON-able input),
``<stem>.inputs.npz`` (its arrays: frames, as uint8; only the frames a strip shows) and
``<stem>.inputs.<name>.csv`` (its tables). :func:`redraw` reads them back for every figure of a
profile and draws it again under another style or column width, loading no model: a camera-ready
restyle in seconds.

Inputs are JSON, CSV and ``.npz`` read with ``allow_pickle=False``: nothing is unpickled, and only
functions of :mod:`motionlib.plotting` named in :data:`DRAWERS` are called.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from motionlib import paths, plotting
from motionlib.errors import ParameterError, ResultsNotFoundError

DRAWERS = ("frame_rows", "gallery", "tradeoff_figure", "heatmap_pair", "tradeoff_single", "metric_panels",
           "transfer_figure", "transfer_variants_figure", "projection_subsets_figure", "top_pick_bars",
           "follow_curves", "noise_axis_figure", "text_influence_figure")
DATACLASSES = {"Tradeoff": "motionlib.analysis"}  # inputs that are dataclasses of these (tables and numbers)
SUFFIX = ".inputs"


def _frames_shown(video: np.ndarray, num_frames: int) -> np.ndarray:
    """The frames a strip of ``num_frames`` shows (plotting.frame_strip's choice): a strip of them is the same."""
    idx = np.round(np.linspace(0, len(video) - 1, num_frames)).astype(int)
    return video[idx]


class _Writer:
    def __init__(self, out_dir: Path, stem: str):
        self.out_dir, self.stem, self.arrays, self.tables = out_dir, stem, {}, []

    def encode(self, value, name: str):
        if isinstance(value, pd.DataFrame):
            file = f"{self.stem}{SUFFIX}.{name}.csv"
            value.to_csv(self.out_dir / file, index=False)
            self.tables.append(file)
            return {"__table__": file}
        if isinstance(value, np.ndarray):
            key = f"a{len(self.arrays)}"
            self.arrays[key] = value
            return {"__array__": key}
        if dataclasses.is_dataclass(value) and type(value).__name__ in DATACLASSES:
            return {"__dataclass__": type(value).__name__,
                    "fields": {f.name: self.encode(getattr(value, f.name), f"{name}.{f.name}")
                               for f in dataclasses.fields(value)}}
        if isinstance(value, dict):
            return {"__dict__": [[self.encode(k, name), self.encode(v, f"{name}.{i}")]
                                 for i, (k, v) in enumerate(value.items())]}
        if isinstance(value, (list, tuple)):
            return [self.encode(v, f"{name}.{i}") for i, v in enumerate(value)]
        if isinstance(value, (np.integer, np.floating, np.bool_)):
            return value.item()
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        raise ParameterError(f"figure input {name!r} of type {type(value).__name__} cannot be recorded for a redraw "
                             "(tables, arrays, numbers, strings and lists or dicts of them can)")


def _decode(value, folder: Path, arrays):
    if isinstance(value, list):
        return [_decode(v, folder, arrays) for v in value]
    if isinstance(value, dict):
        if "__table__" in value:
            return pd.read_csv(folder / value["__table__"], keep_default_na=True)
        if "__array__" in value:
            return arrays[value["__array__"]]
        if "__dict__" in value:
            return {_key(_decode(k, folder, arrays)): _decode(v, folder, arrays) for k, v in value["__dict__"]}
        if "__dataclass__" in value:
            import importlib

            name = value["__dataclass__"]
            if name not in DATACLASSES:
                raise ParameterError(f"unknown figure input class {name!r}")
            cls = getattr(importlib.import_module(DATACLASSES[name]), name)
            fields = {k: _decode(v, folder, arrays) for k, v in value["fields"].items()}
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
        return {k: _decode(v, folder, arrays) for k, v in value.items()}
    return value


def _key(value):
    """A dict key as it was: JSON has no tuples (``{(model, protocol): verdict}``)."""
    return tuple(_key(v) for v in value) if isinstance(value, list) else value


def _trimmed(function: str, inputs: dict) -> dict:
    """Frame strips keep only the frames they show."""
    n = inputs.get("num_frames", 8)
    if function == "frame_rows":
        return {**inputs, "videos": [_frames_shown(np.asarray(v), n) for v in inputs["videos"]]}
    if function == "gallery":
        blocks = [{**b, "reference": _frames_shown(b["reference"], n),
                   "rows": [(k, p, [None if v is None else _frames_shown(v, n) for v in vs]) for k, p, vs in b["rows"]]}
                  for b in inputs["blocks"]]
        return {**inputs, "blocks": blocks}
    return inputs


def draw(out_dir, stem: str, rec: dict, function: str, **inputs):
    """``plotting.<function>(**inputs)``, saved as ``stem`` (PDF, PNG, provenance) with its inputs beside it
    for :func:`redraw`; returns the figure (to show in the notebook)."""
    if function not in DRAWERS:
        raise ParameterError(f"{function!r} is not a figure function motionlib redraws; choose one of {', '.join(DRAWERS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = _trimmed(function, inputs)
    writer = _Writer(out_dir, stem)
    encoded = {name: writer.encode(value, name) for name, value in inputs.items()}  # refuses what it cannot record
    fig = getattr(plotting, function)(**inputs)
    if writer.arrays:
        np.savez_compressed(out_dir / f"{stem}{SUFFIX}.npz", **writer.arrays)
    (out_dir / f"{stem}{SUFFIX}.json").write_text(json.dumps({"function": function, "inputs": encoded}, indent=1))
    plotting.save_figure(fig, out_dir, stem, rec)
    return fig


def redraw_one(recipe: Path) -> tuple[Path, list]:
    """Draw the figure of ``<stem>.inputs.json`` again from its inputs, in the current style; returns its PNG
    and the figure check's problems (:mod:`motionlib.figure_check`; empty: it passes)."""
    folder, stem = recipe.parent, recipe.name[: -len(SUFFIX + ".json")]
    spec = json.loads(recipe.read_text())
    if spec.get("function") not in DRAWERS:
        raise ParameterError(f"{recipe}: {spec.get('function')!r} is not a figure function motionlib redraws")
    npz = folder / f"{stem}{SUFFIX}.npz"
    arrays = dict(np.load(npz, allow_pickle=False)) if npz.is_file() else {}
    inputs = {k: _decode(v, folder, arrays) for k, v in spec["inputs"].items()}
    fig = getattr(plotting, spec["function"])(**inputs)
    sidecar = folder / f"{stem}.provenance.json"
    rec = json.loads(sidecar.read_text()) if sidecar.is_file() else {"what": stem}
    plotting.save_figure(fig, folder, stem, rec)
    return folder / f"{stem}.png", getattr(fig, "motionlib_problems", [])


def redraw(profile_dir, style: str | Path | None = None, width: str | None = None) -> tuple[dict, list[Path], float]:
    """Every figure of ``profile_dir`` (``figures/<profile>``) drawn again from its recorded inputs with
    ``style`` (a ``.mplstyle`` file) and ``width`` (single or double column); returns the PNGs redrawn
    with the figure check's problems of each (``{png: [problem, ...]}``), the PNGs that have no recorded
    inputs (drawn before figures were recorded) and the seconds taken. The style is checked before any
    figure is drawn."""
    start = time.perf_counter()
    profile_dir = Path(profile_dir)
    recipes = sorted(profile_dir.glob(f"*/*{SUFFIX}.json")) if profile_dir.is_dir() else []
    if not recipes:
        profile = profile_dir.name
        raise ResultsNotFoundError(f"no recorded figures under {profile_dir}; make them first with "
                                   f"`make reproduce PROFILE={profile}` (or `motionlib reproduce --profile {profile}`)")
    plotting.use_style(style, width)  # refuses a bad style file or width before anything is drawn
    import matplotlib.pyplot as plt

    import os
    import warnings

    from motionlib.figure_check import ENV, FigureCheckWarning

    mode = os.environ.get(ENV)
    if mode == "error":  # a redraw reports every figure's verdict instead of stopping at the first
        os.environ[ENV] = "warn"
    try:
        done = {}
        for recipe in recipes:
            with warnings.catch_warnings():  # each figure's verdict is returned (and printed by the command)
                warnings.simplefilter("ignore", FigureCheckWarning)
                png, problems = redraw_one(recipe)
            done[png] = problems
            plt.close("all")
    finally:
        plotting.use_style()
        if mode == "error":
            os.environ[ENV] = mode
    stems = {p.with_suffix("").name for p in done}
    others = sorted(p for p in profile_dir.glob("*/*.png") if p.with_suffix("").name not in stems
                    and p.parent.name != "report")
    return done, others, time.perf_counter() - start


def profile_dir(profile: str, figures: str | Path | None = None) -> Path:
    return Path(figures or paths.figures_dir()) / profile

