"""Metrics: known-answer flow similarity on synthetic motion; CLIP / PickScore against hand computation."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from motionlib import metrics
from motionlib.errors import ParameterError, WeightsNotFoundError

FRAMES, SIZE, STEP = 16, 64, 2  # 16 frames of 64 x 64, motion of 2 px per frame


@pytest.fixture(scope="module")
def canvas() -> np.ndarray:
    """Seeded noise blurred with a Gaussian (sigma 2 px): texture Lucas-Kanade tracks well."""
    noise = np.random.default_rng(0).integers(0, 256, (160, 160, 3)).astype(np.float32)
    blurred = cv2.GaussianBlur(noise, (0, 0), 2.0)
    return cv2.normalize(blurred, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def translating(canvas: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The canvas content moving by ``(dx, dy) * STEP`` px per frame (x right, y down), cropped."""
    c = 48
    return np.stack([
        canvas[c - dy * STEP * t : c - dy * STEP * t + SIZE, c - dx * STEP * t : c - dx * STEP * t + SIZE]
        for t in range(FRAMES)
    ])


# --------------------------------------------------------------------------- flow similarity


@pytest.mark.parametrize("variant", ["paper", "robust"])
def test_flow_known_answers(canvas, variant):
    right, left, down = translating(canvas, 1, 0), translating(canvas, -1, 0), translating(canvas, 0, 1)
    flow = lambda a, b: metrics.flow_similarity(a, b, variant=variant)  # noqa: E731
    assert flow(right, right) > 0.99
    assert flow(right, left) < -0.9
    assert abs(flow(right, down)) < 0.15
    assert flow(right, translating(canvas, 1, 1)) == pytest.approx(np.sqrt(0.5), abs=0.05)


def test_flow_static_rule_robust(canvas):
    static, right = translating(canvas, 0, 0), translating(canvas, 1, 0)
    flow = lambda a, b: metrics.flow_similarity(a, b, variant="robust")  # noqa: E731
    assert flow(static, static) == 1.0  # both still: agreement
    assert flow(static, right) == 0.0  # one still, one moving: no agreement
    assert flow(right, static) == 0.0


def test_flow_paper_still_vectors_cannot_be_normalised(canvas):
    static, right = translating(canvas, 0, 0), translating(canvas, 1, 0)
    assert metrics.flow_similarity(static, static) == 0.0  # zero vectors have no direction
    assert metrics.flow_similarity(static, right) == 0.0


def test_flow_textureless_and_lost_tracks(canvas):
    blank = np.full((FRAMES, SIZE, SIZE, 3), 128, np.uint8)
    for variant in ("paper", "robust"):
        assert metrics.flow_similarity(blank, blank, variant=variant) == 0.0  # nothing tracked at all
    half = translating(canvas, 1, 0)
    half[FRAMES // 2 :] = 128  # textured, then blank
    # robust: the blank frame pairs are skipped and the tracks lost at the cut are dropped
    assert metrics.flow_similarity(half, half, variant="robust") > 0.99
    # paper: no corners on blank frames (nothing to average), but every track lost at the cut counts 0
    right = translating(canvas, 1, 0)
    lost = right.copy()
    lost[FRAMES // 2] = 128  # one blank frame: tracks into it are lost in video b only
    full = metrics.flow_similarity(right, right)
    assert metrics.flow_similarity(right, lost) < full - 0.05
    assert metrics.flow_similarity(right, lost, variant="robust") > 0.99  # robust drops them
    noise = np.random.default_rng(1).integers(0, 256, (2, FRAMES, SIZE, SIZE, 3), dtype=np.uint8)
    for variant in ("paper", "robust"):
        value = metrics.flow_similarity(noise[0], noise[1], variant=variant)  # unrelated frames
        assert np.isfinite(value) and -1.0 <= value <= 1.0


def test_flow_robust_thresholds_are_relative_to_the_frame(canvas):
    """0.4 px per frame at 64 px is the same motion as 1.6 px at 256 px: with thresholds in pixels
    (0.5 px) the first would be 'still' and the second 'moving'; relative to the frame both move."""
    import cv2

    def drifting(scale: int, shift: float) -> np.ndarray:
        frame = cv2.resize(canvas[:SIZE, :SIZE], (SIZE * scale, SIZE * scale), interpolation=cv2.INTER_CUBIC)
        return np.stack([cv2.warpAffine(frame, np.float32([[1, 0, shift * scale * t], [0, 1, 0]]),
                                        (SIZE * scale, SIZE * scale), borderMode=cv2.BORDER_REFLECT)
                         for t in range(FRAMES)])

    for scale in (1, 4):
        moving, still = drifting(scale, 0.4), drifting(scale, 0.0)
        assert metrics.flow_similarity(moving, still, variant="robust") == pytest.approx(0.0, abs=0.05), scale
        assert metrics.flow_similarity(moving, moving, variant="robust") > 0.95, scale


def test_flow_rejects_bad_input(canvas):
    video = translating(canvas, 1, 0)
    with pytest.raises(ParameterError, match="same shape"):
        metrics.flow_similarity(video, video[:-1])
    with pytest.raises(ParameterError, match="at least 2 frames"):
        metrics.flow_similarity(video[:1], video[:1])
    with pytest.raises(ParameterError, match="uint8"):
        metrics.flow_similarity(video.astype(np.float32), video)
    with pytest.raises(ParameterError):
        metrics.flow_similarity(video, video, min_motion=-1)
    with pytest.raises(ParameterError, match="variant"):
        metrics.flow_similarity(video, video, variant="farneback")


# --------------------------------------------------------------------------- preprocessing


def test_frame_preprocess_resizes_crops_and_normalises():
    prep = metrics.FramePreprocess(32)
    video = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    mean, std = torch.tensor(metrics.OPENAI_MEAN).view(3, 1, 1), torch.tensor(metrics.OPENAI_STD).view(3, 1, 1)
    expected = (torch.from_numpy(video).permute(0, 3, 1, 2) / 255 - mean) / std
    torch.testing.assert_close(prep(video), expected, atol=1e-5, rtol=0)
    # 40 x 120 frame of red | green | blue thirds: short side to 32 -> 32 x 96, centre crop = the green third
    stripes = np.zeros((1, 40, 120, 3), np.uint8)
    for i in range(3):
        stripes[0, :, 40 * i : 40 * (i + 1), i] = 255
    out = prep(stripes)
    assert out.shape == (1, 3, 32, 32)
    green = (torch.tensor([0.0, 1.0, 0.0]).view(3, 1, 1) - mean) / std
    torch.testing.assert_close(out[0, :, :, 4:28], green.expand(3, 32, 24), atol=1e-4, rtol=0)


# --------------------------------------------------------------------------- CLIP (open_clip)


@pytest.fixture(scope="module")
def clip():
    return metrics.tiny_clip_scorer(seed=0)


@pytest.fixture(scope="module")
def three_frames() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (3, 48, 64, 3), dtype=np.uint8)


def test_clip_score_matches_manual_cosine(clip, three_frames):
    import open_clip

    with torch.no_grad():
        image = F.normalize(clip.model.encode_image(clip.preprocess(three_frames)), dim=-1)
        text = F.normalize(clip.model.encode_text(open_clip.SimpleTokenizer()(["a red car"])), dim=-1)[0]
    expected = 100 * float(np.mean([torch.dot(row, text) for row in image]))
    assert metrics.clip_score(clip, three_frames, "a red car") == pytest.approx(expected, abs=1e-4)
    assert clip.image_embeddings(three_frames).shape == (3, 32)
    torch.testing.assert_close(clip.image_embeddings(three_frames).norm(dim=-1), torch.ones(3))
    assert clip.describe()["pretrained"] == "tiny random"


def test_temporal_consistency(clip, three_frames):
    same = np.repeat(three_frames[:1], 4, axis=0)
    for mode in ("consecutive", "all_pairs"):
        assert metrics.temporal_consistency(clip, same, mode) == pytest.approx(100.0, abs=1e-3)
    e = clip.image_embeddings(three_frames)
    cos = {(i, j): float(torch.dot(e[i], e[j])) for i in range(3) for j in range(3)}
    consecutive = metrics.temporal_consistency(clip, three_frames, "consecutive")
    all_pairs = metrics.temporal_consistency(clip, three_frames, "all_pairs")
    assert consecutive == pytest.approx(100 * (cos[0, 1] + cos[1, 2]) / 2, abs=1e-4)
    assert all_pairs == pytest.approx(100 * (cos[0, 1] + cos[0, 2] + cos[1, 2]) / 3, abs=1e-4)
    assert consecutive < 100 and all_pairs < 100
    with pytest.raises(ParameterError, match="mode"):
        metrics.temporal_consistency(clip, three_frames, "pairs")
    with pytest.raises(ParameterError, match="at least 2"):
        metrics.temporal_consistency(clip, three_frames[:1])


def test_tiny_scorers_are_seeded(three_frames):
    for build in (metrics.tiny_clip_scorer, metrics.tiny_pick_scorer):
        a, b, other = build(seed=0), build(seed=0), build(seed=1)
        assert a.score(three_frames, "a cat") == b.score(three_frames, "a cat")
        assert a.score(three_frames, "a cat") != other.score(three_frames, "a cat")


@pytest.fixture
def offline_empty_hub(monkeypatch, tmp_path):
    """Offline mode and an empty Hugging Face cache, so nothing can be found or fetched (no network wait)."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # read at import time, so patch it too
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))


def test_load_clip_scorer_from_checkpoint_file(clip, three_frames, tmp_path):
    """The real loader on a local checkpoint: the tiny config registered with open_clip, tiny weights saved."""
    import json

    import open_clip

    config = tmp_path / "motionlib-test-tiny-clip.json"
    config.write_text(json.dumps(metrics.TINY_CLIP_CONFIG))
    open_clip.add_model_config(config)
    weights = tmp_path / "tiny.pt"
    torch.save(clip.model.state_dict(), weights)
    loaded = metrics.load_clip_scorer("motionlib-test-tiny-clip", str(weights))
    assert loaded.preprocess == clip.preprocess
    assert loaded.score(three_frames, "a cat") == pytest.approx(clip.score(three_frames, "a cat"), abs=1e-5)
    assert loaded.describe()["pretrained"] == str(weights)


def test_real_clip_missing_weights(offline_empty_hub):
    with pytest.raises(WeightsNotFoundError, match="ViT-L-14.*openai.*network access"):
        metrics.load_clip_scorer()
    with pytest.raises(WeightsNotFoundError, match="not-a-tag"):
        metrics.load_clip_scorer("ViT-B-32", "not-a-tag")
    with pytest.raises(ParameterError, match="unknown open_clip model"):
        metrics.load_clip_scorer("ViT-Nonexistent", "openai")


def test_clip_scorer_spec(offline_empty_hub):
    tiny_model, real_model = SimpleNamespace(is_tiny=True), SimpleNamespace(is_tiny=False)
    assert metrics.clip_scorer("tiny", real_model).describe()["pretrained"] == "tiny random"
    assert metrics.clip_scorer("auto", tiny_model).describe()["pretrained"] == "tiny random"
    with pytest.raises(WeightsNotFoundError, match="ViT-L-14 pretrained='openai'"):
        metrics.clip_scorer("auto", real_model)  # a real model never gets the tiny CLIP
    with pytest.raises(WeightsNotFoundError, match="'not-a-tag' for ViT-B-32"):
        metrics.clip_scorer("ViT-B-32:not-a-tag", tiny_model)


# --------------------------------------------------------------------------- PickScore (transformers)


def test_pick_score_matches_manual_cosine(three_frames):
    pick = metrics.tiny_pick_scorer(seed=0)
    with torch.no_grad():
        pixels = pick.preprocess(three_frames)
        image = F.normalize(pick.model.get_image_features(pixel_values=pixels).pooler_output, dim=-1)
        ids = pick.tokenizer(["a red car"], return_tensors="pt")
        text = F.normalize(pick.model.get_text_features(**ids).pooler_output, dim=-1)[0]
        scale = float(pick.model.logit_scale.exp())
    expected = scale * float(np.mean([torch.dot(row, text) for row in image]))
    assert pick.score(three_frames, "a red car") == pytest.approx(expected, abs=1e-4)
    assert pick.describe()["model"] == "tiny random"


def test_real_pickscore_missing_weights(offline_empty_hub):
    with pytest.raises(WeightsNotFoundError, match="yuvalkirstain/PickScore_v1.*hf download"):
        metrics.load_pick_scorer()


def test_load_pick_scorer_from_local_folders(three_frames, tmp_path):
    """The real loader on local folders: the tiny model saved, with a CLIPProcessor built from arguments."""
    from transformers import CLIPImageProcessor, CLIPProcessor

    tiny = metrics.tiny_pick_scorer(seed=0)
    tiny.model.save_pretrained(tmp_path / "model")
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=images, tokenizer=tiny.tokenizer).save_pretrained(tmp_path / "processor")
    loaded = metrics.load_pick_scorer(str(tmp_path / "model"), str(tmp_path / "processor"))
    assert loaded.preprocess == tiny.preprocess
    assert loaded.score(three_frames, "a cat") == pytest.approx(tiny.score(three_frames, "a cat"), abs=1e-4)


@pytest.mark.parametrize("size, shape", [(224, (2, 180, 320)), (224, (2, 96, 128)), (32, (2, 64, 48)), (32, (1, 48, 64))])
def test_frame_preprocess_matches_open_clips_own_transform(size, shape):
    """Our batched torch preprocessing against open_clip's PIL eval transform: same resize, crop and
    normalisation; only the resampling kernels differ (PIL vs torch bicubic)."""
    import cv2
    import open_clip
    from PIL import Image

    rng = np.random.default_rng(size + shape[1])
    video = np.stack([cv2.GaussianBlur(rng.integers(0, 256, (*shape[1:], 3), dtype=np.uint8), (0, 0), 2)
                      for _ in range(shape[0])])
    ours = metrics.FramePreprocess(size)(video)
    transform = open_clip.image_transform(size, is_train=False, mean=metrics.OPENAI_MEAN, std=metrics.OPENAI_STD)
    theirs = torch.stack([transform(Image.fromarray(frame)) for frame in video])
    assert ours.shape == theirs.shape == (shape[0], 3, size, size)
    difference = (ours - theirs).abs()
    assert difference.mean() < 0.01 and difference.max() < 0.05


def test_clip_score_of_a_non_contiguous_view_is_that_of_its_copy(clip, three_frames):
    edited = three_frames[::-1, ::-1]  # reversed in time and flipped
    assert metrics.clip_score(clip, edited, "a dog") == pytest.approx(
        metrics.clip_score(clip, np.ascontiguousarray(edited), "a dog"))
    assert metrics.clip_score(clip, edited, "a dog") != pytest.approx(metrics.clip_score(clip, three_frames, "a dog"))
