"""The toy world: its truth, the oracle that reads it, its tokenizers, dataset and training loop."""

import itertools
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from motionlib.errors import ParameterError
from motionlib.toyworld import claim, components, oracle, quality, world
from motionlib.toyworld.dataset import APPEARANCE_EDITS, EDIT_ATTRIBUTES, find_toy_clip, toy_dataset, toy_spec_of


# ------------------------------------------------------------------------------------ the world
def test_captions_parse_back_to_their_attributes():
    for combo in world.all_combinations():
        for path in world.PATHS:
            spec = world.ClipSpec(*combo, path=path)
            parsed = world.parse_caption(world.caption(spec))
            assert parsed == {k: getattr(spec, k) for k in parsed}
    assert world.caption(world.ClipSpec("square", "red", "plain", "gray", "right")) == \
        "a red square moves right on a gray background"
    with pytest.raises(ParameterError, match="not a toy-world caption"):
        world.parse_caption("a purple hexagon moves left on a gray background")


def test_a_caption_can_leave_the_direction_open():
    spec = world.ClipSpec("square", "red", "striped", "gray", "right")
    free = world.caption(spec, with_direction=False)
    assert free == "a red striped square moves on a gray background"
    assert world.parse_caption(free) == {**world.parse_caption(world.caption(spec)), "direction": ""}
    drawn = {world.spec_from_caption(free, seed).direction for seed in range(40)}
    assert drawn == set(world.DIRECTIONS)  # a clip for it takes its direction from the seed
    from motionlib.toyworld.training import without_direction

    assert without_direction(world.caption(spec)) == free == without_direction(free)
    with pytest.raises(ParameterError, match="not a toy-world caption"):
        world.parse_caption("a red square moves sideways on a gray background")


def test_a_caption_can_leave_the_colour_and_background_open_too():
    spec = world.ClipSpec("square", "red", "striped", "gray", "right")
    open_ = world.caption(spec, omit=("direction", "colour", "background"))
    assert open_ == "a striped square moves"
    assert world.parse_caption(open_) == {**world.parse_caption(world.caption(spec)), "direction": "", "colour": "",
                                         "background": ""}
    assert world.caption(spec, omit=("colour",)) == "a striped square moves right on a gray background"
    for combo in world.all_combinations()[::7]:
        for omit in (("colour",), ("background",), ("direction", "background")):
            c = world.ClipSpec(*combo)
            parsed = world.parse_caption(world.caption(c, omit=omit))
            assert parsed == {k: "" if k in omit else getattr(c, k) for k in parsed}
    with pytest.raises(ParameterError, match="can leave open only"):
        world.caption(spec, omit=("shape",))
    for bad in ("a red moves left", "a red square moves on a gray", "a square moves on a purple background"):
        with pytest.raises(ParameterError, match="not a toy-world caption"):
            world.parse_caption(bad)


def test_rendered_object_follows_its_true_trajectory_and_stays_in_frame():
    for spec in world.sample_specs(40, 3, "any", world.PATHS):
        video = world.render(spec)
        assert video.shape == (8, 32, 32, 3) and video.dtype == np.uint8
        background = np.array(world.BACKGROUNDS[spec.background])
        for frame, (x, y) in zip(video, world.trajectory(spec)):
            weight = (np.abs(frame.astype(float) - background).sum(-1) > 0)
            if spec.shape != "triangle":  # triangles reach 8.7 px from their centre and may touch it (docs/toyworld.md)
                assert not weight[[0, -1]].any() and not weight[:, [0, -1]].any()  # never touches the border
            if spec.shape != "triangle" and spec.texture == "plain":  # symmetric, uniform: centroid = centre
                w = np.abs(frame.astype(float) - background).sum(-1)
                ys, xs = np.mgrid[:32, :32] + 0.5
                # 4x supersampling puts edges on a quarter-pixel grid: the centroid is within 1/8 px
                assert abs((w * xs).sum() / w.sum() - x) < 0.15 and abs((w * ys).sum() / w.sum() - y) < 0.15
    spec = world.sample_specs(1, 0)[0]
    assert np.array_equal(world.render(spec), world.render(spec))  # deterministic


def test_held_out_combinations_are_fixed_never_trained_and_leave_every_pair_in_training():
    held = world.held_out_combinations()
    assert len(held) == 43 and held == world.held_out_combinations()
    train = [c for c in world.all_combinations() if c not in held]
    for i, j in itertools.combinations(range(5), 2):
        assert {(c[i], c[j]) for c in train} == {(c[i], c[j]) for c in world.all_combinations()}
    assert not any(s.combination in held for s in world.sample_specs(500, 0, "train"))
    assert all(s.combination in held for s in world.sample_specs(50, 0, "held_out"))
    assert {s.path for s in world.sample_specs(200, 0, "train")} == set(world.TRAINING_PATHS) == {"straight"}


def test_the_training_comparison_set_is_seeded_distinct_and_never_held_out():
    combos = world.training_combinations(43, 0)
    assert combos == world.training_combinations(43, 0) != world.training_combinations(43, 1)
    assert len(set(combos)) == 43 and not set(combos) & world.held_out_combinations()
    with pytest.raises(ParameterError, match="ask for 1 to 389"):
        world.training_combinations(400)


def test_toyworld_quality_measures_generation_on_training_combinations_when_asked(tmp_path):
    import pandas as pd

    from motionlib.cli import main

    out = tmp_path / "q"
    assert main(["toyworld", "quality", "--model", "modelscope", "--source", "tiny", "--split", "train",
                 "--samples", "1", "--clips", "0", "--steps", "2", "--out", str(out)]) == 0
    rows = pd.read_csv(out / "generation_train_modelscope.csv")
    asked = {world.caption(world.ClipSpec(*c)) for c in world.training_combinations(43, 0)}
    assert set(rows["prompt"]) == asked and not rows["held_out"].any()
    assert not list(out.glob("reconstruction_*"))


# ------------------------------------------------------------------------------------ the oracle
def test_oracle_reads_every_attribute_of_rendered_clips():
    rows = quality.oracle_accuracy(300, seed=5, progress=False)
    table = quality.accuracy_table(rows)
    assert (table.filter(like="_ok") == 1.0).all(axis=None), table
    assert rows["trajectory_error_px"].max() < 0.5  # measured: docs/toyworld.md
    assert rows["speed_error"].abs().max() < 0.1


def test_the_oracle_s_fill_tells_a_rendered_square_from_a_circle():
    specs = world.sample_specs(12, 2)
    fill = {shape: [oracle.read(world.render(replace(spec, shape=shape))).fill for spec in specs]
            for shape in ("circle", "square")}
    assert max(fill["circle"]) < 0.85 < min(fill["square"]), fill


def test_oracle_tells_still_objects_zigzags_and_missing_objects():
    still = world.ClipSpec("circle", "blue", "plain", "white", "left", speed=0.0, start=(16, 16))
    assert oracle.read(world.render(still)).direction == "still"
    zig = world.ClipSpec("square", "red", "dotted", "black", "up", "zigzag", 2.0, (16, 24))
    assert oracle.read(world.render(zig)).path == "zigzag"
    empty = np.full((8, 32, 32, 3), 128, np.uint8)
    reading = oracle.read(empty)
    assert not reading.found and reading.direction is None and reading.background == "gray"
    with pytest.raises(ParameterError, match="uint8"):
        oracle.read(np.zeros((8, 32, 32, 3), np.float32))


def test_oracle_follows_a_recoloured_video():
    spec = world.ClipSpec("triangle", "red", "striped", "gray", "right", start=(8, 16))
    video = world.render(spec)
    swapped = video[..., [2, 1, 0]]  # red <-> blue channels: a blue triangle on the same gray
    assert oracle.read(video).colour == "red" and oracle.read(swapped).colour == "blue"
    assert oracle.read(video[:, :, ::-1]).direction == "left"  # mirrored: moves the other way


def test_the_oracle_tells_toy_clips_from_other_videos(tmp_path, capsys):
    from motionlib.cli import main
    from motionlib.data import bundled_dataset, read_video, write_video

    specs = world.sample_specs(300, seed=11, split="any", paths=world.PATHS)
    assert not any(oracle.not_toy_world(world.render(spec)) for spec in specs)
    two = np.full((8, 32, 32, 3), 128, np.uint8)
    two[:, 4:14, 4:14] = two[:, 18:28, 18:28] = (220, 40, 40)  # two red squares of one size on gray
    assert oracle.not_toy_world(two) == ["no single object on the background in most frames"]
    for item in bundled_dataset():  # real clips, even at the world's size, are refused
        assert oracle.not_toy_world(read_video(item.path, 8, 32)), item.name
    car = bundled_dataset()[0].path
    assert main(["toyworld", "read", str(car)]) == 2
    err = capsys.readouterr().err
    assert "does not look like a toy-world clip" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert main(["toyworld", "read", "--force", str(car)]) == 0
    assert capsys.readouterr().out.startswith("UNRELIABLE (does not look like a toy-world clip")
    clip = write_video(tmp_path / "clip.mp4", world.render(specs[1]))
    assert main(["toyworld", "read", str(clip)]) == 0
    said = capsys.readouterr().out
    assert f"colour={specs[1].colour}" in said and f"direction={specs[1].direction}" in said
    rng = np.random.default_rng(0)
    grey = np.clip(128 + rng.normal(0, 30, (8, 32, 32, 1)), 0, 255).repeat(3, axis=-1).astype(np.uint8)
    noise = write_video(tmp_path / "grey.gif", grey)
    assert main(["toyworld", "read", "--force", str(noise)]) == 0
    said = capsys.readouterr().out
    assert "unreadable: border not flat" in said and "colour=None" in said and "yellow" not in said


# ------------------------------------------------------------------------------------ tokenizers
def test_toy_clip_tokenizer_splits_world_words_as_clip_does():
    from motionlib.models.tokenizers import clip_tokenizer

    toy, full = components.toy_clip_tokenizer(), clip_tokenizer()
    for caption in components.caption_corpus()[::37]:
        ours = toy.convert_ids_to_tokens(toy(caption).input_ids)
        assert ours == full.convert_ids_to_tokens(full(caption).input_ids)
    assert len(toy) < 700


def test_toy_t5_tokenizer_has_one_piece_per_world_word():
    tok = components.toy_t5_tokenizer()
    caption = "a red striped circle zigzags left on a gray background"
    assert tok.convert_ids_to_tokens(tok(caption).input_ids)[:-1] == ["▁" + w for w in caption.split()]
    assert tok.unk_token_id in tok("a purple circle").input_ids


# ------------------------------------------------------------------------------------ dataset
def test_toy_dataset_is_lossless_and_findable_by_name():
    items = toy_dataset(3)
    from motionlib.data import read_video

    for item in items:
        spec = toy_spec_of(item)
        assert np.array_equal(read_video(item.path, None), world.render(spec))
        assert item.caption == world.caption(spec) and spec.combination in world.held_out_combinations()
        for kind, text in item.edits.items():
            edited = world.parse_caption(text)
            changed = {a for a in world.VOCABULARY if edited[a] != getattr(spec, a)}
            assert changed == set(EDIT_ATTRIBUTES[kind]), kind  # exactly the kind's attributes change
            if kind in APPEARANCE_EDITS:
                assert edited["direction"] == spec.direction and edited["path"] == spec.path  # motion kept
    assert find_toy_clip("toy02").name == items[2].name == find_toy_clip(items[2].name).name
    assert toy_spec_of(find_toy_clip("zig01")).path == "zigzag"


# ------------------------------------------------------------------------------------ claim helpers
def test_spearman_matches_rank_correlation():
    assert claim.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert claim.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert claim.spearman([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]) == pytest.approx(0.8)
    assert np.isnan(claim.spearman([1, 2, 3], [5, 5, 5]))


# ------------------------------------------------------------------------------------ training
def _tiny_settings(family="latte", **kw):
    from motionlib.toyworld.training import TrainSettings

    small = dict(pool=24, vae_steps=6, vae_batch=8, text_steps=4, steps=6, batch=2, warmup=2, checkpoint_every=2)
    return TrainSettings(family, **{**small, **kw})


@pytest.mark.parametrize("family", ["modelscope", "latte", "cogvideox"])
def test_training_writes_a_loadable_toy_folder_with_its_record(tmp_path, family):
    from motionlib.models import load_model
    from motionlib.toyworld.training import train

    record = train(_tiny_settings(family), tmp_path / family, progress=False)
    assert record["seed"] == 0 and record["denoiser"]["steps"] == 6 and record["git_commit"]
    assert len(record["denoiser"]["loss_curve"]) == 6 and not (tmp_path / family / ".training").exists()
    model = load_model(family, tmp_path / family)
    assert model.is_toy and model.defaults.num_frames == 8 and model.defaults.height == 32
    assert model.describe()["toy_world"] and model.dtype == torch.float32
    weights = list((tmp_path / family).rglob("*.safetensors"))
    assert weights and not list((tmp_path / family).rglob("*.bin"))
    # the schedule it trained on is the one it loads with: rescaled to zero terminal SNR, v-prediction
    # (ModelScope's and Latte's rescaled; CogVideoX's own schedule is)
    from motionlib import families

    assert float(model.alphas_cumprod[-1]) == 0.0 and model.prediction_type == "v_prediction"
    assert record["text_encoder"]["mode"] == families.get(family).toy.text_encoder
    assert record["settings"]["latent_channels"] == model.denoiser.config.in_channels == (
        16 if family == "cogvideox" else 4)


def test_a_toy_model_s_record_names_its_weights_so_retrained_weights_read_no_old_cache(tmp_path):
    """Toy sources are all called "toy": the weights' digest in describe() keeps cache keys apart."""
    import shutil

    from safetensors.torch import load_file, save_file

    from motionlib import paths
    from motionlib.cache import cache_key
    from motionlib.models import load_model

    shipped = paths.TOY_MODELS_DIR / "modelscope"
    same, retrained = tmp_path / "same", tmp_path / "retrained"
    shutil.copytree(shipped, same)
    shutil.copytree(shipped, retrained)
    weights = retrained / "unet" / "diffusion_pytorch_model.safetensors"
    tensors = load_file(weights)
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] + 1e-3
    save_file(tensors, str(weights))

    records = [load_model("modelscope", source).describe() for source in ("toy", same, retrained)]
    assert all(len(r["weights_sha256"]) == 16 for r in records)
    assert records[0]["weights_sha256"] == records[1]["weights_sha256"] != records[2]["weights_sha256"]
    assert cache_key({"model": records[1]}) != cache_key({"model": records[2]})


def test_a_train_config_that_cannot_run_stops_in_one_line_and_writes_nothing(tmp_path, capsys):
    from motionlib.cli import main

    out = tmp_path / "never"
    for bad in (["--family", "latte", "--patch-size", "3"], ["--family", "cogvideox", "--patch-size", "16"],
                ["--family", "modelscope", "--patch-size", "4"], ["--family", "latte", "--direction-free", "1.5"],
                ["--family", "latte", "--denoiser-lr", "-1"]):
        assert main(["toyworld", "train", "--out", str(out), *bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("motionlib: error:"), err
    assert not out.exists()


def test_pretrained_text_encoder_tells_every_attribute_and_stays_frozen(tmp_path):
    """The attribute objective makes every captioned word move the prompt embedding (the direction word
    as much as the others); the denoiser stage then leaves the encoder as it was."""
    from motionlib.models import load_model
    from motionlib.toyworld.training import build_model, pretrain_text_encoder, train

    settings = _tiny_settings("modelscope", text_steps=150)
    model = build_model(settings)
    record = pretrain_text_encoder(model, settings, tmp_path / "work", progress=False)
    assert min(record["attribute_accuracy"].values()) >= 0.9, record["attribute_accuracy"]
    base = "a red striped circle moves left on a gray background"
    swaps = {"direction": base.replace("left", "right"), "colour": base.replace("red", "blue"),
             "shape": base.replace("circle", "square"), "background": base.replace("gray", "white")}
    moved = {k: float((model.encode_prompt(v).cond - model.encode_prompt(base).cond).norm()) for k, v in swaps.items()}
    assert moved["direction"] > 0.3 * max(moved.values()), moved

    train(settings, tmp_path / "model", progress=False)
    trained = load_model("modelscope", tmp_path / "model").text_encoder.state_dict()
    for name, weight in model.text_encoder.state_dict().items():
        torch.testing.assert_close(trained[name], weight, atol=2e-3, rtol=2e-3)  # (saved as float16)


def test_interrupted_training_resumes_to_the_same_weights(tmp_path, monkeypatch):
    from motionlib import checkpoint
    from motionlib.models import load_model
    from motionlib.toyworld.training import train

    train(_tiny_settings(), tmp_path / "whole", progress=False)
    saves, real_save = [], checkpoint.save

    def stop_after_second_denoiser_checkpoint(path, *args, **kwargs):
        real_save(path, *args, **kwargs)
        saves.append(path)
        if "denoiser" in str(path) and sum("denoiser" in str(p) for p in saves) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "save", stop_after_second_denoiser_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        train(_tiny_settings(), tmp_path / "stopped", progress=False)
    monkeypatch.setattr(checkpoint, "save", real_save)
    record = train(_tiny_settings(), tmp_path / "stopped", progress=False)
    assert record["denoiser"]["steps"] == 6
    a, b = load_model("latte", tmp_path / "whole"), load_model("latte", tmp_path / "stopped")
    for (name, p), (_, q) in zip(a.denoiser.state_dict().items(), b.denoiser.state_dict().items()):
        assert torch.equal(p, q), name


def test_changing_only_the_denoiser_settings_keeps_a_finished_vae_and_text_encoder(tmp_path, monkeypatch):
    from motionlib import checkpoint
    from motionlib.toyworld.training import train

    saves, real_save = [], checkpoint.save

    def stop_at_first_denoiser_checkpoint(path, *args, **kwargs):
        real_save(path, *args, **kwargs)
        saves.append(path.name)
        if path.name == "denoiser.safetensors":
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "save", stop_at_first_denoiser_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        train(_tiny_settings("latte"), tmp_path / "run", progress=False)
    assert "vae.safetensors" in saves and "text_encoder.safetensors" in saves
    saves.clear()
    monkeypatch.setattr(checkpoint, "save", lambda path, *a, **k: (saves.append(path.name), real_save(path, *a, **k)))
    record = train(_tiny_settings("latte", denoiser_lr=3e-4, direction_free=0.5), tmp_path / "run", progress=False)
    assert set(saves) == {"denoiser.safetensors"}  # the VAE and text encoder stages resumed finished
    assert record["settings"]["denoiser_lr"] == 3e-4 and record["settings"]["lr"] == 1e-3


def test_both_flow_variants_rank_rendered_motions_by_their_true_agreement():
    rows = quality.flow_metric_check(pairs=36, seed=3, progress=False)
    assert set(rows["change"]) >= {"none", "direction", "appearance"}
    agreement = quality.flow_metric_agreement(rows).set_index("variant")
    assert (agreement["spearman_vs_true_velocity_cosine"] > 0.6).all(), agreement
    same = rows[rows["change"].isin(["none", "appearance"])]
    turned = rows[rows["change"] == "direction"]
    for variant in ("paper", "robust"):
        assert same[f"flow_{variant}"].min() > turned[f"flow_{variant}"].max() - 0.2
        assert same[f"flow_{variant}"].mean() > 0.95 and turned[f"flow_{variant}"].mean() < 0.3


def test_finetune_trains_only_the_denoiser_and_records_every_stage_behind_it(tmp_path):
    from safetensors.torch import load_file

    from motionlib.paths import ASSETS_DIR
    from motionlib.toyworld.training import finetune, total_minutes

    base = ASSETS_DIR / "toy" / "modelscope"
    record = finetune(base, tmp_path / "ft", steps=2, direction_free=0.5, warmup=1, pool=16, progress=False)
    assert record["finetune"]["settings"]["direction_free"] == 0.5 and record["settings"]["direction_free"] == 0.5
    assert record["finetune"]["base"]["settings"]["steps"] == record["settings"]["steps"]
    for part, changed in (("vae", False), ("text_encoder", False), ("unet", True)):
        (old,), (new,) = (list((folder / part).glob("*.safetensors")) for folder in (base, tmp_path / "ft"))
        a, b = load_file(old), load_file(new)
        same = all(torch.equal(a[k], b[k]) for k in a)
        assert same != changed, part
    again = finetune(tmp_path / "ft", tmp_path / "again", steps=1, direction_free=0.0, warmup=1, pool=16,
                     progress=False)
    assert again["finetune"]["base"]["finetune"]["settings"]["direction_free"] == 0.5  # the earlier stage
    assert again["finetune"]["settings"]["direction_free"] == 0.0 and "full captions" in again["finetune"]["what"]
    assert total_minutes(again) == pytest.approx(total_minutes(record) + again["finetune"]["wall_minutes"])
    shipped = json.loads((base / "toyworld.json").read_text())
    assert total_minutes(record) == pytest.approx(total_minutes(shipped) + record["finetune"]["wall_minutes"])


def test_appearance_free_batches_leave_the_direction_colour_and_background_open(tmp_path, monkeypatch):
    from motionlib.paths import ASSETS_DIR
    from motionlib.toyworld import training

    batches = []
    real = training._embedding_table

    def spy(model, captions):
        lookup = real(model, captions)

        def recorded(idx):
            batches.append([captions[i] for i in idx])
            return lookup(idx)

        return recorded

    monkeypatch.setattr(training, "_embedding_table", spy)
    record = training.finetune(ASSETS_DIR / "toy" / "modelscope", tmp_path / "ft", steps=40, direction_free=0.25,
                               appearance_free=0.25, warmup=1, pool=16, progress=False)
    assert record["finetune"]["settings"]["appearance_free"] == 0.25
    assert "without the direction, colour and background" in record["finetune"]["what"]
    forms = []
    for captions in batches:
        parsed = [world.parse_caption(c) for c in captions]
        kinds = {("open" if not p["colour"] else "free" if not p["direction"] else "full") for p in parsed}
        assert len(kinds) == 1  # one caption form per batch
        forms.append(kinds.pop())
        assert all(p["shape"] for p in parsed)
        if forms[-1] == "open":
            assert all(p["direction"] == p["colour"] == p["background"] == "" for p in parsed)
    assert len(forms) == 40 and 3 <= forms.count("open") <= 18 and 3 <= forms.count("free") <= 18  # 10 expected each
    with pytest.raises(ParameterError, match="appearance_free"):
        training.settings_with("modelscope", direction_free=0.5, appearance_free=0.5)
