"""Motion customization in the toy world: Tab. 1's trade-off with ground truth.

The base toy models never saw a zigzag. A motion LoRA (:mod:`motionlib.customize`, the paper's
method) is trained on one zigzag clip with its caption at ``t in [tau, 1000)`` and applied at
``t >= tau`` while sampling new captions that keep the clip's motion words (``"zigzags right"``)
and change its colour, shape, texture and background. The oracle reads every sample:

- **motion transfer**: the path is a zigzag (``path_zigzag``) in the reference's direction
  (``direction_ok``);
- **appearance as asked**: every attribute the new caption names is read back (``appearance_ok``);
- **appearance leakage**: the share of the changed attributes that show the *reference's* value
  instead (``leakage``).

``tau = 1000`` is the base model (no training), ``tau = 0`` trains and applies at every timestep.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from motionlib.customize import CustomizeSettings, generate_customized_batch
from motionlib.evaluation import customized_adapter
from motionlib.models.base import VideoModel
from motionlib.toyworld import oracle, world
from motionlib.toyworld.dataset import edited

TAUS = (1000, 900, 800, 700, 600, 0)
CHANGED = ("colour", "shape", "texture", "background")


def reference_specs(n: int = 4, seed: int = 11) -> list[world.ClipSpec]:
    """``n`` zigzag clips of held-out combinations (the references)."""
    return world.sample_specs(n, seed, "held_out", ("zigzag",))


def new_prompts(reference: world.ClipSpec, n: int, seed: int) -> list[world.ClipSpec]:
    """``n`` specs with every appearance attribute of ``reference`` changed, its motion kept."""
    rng = np.random.default_rng(seed)
    return [edited(reference, CHANGED, rng) for _ in range(n)]


def read_sample(video: np.ndarray, reference: world.ClipSpec, asked: world.ClipSpec) -> dict:
    reading = oracle.read(video)
    attrs = reading.attributes()
    changed = [a for a in CHANGED if getattr(asked, a) != getattr(reference, a)]
    return {
        "found": reading.found, "path_read": attrs["path"], "path_zigzag": attrs["path"] == "zigzag",
        "direction_ok": attrs["direction"] == reference.direction, "speed_read": reading.speed,
        "appearance_ok": all(attrs[a] == getattr(asked, a) for a in CHANGED),
        "leakage": float(np.mean([attrs[a] == getattr(reference, a) for a in changed])) if changed else 0.0,
        **{f"{a}_ok": attrs[a] == getattr(asked, a) for a in CHANGED},
        **{f"{a}_leak": attrs[a] == getattr(reference, a) for a in CHANGED},
    }


def customization_experiment(model: VideoModel, references: list[world.ClipSpec], *, taus=TAUS,
                             prompts_per_reference: int = 4, samples: int = 2, seed: int = 0,
                             settings: CustomizeSettings = CustomizeSettings(), progress: bool = True) -> pd.DataFrame:
    """One row per (reference, tau, prompt, sample); adapters are cached by settings."""
    rows = []
    bar = tqdm(total=len(references) * len(taus), desc=f"{model.family} customization", disable=not progress)
    for r, reference in enumerate(references):
        video, caption = world.render(reference), world.caption(reference)
        asked = new_prompts(reference, prompts_per_reference, seed + r)
        for tau in taus:
            s = CustomizeSettings(**{**settings.__dict__, "tau": int(tau), "seed": seed})
            adapter, record = customized_adapter(model, video, caption, s, progress=False)
            specs = [spec for spec in asked for _ in range(samples)]
            requests = [(world.caption(spec), seed + 100 * k + i) for k, spec in enumerate(asked)
                        for i in range(samples)]
            try:  # every (prompt, seed) of this adapter in batched passes (the toy model: all at once)
                drawn = generate_customized_batch(model, adapter, requests, tau=int(tau), progress=False)
            finally:
                adapter.remove()
            for (prompt, sample_seed), sample, spec in zip(requests, drawn, specs, strict=True):
                rows.append({"model": model.family, "reference": r, "reference_caption": caption,
                             "tau": int(tau), "prompt": prompt, "seed": sample_seed,
                             "train_steps": record["steps"], **read_sample(sample.video, reference, spec)})
            bar.update()
    bar.close()
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (model, tau): rates of motion transfer, asked appearance and leakage over samples."""
    cols = ["path_zigzag", "direction_ok", "appearance_ok", "leakage", *[f"{a}_leak" for a in CHANGED]]
    table = rows.groupby(["model", "tau"])[cols].mean()
    table["samples"] = rows.groupby(["model", "tau"]).size()
    return table.reset_index().sort_values(["model", "tau"], ascending=[True, False])
