"""Video data: reading and writing clips (:mod:`.video_io`) and datasets (:mod:`.datasets`).

Videos are ``(F, H, W, 3)`` uint8 RGB arrays throughout; see :mod:`motionlib.data.video_io`. Which videos a
notebook parameter names (bundled, TGVE or toy clips): :mod:`motionlib.videos`, the layer above this one.
"""

from motionlib.data.datasets import (
    EDIT_KINDS,
    TGVE_CSV,
    TGVE_SUBSETS,
    VideoItem,
    bundled_dataset,
    load_tgve,
    make_tgve_miniature,
    read_method_output,
    read_tgve_csv,
    tgve_manifest,
)
from motionlib.data.video_io import (
    count_frames,
    from_model_pixels,
    read_video,
    resize_center_crop,
    sample_indices,
    to_model_pixels,
    write_frame_grid,
    write_video,
)

__all__ = [
    "EDIT_KINDS", "TGVE_CSV", "TGVE_SUBSETS", "VideoItem", "bundled_dataset", "count_frames",
    "from_model_pixels", "load_tgve", "make_tgve_miniature", "read_method_output", "read_tgve_csv", "read_video",
    "resize_center_crop", "sample_indices", "tgve_manifest", "to_model_pixels",
    "write_frame_grid", "write_video",
]
