"""Model families behind one interface. Start with :func:`load_model`; the families themselves are
in :mod:`motionlib.families`."""

from motionlib.models.base import FamilyDefaults, FamilySpec, PromptEmbeds, VideoModel
from motionlib.models.inventory import AttentionProjection, select
from motionlib.models.loading import load_model, weights_status

__all__ = [
    "AttentionProjection", "FamilyDefaults", "FamilySpec", "PromptEmbeds", "VideoModel", "load_model", "select",
    "weights_status",
]
