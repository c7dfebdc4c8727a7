"""Video reading/writing, frame sampling, and the bundled, manifest and official TGVE datasets."""

import csv

import numpy as np
import pytest

from motionlib.data import (
    EDIT_KINDS, TGVE_CSV, bundled_dataset, count_frames, from_model_pixels, load_tgve,
    make_tgve_miniature, read_tgve_csv, read_video, sample_indices, tgve_manifest,
    to_model_pixels, write_frame_grid, write_video,
)
from motionlib.errors import DatasetError, NotEnoughFramesError, ParameterError, VideoReadError
from motionlib.videos import select_videos


def test_the_data_layer_knows_nothing_of_the_toy_world():
    """No module of motionlib.data imports motionlib.toyworld, not even inside a function, and importing
    motionlib.data loads none of it (the selection language above both: motionlib.videos)."""
    import ast
    import subprocess
    import sys
    from pathlib import Path

    import motionlib.data

    for path in Path(motionlib.data.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            assert not any(n.startswith("motionlib.toyworld") for n in names), f"{path.name}:{node.lineno}"
    check = ("import sys, motionlib.data; "
             "print([m for m in sys.modules if m.startswith('motionlib.toyworld')])")
    assert subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"


def ramp_video(frames=12, h=24, w=40):
    """Frame i is filled with value 20*i (so the sampled indices can be read back)."""
    return np.stack([np.full((h, w, 3), 20 * i, np.uint8) for i in range(frames)])


def test_bundled_clips_read_at_model_resolution():
    items = bundled_dataset()
    assert [i.name for i in items] == ["car-turn", "man-skiing", "rabbit-watermelon"]
    for item in items:
        assert set(item.edits) == set(EDIT_KINDS) and item.caption
        video = read_video(item.path, num_frames=16, size=(64, 48))
        assert video.shape == (16, 64, 48, 3) and video.dtype == np.uint8
        assert video.std() > 10  # real content, not a blank


def test_frame_sampling_even_linspace_and_stride(tmp_path):
    assert list(sample_indices(10, 4)) == [0, 3, 6, 9]
    assert list(sample_indices(32, 16, "linspace"))[7:10] == [14, 17, 19]  # uneven steps
    even = sample_indices(32, 16)
    assert list(even) == list(range(0, 31, 2)) and set(np.diff(even)) == {2}  # one step throughout
    assert list(sample_indices(80, 16, 4)) == list(range(0, 61, 4))
    with pytest.raises(NotEnoughFramesError, match="at stride 5 need 76"):
        sample_indices(60, 16, 5)
    with pytest.raises(ParameterError, match="frame sampling"):
        sample_indices(60, 16, "random")
    folder = tmp_path / "frames"
    folder.mkdir()
    import cv2
    for i, frame in enumerate(ramp_video()):
        cv2.imwrite(str(folder / f"{i:05d}.png"), frame)
    assert [int(v[0, 0, 0]) for v in read_video(folder, num_frames=4)] == [0, 60, 120, 180]  # 0, 3, 6, 9
    linspace = read_video(folder, num_frames=4, sampling="linspace")
    assert [int(v[0, 0, 0]) for v in linspace] == [0, 80, 140, 220]  # indices 0, 4, 7, 11


def test_center_crop_keeps_the_middle(tmp_path):
    video = np.zeros((2, 20, 60, 3), np.uint8)
    video[:, :, 20:40] = 255  # a white band in the middle third
    folder = tmp_path / "f"
    folder.mkdir()
    import cv2
    for i, frame in enumerate(video):
        cv2.imwrite(str(folder / f"{i}.png"), frame)
    out = read_video(folder, num_frames=2, size=20)
    assert out.shape == (2, 20, 20, 3) and out.min() == 255


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_write_then_read_round_trips(tmp_path, suffix):
    rng = np.random.default_rng(0)
    video = np.repeat(rng.integers(0, 255, (6, 8, 10, 1), dtype=np.uint8), 4, 1).repeat(4, 2)
    video = np.repeat(video, 3, axis=3)
    path = write_video(tmp_path / f"v{suffix}", video, fps=8)
    assert count_frames(path) == 6
    back = read_video(path, num_frames=None)
    assert back.shape == video.shape
    assert np.abs(back.astype(int) - video).mean() < 12  # lossy codec, same picture


def test_model_pixels_round_trip():
    video = np.random.default_rng(1).integers(0, 256, (3, 4, 5, 3), dtype=np.uint8)
    pixels = to_model_pixels(video)
    assert pixels.shape == (1, 3, 3, 4, 5) and pixels.min() >= -1 and pixels.max() <= 1
    assert np.array_equal(from_model_pixels(pixels), video)


def test_frame_grid_has_one_row_per_video(tmp_path):
    from PIL import Image
    path = write_frame_grid(tmp_path / "g.png", [ramp_video(), ramp_video()], num_frames=4, gap=2)
    assert Image.open(path).size == (4 * 40 + 3 * 2, 2 * 24 + 2)


def test_manifest_has_76_videos_with_four_edits():
    items = tgve_manifest()
    assert len(items) == 76
    assert {s: len(tgve_manifest(s)) for s in ("DAVIS_480p", "youtube_480p", "videvo_480p")} == {
        "DAVIS_480p": 16, "youtube_480p": 23, "videvo_480p": 37}
    assert all(all(i.edits[k] for k in EDIT_KINDS) and i.num_frames in (32, 128) for i in items)


def test_tgve_loader_reads_the_official_layout(tmp_path):
    root = make_tgve_miniature(tmp_path / "tgve", per_subset=2, num_frames=8)
    raw = list(csv.reader(open(root / TGVE_CSV)))
    assert ["DAVIS Videos:"] == [c for c in raw[2] if c]  # section-header rows are really there
    items = load_tgve(root)
    manifest = {i.name: i for i in tgve_manifest()}
    assert len(items) == 6 and [i.subset for i in items][::2] == ["DAVIS_480p", "youtube_480p", "videvo_480p"]
    for item in items:
        assert item.caption == manifest[item.name].caption
        assert item.edit("object") == manifest[item.name].edits["object"]
        assert item.num_frames == 8 and read_video(item.path, num_frames=4, size=16).shape == (4, 16, 16, 3)
    davis = load_tgve(root, subset="DAVIS_480p")
    assert len(davis) == 2
    one = load_tgve(root, videos=[items[3].name])
    assert [i.name for i in one] == [items[3].name]
    assert [i.name for i in select_videos("all", tgve_root=root, subset="youtube_480p")] == [
        i.name for i in items if i.subset == "youtube_480p"]
    # the command line's one-word lists (--videos all, --videos toy:2) mean the word
    assert [i.name for i in select_videos(["all"], tgve_root=root)] == [i.name for i in items]
    assert [i.name for i in select_videos(["toy:2"])] == [i.name for i in select_videos("toy:2")]
    assert [i.name for i in select_videos(["bundled"])] == [i.name for i in bundled_dataset()]


def test_tgve_csv_without_sections_is_rejected(tmp_path):
    path = tmp_path / TGVE_CSV
    path.write_text("Video name,Our GT caption,Style Change Caption,Object Change Caption,"
                    "Background Change Caption,Multiple Changes Caption\nbmx,a,b,c,d,e\n")
    with pytest.raises(DatasetError, match="before any section row"):
        read_tgve_csv(path)


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(VideoReadError, match="video not found"):
        read_video(tmp_path / "missing.mp4")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"not a video at all" * 50)
    with pytest.raises(VideoReadError, match="corrupt or not a video"):
        read_video(corrupt)
    short = write_video(tmp_path / "short.mp4", ramp_video(frames=5, h=16, w=16))
    with pytest.raises(NotEnoughFramesError, match="has 5 frames but 16 were asked"):
        read_video(short, num_frames=16)
    with pytest.raises(DatasetError, match="not a folder"):
        load_tgve(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="unknown bundled clips"):
        select_videos(["no-such-clip"])
    with pytest.raises(DatasetError, match="unknown edit kind"):
        bundled_dataset()[0].edit("colour")


def test_method_outputs_are_found_by_name_and_a_missing_folder_is_an_error(tmp_path):
    from motionlib.data import read_method_output, write_video
    from motionlib.errors import DatasetError

    frames = np.zeros((6, 16, 16, 3), np.uint8)
    frames[:, :, :8] = 200
    write_video(tmp_path / "car-turn__object.mp4", frames)
    found = read_method_output(tmp_path, "car-turn", "object", 4, (16, 16))
    assert found.shape == (4, 16, 16, 3) and found[:, :, :6].mean() > 150 and found[:, :, 10:].mean() < 50
    assert read_method_output(tmp_path, "car-turn", "style", 4, (16, 16)) is None
    with pytest.raises(DatasetError, match="no folder"):
        read_method_output(tmp_path / "nope", "car-turn", "object", 4, 16)
