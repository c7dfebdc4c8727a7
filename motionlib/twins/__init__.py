"""Checkpoint twins: the real checkpoints' layout and configs with seeded random weights.

- :mod:`~motionlib.twins.published`: the classes of the published configs, dtypes and weight sizes (each
  family's own in ``motionlib/families/<name>.py``);
- :mod:`~motionlib.twins.build`: ``write_twin(family, out, scale="reduced" | "full")``;
- :mod:`~motionlib.twins.hub_cache`: lay a twin out in a Hugging Face cache (``--source hub`` offline);
- :mod:`~motionlib.twins.facts`: full-scale facts on the meta device (parameter counts, attention
  inventory, LoRA sizes, latent shapes), no memory needed.
"""

from motionlib.twins.build import SCALES, build_component, checkpoints, get_checkpoint, write_twin
from motionlib.twins.published import Checkpoint, Component

__all__ = ["SCALES", "Checkpoint", "Component", "build_component", "checkpoints", "get_checkpoint", "write_twin"]
