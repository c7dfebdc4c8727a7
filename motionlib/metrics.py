"""Video metrics: Lucas-Kanade flow similarity, CLIP score, temporal consistency, PickScore.

Every metric takes videos as ``numpy.ndarray`` ``uint8`` ``(F, H, W, 3)`` RGB and returns a Python
float. CLIP-family scorers come in two kinds:

- real: :func:`load_clip_scorer` (open_clip, default ViT-L-14 ``openai``, the CLIP of the TGVE
  evaluation) and :func:`load_pick_scorer` (PickScore_v1 through transformers). Missing weights raise
  :class:`~motionlib.errors.WeightsNotFoundError`; there is no silent fallback. The toy-world CLIP
  (:mod:`motionlib.toyworld.clip`) loads through the same open_clip path (``clip_scorer("toy")``).
- tiny: :func:`tiny_clip_scorer` and :func:`tiny_pick_scorer`, the same architectures at toy size with
  seeded random weights, built offline in well under a second. Their scores mean nothing; they
  exist so every code path runs in tests. ``describe()`` labels them :data:`motionlib.provenance.TINY`.

Frames are preprocessed in torch, in batches: resize (short side to the model's image size, bicubic,
antialiased), centre crop, scale to ``[0, 1]``, normalise with the model's mean / std.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from motionlib.devices import resolve_device
from motionlib.errors import ParameterError, WeightsNotFoundError, reason
from motionlib.provenance import TINY

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
# open_clip model config of the tiny CLIP (same layout as open_clip's model_configs/*.json)
TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"layers": 2, "width": 64, "head_width": 16, "patch_size": 16, "image_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2},
}


def _check_video(video: np.ndarray, what: str = "video") -> np.ndarray:
    if not isinstance(video, np.ndarray) or video.dtype != np.uint8 or video.ndim != 4 or video.shape[-1] != 3:
        got = f"{video.shape} {video.dtype}" if isinstance(video, np.ndarray) else type(video).__name__
        raise ParameterError(f"{what} must be a uint8 array of shape (F, H, W, 3), got {got}")
    if len(video) == 0:
        raise ParameterError(f"{what} has no frames")
    return video


# --------------------------------------------------------------------------- flow similarity


FLOW_VARIANTS = ("paper", "robust")


def flow_similarity(
    video_a: np.ndarray,
    video_b: np.ndarray,
    *,
    variant: str = "paper",
    max_corners: int = 200,
    quality_level: float = 0.01,
    min_distance: float = 5,
    block_size: int = 7,
    win_size: int = 15,
    max_level: int = 2,
    min_motion: float = 1 / 512,
    max_fb_error: float | None = 1 / 256,
) -> float:
    """Agreement of the motion of two equally shaped videos, in ``[-1, 1]``.

    The paper: "We use the Lucas-Kanade method for optical flow estimation, and calculate the
    average cosine similarity between the normalized vectors of all frames." Lucas-Kanade is sparse,
    so points must be chosen; both variants choose them the same way. For each frame pair
    ``(t, t+1)``, Shi-Tomasi corners (``max_corners``, ``quality_level``, ``min_distance`` px,
    ``block_size``) are detected on frame ``t`` of the reference ``video_a`` (grayscale) and tracked
    to ``t+1`` with pyramidal Lucas-Kanade (``win_size``, ``max_level``) in *both* videos from the
    same start points, giving displacements ``d_a``, ``d_b`` per point.

    ``variant="paper"`` (the default) reads the sentence literally: every chosen point of every
    frame pair is one vector pair, and the score is the mean over all of them of
    ``(d_a / |d_a|) . (d_b / |d_b|)``. A point that LK loses in either video (status 0 or not
    finite) counts 0, as does a vector too short to normalise (below 1e-3 px: a still point), so
    lost tracks and stillness lower the score rather than leaving it. No corners anywhere: 0.0.

    ``variant="robust"`` is this project's earlier reading, kept as a named option: a point counts
    only if LK tracks it in both videos and, unless ``max_fb_error`` is None, tracking back lands
    within ``max_fb_error`` of the start; then both still (``|d| < min_motion``) scores +1, one still
    scores 0, else the cosine. Points are averaged per frame pair, then over frame pairs with any
    point (0.0 if none). ``min_motion`` and ``max_fb_error`` are fractions of the frame's longer
    side (the defaults are 0.5 px and 1 px at 256 px), so the rule means the same at every
    resolution. Never NaN.
    """
    import cv2

    a, b = _check_video(video_a, "video_a"), _check_video(video_b, "video_b")
    if a.shape != b.shape:
        raise ParameterError(f"flow_similarity needs videos of the same shape, got {a.shape} and {b.shape}")
    if len(a) < 2:
        raise ParameterError(f"flow_similarity needs at least 2 frames, got {len(a)}")
    if variant not in FLOW_VARIANTS:
        raise ParameterError(f"flow_similarity variant must be one of {', '.join(FLOW_VARIANTS)}, got {variant!r}")
    if max_corners < 1 or not 0 < quality_level <= 1 or min_motion < 0 or win_size < 3 or max_level < 0:
        raise ParameterError(
            "flow_similarity needs max_corners >= 1, 0 < quality_level <= 1, min_motion >= 0, "
            "win_size >= 3 and max_level >= 0"
        )
    side = max(a.shape[1:3])
    fb_px = None if (variant == "paper" or max_fb_error is None) else max_fb_error * side
    gray_a = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in a]
    gray_b = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in b]
    lk = dict(
        winSize=(win_size, win_size), maxLevel=max_level,
        criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01),
    )
    per_pair, per_point = [], []
    for t in range(len(a) - 1):
        points = cv2.goodFeaturesToTrack(
            gray_a[t], max_corners, quality_level, min_distance, blockSize=block_size
        )
        if points is None:
            continue
        d_a, ok_a = _lk_displacement(gray_a[t], gray_a[t + 1], points, lk, fb_px)
        d_b, ok_b = _lk_displacement(gray_b[t], gray_b[t + 1], points, lk, fb_px)
        ok = ok_a & ok_b
        if variant == "paper":
            per_point.append(np.where(ok, _normalised_cosine(d_a, d_b), 0.0))
        elif ok.any():
            per_pair.append(_motion_agreement(d_a[ok], d_b[ok], min_motion * side).mean())
    if variant == "paper":
        return float(np.concatenate(per_point).mean()) if per_point else 0.0
    return float(np.mean(per_pair)) if per_pair else 0.0


def _normalised_cosine(d_a: np.ndarray, d_b: np.ndarray, shortest: float = 1e-3) -> np.ndarray:
    """``(N,)`` dot products of the unit vectors of ``d_a``, ``d_b`` ``(N, 2)``; 0 where either is shorter
    than ``shortest`` px (a zero vector has no direction) or not finite."""
    n_a, n_b = np.linalg.norm(d_a, axis=1), np.linalg.norm(d_b, axis=1)
    valid = (n_a >= shortest) & (n_b >= shortest) & np.isfinite(n_a) & np.isfinite(n_b)
    cosine = (np.nan_to_num(d_a) * np.nan_to_num(d_b)).sum(axis=1) / np.where(valid, n_a * n_b, 1.0)
    return np.where(valid, np.clip(cosine, -1.0, 1.0), 0.0)


def _lk_displacement(prev, nxt, points, lk: dict, max_fb_error: float | None):
    """LK-track ``points`` ``(N, 1, 2)`` from ``prev`` to ``nxt`` -> displacements ``(N, 2)`` px, ok ``(N,)``."""
    import cv2

    moved, status, _ = cv2.calcOpticalFlowPyrLK(prev, nxt, points, None, **lk)
    ok = status.ravel() == 1
    if max_fb_error is not None:
        back, status_back, _ = cv2.calcOpticalFlowPyrLK(nxt, prev, moved, None, **lk)
        fb_error = np.linalg.norm((back - points).reshape(-1, 2), axis=1)
        ok &= (status_back.ravel() == 1) & (fb_error < max_fb_error)
    displacement = (moved - points).reshape(-1, 2)
    return displacement, ok & np.isfinite(displacement).all(axis=1)


def _motion_agreement(d_a: np.ndarray, d_b: np.ndarray, min_motion: float) -> np.ndarray:
    """Per-point agreement ``(N,)`` of displacements ``(N, 2)``: the still / moving rule, else cosine."""
    n_a, n_b = np.linalg.norm(d_a, axis=1), np.linalg.norm(d_b, axis=1)
    still_a, still_b = n_a < min_motion, n_b < min_motion
    cosine = np.clip((d_a * d_b).sum(axis=1) / np.maximum(n_a * n_b, 1e-12), -1.0, 1.0)
    return np.where(still_a & still_b, 1.0, np.where(still_a | still_b, 0.0, cosine))


# --------------------------------------------------------------------------- shared CLIP plumbing


@dataclass(frozen=True)
class FramePreprocess:
    """uint8 ``(F, H, W, 3)`` -> float32 ``(F, 3, size, size)``: resize, centre crop, normalise.

    ``resize_mode="shortest"`` scales the short side to ``size`` then centre-crops (CLIP's
    preprocessing); ``"squash"`` resizes straight to ``size x size``. The same sizes and crop as
    open_clip's own eval transform (``open_clip.image_transform``), batched in torch; the pixels
    differ from its PIL resampling by ~0.01 (normalised units), tested in tests/test_metrics.py.
    """

    size: int
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"

    def __call__(self, video: np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
        frames = torch.from_numpy(np.ascontiguousarray(_check_video(video))).to(device)
        x = frames.permute(0, 3, 1, 2).float() / 255
        h, w = x.shape[-2:]
        if self.resize_mode == "squash":
            new_h = new_w = self.size
        else:
            # torchvision's Resize(size) (open_clip's eval transform): short side to size, long side truncated
            short, long = min(h, w), max(h, w)
            new_short, new_long = self.size, int(self.size * long / short)
            new_h, new_w = (new_short, new_long) if h <= w else (new_long, new_short)
        antialias = self.interpolation in ("bilinear", "bicubic")
        x = F.interpolate(x, size=(new_h, new_w), mode=self.interpolation, antialias=antialias).clamp(0, 1)
        top, left = round((new_h - self.size) / 2), round((new_w - self.size) / 2)
        x = x[..., top : top + self.size, left : left + self.size]
        mean = torch.tensor(self.mean, device=device).view(3, 1, 1)
        std = torch.tensor(self.std, device=device).view(3, 1, 1)
        return (x - mean) / std


class _EmbeddingScorer:
    """Image / text embeddings and the scaled mean cosine; subclasses supply the two encoders."""

    preprocess: FramePreprocess
    device: torch.device
    batch_size: int = 16

    def _encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _encode_text(self, text: str) -> torch.Tensor:
        raise NotImplementedError

    @property
    def score_scale(self) -> float:
        raise NotImplementedError

    @torch.inference_mode()
    def image_embeddings(self, video: np.ndarray) -> torch.Tensor:
        """``(F, H, W, 3)`` uint8 -> ``(F, D)`` float32, L2-normalised, one row per frame."""
        video = _check_video(video)
        chunks = [
            self._encode_images(self.preprocess(video[i : i + self.batch_size], self.device))
            for i in range(0, len(video), self.batch_size)
        ]
        return F.normalize(torch.cat(chunks).float(), dim=-1)

    @torch.inference_mode()
    def text_embedding(self, text: str) -> torch.Tensor:
        """``text`` -> ``(D,)`` float32, L2-normalised."""
        if not isinstance(text, str):
            raise ParameterError(f"text must be a string, got {type(text).__name__}")
        return F.normalize(self._encode_text(text).float().reshape(-1), dim=-1)

    def score(self, video: np.ndarray, text: str) -> float:
        """``score_scale`` x cosine(frame embedding, text embedding), averaged over frames."""
        return self.score_scale * _mean_cosine(self.image_embeddings(video), self.text_embedding(text))


def _mean_cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean cosine of L2-normalised rows ``a`` ``(N, D)`` with ``b`` ``(D,)`` or row-wise ``(N, D)``."""
    return float((a * b).sum(dim=-1).mean())


# --------------------------------------------------------------------------- CLIP (open_clip)


@dataclass(eq=False)
class ClipScorer(_EmbeddingScorer):
    """An open_clip model with its frame preprocessing and tokenizer. Scores are 100 x cosine."""

    model: torch.nn.Module
    preprocess: FramePreprocess
    tokenizer: object  # open_clip tokenizer: list[str] -> (N, context_length) int64
    device: torch.device
    name: str
    pretrained: str  # open_clip tag, checkpoint path or TINY

    score_scale = 100.0

    def _encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels)

    def _encode_text(self, text: str) -> torch.Tensor:
        return self.model.encode_text(self.tokenizer([text]).to(self.device))[0]

    def describe(self) -> dict:
        return {"metric": "clip", "model": self.name, "pretrained": self.pretrained, "device": str(self.device)}


def load_clip_scorer(name: str = "ViT-L-14", pretrained: str = "openai", device: str = "cpu") -> ClipScorer:
    """A real open_clip model: ``name`` (e.g. ``"ViT-L-14"``) with weights ``pretrained``.

    ``pretrained`` is an open_clip tag (from the local cache, or downloaded when online) or a local
    checkpoint file. QuickGELU is switched on when the tag needs it (the OpenAI weights do); for a
    checkpoint file pick the matching name (e.g. ``"ViT-L-14-quickgelu"``). A ``name`` with an
    open_clip schema, ``"local-dir:FOLDER"`` (``open_clip_config.json`` + weights + tokenizer, as the
    toy CLIP is saved) or ``"hf-hub:ORG/NAME"``, carries its own weights; ``pretrained`` is ignored.
    """
    device = resolve_device(device)
    import open_clip

    how_to = (
        "run once with network access so open_clip caches them (Hugging Face cache, HF_HOME), "
        "or pass a local checkpoint file as pretrained"
    )
    schema = name.partition(":")[0] if name.startswith(("local-dir:", "hf-hub:")) else None
    if schema == "local-dir" and not (Path(name.partition(":")[2]) / "open_clip_config.json").is_file():
        raise WeightsNotFoundError(f"open_clip folder {name.partition(':')[2]} not found or holds no "
                                   "open_clip_config.json; for the toy CLIP, train one with "
                                   "`motionlib toyworld train-clip --out DIR` and pass local-dir:DIR")
    if schema is None and open_clip.get_model_config(name) is None:
        raise ParameterError(f"unknown open_clip model {name!r}; see open_clip.list_models()")
    tag_cfg = open_clip.get_pretrained_cfg(name, pretrained) if schema is None else {}
    if schema is None and not tag_cfg and not Path(pretrained).expanduser().is_file():
        raise WeightsNotFoundError(
            f"open_clip weights {pretrained!r} for {name} not found: neither a checkpoint file nor one of "
            f"its tags ({', '.join(open_clip.list_pretrained_tags_by_model(name))}); {how_to}"
        )
    hub = f", hub repo {tag_cfg['hf_hub'].rstrip('/')}" if tag_cfg.get("hf_hub") else ""
    try:
        if schema is None:
            model = open_clip.create_model(
                name, pretrained=pretrained if tag_cfg else str(Path(pretrained).expanduser()),
                device=device, force_quick_gelu=bool(tag_cfg.get("quick_gelu")), require_pretrained=True,
            )
        else:
            model, pretrained = open_clip.create_model(name, device=device, require_pretrained=True), name
        tokenizer = open_clip.get_tokenizer(name)
    except (RuntimeError, OSError, ValueError) as err:
        raise WeightsNotFoundError(
            f"open_clip weights {name} pretrained={pretrained!r}{hub} could not be loaded "
            f"({reason(err)}); {how_to}"
        ) from err
    cfg = open_clip.get_model_preprocess_cfg(model)
    size = cfg["size"] if isinstance(cfg["size"], int) else cfg["size"][0]
    preprocess = FramePreprocess(
        size, tuple(cfg["mean"]), tuple(cfg["std"]), cfg.get("interpolation", "bicubic"),
        "squash" if cfg.get("resize_mode") == "squash" else "shortest",
    )
    return ClipScorer(model.eval(), preprocess, tokenizer, device, name, pretrained)


def tiny_clip_scorer(seed: int = 0, device: str = "cpu") -> ClipScorer:
    """open_clip ``CLIP`` at toy size (:data:`TINY_CLIP_CONFIG`: embed 32, ViT 2x64 on 32 px, text 2x64).

    Seeded random weights, OpenAI mean / std, open_clip's bundled (offline) tokenizer.
    """
    device = resolve_device(device)
    import open_clip

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = open_clip.CLIP(**copy.deepcopy(TINY_CLIP_CONFIG))
    return ClipScorer(
        model.to(device).eval(), FramePreprocess(32), open_clip.SimpleTokenizer(context_length=77),
        device, "tiny CLIP (embed 32)", TINY,
    )


def clip_scorer(spec: str = "auto", model=None, device: str = "cpu") -> ClipScorer:
    """The CLIP named by ``spec`` (the CLI's and notebooks' ``clip`` setting).

    ``"auto"``: tiny if ``model`` (a :class:`~motionlib.models.base.VideoModel`) is tiny, the toy CLIP
    if it is a toy-world model, else ViT-L-14 ``openai``; ``"tiny"``: :func:`tiny_clip_scorer`
    (seed 0); ``"toy"``: the shipped toy-world CLIP (``local-dir:`` :data:`motionlib.paths.TOY_CLIP_DIR`);
    otherwise open_clip ``NAME[:PRETRAINED]`` for :func:`load_clip_scorer`, PRETRAINED defaulting to
    ``openai`` (``local-dir:FOLDER`` and ``hf-hub:ORG/NAME`` are whole names).
    """
    from motionlib import paths

    if spec == "tiny" or (spec == "auto" and model is not None and model.is_tiny):
        return tiny_clip_scorer(seed=0, device=device)
    if spec == "toy" or (spec == "auto" and model is not None and getattr(model, "is_toy", False)):
        return load_clip_scorer(f"local-dir:{paths.TOY_CLIP_DIR}", device=device)
    if spec.startswith(("local-dir:", "hf-hub:")):
        return load_clip_scorer(spec, device=device)
    name, _, pretrained = ("ViT-L-14:openai" if spec == "auto" else spec).partition(":")
    return load_clip_scorer(name, pretrained or "openai", device)


def clip_score(scorer: _EmbeddingScorer, video: np.ndarray, text: str) -> float:
    """CLIP score: 100 x cosine(frame, text) averaged over frames (no clamp)."""
    return scorer.score(video, text)


def temporal_consistency(scorer: _EmbeddingScorer, video: np.ndarray, mode: str = "consecutive") -> float:
    """100 x mean cosine between frame embeddings of ``video`` (at least 2 frames).

    ``"consecutive"``: pairs ``(t, t+1)`` (the paper). ``"all_pairs"``: every ordered pair of distinct
    frames (the TGVE evaluation script).
    """
    if mode not in ("consecutive", "all_pairs"):
        raise ParameterError(f"unknown temporal_consistency mode {mode!r}; use 'consecutive' or 'all_pairs'")
    if len(_check_video(video)) < 2:
        raise ParameterError(f"temporal_consistency needs at least 2 frames, got {len(video)}")
    emb = scorer.image_embeddings(video)
    if mode == "consecutive":
        return 100.0 * _mean_cosine(emb[:-1], emb[1:])
    sims = emb @ emb.T
    n = len(emb)
    return 100.0 * float((sims.sum() - sims.diagonal().sum()) / (n * (n - 1)))


# --------------------------------------------------------------------------- PickScore (transformers)


@dataclass(eq=False)
class PickScorer(_EmbeddingScorer):
    """A transformers ``CLIPModel`` (PickScore) with preprocessing and tokenizer.

    Scores are ``logit_scale.exp()`` x cosine, as in the PickScore reference code.
    """

    model: torch.nn.Module
    preprocess: FramePreprocess
    tokenizer: object  # transformers CLIP tokenizer
    device: torch.device
    model_id: str  # hub id or folder, or TINY
    processor_id: str  # hub id or folder whose preprocessing and tokenizer are used

    @property
    def score_scale(self) -> float:
        return float(self.model.logit_scale.detach().exp())

    def _encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.get_image_features(pixel_values=pixels).pooler_output

    def _encode_text(self, text: str) -> torch.Tensor:
        ids = self.tokenizer([text], padding=True, truncation=True, max_length=77, return_tensors="pt")
        return self.model.get_text_features(**ids.to(self.device)).pooler_output[0]

    def describe(self) -> dict:
        return {"metric": "pickscore", "model": self.model_id, "processor": self.processor_id,
                "device": str(self.device)}


def load_pick_scorer(
    model: str = "yuvalkirstain/PickScore_v1",
    processor: str = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K",
    device: str = "cpu",
) -> PickScorer:
    """The real PickScore: ``CLIPModel`` ``model`` with the preprocessing and tokenizer of ``processor``.

    Both are hub ids (from the Hugging Face cache, or downloaded when online) or local folders.
    """
    device = resolve_device(device)
    from transformers import AutoProcessor, CLIPModel

    try:
        proc = AutoProcessor.from_pretrained(processor)
        clip = CLIPModel.from_pretrained(model)
    except (OSError, ValueError) as err:
        raise WeightsNotFoundError(
            f"PickScore weights could not be loaded (model {model!r}, processor {processor!r}: "
            f"{reason(err)}); fetch them once with network access (`hf download {model}` and "
            f"`hf download {processor}`) or pass local folders"
        ) from err
    images = proc.image_processor
    size = images.crop_size["height"] if images.do_center_crop else images.size["shortest_edge"]
    preprocess = FramePreprocess(size, tuple(images.image_mean), tuple(images.image_std))
    return PickScorer(clip.to(device).eval(), preprocess, proc.tokenizer, device, model, processor)


def tiny_pick_scorer(seed: int = 0, device: str = "cpu") -> PickScorer:
    """transformers ``CLIPModel`` at toy size (32 px, projection 16), seeded random weights, offline tokenizer."""
    device = resolve_device(device)
    from transformers import CLIPConfig, CLIPModel

    from motionlib.models.tokenizers import clip_tokenizer

    layers = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
    config = CLIPConfig(
        text_config=dict(vocab_size=49408, max_position_embeddings=77, **layers),
        vision_config=dict(image_size=32, patch_size=8, **layers),
        projection_dim=16,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(config)
    return PickScorer(
        model.to(device).eval(), FramePreprocess(32), clip_tokenizer(), device,
        TINY, "motionlib clip_tokenizer(), 32 px",
    )


def pick_scorer(spec: str = "auto", model=None, device: str = "cpu") -> PickScorer | None:
    """The PickScore named by ``spec`` (the notebooks' ``pick`` setting), or ``None`` for none.

    ``"auto"``: tiny if ``model`` is tiny, none for a toy-world model (no toy PickScore exists: a
    preference model needs human preferences), else PickScore_v1; ``"tiny"``: :func:`tiny_pick_scorer`;
    ``"none"``: none; otherwise ``MODEL[:PROCESSOR]`` hub ids or folders for :func:`load_pick_scorer`.
    """
    if spec == "none" or (spec == "auto" and model is not None and getattr(model, "is_toy", False)):
        return None
    if spec == "tiny" or (spec == "auto" and model is not None and model.is_tiny):
        return tiny_pick_scorer(seed=0, device=device)
    if spec == "auto":
        return load_pick_scorer(device=device)
    name, _, processor = spec.partition(":")
    return load_pick_scorer(name, processor or "laion/CLIP-ViT-H-14-laion2B-s32B-b79K", device)
