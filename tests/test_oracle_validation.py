"""The oracle on videos unlike rendered clips, and the independent reading that checks it."""

import numpy as np
import pandas as pd

from motionlib.toyworld import independent, oracle, world


def _washed(spec: world.ClipSpec, toward: float = 0.8) -> np.ndarray:
    """``spec``'s clip blended ``toward`` its background colour, uint8 (F, H, W, 3)."""
    bg = np.array(world.BACKGROUNDS[spec.background], float)
    return np.round((1 - toward) * world.render(spec) + toward * bg).astype(np.uint8)


def _rendered(n: int, seed: int) -> list[world.ClipSpec]:
    """``n`` clips, the colours in turn (every shape, texture, background and direction drawn)."""
    specs = world.sample_specs(n, seed, "any", world.PATHS)
    colours = list(world.COLOURS)
    return [world.ClipSpec(s.shape, colours[i % len(colours)], s.texture, s.background, s.direction, s.path,
                           s.speed, s.start) for i, s in enumerate(specs)]


def test_grey_noise_reads_no_colour_never_yellow():
    rng = np.random.default_rng(0)
    everywhere = np.clip(128 + rng.normal(0, 30, (8, 32, 32, 1)), 0, 255).repeat(3, -1).astype(np.uint8)
    blob = np.full((8, 32, 32, 1), 128.0)
    blob[:, 8:24, 8:24] += rng.normal(0, 40, (8, 16, 16, 1))  # grey noise inside a flat border
    blob = np.clip(blob, 0, 255).repeat(3, -1).astype(np.uint8)
    for video in (everywhere, blob):
        assert oracle.read(video, checks=False).colour == "yellow"  # the defect: grey is nearest yellow
        reading = oracle.read(video)
        assert reading.colour is None and reading.unreadable
        assert independent.read(video).colour is None
    assert oracle.read(everywhere).unreadable.startswith("border not flat") and not oracle.read(everywhere).found
    assert oracle.read(blob).unreadable.startswith("colour: unsaturated") and oracle.read(blob).found


def test_a_washed_out_clip_reads_no_colour():
    named = 0
    for colour in world.COLOURS:
        for background in ("gray", "white"):
            spec = world.ClipSpec("triangle", colour, "striped", background, "left", start=(22.0, 16.0))
            video = _washed(spec)
            named += oracle.read(video, checks=False).colour is not None
            assert oracle.read(video).colour is None, (colour, background)
    assert named >= 4  # without its checks the oracle names a colour for the washed-out clips on white


def test_a_frame_filling_object_is_unreadable_with_a_reason():
    video = np.full((8, 32, 32, 3), 128, np.uint8)
    for i in range(8):
        video[i, 3 + i // 2:29, 3:29] = world.COLOURS["red"]  # an object too big for the world, the border flat
    assert oracle.read(video, checks=False).found
    reading = oracle.read(video)
    assert reading.unreadable.startswith("mask too large") and not reading.found
    assert all(v is None for v in reading.attributes().values())
    assert reading.as_dict()["unreadable"] == reading.unreadable


def test_one_spilled_frame_has_no_object_and_leaves_the_colour_readable():
    spec = world.ClipSpec("triangle", "yellow", "plain", "white", "up", start=(16.0, 24.0))
    video = world.render(spec)
    video[-1] = np.where(video[-1] == 240, 200, video[-1])  # the last frame's background darkens (a model sample did)
    assert oracle.object_masks(video)[-1].mean() > 0.9  # the whole frame as its object
    reading = oracle.read(video)
    assert reading.colour == "yellow" and reading.unreadable == "" and reading.direction == "up"
    assert np.isnan(reading.trajectory[-1]).all() and np.isfinite(reading.trajectory[:-1]).all()


def test_rendered_clips_read_as_before_and_stay_readable():
    for spec in _rendered(48, seed=3):
        video = world.render(spec)
        checked, unchecked = oracle.read(video), oracle.read(video, checks=False)
        assert checked.unreadable == "" and checked.attributes() == unchecked.attributes()
        assert np.allclose(checked.trajectory, unchecked.trajectory)


def test_the_oracle_and_the_independent_reading_agree_on_rendered_clips():
    specs = _rendered(36, seed=17)
    agree = {a: [] for a in ("colour", "shape", "direction")}
    for spec in specs:
        video = world.render(spec)
        ours, theirs = oracle.read(video), independent.read(video)
        for a in agree:
            agree[a].append(getattr(ours, a) == getattr(theirs, a))
    assert np.mean(agree["colour"]) == 1.0 and np.mean(agree["direction"]) == 1.0
    assert np.mean(agree["shape"]) >= 0.9


def test_the_independent_colour_is_right_on_rendered_clips_of_each_colour():
    specs = _rendered(24, seed=29)
    for spec in specs:
        assert independent.read(world.render(spec)).colour == spec.colour, world.caption(spec)
    assert {s.colour for s in specs} == set(world.COLOURS)


def test_agreement_summary_counts_and_intervals():
    rows = pd.DataFrame({
        "colour_oracle": ["red", None, "yellow", "blue"], "colour_independent": ["red", "red", "green", None],
        "colour_unchecked": ["red", "yellow", "yellow", "blue"],
        "shape_oracle": ["circle"] * 4, "shape_independent": ["circle", "square", "circle", "circle"],
        "background_oracle": ["gray"] * 4, "background_independent": ["gray"] * 4,
        "direction_oracle": ["left", "up", None, None], "direction_independent": ["left", "down", "up", None],
        "oracle_unreadable": ["", "colour: unsaturated", "mask too large", "border not flat"]})
    table = independent.agreement_summary(rows).set_index("attribute")
    assert table.loc["colour", ["both_read", "agree", "oracle_unread", "independent_unread"]].tolist() == [2, 1, 1, 1]
    assert table.loc["colour_unchecked", "oracle_yellow_independent_not"] == 2
    assert table.loc["shape", "agreement"] == 0.75 and table.loc["shape", "lo"] < 0.75 < table.loc["shape", "hi"]
    assert table["oracle_unreadable_video"].iloc[0] == 2
    confusion = independent.colour_confusion(rows)
    assert confusion.query("reader == 'oracle unchecked' and oracle == 'yellow'")[["red", "green"]].sum().sum() == 2


def test_validate_oracle_writes_rows_summary_and_provenance(tmp_path):
    from motionlib.cli import main

    out = tmp_path / "v"
    assert main(["toyworld", "validate-oracle", "--model", "modelscope", "--source", "tiny", "--samples", "4",
                 "--steps", "2", "--out", str(out)]) == 0
    rows = pd.read_csv(out / "oracle_agreement_rows_modelscope.csv")
    assert len(rows) == 4 and (rows["caption"] == "free").sum() == 1 and rows["seed"].tolist() == [0, 1, 2, 3]
    summary = pd.read_csv(out / "oracle_agreement_modelscope.csv")
    assert set(summary["attribute"]) == {"colour", "shape", "background", "direction", "colour_unchecked"}
    assert (out / "oracle_agreement_modelscope.provenance.json").exists()
    assert (out / "oracle_colour_confusion_modelscope.csv").exists()
