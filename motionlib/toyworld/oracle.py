"""The oracle: reads a toy-world video by direct measurement (no learned model).

:func:`read` takes any ``(F, H, W, 3)`` uint8 video of the toy world (rendered or generated) and
returns a :class:`Reading`:

1. **background**: the median colour of the frame borders over all frames, named by the nearest
   world background colour;
2. **segmentation** per frame: pixels farther than :data:`FOREGROUND_DISTANCE` (RGB, 0-255) from the
   background colour, closed with a 3x3 square (bridging the dark pattern stripes), holes filled,
   the largest connected component kept; frames where it is under :data:`MIN_AREA` pixels have no
   object;
3. **trajectory**: the mask centroid per frame; from it, by least squares over the frames with an
   object, the velocity. **direction**: the sign of its larger component (``"still"`` below
   :data:`MIN_SPEED` px/frame); **speed**: that component's magnitude; **path**: ``"zigzag"`` when
   the RMS residual across the direction exceeds :data:`ZIGZAG_RMS`, else ``"straight"``;
4. **colour**: the median chromaticity (RGB over its largest channel) of the eroded mask, named by
   the nearest world colour's chromaticity; None (unreadable) when the median RGB of the eroded mask
   is less saturated than :data:`MIN_SATURATION` (a grey is nearest no world colour);
5. **shape** and **texture**: features of the silhouette (fill of its bounding box, share of the
   area in the box's top half) and of the interior's luminance (share of dark pixels, horizontal
   and vertical gradient energy), each named by the nearest class centroid of the same features
   measured on the world's own renders (:func:`reference_features`).

A whole video is **unreadable** (every attribute None, :attr:`Reading.unreadable` says why) when its
border is not one flat colour (:data:`FLAT_BORDER_SHARE`) or its object mask covers more of the frame
than any world object could (:data:`MAX_MASK_SHARE`, median over the frames): washed-out or grey model
samples whose "foreground" spills over the frame. A single frame whose mask exceeds it has no object.

Every threshold is fixed from the world's geometry before any model is measured:
``ZIGZAG_RMS`` is half the RMS of an ideal zigzag's offsets, ``MIN_SPEED`` a third of the slowest
world speed; ``MIN_SATURATION`` and ``MAX_MASK_SHARE`` are derived where they are defined.
Accuracy on rendered clips: see ``benchmarks/bench_toyworld.py`` and docs/toyworld.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from motionlib.errors import ParameterError
from motionlib.toyworld import world

FOREGROUND_DISTANCE = 40.0
MIN_AREA = 12  # pixels
MIN_SPEED = world.SPEED_RANGE[0] / 3
ZIGZAG_RMS = 0.5 * world.ZIGZAG_AMPLITUDE * float(np.sqrt(np.mean(np.square(world.ZIGZAG_PATTERN))))
DARK_LEVEL = 0.6  # a pixel is "dark" below this fraction of the object's bright level


def saturation(rgb: np.ndarray) -> np.ndarray:
    """(max - min) / max channel of ``(..., 3)`` RGB (0 for grey, 1 for a pure hue); ``(...)`` float."""
    rgb = np.asarray(rgb, float)
    return (rgb.max(axis=-1) - rgb.min(axis=-1)) / np.maximum(rgb.max(axis=-1), 1.0)


# A colour reading needs the object's median RGB at least half as saturated as the least saturated world
# colour: the world's colours have saturation 0.78 (green) to 0.83 (yellow), and the dark pattern
# multiplies the colour by DARK, which keeps its saturation; so 0.5 * 0.78 = 0.39. Below it the object is
# closer to grey than to any world colour, and its nearest chromaticity (grey's (1, 1, 1) is nearest
# yellow's (1, .87, .17)) names nothing.
MIN_SATURATION = 0.5 * float(min(saturation(np.array(c, float)) for c in world.COLOURS.values()))  # 0.39


def _largest_silhouette_share() -> float:
    """The largest share of a frame a rendered object touches (pixels not exactly the background),
    over the shapes, each rendered still at the frame centre at four sub-pixel offsets."""
    share = 0.0
    for shape in world.SHAPES:
        for dx, dy in ((0.0, 0.0), (0.25, 0.5), (0.5, 0.75), (0.75, 0.25)):
            c = world.SIZE / 2
            spec = world.ClipSpec(shape, "red", "plain", "gray", "right", speed=0.0, start=(c + dx, c + dy),
                                  num_frames=2)
            frame = world.render(spec)[0]
            touched = np.any(frame != np.array(world.BACKGROUNDS["gray"], np.uint8), axis=-1)
            share = max(share, float(touched.mean()))
    return share


# A frame's object mask covers at most twice the largest rendered silhouette: the triangle (half-size
# RADIUS = 5 px, height 2.6 RADIUS) touches about 124 of the 32 x 32 = 1024 pixels, 12%; so 24%. A frame
# whose mask exceeds it has no object (its foreground spills over the frame); a video whose median mask
# share over its frames exceeds it is unreadable.
MAX_MASK_SHARE = 2 * _largest_silhouette_share()  # 0.24


@dataclass
class Reading:
    """What the oracle measured. ``trajectory`` ``(F, 2)`` (x, y) px, NaN where no object."""

    trajectory: np.ndarray
    direction: str | None  # None: no object in at least half of the frames
    path: str | None
    speed: float
    colour: str | None
    shape: str | None
    texture: str | None
    background: str | None  # None only when the whole video is unreadable
    fill: float = float("nan")  # share of its bounding box the silhouette fills (circle 0.78, square 0.99)
    unreadable: str = ""  # why the video ("mask ...", "border ...") or its colour ("colour: ...") is unreadable

    @property
    def found(self) -> bool:
        return self.direction is not None

    def attributes(self) -> dict[str, str | None]:
        return {k: getattr(self, k) for k in ("shape", "colour", "texture", "background", "direction", "path")}

    def as_dict(self) -> dict:
        d = asdict(self)
        d["trajectory"] = self.trajectory.tolist()
        return d


# ------------------------------------------------------------------------------------ segmentation
def _check(video: np.ndarray) -> np.ndarray:
    if not isinstance(video, np.ndarray) or video.dtype != np.uint8 or video.ndim != 4 or video.shape[-1] != 3:
        got = f"{video.shape} {video.dtype}" if isinstance(video, np.ndarray) else type(video).__name__
        raise ParameterError(f"the oracle reads uint8 videos of shape (F, H, W, 3), got {got}")
    if len(video) < 2:
        raise ParameterError(f"the oracle needs at least 2 frames to measure motion, got {len(video)}")
    return video


def background_colour(video: np.ndarray) -> np.ndarray:
    """Median RGB of the 1-pixel frame border over all frames, ``(3,)`` float."""
    border = np.concatenate([video[:, 0], video[:, -1], video[:, :, 0], video[:, :, -1]], axis=1)
    return np.median(border.reshape(-1, 3).astype(float), axis=0)


def object_masks(video: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
    """``(F, H, W)`` bool: the object's silhouette per frame (empty where it is too small)."""
    import cv2

    bg = background_colour(video) if background is None else background
    far = np.linalg.norm(video.astype(float) - bg, axis=-1) > FOREGROUND_DISTANCE
    kernel = np.ones((3, 3), np.uint8)
    masks = np.zeros(far.shape, bool)
    for i, frame in enumerate(far):
        closed = cv2.morphologyEx(frame.astype(np.uint8), cv2.MORPH_CLOSE, kernel)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
        if n < 2:
            continue
        biggest = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        filled = _fill_holes(biggest)
        if filled.sum() >= MIN_AREA:
            masks[i] = filled
    return masks


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every background region that does not touch the border filled in."""
    import cv2

    padded = np.pad(mask, 1).astype(np.uint8)
    outside = padded.copy()
    flood = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    cv2.floodFill(outside, flood, (0, 0), 1)
    return (padded | (outside == 0))[1:-1, 1:-1].astype(bool)


def _erode(mask: np.ndarray) -> np.ndarray:
    """``mask`` minus its 1-pixel rim (the mask itself when that leaves under 4 pixels)."""
    import cv2

    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), borderValue=0).astype(bool)
    return inner if inner.sum() >= 4 else mask


# ------------------------------------------------------------------------------------ features
def _shape_features(mask: np.ndarray) -> np.ndarray:
    """(fill of the bounding box, share of the area above the centroid, farthest pixel from the
    centroid over the square root of the area)."""
    ys, xs = np.nonzero(mask)
    h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    cy, cx = ys.mean(), xs.mean()
    reach = np.sqrt((ys - cy) ** 2 + (xs - cx) ** 2).max() + 0.5
    return np.array([len(ys) / (h * w), (ys < cy).mean(), reach / np.sqrt(len(ys))])


def _texture_features(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(dark share, mean |horizontal| and |vertical| luminance steps) inside the eroded mask,
    luminance relative to the object's bright level (90th percentile)."""
    lum = frame.astype(float) @ np.array([0.299, 0.587, 0.114])
    inner = _erode(mask)
    bright = max(np.percentile(lum[inner], 90), 1.0)
    rel = lum / bright
    dark = float((rel[inner] < DARK_LEVEL).mean())
    both_x = inner[:, 1:] & inner[:, :-1]
    both_y = inner[1:, :] & inner[:-1, :]
    gx = float(np.abs(np.diff(rel, axis=1))[both_x].mean()) if both_x.any() else 0.0
    gy = float(np.abs(np.diff(rel, axis=0))[both_y].mean()) if both_y.any() else 0.0
    return np.array([dark, gx, gy])


def _chromaticity(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, float)
    return rgb / np.maximum(rgb.max(axis=-1, keepdims=True), 1.0)


def _nearest(value: np.ndarray, references: dict[str, np.ndarray], scale: np.ndarray | None = None) -> str:
    scale = np.ones_like(value) if scale is None else scale
    return min(references, key=lambda k: float(np.sum(((value - references[k]) / scale) ** 2)))


@lru_cache(maxsize=None)
def reference_features() -> dict[str, dict]:
    """Class centroids and feature spreads of shape and texture, measured on world renders.

    Every (shape, colour, texture, background) is rendered still near the frame centre at four
    sub-pixel offsets; the features of each class are averaged. Deterministic."""
    shape_f: dict[str, list] = {s: [] for s in world.SHAPES}
    texture_f: dict[str, list] = {t: [] for t in world.TEXTURES}
    for shape in world.SHAPES:
        for colour in world.COLOURS:
            for texture in world.TEXTURES:
                for background in world.BACKGROUNDS:
                    for dx, dy in ((0.0, 0.0), (0.25, 0.5), (0.5, 0.75), (0.75, 0.25)):
                        c = world.SIZE / 2
                        spec = world.ClipSpec(shape, colour, texture, background, "right", speed=0.0,
                                              start=(c + dx, c + dy), num_frames=2)
                        frame = world.render(spec)
                        mask = object_masks(frame)[0]
                        shape_f[shape].append(_shape_features(mask))
                        texture_f[texture].append(_texture_features(frame[0], mask))

    def summarise(groups):
        centroids = {k: np.mean(v, axis=0) for k, v in groups.items()}
        spread = np.std(np.concatenate([np.asarray(v) - centroids[k] for k, v in groups.items()]), axis=0)
        between = np.std(np.stack(list(centroids.values())), axis=0)
        return {"centroids": centroids, "scale": np.maximum(spread, 0.25 * between) + 1e-6}

    return {"shape": summarise(shape_f), "texture": summarise(texture_f)}


# ------------------------------------------------------------------------------------ reading
def _motion(traj: np.ndarray) -> tuple[str, str, float]:
    ok = np.isfinite(traj[:, 0])
    t = np.arange(len(traj))[ok]
    pts = traj[ok]
    velocity = np.array([np.polyfit(t, pts[:, k], 1)[0] for k in range(2)])
    axis = int(np.argmax(np.abs(velocity)))
    speed = float(abs(velocity[axis]))
    if speed < MIN_SPEED:
        direction = "still"
    elif axis == 0:
        direction = "right" if velocity[0] > 0 else "left"
    else:
        direction = "down" if velocity[1] > 0 else "up"
    across = pts[:, 1 - axis]
    residual = across - np.polyval(np.polyfit(t, across, 1), t)
    path = "zigzag" if float(np.sqrt(np.mean(residual**2))) > ZIGZAG_RMS else "straight"
    return direction, path, speed


def border_flatness(video: np.ndarray, background: np.ndarray | None = None) -> float:
    """Share of the frames' 1-pixel border within :data:`FOREGROUND_DISTANCE` of ``background``
    (default: the median border colour); 1.0 for a flat border."""
    bg = background_colour(video) if background is None else background
    border = np.concatenate([video[:, 0], video[:, -1], video[:, :, 0], video[:, :, -1]], axis=1).astype(float)
    return float((np.linalg.norm(border - bg, axis=-1) <= FOREGROUND_DISTANCE).mean())


def _unreadable(num_frames: int, why: str) -> Reading:
    """A reading with every attribute None and the reason ``why``."""
    return Reading(np.full((num_frames, 2), np.nan), None, None, float("nan"), None, None, None, None,
                   unreadable=why)


def _whole_video_problem(video: np.ndarray, bg: np.ndarray, masks: np.ndarray) -> str:
    """Why no attribute of ``video`` can be read (``""``: it can): a border that is not flat, or an
    object mask larger than any world object's (median share over the frames)."""
    flat = border_flatness(video, bg)
    if flat < FLAT_BORDER_SHARE:
        return f"border not flat: {flat:.0%} of border pixels near its median (< {FLAT_BORDER_SHARE:.0%})"
    share = float(np.median(masks.reshape(len(masks), -1).mean(axis=1)))
    if share > MAX_MASK_SHARE:
        return f"mask too large: median {share:.0%} of the frame (> {MAX_MASK_SHARE:.0%})"
    return ""


def _colour(video: np.ndarray, masks: np.ndarray, frames: np.ndarray) -> tuple[str, float]:
    """The nearest world colour's name (by chromaticity) of the eroded masks' pixels over ``frames``,
    and the saturation of their median RGB."""
    rgb = np.concatenate([video[i][_erode(masks[i])] for i in frames]).astype(float)
    name = _nearest(np.median(_chromaticity(rgb), axis=0), {k: _chromaticity(v) for k, v in world.COLOURS.items()})
    return name, float(saturation(np.median(rgb, axis=0)))


def read(video: np.ndarray, checks: bool = True) -> Reading:
    """Measure every attribute of a toy-world video; see the module doc. ``checks=False`` skips the
    readability checks (the oracle before them: every video read, the colour always named)."""
    video = _check(video)
    bg = background_colour(video)
    masks = object_masks(video, bg)
    problem = _whole_video_problem(video, bg, masks) if checks else ""
    if problem:
        return _unreadable(len(video), problem)
    if checks:  # a frame whose mask is larger than any world object has no object: it is a spill
        masks[masks.reshape(len(masks), -1).mean(axis=1) > MAX_MASK_SHARE] = False
    background = _nearest(bg, {k: np.array(v, float) for k, v in world.BACKGROUNDS.items()})
    present = masks.reshape(len(masks), -1).any(axis=1)
    traj = np.full((len(video), 2), np.nan)
    for i in np.flatnonzero(present):
        ys, xs = np.nonzero(masks[i])
        traj[i] = (xs.mean() + 0.5, ys.mean() + 0.5)  # pixel centres, as the renderer's coordinates
    if present.sum() < max(2, len(video) / 2):
        return Reading(traj, None, None, float("nan"), None, None, None, background)
    direction, path, speed = _motion(traj)
    frames = np.flatnonzero(present)
    colour, sat = _colour(video, masks, frames)
    unreadable = ""
    if checks and sat < MIN_SATURATION:
        colour, unreadable = None, f"colour: unsaturated (median saturation {sat:.2f} < {MIN_SATURATION:.2f})"
    refs = reference_features()
    shape_feat = np.median([_shape_features(masks[i]) for i in frames], axis=0)
    texture_feat = np.median([_texture_features(video[i], masks[i]) for i in frames], axis=0)
    shape = _nearest(shape_feat, refs["shape"]["centroids"], refs["shape"]["scale"])
    texture = _nearest(texture_feat, refs["texture"]["centroids"], refs["texture"]["scale"])
    return Reading(traj, direction, path, speed, colour, shape, texture, background, float(shape_feat[0]),
                   unreadable)


def directions(videos) -> list[str | None]:
    """The direction each toy-world video is read as going (left, right, up, down), None where the
    oracle reads none (unreadable, or no motion): what a figure's frame strip names at its row's end."""
    return [read(v).direction for v in videos]


# What a toy-world clip is, fixed from the world's definition before any clip is checked: its
# geometry; a flat border (a rendered clip's border pixels are all the background colour, except
# where the object crosses the edge: its largest side, 2 * RADIUS, against the 4 * SIZE border pixels
# of a frame, 8%; allowed: twice that); a background near one of the world's three (within the
# segmentation's own FOREGROUND_DISTANCE); and one object: the largest foreground component holds most
# foreground pixels (the world has one object; a second component as large is not a toy scene).
FLAT_BORDER_SHARE = 1 - 2 * (2 * world.RADIUS) / (4 * world.SIZE)  # 0.84
SINGLE_OBJECT_SHARE = 0.5


def not_toy_world(video: np.ndarray) -> list[str]:
    """Why ``video`` is not a toy-world clip (the oracle's readings mean nothing for it), as short
    reasons; an empty list for a clip the world could have rendered: ``FRAMES`` frames of ``SIZE`` x
    ``SIZE``, a flat border of a world background colour, one object in most frames (see above)."""
    video = _check(video)
    reasons = []
    f, h, w = video.shape[:3]
    if (f, h, w) != (world.FRAMES, world.SIZE, world.SIZE):
        reasons.append(f"{f} frames of {h}x{w} pixels, not {world.FRAMES} frames of {world.SIZE}x{world.SIZE}")
        return reasons  # the checks below assume the world's geometry
    bg = background_colour(video)
    flat = border_flatness(video, bg)
    if flat < FLAT_BORDER_SHARE:
        reasons.append(f"the border is not one flat colour ({flat:.0%} of border pixels near its median, "
                       f"a toy clip has >= {FLAT_BORDER_SHARE:.0%})")
    nearest = min(float(np.linalg.norm(bg - np.array(v, float))) for v in world.BACKGROUNDS.values())
    if nearest > FOREGROUND_DISTANCE:
        reasons.append(f"the background colour {tuple(int(c) for c in bg)} is none of the world's "
                       f"({', '.join(world.BACKGROUNDS)})")
    if not _one_object_in_most_frames(video, bg):
        reasons.append("no single object on the background in most frames")
    return reasons


def _one_object_in_most_frames(video: np.ndarray, bg: np.ndarray) -> bool:
    import cv2

    far = np.linalg.norm(video.astype(float) - bg, axis=-1) > FOREGROUND_DISTANCE
    single = 0
    for frame in far:
        closed = cv2.morphologyEx(frame.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        n, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]
        single += n >= 2 and areas.max() >= MIN_AREA and areas.max() > SINGLE_OBJECT_SHARE * areas.sum()
    return single >= len(video) / 2


def trajectory_error(a: Reading | np.ndarray, b: Reading | np.ndarray) -> float:
    """Mean distance (px) between the two trajectories over frames where both have an object;
    NaN if there is no such frame."""
    ta = a.trajectory if isinstance(a, Reading) else a
    tb = b.trajectory if isinstance(b, Reading) else b
    ok = np.isfinite(ta[:, 0]) & np.isfinite(tb[:, 0])
    return float(np.linalg.norm(ta[ok] - tb[ok], axis=1).mean()) if ok.any() else float("nan")


def transfer_reading(video: np.ndarray, reference: world.ClipSpec, asked: world.ClipSpec) -> dict:
    """One customized sample read against the reference it should move like, ``asked`` being the
    spec its prompt describes: **transfer** (1.0 if it moves the reference's way; for a zigzag
    reference, if it zigzags) and **leakage** (the share of the appearance attributes the prompt
    changed that show the reference's value instead), with what was read."""
    attrs = read(video).attributes()
    changed = [a for a in world.APPEARANCE if getattr(asked, a) != getattr(reference, a)]
    direction = attrs["direction"] == reference.direction
    zigzag = attrs["path"] == "zigzag"
    return {
        "direction_read": attrs["direction"], "path_read": attrs["path"],
        "transfer": float(zigzag if reference.path == "zigzag" else direction),
        "direction_ok": direction,
        "leakage": float(np.mean([attrs[a] == getattr(reference, a) for a in changed])) if changed else 0.0,
        "appearance_ok": all(attrs[a] == getattr(asked, a) for a in world.APPEARANCE),
    }
