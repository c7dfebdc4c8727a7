"""What every customization notebook (Tab. 1-4, Fig. 4 and 6) starts from, built by one call.

``experiment = open_experiment("tab3_projections", family, source, ...)`` loads the model, the scorers
and the videos, resolves ``tau`` (None: the paper's best for the family, ``Family.paper_best_tau``)
and the sampling settings, makes the output folder and sets the plotting style; ``experiment.lora(...)``
gives :class:`~motionlib.customize.CustomizeSettings` with the experiment's frames and seed, and
``experiment.record(what, methods)`` the provenance record of the notebook's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from motionlib.customize import CustomizeSettings
from motionlib.errors import ParameterError
from motionlib.evaluation import EvalSettings, Method
from motionlib.models.base import VideoModel
from motionlib.videos import select_videos


@dataclass
class CustomizationExperiment:
    model: VideoModel
    items: list  # motionlib.data.VideoItem
    tau: int
    frames: dict  # num_frames, height, width (None: the model's)
    settings: EvalSettings
    clip_model: object | None  # motionlib.metrics.ClipScorer
    pick_model: object | None  # motionlib.metrics.PickScorer, or None for none
    out: Path
    seed: int

    def lora(self, **overrides) -> CustomizeSettings:
        """Customization settings at the experiment's tau, frames and seed, with ``overrides``."""
        return CustomizeSettings(**{"tau": self.tau, "seed": self.seed, **self.frames, **overrides})

    def record(self, what: str, methods: list[Method], **extra) -> dict:
        """The provenance record: model, evaluation and method settings, videos, scorers, ``extra``."""
        from motionlib import provenance

        settings = {"eval": self.settings.resolve(self.model).__dict__,
                    "methods": {m.name: m.settings.resolved(self.model).__dict__ for m in methods},
                    "videos": [i.name for i in self.items],
                    "clip": self.clip_model.describe() if self.clip_model else None,
                    "pick": self.pick_model.describe() if self.pick_model else None, **extra}
        return provenance.record(self.model, seed=self.seed, what=what, settings=settings)


def open_experiment(notebook: str, family: str, source: str, *, device: str = "cpu", seed: int = 0,
                    videos="bundled", tgve_root=None, subset=None, clip: str = "auto", pick: str = "auto",
                    tau: int | None = None, num_frames: int | None = None, height: int | None = None,
                    width: int | None = None, steps: int | None = None, guidance: float | None = None,
                    edit_kinds=("object",), samples: int = 1, out_dir=None,
                    items: list | None = None) -> CustomizationExperiment:
    """Load everything a customization notebook needs; ``pick="none"`` scores without PickScore.
    ``items`` (VideoItems) replaces ``videos``, ``tgve_root`` and ``subset``."""
    from motionlib import families, paths, plotting
    from motionlib.metrics import clip_scorer, pick_scorer
    from motionlib.models import load_model

    plotting.use_style()
    out = paths.output_dir(notebook, out_dir, by=(family,))
    model = load_model(family, source, device=device, seed=seed)
    clip_model = clip_scorer(clip, model, device=device)
    pick_model = None if pick == "none" else pick_scorer(pick, model, device=device)
    items = list(items) if items is not None else select_videos(videos, tgve_root, subset)
    tau = families.get(model.family).paper_best_tau if tau is None else tau
    if tau is None:
        raise ParameterError(f"the paper chose no tau for {model.family}: pass tau (e.g. 700)")
    frames = dict(num_frames=num_frames, height=height, width=width)
    settings = EvalSettings(edit_kinds=tuple(edit_kinds), num_samples=samples, seed=seed, num_steps=steps,
                            guidance_scale=guidance, **frames)
    return CustomizationExperiment(model, items, tau, frames, settings, clip_model, pick_model, out, seed)
