"""Direction transfer: the paper's Tab. 1 in the toy world, as a paired test that can pass and fail.

A motion LoRA (:mod:`motionlib.customize`) is trained on one reference clip at ``t in [tau, 1000)``
and applied at ``t >= tau`` while sampling new captions. ``tau = 1000`` is the base model, ``tau = 0``
the adapter at every step.

**Paired design.** Each appearance is a reference in all four directions: two mirror pairs (left /
right, up / down) with the same appearance and caption. All four adapters of an appearance sample the
same prompts with the same fresh seeds. Per sample the oracle reads the direction; **paired transfer**
of a reference is P(its direction | its adapter) - P(its direction | its mirror's adapter). Whatever
way the base model leans for a prompt and seed, it leans so under both adapters, so chance is 0: a
base rate that is seed luck cancels. The unit of every interval is a mirror pair (its two
directions' paired transfers averaged; an appearance gives two), resampled by bootstrap.

**Captions.** ``captions="open"`` (default): the adapter's caption and the new prompts leave the
direction, the colour and the background open ("a striped square moves" / "a dotted circle moves"),
changing the shape and texture; a toy model fine-tuned with such captions (``toyworld finetune
--appearance-free``) draws any colour and background for them, so a sample that shows the
reference's colour or background shows what the adapter copied: **leakage** per open attribute, the
rate at which samples show the reference's value, minus the base model's on the same prompts and
seeds. ``captions="direction_free"``: the earlier protocol's captions, naming every appearance
attribute; leakage is then not testable.

The checks are fixed here, before any run (:data:`CHECKS`, :func:`checks`); ``tau_p`` is the
family's paper tau (``Family.paper_best_tau``):

- (i) **overfit**: the ``tau = 0`` adapter with its own caption draws its reference's direction in
  >= 0.9 of seeds; otherwise the strength is too weak to read any tau;
- (ii) **the ceiling carries the direction**: the reference noised to the first step below ``tau_p``
  and finished by the base model with the new prompts (the most an adapter restricted to
  ``t >= tau_p`` can pass on), scored paired; its interval must lie above 0, else (iii) is not
  testable;
- (iii) **transfer at the paper's tau**: paired transfer(``tau_p``) >= :data:`BAR_OF_CEILING` x the
  ceiling's, with its interval above 0 (the bar lies inside the ceiling by construction:
  :func:`bar_within_ceiling`);
- (iv) **the paper's peak**: paired transfer(``tau_p``) - paired transfer(0), interval above 0
  (transfer(1000) is 0 by the design);
- (P) **premise, per open attribute**: leakage(0) >= :data:`PREMISE_MARGIN` with its interval above
  0: tuning at every timestep copies the reference's appearance. If not, (v) reads "not testable";
- (v) **less leakage early, per open attribute**: leakage(0) - leakage(``tau_p``), interval above 0.

A verdict is ``"pass"``, ``"fail"``, ``"not testable"`` (a premise failed) or ``"not measured"``
(the taus of the run do not include what it compares).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from motionlib import families
from motionlib.analysis import bootstrap_ci, wilson_interval
from motionlib.cache import ResultCache
from motionlib.customize import CustomizeSettings, generate_customized_batch
from motionlib.customize.generation import stacked_noise
from motionlib.data import from_model_pixels, to_model_pixels
from motionlib.errors import ParameterError
from motionlib.customize.cached import customized_adapter
from motionlib.models.base import PromptEmbeds, VideoModel
from motionlib.sampling import ddim_schedule, denoise
from motionlib.toyworld import oracle, world
from motionlib.toyworld.dataset import edited, free_caption, toy_record

TAUS = (1000, 900, 700, 400, 0)
CACHE_VERSION = 3  # 3: the paired protocol (mirrored references, open captions, unreadable readings)
MIRROR = {"left": "right", "right": "left", "up": "down", "down": "up"}
PAIRS = (("left", "right"), ("up", "down"))
CAPTIONS = ("open", "direction_free")
# What a new prompt changes, per caption kind (the rest of the appearance is left open or kept named).
CHANGED = {"open": ("shape", "texture"), "direction_free": world.APPEARANCE}
OVERFIT_BAR = 0.9
BAR_OF_CEILING = 0.5
PREMISE_MARGIN = 0.2
# (name, what is compared, threshold): fixed before any run.
CHECKS = (
    ("(i) overfit", "transfer of the tau = 0 adapter with its own caption", OVERFIT_BAR),
    ("(ii) the ceiling carries the direction", "paired carry-through at tau_p, interval above 0", 0.0),
    ("(iii) transfer at the paper's tau", "paired transfer(tau_p) >= 0.5 x the ceiling's, interval above 0",
     BAR_OF_CEILING),
    ("(iv) the paper's peak", "paired transfer(tau_p) - paired transfer(0), interval above 0", 0.0),
    ("(P) premise: {a} can leak", "leakage of {a} at tau = 0, interval above 0", PREMISE_MARGIN),
    ("(v) less {a} leakage early", "leakage of {a}: at tau = 0 minus at tau_p, interval above 0", 0.0),
)


def bar_within_ceiling() -> bool:
    """Whether check (iii)'s bar can be met by an adapter as good as the ceiling itself."""
    return 0 < BAR_OF_CEILING <= 1


@dataclass(frozen=True)
class Protocol:
    """What one paired transfer measurement samples. The defaults are the toy profile's size."""

    appearances: int = 6  # distinct appearances, each a reference in all four directions
    prompts: int = 4  # new captions per appearance
    seeds: int = 8  # fresh seeds per prompt, the same for the appearance's four adapters
    overfit_seeds: int = 4  # check (i): per reference
    ceiling_seeds: int = 2  # check (ii): the first seeds of each prompt, per (reference, tau)
    taus: tuple[int, ...] = TAUS
    paper_tau: int = 700  # tau_p: the family's Family.paper_best_tau (for_family)
    captions: str = "open"  # or "direction_free"
    first_appearance: int = 0  # where in the seeded order of appearances this run starts (held-out selection)
    steps: int | None = None  # sampling steps; None: the model's (50)
    train_steps: int | None = None  # LoRA steps of every adapter; None: the settings' (a measurement's size, like steps)
    seed: int = 0

    def __post_init__(self):
        for name in ("appearances", "prompts", "seeds", "overfit_seeds", "ceiling_seeds"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ParameterError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not self.taus or any(not (isinstance(t, int) and 0 <= t <= 1000) for t in self.taus):
            raise ParameterError(f"taus must be integer timesteps in [0, 1000], got {self.taus!r}")
        if self.captions not in CAPTIONS:
            raise ParameterError(f"captions must be one of {', '.join(CAPTIONS)}, got {self.captions!r}")
        if not (isinstance(self.paper_tau, int) and 0 < self.paper_tau < 1000):
            raise ParameterError(f"paper_tau must be a timestep in (0, 1000), got {self.paper_tau!r}")
        if self.seeds > 10 or self.prompts > 100:  # seed = base + 1000 x appearance + 10 x prompt + i (_requests)
            raise ParameterError(f"at most 10 seeds per prompt and 100 prompts per appearance keep every seed fresh; "
                                 f"got {self.seeds} seeds and {self.prompts} prompts")
        if self.ceiling_seeds > self.seeds:
            raise ParameterError(f"ceiling_seeds ({self.ceiling_seeds}) cannot exceed seeds ({self.seeds})")
        if not (isinstance(self.first_appearance, int) and self.first_appearance >= 0):
            raise ParameterError(f"first_appearance must be an integer >= 0, got {self.first_appearance!r}")
        for name in ("steps", "train_steps"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and value >= 1):
                raise ParameterError(f"{name} must be a positive integer or None, got {value!r}")

    @property
    def open_attributes(self) -> tuple[str, ...]:
        """The appearance attributes the captions leave open (leakage is read for these only)."""
        return world.OPEN_APPEARANCE if self.captions == "open" else ()

    @classmethod
    def for_family(cls, family: str, **kwargs) -> Protocol:
        """The protocol with ``paper_tau`` the family's (``Family.paper_best_tau``)."""
        return cls(**{"paper_tau": families.get(family).paper_best_tau or 700, **kwargs})


# ------------------------------------------------------------------------------------ references
def mirror_of(spec: world.ClipSpec) -> world.ClipSpec:
    """The reference's mirror: the same appearance, speed and caption, the opposite direction (its
    start drawn so the motion stays in frame). A one-line error for a reference that has none."""
    if spec.path != "straight":
        raise ParameterError(f"a {spec.path} reference has no mirror in the toy world (its transfer is the path "
                             "itself, which the mirror shares): the paired protocol takes straight references")
    if not spec.speed > 0:
        raise ParameterError("a still reference (speed 0) has no direction to mirror: give it a speed > 0")
    d = MIRROR[spec.direction]
    rng = np.random.default_rng([int(spec.speed * 1000), len(d)])
    return world.ClipSpec(spec.shape, spec.colour, spec.texture, spec.background, d, spec.path, spec.speed,
                          world.random_start(d, spec.speed, rng, spec.num_frames, spec.size), spec.num_frames,
                          spec.size)


def appearance_order(seed: int = 0) -> list[tuple[str, str, str, str]]:
    """Every appearance (shape, colour, texture, background) in a seeded order, those with a held-out
    direction first (no base model trained on them in that direction)."""
    rng = np.random.default_rng([seed, 37])
    looks = sorted({c[:4] for c in world.all_combinations()})
    held = {c[:4] for c in world.held_out_combinations()}
    order = [looks[i] for i in rng.permutation(len(looks))]
    return [look for look in order if look in held] + [look for look in order if look not in held]


def reference_groups(appearances: int, seed: int = 0, first: int = 0) -> list[dict[str, world.ClipSpec]]:
    """``appearances`` groups, each one appearance as four references (direction -> spec), mirrors of
    each other, with one seeded speed; the appearances ``first, first + 1, ...`` of :func:`appearance_order`."""
    looks = appearance_order(seed)[first : first + appearances]
    if len(looks) < appearances:
        raise ParameterError(f"the toy world has {len(appearance_order(seed))} appearances; asked for "
                             f"{appearances} from number {first}")
    groups = []
    for g, look in enumerate(looks):
        rng = np.random.default_rng([seed, 41, first + g])
        speed = float(rng.uniform(*world.SPEED_RANGE))
        groups.append({d: world.ClipSpec(*look, d, speed=speed, start=world.random_start(d, speed, rng))
                       for d in world.DIRECTIONS})
    return groups


def adapter_caption(spec: world.ClipSpec, captions: str) -> str:
    """The caption an adapter trains on, and a prompt's text: no direction word; ``"open"`` leaves the
    colour and background out too."""
    if captions == "open":
        return world.caption(spec, omit=("direction", *world.OPEN_APPEARANCE))
    return free_caption(spec)


def new_looks(reference: world.ClipSpec, n: int, seed: int, captions: str) -> list[world.ClipSpec]:
    """``n`` specs with the attributes :data:`CHANGED` by ``captions`` changed, the motion kept."""
    rng = np.random.default_rng([seed, 17])
    return [edited(reference, CHANGED[captions], rng) for _ in range(n)]


def check_reference(video: np.ndarray) -> None:
    """A one-line error if the oracle cannot read ``video``'s object and direction (before any training)."""
    problems = oracle.not_toy_world(video)
    reading = oracle.read(video)
    if problems or not reading.found or reading.direction == "still":
        why = "; ".join(problems) or getattr(reading, "unreadable", "") or (
            "it does not move" if reading.found else "no object found in its frames")
        raise ParameterError(f"the reference video is unreadable by the oracle ({why}): direction transfer needs a "
                             "toy-world clip of one moving object on a flat background")


def check_leakage_attributes(attributes: tuple[str, ...], captions: str) -> None:
    """A one-line error when leakage is asked for an attribute that the captions name."""
    open_ = world.OPEN_APPEARANCE if captions == "open" else ()
    named = [a for a in attributes if a not in open_]
    if named:
        raise ParameterError(f"leakage of {', '.join(named)} is not testable with {captions!r} captions: they name it, "
                             f"so the prompt, not the adapter, sets it (open attributes: {', '.join(open_) or 'none'})")


# ------------------------------------------------------------------------------------ sampling
def read_sample(video: np.ndarray) -> dict:
    """What the oracle reads of one sample: direction, appearance, and why it is unreadable ("" if not)."""
    reading = oracle.read(video)
    attrs = reading.attributes()
    return {"direction_read": attrs["direction"] or "", "colour_read": attrs["colour"] or "",
            "background_read": attrs["background"] or "", "shape_read": attrs["shape"] or "",
            "texture_read": attrs["texture"] or "", "unreadable": getattr(reading, "unreadable", "")
            or ("" if reading.found else "no object")}


@torch.no_grad()
def carry_through(model: VideoModel, video: np.ndarray, prompts: list[str], seeds: list[int], tau: int,
                  num_steps: int | None = None) -> list[np.ndarray]:
    """Check (ii): ``video`` noised (seeded) to the first sampling step below ``tau``, then the base
    model finishes each prompt from there: the most an adapter active only at ``t >= tau`` can pass on.
    The samples share one denoiser pass (latents ``(B, ...)``, a prompt per row); row ``i``'s noise is
    ``initial_noise(seeds[i])``, as if drawn alone."""
    d = model.defaults
    steps = [s for s in ddim_schedule(model, num_steps or d.num_steps) if s.t < tau]
    x0 = model.encode_video(to_model_pixels(video))
    noise = stacked_noise(model, list(seeds), d.num_frames, d.height, d.width).to(x0.device)  # drawn on the CPU
    a = steps[0].alpha
    return _finished(model, a**0.5 * x0 + (1 - a) ** 0.5 * noise, prompts, steps)


@torch.no_grad()
def base_samples(model: VideoModel, prompts: list[str], seeds: list[int], num_steps: int | None = None):
    """The base model's samples of ``prompts[i]`` from ``initial_noise(seeds[i])``, one denoiser pass."""
    d = model.defaults
    noise = stacked_noise(model, list(seeds), d.num_frames, d.height, d.width)
    return _finished(model, noise, prompts, ddim_schedule(model, num_steps or d.num_steps))


def _finished(model: VideoModel, x: torch.Tensor, prompts: list[str], steps) -> list[np.ndarray]:
    """Latents ``x`` ``(B, ...)`` denoised over ``steps`` by the base model, row ``i`` with ``prompts[i]``,
    decoded to ``(F, H, W, 3)`` uint8 videos."""
    d = model.defaults
    embeds = PromptEmbeds.stack([model.encode_prompt(prompt) for prompt in prompts])
    latents = denoise(model, x, embeds, steps, d.guidance_scale)
    return [from_model_pixels(model.decode_latents(latents[i : i + 1], d.num_frames)[0]) for i in range(len(prompts))]


def _requests(group: dict[str, world.ClipSpec], g: int, p: Protocol) -> tuple[list[tuple[str, int]], list]:
    """The appearance's new prompts with their fresh seeds (the same for its four adapters)."""
    look = group["left"]
    first = p.first_appearance + g
    looks = new_looks(look, p.prompts, p.seed * 7919 + first, p.captions)
    requests = [(adapter_caption(spec, p.captions), 100_000 * (p.seed + 1) + 1000 * first + 10 * k + i)
                for k, spec in enumerate(looks) for i in range(p.seeds)]
    return requests, [spec for spec in looks for _ in range(p.seeds)]


def run(model: VideoModel, protocol: Protocol = Protocol(), settings: CustomizeSettings = CustomizeSettings(),
        *, cache: bool = True, progress: bool = True, videos: list | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Every sample of the protocol, one row each: ``kind`` "base" (tau 1000, once per appearance),
    "transfer" (per reference and tau < 1000), "overfit" (tau 0, the reference's own caption) and
    "ceiling" (check ii, 0 < tau < 1000); and one record per trained adapter (its loss curve).
    Each (reference, tau) is cached with its samples, so a stopped run resumes where it stopped and
    reruns identically. With a list ``videos``, each row's sample (uint8 ``(F, H, W, 3)``) is appended
    to it and the rows get a ``sample`` column, its index there (the figures' frames)."""
    p = protocol
    if p.train_steps is not None:
        settings = CustomizeSettings(**{**settings.__dict__, "train_steps": p.train_steps})
    groups = reference_groups(p.appearances, p.seed, p.first_appearance)
    for group in groups:  # every reference readable and mirrored, before any training
        for spec in group.values():
            mirror_of(spec)
            check_reference(world.render(spec))
    rows, records = [], []
    total = len(groups) * (int(1000 in p.taus) + 4 * sum(t < 1000 for t in p.taus))
    bar = tqdm(total=total, desc=f"{model.family} paired transfer", disable=not progress)
    for g, group in enumerate(groups):
        requests, specs = _requests(group, g, p)
        look = {"appearance": p.first_appearance + g, "look": adapter_caption(group["left"], "direction_free"),
                "ref_colour": group["left"].colour, "ref_background": group["left"].background}
        for tau in p.taus:
            units = [("", None)] if tau == 1000 else list(group.items())
            for direction, spec in units:
                store = ResultCache("transfer", {
                    "version": CACHE_VERSION, "model": model.describe(), "reference": spec and spec.as_dict(),
                    "caption": spec and adapter_caption(spec, p.captions), "requests": requests, "tau": int(tau),
                    "settings": None if spec is None else asdict(  # the base model's samples depend on no adapter
                        CustomizeSettings(**{**settings.__dict__, "tau": int(tau), "seed": p.seed})),
                    "overfit_seeds": p.overfit_seeds, "ceiling_seeds": p.ceiling_seeds, "steps": p.steps},
                    enabled=cache)
                cached = store.load_json("rows")
                drawn = store.load_tensors("samples") if videos is not None else None
                if cached is None or (videos is not None and drawn is None):  # (units cached before samples were)
                    cached, samples = _unit_rows(model, spec, requests, int(tau), settings, p)
                    drawn = {"videos": torch.from_numpy(np.stack(samples))}
                    store.save_tensors("samples", drawn)
                    store.save_json("rows", cached)
                for i, row in enumerate(cached["rows"]):
                    rows.append({"model": model.family, **look, "reference_direction": direction, "tau": int(tau),
                                 "captions": p.captions, **row})
                    if videos is not None:
                        rows[-1]["sample"] = len(videos)
                        videos.append(drawn["videos"][i].numpy())
                if cached["record"]:
                    records.append({"appearance": look["appearance"], "direction": direction, "tau": int(tau),
                                    **cached["record"]})
                bar.update()
    bar.close()
    return pd.DataFrame(rows), records


def _unit_rows(model, spec, requests, tau: int, settings: CustomizeSettings, p: Protocol) -> tuple[dict, list]:
    """The rows of one reference at one tau (or, with ``spec`` None at tau 1000, of the base model),
    and their samples (uint8 ``(F, H, W, 3)``, one per row)."""
    prompts, seeds = [q for q, _ in requests], [s for _, s in requests]
    if spec is None:
        videos = base_samples(model, prompts, seeds, p.steps)
        return {"rows": [{"kind": "base", "prompt": q, "seed": s, **read_sample(v)}
                         for (q, s), v in zip(requests, videos, strict=True)], "record": {}}, videos
    video, caption = world.render(spec), adapter_caption(spec, p.captions)
    s = CustomizeSettings(**{**settings.__dict__, "tau": tau, "seed": p.seed})
    adapter, record = customized_adapter(model, video, caption, s, progress=False)
    extra = [(caption, 500 + i) for i in range(p.overfit_seeds)] if tau == 0 else []
    try:
        drawn = generate_customized_batch(model, adapter, requests + extra, tau=tau, num_steps=p.steps, progress=False)
    finally:
        adapter.remove()
    rows = [{"kind": "overfit" if i >= len(requests) else "transfer", "prompt": q, "seed": seed,
             **read_sample(sample.video)} for i, ((q, seed), sample) in enumerate(zip(requests + extra, drawn))]
    samples = [sample.video for sample in drawn]
    if 0 < tau < 1000:
        kept = [i for i in range(len(requests)) if i % p.seeds < p.ceiling_seeds]
        ceiling = carry_through(model, video, [prompts[i] for i in kept], [seeds[i] for i in kept], tau, p.steps)
        rows += [{"kind": "ceiling", "prompt": prompts[i], "seed": seeds[i], **read_sample(v)}
                 for i, v in zip(kept, ceiling, strict=True)]
        samples += ceiling
    curve = {"steps": record.get("steps"), "final_loss": record.get("final_loss"), "losses": record.get("losses"),
             "rank": s.rank, "learning_rate": record.get("settings", {}).get("learning_rate")}
    return {"rows": rows, "record": curve}, samples


# ------------------------------------------------------------------------------------ scoring
READ_COLUMNS = ("direction_read", "colour_read", "background_read", "shape_read", "texture_read", "unreadable",
                "reference_direction")


def as_read(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the oracle's empty readings as "" (a CSV read back gives NaN for them), so that the
    scores below are the same on rows from :func:`run` and on rows read back from their CSV."""
    present = [c for c in READ_COLUMNS if c in rows]
    return rows.fillna(dict.fromkeys(present, "")) if rows[present].isna().any().any() else rows


def paired_units(rows: pd.DataFrame, kind: str, tau: int) -> pd.Series:
    """Paired transfer per mirror pair (index: appearance, pair "left-right" / "up-down") of ``kind``
    ("transfer" or "ceiling") rows at ``tau``: for each direction d of the pair, P(d | d's adapter) -
    P(d | the mirror's adapter) over the prompts and seeds both sampled, averaged over the pair's two."""
    r = rows[(rows["kind"] == kind) & (rows["tau"] == tau)]
    if r.empty:
        return pd.Series(dtype=float)
    goes = r.assign(key=r["prompt"] + "#" + r["seed"].astype(str))
    out = {}
    for appearance, a in goes.groupby("appearance"):
        by_ref = {d: x.set_index("key")["direction_read"] for d, x in a.groupby("reference_direction")}
        for pair in PAIRS:
            if not all(d in by_ref for d in pair):
                continue
            both = by_ref[pair[0]].index.intersection(by_ref[pair[1]].index)
            if both.empty:
                continue
            own = [float((by_ref[d][both] == d).mean()) for d in pair]
            mirror = [float((by_ref[MIRROR[d]][both] == d).mean()) for d in pair]
            out[(appearance, "-".join(pair))] = float(np.mean(own) - np.mean(mirror))
    return pd.Series(out, dtype=float)


def leakage_units(rows: pd.DataFrame, tau: int, attribute: str) -> pd.Series:
    """Per appearance: the share of samples at ``tau`` (all four adapters) whose ``attribute`` reads as the
    reference's, minus the base model's share on the same prompts and seeds (``tau = 1000``: 0)."""
    column, truth = f"{attribute}_read", f"ref_{attribute}"
    base = rows[rows["kind"] == "base"]
    if tau == 1000:
        return pd.Series(0.0, index=sorted(base["appearance"].unique()), dtype=float)
    at = rows[(rows["kind"] == "transfer") & (rows["tau"] == tau)]
    share = (at[column] == at[truth]).groupby(at["appearance"]).mean()
    base_share = (base[column] == base[truth]).groupby(base["appearance"]).mean()
    return (share - base_share.reindex(share.index)).dropna()


def _interval(values: pd.Series, n_boot: int, seed: int) -> tuple[float, float, float]:
    values = pd.Series(values, dtype=float).dropna()
    if values.empty:
        return np.nan, np.nan, np.nan
    lo, hi = bootstrap_ci(values.to_numpy(), n_boot=n_boot, seed=seed)
    return float(values.mean()), lo, hi


def summary(rows: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per (kind, tau): paired transfer (chance 0) with its 95% bootstrap interval over mirror pairs,
    the raw share of samples going their reference's way, the unreadable samples, and per open
    attribute the leakage over the base model (interval over appearances). Per variant too, if
    ``rows`` has them."""
    rows = as_read(rows)
    if "variant" in rows:
        return pd.concat([summary(g.drop(columns="variant"), n_boot, seed).assign(variant=v)
                          for v, g in rows.groupby("variant", sort=False)], ignore_index=True)
    open_ = world.OPEN_APPEARANCE if (rows["captions"] == "open").all() else ()
    out = []
    base = rows[rows["kind"] == "base"]
    if not base.empty:
        row = {"kind": "transfer", "tau": 1000, "samples": len(base), "unreadable": int((base["unreadable"] != "").sum()),
               "paired_transfer": 0.0, "paired_transfer_lo": 0.0, "paired_transfer_hi": 0.0, "units": 0,
               "own_direction": np.nan}
        for a in open_:
            row |= {f"{a}_leakage": 0.0, f"{a}_leakage_lo": 0.0, f"{a}_leakage_hi": 0.0}
        out.append(row)
    for (kind, tau), group in rows[rows["kind"].isin(["transfer", "ceiling"])].groupby(["kind", "tau"]):
        units = paired_units(rows, kind, int(tau))
        mean, lo, hi = _interval(units, n_boot, seed)
        row = {"kind": kind, "tau": int(tau), "samples": len(group), "unreadable": int((group["unreadable"] != "").sum()),
               "paired_transfer": mean, "paired_transfer_lo": lo, "paired_transfer_hi": hi, "units": len(units),
               "own_direction": float((group["direction_read"] == group["reference_direction"]).mean())}
        for a in open_ if kind == "transfer" else ():
            m, lo, hi = _interval(leakage_units(rows, int(tau), a), n_boot, seed)
            row |= {f"{a}_leakage": m, f"{a}_leakage_lo": lo, f"{a}_leakage_hi": hi}
        out.append(row)
    return pd.DataFrame(out).sort_values(["kind", "tau"], ascending=[False, False]).reset_index(drop=True)


def base_rates(rows: pd.DataFrame) -> pd.DataFrame:
    """What the base model's samples (tau = 1000, fresh seeds) show: the share going each direction
    (and still or unreadable), and for each open attribute the share of each value, with 95% Wilson
    intervals: the coins a paired score cancels, and whether the captions leave those attributes open."""
    rows = as_read(rows)
    base = rows[rows["kind"] == "base"]
    n = len(base)
    attributes = {"direction": (*world.DIRECTIONS, "still")}
    if (rows["captions"] == "open").all():
        attributes |= {a: world.VOCABULARY[a] for a in world.OPEN_APPEARANCE}
    out = []
    for attribute, values in attributes.items():
        for value in (*values, ""):
            k = int((base[f"{attribute}_read"] == value).sum())
            lo, hi = wilson_interval(k, n)
            out.append({"attribute": attribute, "value": value or "unreadable", "samples": n,
                        "share": k / n if n else np.nan, "lo": lo, "hi": hi})
    return pd.DataFrame(out)


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("pass" if ok else "fail")


def checks(rows: pd.DataFrame, paper_tau: int, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The checks of the module doc: per check its value, 95% interval, the bar it is held to and the
    verdict. Check (iii)'s value is the paired transfer at ``tau_p`` and its bar ``BAR_OF_CEILING`` x the
    ceiling's paired transfer at ``tau_p`` (measured in the same run)."""
    rows = as_read(rows)
    out = []
    overfit = rows[rows["kind"] == "overfit"]
    per_ref = (overfit["direction_read"] == overfit["reference_direction"]).groupby(
        [overfit["appearance"], overfit["reference_direction"]]).mean()
    value, lo, hi = _interval(per_ref, n_boot, seed)
    out.append((CHECKS[0], value, lo, hi, OVERFIT_BAR, _verdict(None if overfit.empty else value >= OVERFIT_BAR)))

    ceiling = paired_units(rows, "ceiling", paper_tau)
    c, c_lo, c_hi = _interval(ceiling, n_boot, seed)
    ceiling_ok = None if ceiling.empty else bool(c_lo > 0)
    out.append((CHECKS[1], c, c_lo, c_hi, 0.0, _verdict(ceiling_ok)))

    at = paired_units(rows, "transfer", paper_tau)
    t, t_lo, t_hi = _interval(at, n_boot, seed)
    bar = BAR_OF_CEILING * c if not ceiling.empty else np.nan
    if at.empty or ceiling.empty:
        verdict = "not measured"
    else:
        verdict = "not testable" if not ceiling_ok else _verdict(bool(t >= bar and t_lo > 0))
    out.append((CHECKS[2], t, t_lo, t_hi, bar, verdict))

    zero = paired_units(rows, "transfer", 0)
    diff = (at - zero.reindex(at.index)).dropna() if not zero.empty else pd.Series(dtype=float)
    d, d_lo, d_hi = _interval(diff, n_boot, seed)
    out.append((CHECKS[3], d, d_lo, d_hi, 0.0, _verdict(None if diff.empty else bool(d_lo > 0))))

    open_ = world.OPEN_APPEARANCE if (rows["captions"] == "open").all() else ()
    for a in open_:
        leak0 = leakage_units(rows, 0, a) if (rows["tau"] == 0).any() else pd.Series(dtype=float)
        m, lo, hi = _interval(leak0, n_boot, seed)
        premise = None if leak0.empty else bool(m >= PREMISE_MARGIN and lo > 0)
        out.append((_named(CHECKS[4], a), m, lo, hi, PREMISE_MARGIN, _verdict(premise)))
        early = leakage_units(rows, paper_tau, a)
        less = (leak0 - early.reindex(leak0.index)).dropna() if not leak0.empty else pd.Series(dtype=float)
        m, lo, hi = _interval(less, n_boot, seed)
        verdict = "not measured" if less.empty else ("not testable" if not premise else _verdict(bool(lo > 0)))
        out.append((_named(CHECKS[5], a), m, lo, hi, 0.0, verdict))
    if not open_:
        out.append((("(P) premise: appearance can leak", "the captions name every appearance attribute", PREMISE_MARGIN),
                    np.nan, np.nan, np.nan, PREMISE_MARGIN, "not testable"))
    return pd.DataFrame([{"check": name, "measures": what, "paper_tau": paper_tau, "value": value, "lo": lo, "hi": hi,
                          "bar": bar, "verdict": verdict}
                         for (name, what, _), value, lo, hi, bar, verdict in out])


def _named(check: tuple, attribute: str) -> tuple:
    name, what, threshold = check
    return name.format(a=attribute), what.format(a=attribute), threshold


# ------------------------------------------------------------------------------------ variants
def variants(projections=("qkvo",), ranks=(4,), mode: str = "lora", placements=("attention",),
             **common) -> dict[str, CustomizeSettings]:
    """Tab. 3 / Tab. 4 under the protocol: named adapter settings, one per (projection subset, rank,
    placement) (``mode="direct"``: the projections tuned directly, no rank). ``common`` goes to every one."""
    from motionlib.customize import subset_label

    def label(p, placement, rank=None):
        extra = placement.replace("attention", "")
        return f"{subset_label(p)}{extra} " + ("direct" if rank is None else f"r{rank}")

    if mode == "direct":
        return {label(p, pl): CustomizeSettings(projections=p, mode="direct", placement=pl, **common)
                for p in projections for pl in placements}
    return {label(p, pl, r): CustomizeSettings(projections=p, rank=int(r), alpha=int(r), placement=pl, **common)
            for p in projections for r in ranks for pl in placements}


# Adapter strengths among which the toy default is chosen (select_strength), fixed before any run:
# the earlier toy default, a gentler and a stronger LoRA, and the public MotionDirector single-video
# recipe (rank 32, lr 5e-4, 300 steps, dropout 0.1, LoRA on the attention and feed-forward of every
# temporal transformer).
STRENGTHS = {
    "r4 200 steps 3e-3": dict(rank=4, alpha=4, train_steps=200, learning_rate=3e-3),
    "r4 200 steps 1e-3": dict(rank=4, alpha=4, train_steps=200, learning_rate=1e-3),
    "r16 400 steps 3e-3": dict(rank=16, alpha=16, train_steps=400, learning_rate=3e-3),
    "MotionDirector-like": dict(rank=32, alpha=32, train_steps=300, learning_rate=5e-4, dropout=0.1,
                                placement="attention+ff"),
}


def select_strength(model: VideoModel, protocol: Protocol, candidates: dict[str, dict] | None = None, *,
                    cache: bool = True, progress: bool = True) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """Choose the adapter strength by what it is for: paired transfer to new prompts at ``tau_p`` on
    appearances held out from the measurement (``protocol`` should start past them: ``first_appearance``),
    not by redrawing the reference. Returns the chosen name (highest paired transfer; ties: the first
    listed), the table per candidate and every row."""
    candidates = STRENGTHS if candidates is None else candidates
    p = Protocol(**{**protocol.__dict__, "taus": (1000, protocol.paper_tau)})
    rows, _ = run_variants(model, p, {name: CustomizeSettings(**kw) for name, kw in candidates.items()},
                           cache=cache, progress=progress)
    table = variant_table(rows)
    chosen = str(table.loc[table["paired_transfer"].idxmax(), "variant"])
    return chosen, table, rows


def run_variants(model: VideoModel, protocol: Protocol, settings: dict[str, CustomizeSettings], *,
                 cache: bool = True, progress: bool = True) -> tuple[pd.DataFrame, list[dict]]:
    """:func:`run` for each named setting (:func:`variants`), rows and adapter records with a
    ``variant`` column; the base model's rows (tau = 1000) are the same for every variant and go to each."""
    rows, records = [], []
    for name, s in settings.items():
        r, rec = run(model, protocol, s, cache=cache, progress=progress)
        rows.append(r.assign(variant=name))
        records += [{"variant": name, **x} for x in rec]
    return pd.concat(rows, ignore_index=True), records


def variant_table(rows: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Tab. 3 / Tab. 4 layout from :func:`run_variants` rows: per variant and tau < 1000, paired transfer
    and (open captions) leakage per open attribute, with intervals, and the carry-through ceiling at
    that tau (``ceiling``, NaN at tau 0, where there is none)."""
    table = summary(rows, n_boot, seed)
    ceiling = table[table["kind"] == "ceiling"][["variant", "tau", "paired_transfer", "paired_transfer_lo",
                                                 "paired_transfer_hi"]]
    ceiling = ceiling.rename(columns=lambda c: c.replace("paired_transfer", "ceiling"))
    table = table[(table["kind"] == "transfer") & (table["tau"] < 1000)]
    return table.merge(ceiling, on=["variant", "tau"], how="left").reset_index(drop=True)


@dataclass
class Measurement:
    """One model's paired transfer measurement: every sample's row, each adapter's record, the base
    model's direction shares, the summary per tau and the checks (per variant where the rows have
    them); with ``keep_videos``, every sample (rows' ``sample`` column indexes ``videos``)."""

    rows: pd.DataFrame
    adapters: list[dict]
    base_rates: pd.DataFrame
    summary: pd.DataFrame
    checks: pd.DataFrame
    videos: list[np.ndarray] | None = None

    def table(self) -> pd.DataFrame:
        """The rows without the samples' index: what a CSV keeps."""
        return self.rows.drop(columns=["sample"], errors="ignore")


def measure(model: VideoModel, protocol: Protocol = Protocol(), settings: CustomizeSettings = CustomizeSettings(),
            *, cache: bool = True, progress: bool = True, keep_videos: bool = False) -> Measurement:
    """The whole measurement on ``model``: :func:`run`, then :func:`base_rates`, :func:`summary` and :func:`checks`."""
    videos = [] if keep_videos else None
    rows, adapters = run(model, protocol, settings, cache=cache, progress=progress, videos=videos)
    return Measurement(rows, adapters, base_rates(rows), summary(rows), checks(rows, protocol.paper_tau), videos)


def measure_variants(model: VideoModel, protocol: Protocol, settings: dict[str, CustomizeSettings], *,
                     cache: bool = True, progress: bool = True) -> Measurement:
    """:func:`measure` for each named adapter setting (:func:`variants`): Tab. 3 and Tab. 4 under the
    protocol. ``summary`` is :func:`variant_table`'s and ``checks`` are per variant."""
    rows, adapters = run_variants(model, protocol, settings, cache=cache, progress=progress)
    first = rows[rows["variant"] == next(iter(settings))]
    per_variant = pd.concat([checks(g.drop(columns="variant"), protocol.paper_tau).assign(variant=v)
                             for v, g in rows.groupby("variant", sort=False)], ignore_index=True)
    return Measurement(rows, adapters, base_rates(first), variant_table(rows), per_variant)


# ------------------------------------------------------------------------------------ notebooks
def takes_open_captions(model: VideoModel) -> bool:
    """Whether ``model`` was trained to take captions that leave colour and background open (its
    ``toyworld.json``: ``appearance_free`` > 0, as ``toyworld finetune --appearance-free`` writes)."""
    return bool(toy_record(model).get("settings", {}).get("appearance_free"))


def notebook_protocol(model: VideoModel, paired: dict | None, *, seed: int = 0, tau: int | None = None,
                      taus: tuple[int, ...] | None = None) -> Protocol | None:
    """The paired protocol that a customization notebook (Tab. 1, 3, 4, Fig. 4, 6) runs beside the
    paper's metrics on a toy-world model. ``paired``: :class:`Protocol` fields, its size (``appearances``,
    ``prompts``, ``seeds``, ``steps``, ``train_steps`` ...); ``tau``: the tau the checks read (default the
    family's paper tau); ``taus`` default (1000, tau, 0), the fewest that the checks read (a ``taus`` in
    ``paired`` wins); captions "open" for a model that takes them
    (:func:`takes_open_captions`), else "direction_free". ``None``, with the reason printed, when
    ``paired`` is None or the model is not of the toy world (the protocol reads its samples with the
    toy world's oracle)."""
    if paired is None:
        print("paired transfer: skipped (paired = None)")
        return None
    if not model.is_toy:
        print(f"paired transfer: not run for {model.family} ({model.source}): it reads samples with the toy world's "
              "oracle, so it needs a toy-world model (source toy:..., docs/customization-toyworld.md)")
        return None
    if not isinstance(paired, dict):
        raise ParameterError(f"paired must be a dict of Protocol fields (appearances, prompts, seeds, steps, "
                             f"train_steps ...) or None, got {paired!r}")
    tau = tau or Protocol.for_family(model.family).paper_tau
    fields = {"captions": "open" if takes_open_captions(model) else "direction_free", "seed": seed,
              "paper_tau": tau, **paired}
    fields["taus"] = tuple(fields.get("taus") or taus or (1000, tau, 0))
    unknown = sorted(set(fields) - set(Protocol.__dataclass_fields__))
    if unknown:
        raise ParameterError(f"paired: unknown Protocol fields {unknown}; known: "
                             f"{', '.join(Protocol.__dataclass_fields__)}")
    return Protocol.for_family(model.family, **fields)


def examples(m: Measurement, *, appearance: int | None = None, directions=("left", "right"),
             taus: tuple[int, ...] = (), kind: str = "transfer",
             protocol: Protocol | None = None) -> list[tuple[str, np.ndarray]]:
    """Labelled videos for a figure, from a :func:`measure` run with ``keep_videos``: with ``protocol``
    first the references in ``directions`` (with their adapters' caption), then the base model's sample
    and, per tau and reference direction, its adapter's sample of the first new prompt and seed of
    ``appearance`` (default: the first measured), all from the same noise, each labelled with the
    oracle's reading. Videos are uint8 ``(F, H, W, 3)``."""
    if m.videos is None:
        raise ParameterError("examples need the samples: measure(..., keep_videos=True)")
    appearance = int(m.rows["appearance"].min()) if appearance is None else appearance
    out = []
    if protocol is not None:
        group = reference_groups(1, protocol.seed, appearance)[0]
        out += [(f"reference ({d})\n{adapter_caption(group[d], protocol.captions)}", world.render(group[d]))
                for d in directions]
    rows = m.rows[m.rows["appearance"] == appearance]
    first = rows[rows["kind"] == "base"].iloc[0] if (rows["kind"] == "base").any() else rows.iloc[0]
    same = rows[(rows["prompt"] == first["prompt"]) & (rows["seed"] == first["seed"])]

    def reads(row) -> str:
        return f"reads {row['direction_read'] or 'unreadable'}" + (f", {row['colour_read']}" if row["colour_read"] else "")

    for _, row in same[same["kind"] == "base"].iterrows():
        out.append((f"base model (t = 1000)\n{row['prompt']}\n{reads(row)}", m.videos[row["sample"]]))
    for tau in taus:
        for d in directions:
            chosen = same[(same["kind"] == kind) & (same["tau"] == tau) & (same["reference_direction"] == d)]
            for _, row in chosen.iterrows():
                out.append((f"adapter of the {d} reference, t ≥ {tau}\n{reads(row)}", m.videos[row["sample"]]))
    return out
