"""A second, independent reading of toy-world videos, to check the oracle on model samples.

The oracle (:mod:`.oracle`) was validated on rendered clips only. On model samples it can fail in
ways a rendered clip never shows (a washed-out or grey sample whose "foreground" spills over the
frame and reads as yellow). :func:`read` measures colour, shape and direction another way, and
:func:`agreement` samples a model and counts, per attribute, how often the two readings agree.

What it measures, per video ``(F, H, W, 3)`` uint8:

- the **saturated pixels** of each frame: saturation (max - min) / max >= :data:`SATURATED` and value
  max / 255 >= :data:`BRIGHT` (the world's backgrounds are grey: saturation 0);
- **colour**: their median hue angle (degrees), named by the nearest world colour's hue; None when
  fewer than ``MIN_AREA`` such pixels are in most frames;
- **shape**: per frame, the IoU of the saturated-pixel mask with the renderer's own silhouette of each
  shape (:func:`world.render` of a still, plain object of the read colour on the read background,
  centred at the mask's centroid, thresholded by the same rule); the shape of the best mean IoU over
  the frames;
- **direction**: the sign of the larger component of the saturated-pixel centroid's least-squares
  velocity (``"still"`` below ``MIN_SPEED``);
- **background**: the median border colour named by the nearest world background (the oracle's own
  :func:`oracle.background_colour`: not the disputed reading).

Why it is independent of the oracle: it segments nothing by distance from the background (no
foreground threshold, no morphology, no connected components, no hole filling), names the colour
by hue angle rather than by chromaticity distance, and the shape by IoU with rendered silhouettes
rather than by silhouette features against class centroids. It shares with the oracle only the
world's definition and two constants derived from it (``MIN_AREA``, ``MIN_SPEED``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from motionlib.toyworld import oracle, world

SATURATED = 0.5  # a pixel is coloured at this saturation ...
BRIGHT = 0.25  # ... and this value (max channel / 255)
ATTRIBUTES = ("colour", "shape", "background", "direction")


@dataclass
class IndependentReading:
    """The independent reading; ``hue`` in degrees [0, 360), ``iou`` the best shape's mean IoU."""

    colour: str | None
    shape: str | None
    background: str
    direction: str | None
    hue: float = float("nan")
    iou: float = float("nan")

    def attributes(self) -> dict[str, str | None]:
        return {k: getattr(self, k) for k in ATTRIBUTES}


def hue_angle(rgb: np.ndarray) -> np.ndarray:
    """Hue in degrees [0, 360) of ``(..., 3)`` RGB: the angle of the opponent colour
    (2R - G - B, sqrt(3) (G - B)); red 0, yellow 52, green 128, blue 228 for the world's colours."""
    rgb = np.asarray(rgb, float)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.mod(np.degrees(np.arctan2(np.sqrt(3) * (g - b), 2 * r - g - b)), 360)


def saturated_pixels(video: np.ndarray) -> np.ndarray:
    """``(F, H, W)`` bool: pixels with saturation >= :data:`SATURATED` and value >= :data:`BRIGHT`."""
    value = video.max(axis=-1) / 255.0
    return (oracle.saturation(video) >= SATURATED) & (value >= BRIGHT)


def _circular_median(angles: np.ndarray) -> float:
    """Median of ``angles`` (degrees) measured around their circular mean, in [0, 360)."""
    rad = np.radians(angles)
    centre = np.degrees(np.arctan2(np.sin(rad).mean(), np.cos(rad).mean()))
    offsets = np.mod(angles - centre + 180, 360) - 180
    return float(np.mod(centre + np.median(offsets), 360))


def _hue_distance(a: float, b: float) -> float:
    return float(abs(np.mod(a - b + 180, 360) - 180))


def _template(shape: str, centre: tuple[float, float], colour: str, background: str,
              size: tuple[int, int]) -> np.ndarray:
    """``size`` (H, W) bool: the saturated pixels of a still, plain ``shape`` rendered at ``centre`` (px)."""
    spec = world.ClipSpec(shape, colour, "plain", background, "right", speed=0.0, start=centre, num_frames=2,
                          size=max(size))
    return saturated_pixels(world.render(spec)[:1])[0, :size[0], :size[1]]


def _shape(masks: np.ndarray, frames: np.ndarray, colour: str | None, background: str) -> tuple[str | None, float]:
    """The shape whose rendered silhouette has the best mean IoU with ``masks`` over ``frames``."""
    if len(frames) == 0:
        return None, float("nan")
    ious = {s: [] for s in world.SHAPES}
    for i in frames:
        ys, xs = np.nonzero(masks[i])
        centre = (float(xs.mean() + 0.5), float(ys.mean() + 0.5))
        for s in world.SHAPES:
            t = _template(s, centre, colour or "red", background, masks.shape[1:])
            ious[s].append((t & masks[i]).sum() / max((t | masks[i]).sum(), 1))
    best = max(ious, key=lambda s: np.mean(ious[s]))
    return best, float(np.mean(ious[best]))


def _direction(masks: np.ndarray, frames: np.ndarray) -> str:
    """Sign of the larger component of the mask centroid's least-squares velocity over ``frames``."""
    centres = np.array([[np.nonzero(masks[i])[1].mean(), np.nonzero(masks[i])[0].mean()] for i in frames])
    velocity = np.array([np.polyfit(frames, centres[:, k], 1)[0] for k in range(2)])
    axis = int(np.argmax(np.abs(velocity)))
    if abs(velocity[axis]) < oracle.MIN_SPEED:
        return "still"
    if axis == 0:
        return "right" if velocity[0] > 0 else "left"
    return "down" if velocity[1] > 0 else "up"


def read(video: np.ndarray) -> IndependentReading:
    """The independent reading of a uint8 ``(F, H, W, 3)`` video; see the module doc."""
    video = oracle._check(video)
    bg = oracle.background_colour(video)
    background = min(world.BACKGROUNDS, key=lambda k: float(np.linalg.norm(bg - np.array(world.BACKGROUNDS[k]))))
    masks = saturated_pixels(video)
    frames = np.flatnonzero(masks.reshape(len(masks), -1).sum(axis=1) >= oracle.MIN_AREA)
    if len(frames) < max(2, len(video) / 2):
        shape, iou = _shape(masks, frames, None, background)
        return IndependentReading(None, shape, background, None, iou=iou)
    hue = _circular_median(np.concatenate([hue_angle(video[i][masks[i]]) for i in frames]))
    colour = min(world.COLOURS, key=lambda k: _hue_distance(hue, float(hue_angle(np.array(world.COLOURS[k])))))
    shape, iou = _shape(masks, frames, colour, background)
    return IndependentReading(colour, shape, background, _direction(masks, frames), hue, iou)


# ------------------------------------------------------------------------------------ validation
def validation_prompts(n_samples: int, free_share: float = 0.25) -> list[tuple[str, str, dict]]:
    """``n_samples`` (kind, prompt, truth) to sample: held-out captions in turn (kind ``"named"``) and,
    for ``free_share`` of them, direction-free captions of the held-out appearances (``"free"``, truth
    direction ``""``). Truth: the caption's colour, shape, background and direction."""
    held = sorted(world.held_out_combinations())
    looks = sorted({c[:4] for c in held})
    n_free = round(free_share * n_samples)
    items = []
    for k in range(n_samples - n_free):
        spec = world.ClipSpec(*held[k % len(held)])
        items.append(("named", world.caption(spec), {a: getattr(spec, a) for a in ATTRIBUTES}))
    for k in range(n_free):
        spec = world.ClipSpec(*looks[k % len(looks)], "right")
        items.append(("free", world.caption(spec, with_direction=False),
                      {**{a: getattr(spec, a) for a in ATTRIBUTES}, "direction": ""}))
    return items


def compare_readings(video: np.ndarray) -> dict:
    """Both readings of one video: ``<attr>_oracle``, ``<attr>_independent``, ``<attr>_agree`` (None
    unless both read it), ``colour_unchecked`` (the oracle without its readability checks),
    ``oracle_unreadable`` (its reason) and the independent reading's hue (degrees) and IoU."""
    o, i = oracle.read(video), read(video)
    row = {}
    for a in ATTRIBUTES:
        ov, iv = getattr(o, a), getattr(i, a)
        row |= {f"{a}_oracle": ov, f"{a}_independent": iv, f"{a}_agree": None if ov is None or iv is None else ov == iv}
    unchecked = oracle.read(video, checks=False).colour
    row |= {"colour_unchecked": unchecked,
            "colour_unchecked_agree": None if unchecked is None or i.colour is None else unchecked == i.colour,
            "oracle_unreadable": o.unreadable, "hue_independent": i.hue, "iou_independent": i.iou}
    return row


def agreement(model, n_samples: int = 200, seed: int = 0, num_steps: int | None = 25, batch: int = 8,
              free_share: float = 0.25, progress: bool = True) -> pd.DataFrame:
    """Sample ``n_samples`` videos of :func:`validation_prompts` (sample ``k`` from the noise of seed
    ``seed + k``; one prompt's samples ``batch`` at a time) and read each with both readers: one row per
    sample with the caption's truth and :func:`compare_readings`."""
    from tqdm.auto import tqdm

    from motionlib.toyworld.quality import sample_batch

    by_prompt: dict[str, list] = {}
    for k, (kind, prompt, truth) in enumerate(validation_prompts(n_samples, free_share)):
        by_prompt.setdefault(prompt, []).append((seed + k, kind, truth))
    rows = []
    for prompt, items in tqdm(by_prompt.items(), desc=f"{model.family} oracle validation", disable=not progress):
        for start in range(0, len(items), batch):
            part = items[start:start + batch]
            videos = sample_batch(model, prompt, [s for s, _, _ in part], num_steps=num_steps)
            for (s, kind, truth), video in zip(part, videos):
                rows.append({"model": model.family, "source": model.source, "caption": kind, "prompt": prompt,
                             "seed": s, **{f"{a}_truth": v for a, v in truth.items()}, **compare_readings(video)})
    return pd.DataFrame(rows).sort_values("seed", ignore_index=True)


def agreement_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per attribute (and ``colour_unchecked``: the oracle without its checks): the agreement rate over
    the samples both readers read, its 95% Wilson interval, and how many samples each reader left
    unread (None); for colour, how often the oracle said yellow where the independent reading did not."""
    from motionlib.analysis import wilson_interval

    out = []
    for a in (*ATTRIBUTES, "colour_unchecked"):
        ours = rows[f"{a}_oracle" if a != "colour_unchecked" else a]
        theirs = rows[f"{a.removesuffix('_unchecked')}_independent"]
        both = ours.notna() & theirs.notna()
        agree = int((ours[both] == theirs[both]).sum())
        lo, hi = wilson_interval(agree, int(both.sum()))
        rec = {"attribute": a, "samples": len(rows), "both_read": int(both.sum()), "agree": agree,
               "agreement": agree / both.sum() if both.any() else float("nan"), "lo": lo, "hi": hi,
               "oracle_unread": int(ours.isna().sum()), "independent_unread": int(theirs.isna().sum())}
        if a.startswith("colour"):
            rec["oracle_yellow_independent_not"] = int(((ours == "yellow") & (theirs != "yellow")).sum())
        out.append(rec)
    table = pd.DataFrame(out)
    why = rows["oracle_unreadable"].fillna("").astype(str)
    table["oracle_unreadable_video"] = int(why.str.match("(mask|border)").sum())
    return table


def colour_confusion(rows: pd.DataFrame) -> pd.DataFrame:
    """Counts of (oracle colour, independent colour), for the oracle with and without its checks; an
    unread colour is ``"none"``."""
    parts = []
    for reader, column in (("oracle", "colour_oracle"), ("oracle unchecked", "colour_unchecked")):
        table = pd.crosstab(rows[column].fillna("none"), rows["colour_independent"].fillna("none"))
        parts.append(table.rename_axis(index="oracle", columns=None).reset_index().assign(reader=reader))
    table = pd.concat(parts, ignore_index=True).fillna(0)
    counts = [c for c in table.columns if c not in ("reader", "oracle")]
    table[counts] = table[counts].astype(int)
    return table[["reader", "oracle", *counts]]
