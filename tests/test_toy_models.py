"""The shipped toy-world models and toy CLIP: they load by the real folder path and do what captions say.

Reduced-size checks (a dozen held-out captions, 25 steps); the full measurement is
``motionlib toyworld quality`` (docs/toyworld.md).
"""

from functools import lru_cache

import numpy as np
import pytest

from motionlib import paths, provenance
from motionlib.errors import WeightsNotFoundError
from motionlib.models import load_model
from motionlib.families import toy_names
from motionlib.toyworld import quality, world


@lru_cache(maxsize=None)
def toy(family: str):
    return load_model(family, "toy")


@pytest.fixture(params=toy_names())
def toy_model(request):
    return toy(request.param)


def test_toy_models_load_from_their_diffusers_folders(toy_model):
    folder = paths.TOY_MODELS_DIR / toy_model.family
    assert (folder / "model_index.json").is_file() and (folder / "toyworld.json").is_file()
    assert not list(folder.rglob("*.bin")) and list(folder.rglob("*.safetensors"))
    assert toy_model.source == "toy" and toy_model.is_toy and not toy_model.is_tiny
    d = toy_model.defaults
    assert (d.num_frames, d.height, d.width, d.num_steps) == (8, 32, 32, 50)
    assert provenance.label(toy_model) == provenance.TOY_LABEL


def test_shipped_weights_fit_the_budget():
    total = sum(p.stat().st_size for p in paths.TOY_MODELS_DIR.rglob("*.safetensors"))
    assert total <= 40 * 2**20, f"{total / 2**20:.1f} MiB of toy weights"


@pytest.mark.parametrize("family", ["modelscope", "latte"])
def test_the_customization_models_are_the_toy_models_fine_tuned_for_open_captions(family):
    """``toy:<family>-free`` (what Tab. 1 in the toy world loads) is the shipped toy model trained further
    with captions that leave the direction, colour and background open; its record names the stages."""
    import json

    from motionlib.models.loading import weights_digest
    from motionlib.toyworld.training import total_minutes

    base, free = (paths.TOY_MODELS_DIR / name for name in (family, f"{family}-free"))
    assert weights_digest(base) != weights_digest(free)
    record, base_record = (json.loads((folder / "toyworld.json").read_text()) for folder in (free, base))
    assert record["finetune"]["settings"]["appearance_free"] > 0 and record["finetune"]["settings"]["direction_free"] > 0
    assert record["finetune"]["base"]["settings"] == {k: v for k, v in base_record["settings"].items()
                                                      if k in record["finetune"]["base"]["settings"]}
    assert total_minutes(record) == pytest.approx(total_minutes(base_record) + record["finetune"]["wall_minutes"])
    for folder in (base, free):  # the VAE and the frozen text encoder are the base model's
        for part in ("vae", "text_encoder"):
            assert weights_digest(folder / part) == weights_digest(base / part), (folder, part)


def test_no_toy_model_is_a_clear_error():
    with pytest.raises(WeightsNotFoundError, match="toyworld train"):
        load_model("cogvideox-5b", "toy")


# Attributes a shipped toy model does NOT generate from its caption (full measurement: docs/toyworld.md,
# "Generation quality"). Strict xfail: a retrained model that learns one makes its test fail until listed off.
NOT_LEARNED = {
    ("modelscope", "shape"): "toy ModelScope: shape 0.74 on 43 x 2 held-out samples (bar 0.85); below 2/3 here",
    ("latte", "shape"): "toy Latte at guidance 7.5: shape 0.58 on 43 x 2 held-out samples",
    ("cogvideox", "shape"): "toy CogVideoX: shape 0.38 on 43 x 2 held-out samples; its VAE round trip reads 0.40",
}
# What a toy model's VAE loses, so no reconstruction through it can keep (docs/toyworld.md).
VAE_LIMITED = {"cogvideox": "toy CogVideoX's VAE (4x in time) reconstructs at 22.4 dB: its round trip reads shape "
                            "0.40 and texture 0.40 on 20 held-out clips"}


@lru_cache(maxsize=None)
def held_out_accuracy(family: str):
    combos = sorted(world.held_out_combinations())[::4][:12]
    rows = quality.generation_quality(toy(family), combos, samples=1, num_steps=25, progress=False)
    return quality.accuracy_table(rows).iloc[0]


@pytest.mark.parametrize("family", toy_names())
@pytest.mark.parametrize("attribute", ["colour", "shape", "direction"])  # chance: 1/4, 1/3, 1/4
def test_toy_models_generate_what_held_out_captions_say(family, attribute, request):
    if (family, attribute) in NOT_LEARNED:
        request.applymarker(pytest.mark.xfail(reason=NOT_LEARNED[family, attribute], strict=True))
    accuracy = held_out_accuracy(family)
    assert accuracy[f"{attribute}_ok"] >= 2 / 3, accuracy.to_dict()


@lru_cache(maxsize=None)
def reconstructed(family: str):
    specs = world.sample_specs(2, 3, "held_out")
    return quality.reconstruction_quality(toy(family), specs, guidance=((1.0, 1.0),), num_steps=25, progress=False)


def inverted(family: str):
    rows = reconstructed(family)
    return rows[rows["how"] == "invert g 1, resample g 1"]


@pytest.mark.parametrize("family", toy_names())
def test_inversion_then_resampling_with_the_caption_keeps_every_attribute(family, request):
    if family in VAE_LIMITED:
        request.applymarker(pytest.mark.xfail(reason=VAE_LIMITED[family], strict=True))
    inverted_rows = inverted(family)
    assert inverted_rows[["colour_ok", "shape_ok", "texture_ok", "background_ok", "direction_ok"]].all(axis=None)
    assert (inverted_rows["trajectory_error_px"] < 1.5).all()


@pytest.mark.parametrize("family", toy_names())
def test_inversion_then_resampling_loses_little_beyond_the_vae(family):
    """DDIM inversion + resampling with c at guidance 1 against the VAE's own round trip (the ceiling):
    at most 3 dB below it, i.e. at most twice the VAE's squared error (25 steps here)."""
    rows = reconstructed(family).set_index(["clip", "how"])["psnr_db"].unstack()
    assert (rows["vae"] - rows["invert g 1, resample g 1"] < 3.0).all(), rows


@pytest.mark.parametrize("family", toy_names())
def test_inversion_then_resampling_with_the_caption_reconstructs_the_pixels(family, request):
    if family in VAE_LIMITED:
        request.applymarker(pytest.mark.xfail(reason=VAE_LIMITED[family], strict=True))
    assert (inverted(family)["psnr_db"] > 24).all(), inverted(family)[["psnr_db"]]


def test_toy_clip_ranks_the_true_caption_first():
    from motionlib.metrics import clip_scorer

    scorer = clip_scorer("toy")
    assert scorer.name.startswith("local-dir:") and type(scorer.model).__name__ == "CLIP"
    rows = quality.clip_ranking(scorer, world.sample_specs(12, 4, "held_out"), progress=False)
    assert rows["clip_top1"].mean() >= 0.75
    spec = world.ClipSpec("circle", "red", "plain", "gray", "left", start=(24, 16))
    video = world.render(spec)
    assert scorer.score(video, world.caption(spec)) > scorer.score(video, world.caption(spec.with_attribute("colour", "blue")))


def _sample_with_cli(family: str, caption: str, folder) -> np.ndarray:
    """`motionlib sample --model family --source toy --prompt caption`, read back from the mp4 as int
    ``(F, H, W, 3)`` (seed 0, deterministic)."""
    from motionlib.cli import main
    from motionlib.data import read_video

    out = folder / "x.mp4"
    assert main(["sample", "--model", family, "--source", "toy", "--prompt", caption, "--out", str(out)]) == 0
    return read_video(out, None).astype(int)


def _red(video: np.ndarray) -> np.ndarray:
    """Pixels that are clearly red, ``(F, H, W)`` bool."""
    return (video[..., 0] > 150) & (video[..., 1] < 110) & (video[..., 2] < 110)


@pytest.fixture(scope="module")
def red_square_moving_right(tmp_path_factory):
    """The toy ModelScope's sample of the checker's caption and its red pixels."""
    video = _sample_with_cli("modelscope", "a red square moves right on a gray background",
                             tmp_path_factory.mktemp("sample"))
    return video, _red(video)


def test_sample_command_draws_the_caption_by_an_independent_measurement(red_square_moving_right):
    """Not the project's oracle: thresholds on the mp4's pixels."""
    video, red = red_square_moving_right
    assert red.reshape(len(video), -1).sum(axis=1).min() > 20  # an object of red pixels in every frame
    corners = video[:, :3, :3].reshape(-1, 3)
    assert np.abs(corners - 128).max() < 40  # on gray


def test_sample_command_moves_the_object_as_captioned(red_square_moving_right):
    video, red = red_square_moving_right
    xs = [np.nonzero(f)[1].mean() for f in red]
    assert xs[-1] - xs[0] > 5 and np.all(np.diff(xs) > -1.5)  # rightwards, frame after frame


def _object_track(video: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Independent of the oracle: pixels far from the border's median colour, their centroid per
    frame ``(F, 2)`` (x, y) and their mean colour ``(3,)``."""
    border = np.concatenate([video[:, 0], video[:, -1], video[:, :, 0], video[:, :, -1]], axis=1)
    background = np.median(border.reshape(-1, 3), axis=0)
    mask = np.abs(video - background).sum(-1) > 120
    assert mask.reshape(len(video), -1).sum(axis=1).min() > 20, "no object in some frame"
    ys, xs = np.mgrid[: video.shape[1], : video.shape[2]]
    track = np.array([[xs[m].mean(), ys[m].mean()] for m in mask])
    return track, video[mask].mean(axis=0)


@pytest.mark.parametrize("caption", [
    "a blue circle moves left on a white background",
    "a green triangle moves up on a black background",
    "a yellow striped square moves down on a gray background",
])
def test_toy_modelscope_moves_other_captions_their_way(caption, tmp_path):
    """Other directions, colours, shapes and backgrounds, by the same kind of pixel measurement."""
    track, colour = _object_track(_sample_with_cli("modelscope", caption, tmp_path).astype(float))
    said = world.parse_caption(caption)
    step = np.array(world.DIRECTIONS[said["direction"]])
    along, across = (track[-1] - track[0]) @ step, abs((track[-1] - track[0]) @ step[::-1])
    assert along > 5 and across < along / 2, track
    chroma = {name: np.array(rgb) / sum(rgb) for name, rgb in world.COLOURS.items()}  # brightness aside
    nearest = min(chroma, key=lambda name: np.abs(chroma[name] - colour / colour.sum()).sum())
    assert nearest == said["colour"], colour


def test_toy_cogvideox_sample_is_a_red_square_moving_right(tmp_path):
    """The same independent pixel check on the toy CogVideoX, the toy model that draws direction."""
    video = _sample_with_cli("cogvideox", "a red square moves right on a gray background", tmp_path)
    red = _red(video)
    assert red.reshape(len(video), -1).sum(axis=1).min() > 20
    assert np.abs(video[:, :3, :3].reshape(-1, 3) - 128).max() < 40
    xs = [np.nonzero(f)[1].mean() for f in red]
    assert xs[-1] - xs[0] > 5 and np.all(np.diff(xs) > -1.5)  # rightwards, frame after frame


def test_a_toy_model_warns_once_about_words_outside_its_vocabulary(capsys):
    model = load_model("modelscope", "toy")
    model.encode_prompt("a corgi surfing")
    model.encode_prompt("a corgi surfing")
    model.encode_prompt("a red square moves on a gray background")  # direction-free: every word known
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'corgi', 'surfing'" in err[0] and "colour: red, green, blue, yellow" in err[0]
    load_model("modelscope", "tiny").encode_prompt("a corgi surfing")  # tiny models have no vocabulary
    assert capsys.readouterr().err == ""
