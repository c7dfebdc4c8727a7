"""Direction transfer: the paper's Tab. 1 in the toy world, with a motion the caption leaves open.

A motion LoRA (:mod:`motionlib.customize`) is trained on one reference clip with its direction-free
caption ("a red square moves on a gray background") at ``t in [tau, 1000)`` and applied at
``t >= tau`` while sampling direction-free captions that change the colour, shape, texture and
background. Toy models trained with direction-free captions (``TrainSettings.direction_free``) go
each way about equally for such a caption, so a sample that moves the reference's way shows what
the adapter carried. ``tau = 1000`` is the base model, ``tau = 0`` the adapter at every step.

Per sample (oracle): **transfer** (moves in the reference's direction; chance 0.25) and
**leakage** (share of the changed attributes that show the reference's value). The checks are
fixed here, before any run (:data:`CHECKS`, :func:`checks`):

- (i) **overfit**: the ``tau = 0`` adapter with the reference's own caption draws the reference's
  direction in at least 0.9 of seeds; otherwise no tau may be read;
- (ii) **carry-through ceiling**: the reference noised to the first step below ``tau`` and finished
  by the base model with a new caption; how often the direction survives is the best any adapter
  restricted to ``t >= tau`` can do (reported, not judged);
- (iii) **the paper's pattern**, with 95% bootstrap intervals over references:
  transfer(700) - transfer(1000) >= 0.4 with an interval above 0; leakage(700) <= leakage(1000) + 0.05;
  leakage(0) - leakage(700) >= 0.1.

``motion="zigzag"`` runs the same on zigzag references (captions keep "zigzags"); transfer is
then the zigzag path read back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from motionlib.analysis import bootstrap_ci
from motionlib.cache import ResultCache
from motionlib.customize import CustomizeSettings, generate_customized_batch
from motionlib.customize.generation import stacked_noise
from motionlib.data import from_model_pixels, to_model_pixels
from motionlib.errors import ParameterError
from motionlib.evaluation import customized_adapter
from motionlib.models.base import PromptEmbeds, VideoModel
from motionlib.sampling import ddim_schedule, denoise
from motionlib.toyworld import oracle, world
from motionlib.toyworld.dataset import free_caption, new_prompts, reference_specs
from motionlib.toyworld.oracle import transfer_reading as read_sample

TAUS = (1000, 900, 800, 700, 600, 400, 0)
CACHE_VERSION = 2
# (name, what is compared, threshold): fixed before any run.
CHECKS = (
    ("(i) overfit", "transfer of the tau = 0 adapter with the reference's caption", 0.9),
    ("(iii) transfer rises", "transfer(700) - transfer(1000), interval above 0", 0.4),
    ("(iii) no early leakage", "leakage(700) - leakage(1000)", 0.05),
    ("(iii) late leakage", "leakage(0) - leakage(700)", 0.1),
)


@dataclass(frozen=True)
class Protocol:
    """What one transfer measurement samples. The defaults are the toy profile's size."""

    references: int = 8  # distinct appearances, the directions in turn
    prompts: int = 4  # new direction-free captions per reference
    seeds: int = 2  # samples per prompt, per (reference, tau)
    overfit_seeds: int = 4  # check (i): per reference
    ceiling_seeds: int = 1  # check (ii): samples per prompt (the prompt's first seeds), per (reference, tau)
    taus: tuple[int, ...] = TAUS
    motion: str = "straight"  # or "zigzag"
    steps: int | None = None  # sampling steps; None: the model's (50)
    seed: int = 0

    def __post_init__(self):
        if self.motion not in world.PATHS:
            raise ParameterError(f"motion must be one of {', '.join(world.PATHS)}, got {self.motion!r}")
        for name in ("references", "prompts", "seeds", "overfit_seeds", "ceiling_seeds"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ParameterError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not self.taus or any(not (isinstance(t, int) and 0 <= t <= 1000) for t in self.taus):
            raise ParameterError(f"taus must be integer timesteps in [0, 1000], got {self.taus!r}")


OPEN_SHARE = (0.15, 0.35)  # each direction's share of direction-free samples: the caption leaves it open
CAPTIONED_MIN = 0.95  # the captioned direction, on the same appearances


@torch.no_grad()
def open_direction(model: VideoModel, appearances: int = 16, seeds: int = 4, seed: int = 0,
                   num_steps: int | None = None, *, cache: bool = True, progress: bool = True) -> pd.DataFrame:
    """Is the direction open for a direction-free caption? ``appearances`` distinct appearance
    combinations (seeded), each sampled ``seeds`` times with its direction-free caption
    (``caption="free"``) and ``seeds`` times with a direction named (the directions in turn,
    ``caption="named"``). One row per sample with the direction read by the oracle (cached)."""
    store = ResultCache("open_direction", {"version": CACHE_VERSION, "model": model.describe(),
                                           "appearances": appearances, "seeds": seeds, "seed": seed,
                                           "steps": num_steps}, enabled=cache)
    cached = store.load_json("rows")
    if cached is None:
        cached = _open_direction_rows(model, appearances, seeds, seed, num_steps, progress)
        store.save_json("rows", cached)
    return pd.DataFrame(cached)


def _open_direction_rows(model, appearances, seeds, seed, num_steps, progress) -> list[dict]:
    from motionlib.toyworld.quality import sample_batch

    rng = np.random.default_rng([seed, 53])
    looks = sorted({c[:4] for c in world.all_combinations()})
    picked = [looks[i] for i in rng.choice(len(looks), size=appearances, replace=False)]
    directions = tuple(world.DIRECTIONS)
    rows = []
    for a, look in enumerate(tqdm(picked, desc=f"{model.family} open direction", disable=not progress)):
        named = world.ClipSpec(*look, directions[a % len(directions)])
        for kind, prompt in (("free", free_caption(named)), ("named", world.caption(named))):
            draws = [seed + 100 * a + i for i in range(seeds)]
            for s, video in zip(draws, sample_batch(model, prompt, draws, num_steps=num_steps)):
                read = oracle.read(video).attributes()["direction"]
                rows.append({"model": model.family, "appearance": a, "caption": kind, "prompt": prompt, "seed": s,
                             "named_direction": named.direction if kind == "named" else "",
                             "direction_read": read, "direction_ok": kind == "named" and read == named.direction})
    return rows


def open_direction_checks(rows: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The share of each direction among the free samples (pass: inside :data:`OPEN_SHARE`) and the
    named direction's accuracy (pass: >= :data:`CAPTIONED_MIN`), each with a 95% bootstrap interval
    over appearances."""
    free, named = rows[rows["caption"] == "free"], rows[rows["caption"] == "named"]
    out = []
    for direction in world.DIRECTIONS:
        per = (free["direction_read"] == direction).groupby(free["appearance"]).mean()
        value = float(per.mean())
        out.append({"check": f"free caption goes {direction}", "samples": len(free), "value": value,
                    "lo_hi": bootstrap_ci(per, n_boot=n_boot, seed=seed), "threshold": f"in {list(OPEN_SHARE)}",
                    "passed": bool(OPEN_SHARE[0] <= value <= OPEN_SHARE[1])})
    per = named["direction_ok"].astype(float).groupby(named["appearance"]).mean()
    value = float(per.mean())
    out.append({"check": "named direction drawn", "samples": len(named), "value": value,
                "lo_hi": bootstrap_ci(per, n_boot=n_boot, seed=seed), "threshold": f">= {CAPTIONED_MIN}",
                "passed": bool(value >= CAPTIONED_MIN)})
    table = pd.DataFrame(out)
    table[["lo", "hi"]] = pd.DataFrame(table.pop("lo_hi").tolist(), index=table.index)
    return table[["check", "samples", "value", "lo", "hi", "threshold", "passed"]]


def check_reference(video: np.ndarray) -> None:
    """A one-line error if ``video`` has no object the oracle can track (before any training)."""
    problems = oracle.not_toy_world(video)
    reading = oracle.read(video)
    if problems or not reading.found:
        why = "; ".join(problems) or "no object found in its frames"
        raise ParameterError(f"the reference video has no object the oracle can track ({why}): direction "
                             "transfer needs a toy-world clip of one object on a flat background")


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
    noise = stacked_noise(model, list(seeds), d.num_frames, d.height, d.width)
    a = steps[0].alpha
    x = a**0.5 * x0 + (1 - a) ** 0.5 * noise
    embeds = PromptEmbeds.stack([model.encode_prompt(prompt) for prompt in prompts])
    latents = denoise(model, x, embeds, steps, d.guidance_scale)
    return [from_model_pixels(model.decode_latents(latents[i : i + 1], d.num_frames)[0]) for i in range(len(prompts))]


def run(model: VideoModel, protocol: Protocol = Protocol(), settings: CustomizeSettings = CustomizeSettings(),
        *, cache: bool = True, progress: bool = True) -> tuple[pd.DataFrame, list[dict]]:
    """Every sample of the protocol: rows with ``kind`` "transfer" (per reference, tau, prompt, seed),
    "overfit" (tau 0, the reference's caption) and "ceiling" (check ii), and one record per trained
    adapter (its loss curve). Adapters and each (reference, tau)'s rows are cached, so a stopped run
    resumes where it stopped."""
    p = protocol
    rows, records = [], []
    references = reference_specs(p.references, p.seed, p.motion)
    bar = tqdm(total=len(references) * len(p.taus), desc=f"{model.family} direction transfer", disable=not progress)
    for r, reference in enumerate(references):
        video, caption = world.render(reference), free_caption(reference)
        check_reference(video)
        asked = new_prompts(reference, p.prompts, p.seed + r)
        requests = [(free_caption(spec), p.seed + 1000 * r + 10 * k + i)
                    for k, spec in enumerate(asked) for i in range(p.seeds)]
        specs = [spec for spec in asked for _ in range(p.seeds)]
        for tau in p.taus:
            s = CustomizeSettings(**{**settings.__dict__, "tau": int(tau), "seed": p.seed})
            store = ResultCache("transfer", {"version": CACHE_VERSION, "model": model.describe(),
                                             "reference": reference.as_dict(), "caption": caption,
                                             "requests": requests, "settings": asdict(s),
                                             "overfit_seeds": p.overfit_seeds, "ceiling_seeds": p.ceiling_seeds,
                                             "steps": p.steps}, enabled=cache)
            cached = store.load_json("rows")
            if cached is None:
                cached = _reference_tau_rows(model, video, reference, caption, requests, specs, s, p)
                store.save_json("rows", cached)
            for row in cached["rows"]:
                rows.append({"model": model.family, "reference": r, "reference_caption": caption,
                             "reference_direction": reference.direction, "motion": p.motion, "tau": int(tau), **row})
            if cached["record"]:
                records.append({"reference": r, "tau": int(tau), **cached["record"]})
            bar.update()
    bar.close()
    return pd.DataFrame(rows), records


def _reference_tau_rows(model, video, reference, caption, requests, specs, s: CustomizeSettings, p: Protocol) -> dict:
    rows = []
    adapter, record = customized_adapter(model, video, caption, s, progress=False)
    try:
        extra = [(caption, 500 + i) for i in range(p.overfit_seeds)] if s.tau == 0 else []
        drawn = generate_customized_batch(model, adapter, requests + extra, tau=s.tau, num_steps=p.steps,
                                          progress=False)
    finally:
        adapter.remove()
    for (prompt, seed), sample, spec in zip(requests + extra, drawn, specs + [reference] * len(extra), strict=True):
        kind = "overfit" if (prompt, seed) in extra else "transfer"
        rows.append({"kind": kind, "prompt": prompt, "seed": seed, **read_sample(sample.video, reference, spec)})
    if 0 < s.tau < 1000:
        kept = [i for i in range(len(requests)) if i % p.seeds < p.ceiling_seeds]
        chosen, chosen_specs = [requests[i] for i in kept], [specs[i] for i in kept]
        ceiling = carry_through(model, video, [q for q, _ in chosen], [q for _, q in chosen], s.tau, p.steps)
        for (prompt, seed), sample, spec in zip(chosen, ceiling, chosen_specs, strict=True):
            rows.append({"kind": "ceiling", "prompt": prompt, "seed": seed, **read_sample(sample, reference, spec)})
    curve = {"steps": record.get("steps"), "final_loss": record.get("final_loss"), "losses": record.get("losses"),
             "rank": s.rank, "learning_rate": record.get("settings", {}).get("learning_rate")}
    return {"rows": rows, "record": curve if s.tau < 1000 else {}}


def variants(projections=("qkvo",), ranks=(4,), mode: str = "lora", **common) -> dict[str, CustomizeSettings]:
    """Tab. 3 / Tab. 4 under the protocol: named LoRA settings, one per (projection subset, rank)
    (``mode="direct"``: the projections tuned directly, no rank). ``common`` goes to every one."""
    from motionlib.customize import subset_label

    if mode == "direct":
        return {f"{subset_label(p)} direct": CustomizeSettings(projections=p, mode="direct", **common)
                for p in projections}
    return {f"{subset_label(p)} r{r}": CustomizeSettings(projections=p, rank=int(r), alpha=int(r), **common)
            for p in projections for r in ranks}


def run_variants(model: VideoModel, protocol: Protocol, settings: dict[str, CustomizeSettings], *,
                 cache: bool = True, progress: bool = True) -> tuple[pd.DataFrame, list[dict]]:
    """:func:`run` for each named setting (:func:`variants`), rows and adapter records with a
    ``variant`` column; the base model (tau = 1000) is the same for every variant and runs once."""
    rows, records = [], []
    for i, (name, s) in enumerate(settings.items()):
        taus = protocol.taus if i == 0 else tuple(t for t in protocol.taus if t < 1000)
        if not taus:
            continue
        r, rec = run(model, Protocol(**{**protocol.__dict__, "taus": taus}), s, cache=cache, progress=progress)
        rows.append(r.assign(variant=name) if i else r.assign(variant=np.where(r["tau"] == 1000, "base", name)))
        records += [{"variant": name, **x} for x in rec]
    return pd.concat(rows, ignore_index=True), records


def summary(rows: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per (kind, tau): transfer and leakage, each the mean over references of the per-reference
    mean, with a 95% bootstrap interval over references (per variant too, if ``rows`` has them)."""
    if "variant" in rows:
        return pd.concat([summary(g.drop(columns="variant"), n_boot, seed).assign(variant=v)
                          for v, g in rows.groupby("variant", sort=False)], ignore_index=True)
    out = []
    for (kind, tau), group in rows.groupby(["kind", "tau"]):
        per_ref = group.groupby("reference")[["transfer", "leakage"]].mean()
        row = {"kind": kind, "tau": int(tau), "references": len(per_ref), "samples": len(group)}
        for metric in ("transfer", "leakage"):
            lo, hi = bootstrap_ci(per_ref[metric], n_boot=n_boot, seed=seed)
            row |= {metric: float(per_ref[metric].mean()), f"{metric}_lo": lo, f"{metric}_hi": hi}
        out.append(row)
    return pd.DataFrame(out).sort_values(["kind", "tau"], ascending=[True, False]).reset_index(drop=True)


def variant_table(rows: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Tab. 3 / Tab. 4 layout from :func:`run_variants` rows: per variant and tau < 1000, transfer and
    leakage with intervals, and the gain in transfer over the base model (paired by reference)."""
    t = rows[rows["kind"] == "transfer"]
    base = t[t["tau"] == 1000].groupby("reference")["transfer"].mean()
    out = []
    for (variant, tau), group in t[t["tau"] < 1000].groupby(["variant", "tau"], sort=False):
        per_ref = group.groupby("reference")[["transfer", "leakage"]].mean()
        gain = (per_ref["transfer"] - base.reindex(per_ref.index)).dropna()
        row = {"variant": variant, "tau": int(tau), "references": len(per_ref), "samples": len(group)}
        for metric, values in (("transfer", per_ref["transfer"]), ("leakage", per_ref["leakage"]),
                               ("gain_over_base", gain)):
            lo, hi = bootstrap_ci(values, n_boot=n_boot, seed=seed)
            row |= {metric: float(values.mean()) if len(values) else np.nan, f"{metric}_lo": lo, f"{metric}_hi": hi}
        out.append(row)
    return pd.DataFrame(out)


def _paired(rows: pd.DataFrame, metric: str, tau_a: int, tau_b: int, n_boot: int, seed: int):
    """``metric(tau_a) - metric(tau_b)`` over references (per-reference means), with its interval."""
    t = rows[rows["kind"] == "transfer"].groupby(["reference", "tau"])[metric].mean().unstack()
    if tau_a not in t or tau_b not in t:
        return np.nan, (np.nan, np.nan)
    diff = (t[tau_a] - t[tau_b]).dropna()
    return float(diff.mean()), bootstrap_ci(diff, n_boot=n_boot, seed=seed)


def checks(rows: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Checks (i) and (iii) as pass / fail (``None``: not measured at these taus), with intervals."""
    out = []
    overfit = rows[rows["kind"] == "overfit"]
    value = float(overfit["transfer"].mean()) if len(overfit) else np.nan
    per_ref = overfit.groupby("reference")["transfer"].mean()
    out.append((CHECKS[0], value, bootstrap_ci(per_ref, n_boot=n_boot, seed=seed) if len(per_ref) else (np.nan, np.nan),
                None if np.isnan(value) else value >= 0.9))
    rise, ci = _paired(rows, "transfer", 700, 1000, n_boot, seed)
    out.append((CHECKS[1], rise, ci, None if np.isnan(rise) else bool(rise >= 0.4 and ci[0] > 0)))
    early, ci = _paired(rows, "leakage", 700, 1000, n_boot, seed)
    out.append((CHECKS[2], early, ci, None if np.isnan(early) else bool(early <= 0.05)))
    late, ci = _paired(rows, "leakage", 0, 700, n_boot, seed)
    out.append((CHECKS[3], late, ci, None if np.isnan(late) else bool(late >= 0.1)))
    return pd.DataFrame([{"check": name, "measures": what, "threshold": threshold, "value": value,
                          "lo": lo, "hi": hi, "passed": passed}
                         for (name, what, threshold), value, (lo, hi), passed in out])


@dataclass
class Measurement:
    """One model's direction-transfer measurement: the open-direction check (``None`` when skipped),
    every sample's row, each trained adapter's record (loss curve), and checks (i) / (iii)."""

    open_rows: pd.DataFrame | None
    open_checks: pd.DataFrame | None
    rows: pd.DataFrame
    adapters: list[dict]
    checks: pd.DataFrame


def measure(model: VideoModel, protocol: Protocol = Protocol(), settings: CustomizeSettings = CustomizeSettings(),
            *, open_appearances: int = 16, open_seeds: int = 4, cache: bool = True,
            progress: bool = True) -> Measurement:
    """The whole measurement on ``model``: first whether a direction-free caption leaves the direction
    open (:func:`open_direction` on ``open_appearances`` x ``open_seeds``; 0 appearances: skipped),
    then :func:`run` and :func:`checks`."""
    opened = verdicts = None
    if open_appearances:
        opened = open_direction(model, open_appearances, open_seeds, seed=protocol.seed, num_steps=protocol.steps,
                                cache=cache, progress=progress)
        verdicts = open_direction_checks(opened)
    rows, adapters = run(model, protocol, settings, cache=cache, progress=progress)
    return Measurement(opened, verdicts, rows, adapters, checks(rows))
