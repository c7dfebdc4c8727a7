"""The toy world: seeded procedural clips of one moving object, with their caption and exact truth.

See :mod:`motionlib.toyworld` for the vocabulary. A clip is fully described by a :class:`ClipSpec`;
:func:`render` turns it into an ``(F, H, W, 3)`` uint8 video (anti-aliased by 4x4 supersampling,
so motion is sub-pixel smooth) and :func:`trajectory` gives the object's true centre per frame.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace

import numpy as np

from motionlib.errors import ParameterError

# ------------------------------------------------------------------------------------ vocabulary
SHAPES = ("circle", "square", "triangle")
COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (50, 90, 230), "yellow": (235, 205, 40)}
TEXTURES = ("plain", "striped", "dotted")
BACKGROUNDS = {"gray": (128, 128, 128), "black": (16, 16, 16), "white": (240, 240, 240)}
DIRECTIONS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}
PATHS = ("straight", "zigzag")
PATH_VERBS = {"straight": "moves", "zigzag": "zigzags"}
TRAINING_PATHS = ("straight",)  # the base models never see a zigzag (kept for customization)

# ------------------------------------------------------------------------------------ geometry
FRAMES = 8
SIZE = 32  # frames are SIZE x SIZE pixels
RADIUS = 5.0  # object half-size in pixels (circle radius, half the square's side)
SPEED_RANGE = (1.5, 2.5)  # pixels per frame along the direction
ZIGZAG_AMPLITUDE = 2.5  # pixels across the direction; offsets 0, +A, 0, -A, ... frame by frame
ZIGZAG_PATTERN = (0.0, 1.0, 0.0, -1.0)
STRIPE_PERIOD = 4.0  # pixels; stripes and dots are half a period wide
DARK = 0.35  # pattern pixels are the object colour times DARK
SUPERSAMPLE = 4

# Held-out appearance + motion combinations: no model trains on them.
HELD_OUT_FRACTION = 0.1
HELD_OUT_SEED = 20261125


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines a clip. Positions are in pixels, (x, y) with y pointing down."""

    shape: str
    colour: str
    texture: str
    background: str
    direction: str
    path: str = "straight"
    speed: float = 2.0  # pixels per frame
    start: tuple[float, float] = (16.0, 16.0)  # object centre in frame 0 (before any zigzag offset)
    num_frames: int = FRAMES
    size: int = SIZE

    def __post_init__(self):
        for name, allowed in (("shape", SHAPES), ("colour", COLOURS), ("texture", TEXTURES),
                              ("background", BACKGROUNDS), ("direction", DIRECTIONS), ("path", PATHS)):
            if getattr(self, name) not in allowed:
                raise ParameterError(f"unknown {name} {getattr(self, name)!r}; the toy world has "
                                     f"{', '.join(allowed)}")
        if self.num_frames < 2 or self.size < 16:
            raise ParameterError(f"a toy clip needs at least 2 frames of 16 x 16 pixels, "
                                 f"got {self.num_frames} of {self.size} x {self.size}")

    @property
    def combination(self) -> tuple[str, str, str, str, str]:
        """The captioned discrete attributes (path aside): what held-out sets are made of."""
        return (self.shape, self.colour, self.texture, self.background, self.direction)

    def with_attribute(self, name: str, value: str) -> ClipSpec:
        return replace(self, **{name: value})

    def as_dict(self) -> dict:
        return asdict(self)


APPEARANCE = ("colour", "shape", "texture", "background")
MOTION = ("direction", "path")
VOCABULARY = {"shape": SHAPES, "colour": tuple(COLOURS), "texture": TEXTURES,
              "background": tuple(BACKGROUNDS), "direction": tuple(DIRECTIONS), "path": PATHS}


# Every word of the world's captions: the attribute values and the template's own words.
WORDS = frozenset(word for values in VOCABULARY.values() for word in values) | frozenset(
    PATH_VERBS.values()) | {"a", "on", "background", "plain"}


# ------------------------------------------------------------------------------------ captions
def vocabulary_line() -> str:
    """The world's vocabulary in one line, attribute by attribute."""
    return ("; ".join(f"{k}: {', '.join(v)}" for k, v in VOCABULARY.items())
            + f" (captions like {caption(ClipSpec('circle', 'red', 'striped', 'gray', 'left'))!r})")


# Attributes a caption may leave open (omit): the direction (the motion-customization task) and,
# for the transfer protocol's leakage, the colour and the background. Shape, texture (plain is already
# unnamed) and the path are always named.
OMITTABLE = ("direction", "colour", "background")
OPEN_APPEARANCE = ("colour", "background")  # what an open-appearance caption leaves out besides the direction


def caption(spec: ClipSpec, with_direction: bool = True, omit: tuple[str, ...] = ()) -> str:
    """``"a red striped circle moves left on a gray background"``; plain objects omit the texture
    (``"a red square moves right on a gray background"``), zigzag paths say ``"zigzags"``. Without the
    direction (``with_direction=False``) the caption leaves it open: ``"a red square moves on a gray
    background"`` (the toy Latte and CogVideoX learn such captions: the motion-customization task).
    ``omit`` leaves out any of :data:`OMITTABLE` too: ``omit=("direction", "colour", "background")``
    gives ``"a square moves"`` (the open-appearance captions of the transfer protocol's leakage)."""
    unknown = set(omit) - set(OMITTABLE)
    if unknown:
        raise ParameterError(f"a caption can leave open only {', '.join(OMITTABLE)}, not {', '.join(sorted(unknown))}")
    colour = "" if "colour" in omit else f"{spec.colour} "
    texture = "" if spec.texture == "plain" else f"{spec.texture} "
    direction = f" {spec.direction}" if with_direction and "direction" not in omit else ""
    background = "" if "background" in omit else f" on a {spec.background} background"
    return f"a {colour}{texture}{spec.shape} {PATH_VERBS[spec.path]}{direction}{background}"


def parse_caption(text: str) -> dict[str, str]:
    """The attributes a template caption names (the inverse of :func:`caption`): ``""`` for each of
    :data:`OMITTABLE` that the caption leaves open."""
    words = text.lower().strip().rstrip(".").split()
    verbs = {v: k for k, v in PATH_VERBS.items()}
    found = dict.fromkeys(("colour", "texture", "shape", "path", "direction", "background"), "")
    ok = bool(words) and words[0] == "a"
    rest = words[1:]

    def take(values) -> str:
        return rest.pop(0) if rest and rest[0] in values else ""

    if ok:
        found["colour"] = take(COLOURS)
        found["texture"] = take(TEXTURES) or "plain"
        found["shape"] = take(SHAPES)
        found["path"] = verbs.get(take(verbs), "")
        found["direction"] = take(DIRECTIONS)
        if rest:
            ok = (len(rest) == 4 and rest[0] == "on" and rest[1] == "a" and rest[2] in BACKGROUNDS
                  and rest[3] == "background")
            found["background"] = rest[2] if ok else ""
        ok = ok and bool(found["shape"]) and bool(found["path"])
    if not ok:
        raise ParameterError(f"{text!r} is not a toy-world caption; the template is "
                             f"{caption(ClipSpec('circle', 'red', 'striped', 'gray', 'left'))!r} "
                             "(texture plain or omitted, striped, dotted; verb moves or zigzags; direction, "
                             "colour and background optional)")
    return found  # "" for every attribute the caption leaves open


# ------------------------------------------------------------------------------------ motion
def trajectory(spec: ClipSpec) -> np.ndarray:
    """True object centre per frame, ``(F, 2)`` float (x, y) in pixels."""
    t = np.arange(spec.num_frames, dtype=float)
    d = np.array(DIRECTIONS[spec.direction])
    across = np.array([-d[1], d[0]])
    centre = np.array(spec.start) + t[:, None] * spec.speed * d
    if spec.path == "zigzag":
        offsets = np.array([ZIGZAG_PATTERN[int(i) % len(ZIGZAG_PATTERN)] for i in t]) * ZIGZAG_AMPLITUDE
        centre = centre + offsets[:, None] * across
    return centre


def random_start(direction: str, speed: float, rng: np.random.Generator, num_frames: int = FRAMES,
                 size: int = SIZE) -> tuple[float, float]:
    """A frame-0 centre from which the whole motion (and any zigzag) stays inside the frame."""
    margin = RADIUS + 1.0
    travel = speed * (num_frames - 1)
    d = np.array(DIRECTIONS[direction])
    lo = np.full(2, margin + ZIGZAG_AMPLITUDE)
    hi = np.full(2, size - margin - ZIGZAG_AMPLITUDE)
    axis = int(np.argmax(np.abs(d)))
    lo[axis], hi[axis] = margin, size - margin
    if d[axis] > 0:
        hi[axis] -= travel
    else:
        lo[axis] += travel
    if np.any(hi < lo):
        raise ParameterError(f"a speed of {speed} px/frame over {num_frames} frames does not fit "
                             f"a {size}-pixel frame")
    return tuple(float(v) for v in rng.uniform(lo, hi))


# ------------------------------------------------------------------------------------ rendering
def _shape_mask(shape: str, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Coverage of ``shape`` at offsets (dx, dy) from its centre (boolean)."""
    r = RADIUS
    if shape == "circle":
        return dx**2 + dy**2 <= r**2
    if shape == "square":
        return (np.abs(dx) <= r * 0.9) & (np.abs(dy) <= r * 0.9)
    # an upward triangle with its centroid at the centre: apex (0, -h*2/3), base at y = +h/3
    h = 2.6 * r
    half_base = h / np.sqrt(3)
    y = dy + h * 2 / 3  # 0 at the apex, h at the base
    return (y >= 0) & (y <= h) & (np.abs(dx) <= half_base * y / h)


def _pattern(texture: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Where the pattern darkens the object, in object coordinates (u, v) (boolean)."""
    half = STRIPE_PERIOD / 2
    if texture == "plain":
        return np.zeros_like(u, dtype=bool)
    # Dark bands centred at +-period/2 from the centre, so the centre line and the rim stay bright.
    stripes = np.mod(u - half / 2, STRIPE_PERIOD) < half  # vertical stripes
    if texture == "striped":
        return stripes
    return stripes & (np.mod(v - half / 2, STRIPE_PERIOD) < half)  # dotted: a grid of dots


def render(spec: ClipSpec) -> np.ndarray:
    """The clip as ``(F, H, W, 3)`` uint8 RGB."""
    n, s = spec.num_frames, spec.size
    sub = (np.arange(s * SUPERSAMPLE) + 0.5) / SUPERSAMPLE  # sub-pixel sample centres
    xs, ys = np.meshgrid(sub, sub)
    colour = np.array(COLOURS[spec.colour], dtype=float)
    background = np.array(BACKGROUNDS[spec.background], dtype=float)
    frames = np.empty((n, s, s, 3), dtype=np.uint8)
    for i, (cx, cy) in enumerate(trajectory(spec)):
        dx, dy = xs - cx, ys - cy
        inside = _shape_mask(spec.shape, dx, dy)
        dark = _pattern(spec.texture, dx, dy)
        image = np.where(inside[..., None], np.where(dark[..., None], colour * DARK, colour), background)
        image = image.reshape(s, SUPERSAMPLE, s, SUPERSAMPLE, 3).mean(axis=(1, 3))
        frames[i] = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return frames


# ------------------------------------------------------------------------------------ sampling
def all_combinations() -> list[tuple[str, str, str, str, str]]:
    """Every (shape, colour, texture, background, direction): 3 x 4 x 3 x 3 x 4 = 432."""
    return list(itertools.product(SHAPES, COLOURS, TEXTURES, BACKGROUNDS, DIRECTIONS))


def held_out_combinations() -> frozenset[tuple[str, str, str, str, str]]:
    """A fixed, seeded tenth of :func:`all_combinations` that no model trains on (43 of 432).

    Every single attribute value and every pair of values still occurs in training."""
    combos = all_combinations()
    rng = np.random.default_rng(HELD_OUT_SEED)
    picked = rng.permutation(len(combos))[: round(HELD_OUT_FRACTION * len(combos))]
    return frozenset(combos[i] for i in picked)


def training_combinations(n: int, seed: int = 0) -> list[tuple[str, str, str, str, str]]:
    """``n`` seeded training (not held-out) combinations, drawn without replacement and sorted: the
    comparison set for :func:`held_out_combinations` (does a model draw what it trained on better
    than what it did not?)."""
    combos = split_combinations("train")
    if not 0 < n <= len(combos):
        raise ParameterError(f"{n} training combinations asked; there are {len(combos)}: ask for 1 to {len(combos)}")
    rng = np.random.default_rng(seed)
    return sorted(combos[i] for i in rng.choice(len(combos), n, replace=False))


SPLITS = ("train", "held_out", "any")


def split_combinations(split: str) -> list[tuple[str, str, str, str, str]]:
    """The combinations of ``split`` (``"train"``: not held out; ``"held_out"``; ``"any"``), in
    :func:`all_combinations` order."""
    if split not in SPLITS:
        raise ParameterError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    held = held_out_combinations()
    return [c for c in all_combinations() if split == "any" or (c in held) == (split == "held_out")]


def sample_specs(n: int, seed: int, split: str = "train", paths: tuple[str, ...] = TRAINING_PATHS,
                 num_frames: int = FRAMES, size: int = SIZE) -> list[ClipSpec]:
    """``n`` seeded random clips: attributes uniform over the combinations of ``split``
    (``"train"``: not held out; ``"held_out"``; ``"any"``), path uniform over ``paths``, speed uniform
    over :data:`SPEED_RANGE`, start uniform over the positions that keep the object in frame."""
    combos = split_combinations(split)
    rng = np.random.default_rng(seed)
    specs = []
    for _ in range(n):
        shape, colour, texture, background, direction = combos[rng.integers(len(combos))]
        path = paths[rng.integers(len(paths))]
        speed = float(rng.uniform(*SPEED_RANGE))
        start = random_start(direction, speed, rng, num_frames, size)
        specs.append(ClipSpec(shape, colour, texture, background, direction, path, speed, start,
                              num_frames, size))
    return specs


def spec_from_caption(text: str, seed: int = 0, num_frames: int = FRAMES, size: int = SIZE) -> ClipSpec:
    """A clip matching a template caption, with seeded speed and start (and direction, where the
    caption names none)."""
    attrs = parse_caption(text)
    rng = np.random.default_rng(seed)
    if not attrs["direction"]:
        attrs["direction"] = tuple(DIRECTIONS)[rng.integers(len(DIRECTIONS))]
    speed = float(rng.uniform(*SPEED_RANGE))
    start = random_start(attrs["direction"], speed, rng, num_frames, size)
    return ClipSpec(attrs["shape"], attrs["colour"], attrs["texture"], attrs["background"],
                    attrs["direction"], attrs["path"], speed, start, num_frames, size)


def other_value(attribute: str, value: str, rng: np.random.Generator) -> str:
    """A different value of ``attribute``, drawn uniformly (for one-attribute edits)."""
    choices = [v for v in VOCABULARY[attribute] if v != value]
    return choices[rng.integers(len(choices))]
