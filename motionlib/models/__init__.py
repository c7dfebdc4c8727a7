"""Model families behind one interface. Start with :func:`load_model`."""

from motionlib.models.base import FamilyDefaults, FamilySpec, PromptEmbeds, VideoModel
from motionlib.models.inventory import AttentionProjection, select
from motionlib.models.loading import FAMILIES, PAPER_FAMILIES, get_family, load_model, weights_status

__all__ = [
    "FAMILIES", "PAPER_FAMILIES", "AttentionProjection", "FamilyDefaults", "FamilySpec",
    "PromptEmbeds", "VideoModel", "get_family", "load_model", "select", "weights_status",
]
