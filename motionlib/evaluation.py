"""The customization evaluation of Tab. 1-4: videos x methods x edit prompts x samples, scored.

For each video and each :class:`Method` (a name and its :class:`~motionlib.customize.CustomizeSettings`):

1. train the motion adapter on the video with its caption, or read it back from the cache
   (``<cache>/adapters/<key>``; an interrupted training resumes from its checkpoint);
2. for each edit prompt of the video (its TGVE edit captions) draw ``num_samples`` samples with the
   adapter on at ``t >= tau`` (sample ``i`` uses seed ``seed + i`` for every method, so methods are
   compared on the same noise); the samples of a unit that are not cached yet are drawn together,
   ``sample_batch`` per denoiser pass (:func:`~motionlib.customize.generate_customized_batch`);
3. score every sample: text alignment (CLIP score against the prompt), temporal consistency
   (consecutive frames, the paper; and all pairs, TGVE) and PickScore; and for a toy model on a
   toy-world clip with its ground truth (``VideoItem.toy_spec``), the oracle's **transfer** (moves
   like the reference) and **leakage** (shows the reference's appearance where the prompt changed it),
   as in :mod:`motionlib.toyworld.transfer` (NaN otherwise).

One tidy row per (video, method, edit kind, sample). Adapters, sampled videos and scores are cached
under keys of everything that changes them, so a stopped evaluation resumes where it stopped and a
finished one is read back, not recomputed; methods with equal settings share one adapter (a rank or a
projection subset trained for one table is not trained again for another).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from motionlib import analysis
from motionlib.cache import ResultCache, cache_key
from motionlib.customize import CustomizeSettings, check_sample_batch, generate_customized_batch
from motionlib.customize.cached import customized_adapter
from motionlib.data import EDIT_KINDS, read_video
from motionlib.errors import ParameterError
from motionlib.metrics import clip_score, temporal_consistency
from motionlib.models.base import VideoModel

CACHE_VERSION = 2  # bump when sampling or scoring changes, so old entries are not read (2: CLIP resize as open_clip)
METRICS = ("text_alignment", "temporal_consistency", "temporal_consistency_all_pairs", "pick_score")
ORACLE_METRICS = ("transfer", "leakage")  # toy models on toy clips with their ground truth only


@dataclass(frozen=True)
class Method:
    """One row of a table: ``name`` and the customization that makes it (``tau = 1000``: base model)."""

    name: str
    settings: CustomizeSettings = CustomizeSettings()


def tau_methods(taus, **settings) -> list[Method]:
    """Tab. 1's rows: one method per ``tau`` (``"tau=700"``; 1000 is the base model, 0 all timesteps)."""
    return [Method(f"tau={t}", CustomizeSettings(tau=int(t), **settings)) for t in taus]


@dataclass(frozen=True)
class EvalSettings:
    """How methods are sampled and scored; ``None`` means the model family's default."""

    edit_kinds: tuple[str, ...] = EDIT_KINDS  # the paper: all four TGVE edits per video
    num_samples: int = 4  # per edit prompt (the paper: 4)
    seed: int = 0  # sample i of every prompt and method starts from the noise of seed + i
    num_steps: int | None = None
    guidance_scale: float | None = None
    num_frames: int | None = None  # of the reference video read for training and the samples
    height: int | None = None
    width: int | None = None
    # Samples per denoiser pass (memory, not results: a batched sample equals the one drawn alone up to
    # float rounding); None = the family default (Family.sample_batch, motionlib.families;
    # tiny and toy models: all of a unit's samples at once).
    sample_batch: int | None = None

    def __post_init__(self):
        unknown = set(self.edit_kinds) - set(EDIT_KINDS)
        if unknown or not self.edit_kinds:
            raise ParameterError(f"edit_kinds must be a non-empty subset of {', '.join(EDIT_KINDS)}, "
                                 f"got {list(self.edit_kinds)}")
        if not (isinstance(self.num_samples, int) and self.num_samples >= 1):
            raise ParameterError(f"num_samples must be an integer >= 1, got {self.num_samples!r}")
        check_sample_batch(self.sample_batch)

    def resolve(self, model: VideoModel) -> EvalSettings:
        d = model.defaults.resolved(self.num_frames, self.height, self.width, self.num_steps, self.guidance_scale)
        return replace(self, edit_kinds=tuple(self.edit_kinds), num_steps=d.num_steps,
                       guidance_scale=d.guidance_scale, num_frames=d.num_frames, height=d.height, width=d.width)


@dataclass
class EvalResult:
    rows: pd.DataFrame  # one row per (video, method, edit kind, sample)
    videos: dict = field(default_factory=dict)  # (video, method, edit kind, sample) -> (F, H, W, 3) uint8


def _scores(video: np.ndarray, prompt: str, clip, pick, judge=None) -> dict[str, float]:
    out = {
        "text_alignment": clip_score(clip, video, prompt),
        "temporal_consistency": temporal_consistency(clip, video, "consecutive"),
        "temporal_consistency_all_pairs": temporal_consistency(clip, video, "all_pairs"),
        "pick_score": pick.score(video, prompt) if pick is not None else float("nan"),
    }
    return out | (judge(video, prompt) if judge is not None else dict.fromkeys(ORACLE_METRICS, float("nan")))


def oracle_judge(model: VideoModel, item):
    """``judge(video, prompt) -> {"transfer", "leakage"}`` read by the toy world's oracle against the
    item's ground truth, for a toy model on an item with a ``toy_spec``; else ``None``."""
    if not (model.is_toy and getattr(item, "toy_spec", None)):
        return None
    from motionlib.toyworld import oracle, world

    reference = world.ClipSpec(**item.toy_spec)

    def judge(video: np.ndarray, prompt: str) -> dict[str, float]:
        named = world.parse_caption(prompt)
        asked = reference
        for attribute in world.APPEARANCE:
            asked = asked.with_attribute(attribute, named[attribute])
        reading = oracle.transfer_reading(video, reference, asked)
        return {metric: reading[metric] for metric in ORACLE_METRICS}

    return judge


def evaluate(
    model: VideoModel,
    items,
    methods: list[Method],
    clip,
    pick=None,
    settings: EvalSettings = EvalSettings(),
    *,
    cache: bool = True,
    keep_videos: bool = False,
    progress: bool = True,
    executor: str = "serial",
    address: str | None = None,
    num_gpus: float | None = None,
    num_cpus: int | None = None,
) -> EvalResult:
    """Evaluate ``methods`` on dataset ``items`` (:class:`~motionlib.data.VideoItem`); see the module doc.

    ``clip``: a :class:`~motionlib.metrics.ClipScorer` (text alignment, temporal consistency);
    ``pick``: a :class:`~motionlib.metrics.PickScorer` or ``None`` (PickScore left as NaN).
    ``model`` must carry no adapter; each method's adapter is attached and removed again.
    One unit of work per (video, adapter): methods whose settings resolve alike share it.
    ``executor="ray"`` runs the units as Ray tasks (:mod:`motionlib.executors`; ``address`` joins a
    cluster, ``num_gpus`` per task defaults to 1 for a model on a GPU, ``num_cpus`` as in
    :func:`~motionlib.executors.run_units`); the rows are the serial run's.
    """
    from motionlib.executors import Unit, gpus_per_unit, run_units
    from motionlib.models.loading import model_spec

    if not methods:
        raise ParameterError("no methods to evaluate; give at least one Method (e.g. tau_methods([700]))")
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ParameterError(f"method names must be distinct, got {names}")
    s = settings.resolve(model)
    jobs = [(item, group) for item in items for group in adapter_groups(model, methods)]
    desc = f"{model.family} customization"
    if executor == "serial":
        bar = tqdm(jobs, desc=desc, disable=not progress)
        outputs = []
        for item, group in bar:
            bar.set_postfix_str(f"{item.name} / {group[0].name}")
            outputs.append(customization_unit(None, item, group, s, cache, keep_videos, progress,
                                              clip=clip, pick=pick, model=model))
    else:
        if not cache:
            raise ParameterError("the ray executor hands adapters and samples over through the cache: keep cache=True")
        spec = model_spec(model)
        units = [Unit(f"{item.name}/{group[0].name}", customization_unit,
                      dict(spec=spec, item=item, methods=group, settings=s, keep_videos=keep_videos))
                 for item, group in jobs]
        outputs = run_units(units, executor, shared={"clip": clip, "pick": pick}, address=address,
                            num_gpus=gpus_per_unit(model.device, num_gpus), num_cpus=num_cpus, progress=progress,
                            desc=desc)
    by_method, videos = {}, {}
    for (item, _), (method_rows, unit_videos) in zip(jobs, outputs):
        by_method.update({(item.name, name): rows for name, rows in method_rows.items()})
        videos.update(unit_videos)
    rows = [row for item in items for m in methods for row in by_method[(item.name, m.name)]]
    return EvalResult(pd.DataFrame(rows), videos)


def adapter_groups(model: VideoModel, methods: list[Method]) -> list[list[Method]]:
    """``methods`` grouped by the adapter they use (equal resolved settings), in first-seen order."""
    groups: dict[str, list[Method]] = {}
    for m in methods:
        groups.setdefault(cache_key(asdict(m.settings.resolved(model))), []).append(m)
    return list(groups.values())


def customization_unit(spec: dict | None, item, methods: list[Method], settings: EvalSettings,
                       cache: bool = True, keep_videos: bool = False, progress: bool = False, *, clip, pick,
                       model: VideoModel | None = None) -> tuple[dict[str, list[dict]], dict]:
    """One unit of Tab. 1-4: the adapter of ``methods`` (one :func:`adapter_groups` group) on one video,
    trained or read back, then each method's samples and scores.

    ``settings`` are resolved (:meth:`EvalSettings.resolve`); ``model``, or loaded once per process from
    ``spec``. Returns ``{method name: rows}`` and the kept videos.
    """
    from motionlib.models.loading import load_model_once

    model = model if model is not None else load_model_once(**spec)
    s = settings
    judge = oracle_judge(model, item)
    scorer_key = cache_key({"clip": clip.describe(), "pick": pick.describe() if pick else None,
                            **({"oracle": 1} if judge is not None else {})})
    reference = read_video(item.path, s.num_frames, (s.height, s.width))
    adapter, record = customized_adapter(model, reference, item.caption, methods[0].settings,
                                         cache=cache, progress=progress)
    rows, videos = {}, {}
    try:
        for method in methods:
            rows[method.name] = _method_rows(model, item, reference, method, adapter, record, clip, pick, judge, s,
                                             scorer_key, cache, keep_videos, videos, progress)
    finally:
        adapter.remove()
    return rows, videos


def _method_rows(model, item, reference, method, adapter, record, clip, pick, judge, s: EvalSettings,
                 scorer_key, cache, keep_videos, videos, progress) -> list[dict]:
    tau = adapter.settings.tau
    store = ResultCache("customized-samples", {
        "version": CACHE_VERSION, "model": model.describe(), "adapter": record.get("settings"),
        "video_sha": record["video_hash"], "num_steps": s.num_steps,
        "guidance_scale": s.guidance_scale, "num_frames": s.num_frames, "height": s.height, "width": s.width,
    }, enabled=cache)
    scores = store.load_json(f"scores-{scorer_key}") or {}
    plan = [(kind, i, item.edit(kind), s.seed + i) for kind in s.edit_kinds for i in range(s.num_samples)]
    needed = [(prompt, seed) for kind, _, prompt, seed in plan
              if keep_videos or _score_key(kind, seed, prompt) not in scores]
    unit_videos = _unit_videos(model, adapter, tau, store, needed, s)
    rows = []
    for kind, i, prompt, seed in plan:
        key = _score_key(kind, seed, prompt)
        video = unit_videos.get((prompt, seed))
        if key not in scores:
            scores[key] = _scores(video, prompt, clip, pick, judge)
            store.save_json(f"scores-{scorer_key}", scores)
        if keep_videos:
            videos[(item.name, method.name, kind, i)] = video
        rs = record["settings"]
        rows.append({
            "model": model.family, "source": model.source, "video": item.name, "method": method.name,
            "tau": tau, "mode": record["mode"], "group": rs["group"], "projections": rs["projections"],
            "rank": rs["rank"],
            "trainable_parameters": 0 if record["mode"] == "base" else record["trainable_parameters"],
            "train_steps": record["steps"], "edit_kind": kind, "prompt": prompt, "sample": i,
            "seed": seed, **scores[key],
        })
    return rows


def _score_key(kind: str, seed: int, prompt: str) -> str:
    """A sample's entry in the scores JSON of its cache entry."""
    return f"{kind}/{seed}/{prompt}"


def _sample_name(prompt: str, seed: int) -> str:
    """The cache name of a customized sample; batched and one-at-a-time runs share it."""
    return f"sample-{cache_key({'prompt': prompt, 'seed': seed})}"


def _unit_videos(model, adapter, tau: int, store: ResultCache, requests: list[tuple[str, int]],
                 s: EvalSettings) -> dict[tuple[str, int], np.ndarray]:
    """The ``(F, H, W, 3)`` uint8 video of each ``(prompt, seed)`` request: read from ``store``, or
    sampled (all missing ones together, ``s.sample_batch`` per denoiser pass) and stored as it is decoded."""
    videos = {}
    unique = list(dict.fromkeys(requests))
    for request in unique:
        stored = store.load_tensors(_sample_name(*request))
        if stored is not None:
            videos[request] = stored["video"].numpy()
    missing = [request for request in unique if request not in videos]

    def keep(i: int, sample) -> None:
        store.save_tensors(_sample_name(*missing[i]), {"video": torch.from_numpy(np.ascontiguousarray(sample.video))})
        videos[missing[i]] = sample.video

    if missing:
        generate_customized_batch(
            model, adapter, missing, tau=tau, sample_batch=s.sample_batch, num_frames=s.num_frames,
            height=s.height, width=s.width, num_steps=s.num_steps, guidance_scale=s.guidance_scale,
            progress=False, on_sample=keep)
    return videos


def summarize(rows: pd.DataFrame, by: tuple[str, ...] = ("model", "method"), n_boot: int = 2000,
              seed: int = 0) -> pd.DataFrame:
    """Mean of each metric per ``by`` group with 95% bootstrap intervals resampling videos.

    Samples and prompts are first averaged within each video, so every video weighs the same. The
    oracle's transfer and leakage are summarized too where the rows hold them (toy models on toy clips).
    """
    by = list(by)
    extra = [c for c in ("tau", "mode", "projections", "rank", "trainable_parameters") if c in rows and c not in by]
    metrics = [m for m in (*METRICS, *ORACLE_METRICS) if m in rows and (m in METRICS or rows[m].notna().any())]
    per_video = rows.groupby(by + extra + ["video"], sort=False, dropna=False)[metrics].mean().reset_index()
    table = analysis.aggregate(per_video, by + extra, metrics, n_boot=n_boot, seed=seed)
    order = {name: i for i, name in enumerate(rows["method"].drop_duplicates())} if "method" in by else {}
    if order:
        table = table.sort_values("method", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)
    return table
