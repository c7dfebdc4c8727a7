"""Reading and writing videos.

Array format (everything in motionlib that holds a decoded video uses it):

- ``video``: ``numpy.ndarray`` of ``uint8``, shape ``(F, H, W, 3)``, RGB, values 0-255.
- model pixels: ``torch.float32`` of shape ``(1, F, 3, H, W)`` with values in ``[-1, 1]``
  (:func:`to_model_pixels` / :func:`from_model_pixels` convert between the two).

:func:`read_video` accepts an ``.mp4`` (or any container PyAV reads), a ``.gif``, or a folder of
frame images (``.jpg``, ``.jpeg``, ``.png``, sorted by name, as in the TGVE ``480p_frames`` layout).
It samples ``num_frames`` of the clip's ``n`` frames (:func:`sample_indices`), then resizes the short
side to fit ``size`` and centre-crops it to exactly ``size = (height, width)``.

Frame sampling (``sampling``):

- ``"even"`` (the default): a fixed stride, the largest that fits: indices ``0, s, 2s, ...`` with
  ``s = (n - 1) // (num_frames - 1)``. Every step between sampled frames is the same, so the motion
  that Lucas-Kanade measures between consecutive frames does not jitter; the tail of the clip beyond
  ``(num_frames - 1) * s`` is left out.
- ``"linspace"``: ``round(linspace(0, n - 1, num_frames))``, the first and last frame exactly, with
  uneven steps (32 frames to 16: 0, 2, 4, ..., 14, 17, 19, ...; steps of 2 and 3).
- an integer ``k``: indices ``0, k, 2k, ...``, a stride in source frames chosen by the caller (the
  paper's clips last about 2 s: 16 frames with ``k = 4`` of a 30 fps video).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from motionlib.errors import NotEnoughFramesError, ParameterError, VideoReadError

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
FRAME_SAMPLINGS = ("even", "linspace")  # or a positive int stride
VIDEO_SUFFIXES = (".mp4", ".gif")


def _frame_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
    if not files:
        raise VideoReadError(f"frame folder {folder} holds no .jpg/.jpeg/.png frames; "
                             "point to a folder of frame images, an .mp4 or a .gif")
    return files


def _check_exists(source: Path) -> None:
    if not source.exists():
        raise VideoReadError(f"video not found: {source} (give an existing .mp4, .gif or frame folder)")


def _decode_all(path: Path) -> list[np.ndarray]:
    """Every frame of a video file as RGB uint8 arrays."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoReadError(f"{path} has no video stream")
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    except VideoReadError:
        raise
    except Exception as exc:  # PyAV raises many types for broken files
        raise VideoReadError(f"cannot decode {path}: the file is corrupt or not a video "
                             f"({type(exc).__name__}: {exc})") from None
    if not frames:
        raise VideoReadError(f"cannot decode {path}: it holds no frames")
    return frames


def _read_image(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise VideoReadError(f"cannot read frame image {path}: the file is corrupt or not an image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def count_frames(source: str | os.PathLike) -> int:
    """Number of frames in a video file or frame folder (decodes files, so it is exact)."""
    source = Path(source)
    _check_exists(source)
    if source.is_dir():
        return len(_frame_files(source))
    return len(_decode_all(source))


def sample_indices(total: int, num_frames: int, sampling: str | int = "even") -> np.ndarray:
    """``num_frames`` indices into ``range(total)`` by ``sampling`` (see the module doc)."""
    if num_frames < 1:
        raise ParameterError(f"num_frames must be at least 1, got {num_frames}")
    if total < num_frames:
        raise NotEnoughFramesError(f"the video has {total} frames but {num_frames} were asked for; "
                                   "ask for fewer frames or use a longer clip")
    if sampling == "linspace":
        return np.round(np.linspace(0, total - 1, num_frames)).astype(int)
    if sampling == "even":
        stride = (total - 1) // (num_frames - 1) if num_frames > 1 else 1
    elif isinstance(sampling, int) and not isinstance(sampling, bool) and sampling >= 1:
        stride = sampling
        if (num_frames - 1) * stride >= total:
            raise NotEnoughFramesError(
                f"the video has {total} frames: {num_frames} frames at stride {stride} need "
                f"{(num_frames - 1) * stride + 1}; use a smaller stride, fewer frames or sampling 'even'")
    else:
        raise ParameterError(f"frame sampling must be 'even', 'linspace' or a positive integer stride, got {sampling!r}")
    return np.arange(num_frames) * stride


def resize_center_crop(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale ``frame`` (H, W, 3) so it covers ``size = (height, width)``, then crop the centre."""
    import cv2

    height, width = size
    h, w = frame.shape[:2]
    scale = max(height / h, width / w)
    new_h, new_w = max(height, round(h * scale)), max(width, round(w * scale))
    if (new_h, new_w) != (h, w):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        frame = cv2.resize(frame, (new_w, new_h), interpolation=interp)
    top, left = (new_h - height) // 2, (new_w - width) // 2
    return np.ascontiguousarray(frame[top:top + height, left:left + width])


def read_video(
    source: str | os.PathLike,
    num_frames: int | None = 16,
    size: int | tuple[int, int] | None = None,
    sampling: str | int = "even",
) -> np.ndarray:
    """Read a clip as ``(num_frames, H, W, 3)`` uint8 RGB.

    ``num_frames=None`` keeps every frame; else ``sampling`` picks them (:func:`sample_indices`). ``size`` is ``(height, width)`` or one int for a square;
    ``None`` keeps the native resolution. Raises :class:`VideoReadError` for a missing or corrupt
    input and :class:`NotEnoughFramesError` when the clip is shorter than ``num_frames``.
    """
    source = Path(source)
    _check_exists(source)
    if source.is_dir():
        files = _frame_files(source)
        keep = range(len(files)) if num_frames is None else sample_indices(len(files), num_frames, sampling)
        frames = [_read_image(files[i]) for i in keep]
    else:
        all_frames = _decode_all(source)
        keep = range(len(all_frames)) if num_frames is None else sample_indices(len(all_frames), num_frames, sampling)
        frames = [all_frames[i] for i in keep]
    if size is not None:
        size = (size, size) if isinstance(size, int) else tuple(size)
        frames = [resize_center_crop(f, size) for f in frames]
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise VideoReadError(f"frames of {source} differ in size ({sorted(shapes)}); pass size=(H, W)")
    return np.stack(frames).astype(np.uint8)


def to_model_pixels(video: np.ndarray):
    """``(F, H, W, 3)`` uint8 -> ``torch.float32`` ``(1, F, 3, H, W)`` in ``[-1, 1]``."""
    import torch

    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ParameterError(f"expected a video of shape (F, H, W, 3), got {video.shape}")
    pixels = torch.from_numpy(np.ascontiguousarray(video)).float().div(127.5).sub(1.0)
    return pixels.permute(0, 3, 1, 2).unsqueeze(0)


def from_model_pixels(pixels) -> np.ndarray:
    """``(F, 3, H, W)`` or ``(1, F, 3, H, W)`` float in ``[-1, 1]`` -> ``(F, H, W, 3)`` uint8."""
    if pixels.ndim == 5:
        if pixels.shape[0] != 1:
            raise ParameterError(f"from_model_pixels takes one video, got a batch of {pixels.shape[0]}")
        pixels = pixels[0]
    array = pixels.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round()
    return array.permute(0, 2, 3, 1).numpy().astype(np.uint8)


def write_video(path: str | os.PathLike, video: np.ndarray, fps: float = 8) -> Path:
    """Write ``(F, H, W, 3)`` uint8 to ``.mp4`` (H.264, yuv420p, lossless-ish crf 12) or ``.gif``."""
    path = Path(path)
    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
        raise ParameterError(f"write_video takes (F, H, W, 3) uint8, got {video.shape} {video.dtype}")
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        from PIL import Image

        images = [Image.fromarray(f) for f in video]
        images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps),
                       loop=0, optimize=False)
        return path
    if suffix != ".mp4":
        raise ParameterError(f"video output {path} must end in .mp4 or .gif")
    import av

    # yuv420p needs even sizes; pad by edge replication rather than failing.
    f, h, w, _ = video.shape
    if h % 2 or w % 2:
        video = np.pad(video, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=round(fps))
        stream.width, stream.height = video.shape[2], video.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12"}
        for frame in video:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_frame_grid(path: str | os.PathLike, videos: list[np.ndarray], num_frames: int | None = None,
                     gap: int = 4) -> Path:
    """Write rows of frames (one row per video, evenly sampled to ``num_frames``) as one PNG/JPG."""
    from PIL import Image

    if not videos:
        raise ParameterError("write_frame_grid needs at least one video")
    rows = []
    height, width = videos[0].shape[1:3]
    for video in videos:
        if video.shape[1:3] != (height, width):
            video = np.stack([resize_center_crop(f, (height, width)) for f in video])
        if num_frames is not None:
            video = video[sample_indices(len(video), min(num_frames, len(video)))]
        cells = []
        for frame in video:
            cells += [frame, np.full((height, gap, 3), 255, np.uint8)]
        rows.append(np.concatenate(cells[:-1], axis=1))
    total_w = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, total_w - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    parts = []
    for r in rows:
        parts += [r, np.full((gap, total_w, 3), 255, np.uint8)]
    grid = np.concatenate(parts[:-1], axis=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path)
    return path
