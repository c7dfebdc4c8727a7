"""Paired direction transfer (motionlib.toyworld.transfer): mirrored references, the paired score, the
ceiling, leakage with its premise, and the checks, including that each check can pass and fail."""

import numpy as np
import pandas as pd
import pytest

from motionlib.customize import CustomizeSettings
from motionlib.errors import ParameterError
from motionlib.models import load_model
from motionlib.toyworld import oracle, transfer, world
from motionlib.toyworld.dataset import free_caption, new_prompts, reference_specs


def test_reference_groups_are_one_appearance_in_four_mirrored_directions_the_oracle_reads():
    groups = transfer.reference_groups(3, seed=0)
    looks = [g["left"].combination[:4] for g in groups]
    assert len(set(looks)) == 3
    held = {c[:4] for c in world.held_out_combinations()}
    assert all(look in held for look in looks)  # appearances with a held-out direction come first
    for group in groups:
        assert list(group) == list(world.DIRECTIONS)
        assert len({(s.combination[:4], s.speed) for s in group.values()}) == 1
        assert all(oracle.read(world.render(s)).direction == d for d, s in group.items())
        assert len({transfer.adapter_caption(s, "open") for s in group.values()}) == 1  # one caption, 4 motions
    later = transfer.reference_groups(2, seed=0, first=3)
    assert not {g["left"].combination[:4] for g in later} & set(looks)  # held-out selection: other appearances


def test_open_captions_leave_direction_colour_and_background_to_the_adapter():
    spec = transfer.reference_groups(1)[0]["up"]
    parsed = world.parse_caption(transfer.adapter_caption(spec, "open"))
    assert parsed["direction"] == parsed["colour"] == parsed["background"] == ""
    assert parsed["shape"] == spec.shape and parsed["texture"] == spec.texture
    for look in transfer.new_looks(spec, 6, 0, "open"):
        assert look.shape != spec.shape and look.texture != spec.texture and look.direction == spec.direction
    named = world.parse_caption(transfer.adapter_caption(spec, "direction_free"))
    assert named["colour"] == spec.colour and named["direction"] == ""


def test_a_reference_without_a_mirror_or_that_the_oracle_cannot_read_stops_before_training():
    from motionlib.data import read_video
    from motionlib.paths import ASSETS_DIR

    spec = transfer.reference_groups(1)[0]["left"]
    assert transfer.mirror_of(spec).direction == "right"
    with pytest.raises(ParameterError, match="zigzag reference has no mirror"):
        transfer.mirror_of(world.ClipSpec("circle", "red", "plain", "gray", "left", path="zigzag"))
    with pytest.raises(ParameterError, match="still reference"):
        transfer.mirror_of(world.ClipSpec("circle", "red", "plain", "gray", "left", speed=0.0))
    with pytest.raises(ParameterError, match="unreadable by the oracle"):
        transfer.check_reference(read_video(ASSETS_DIR / "videos" / "car-turn.mp4", 8))
    with pytest.raises(ParameterError, match="unreadable by the oracle"):
        transfer.check_reference(np.full((8, 32, 32, 3), 128, np.uint8))
    still = world.render(world.ClipSpec("circle", "red", "plain", "gray", "left", speed=0.0))
    with pytest.raises(ParameterError, match="does not move"):
        transfer.check_reference(still)


def test_leakage_of_an_attribute_the_captions_name_is_refused():
    transfer.check_leakage_attributes(("colour", "background"), "open")
    with pytest.raises(ParameterError, match="leakage of shape is not testable"):
        transfer.check_leakage_attributes(("shape",), "open")
    with pytest.raises(ParameterError, match="leakage of colour is not testable"):
        transfer.check_leakage_attributes(("colour",), "direction_free")


def test_protocol_arguments_are_checked_when_it_is_built():
    for bad in ({"appearances": 0}, {"seeds": 0}, {"captions": "named"}, {"paper_tau": 1000},
                {"ceiling_seeds": 9, "seeds": 8}, {"taus": (1001,)}, {"seeds": 11}):
        with pytest.raises(ParameterError):
            transfer.Protocol(**bad)
    assert transfer.Protocol.for_family("cogvideox").paper_tau == 950
    assert transfer.Protocol.for_family("latte").paper_tau == 700


# ------------------------------------------------------------------------------ synthetic rows
def _rows(appearances=4, prompts=2, seeds=4, *, base="right", adapter=None, ceiling=None, colour=None, taus=(700, 0)):
    """Rows as :func:`transfer.run` writes them. ``base(prompt, seed)``: where the base model goes;
    ``adapter(d, tau, k)`` -> the direction a sample of d's adapter reads (k counts its samples);
    ``ceiling`` likewise for the carry-through; ``colour(tau, k)`` -> whether a sample copies the
    reference's colour."""
    adapter = adapter or (lambda d, tau, k: base)
    ceiling = ceiling or (lambda d, tau, k: d)
    colour = colour or (lambda tau, k: k % 4 == 0)
    rows = []
    for a in range(appearances):
        common = {"model": "toy", "appearance": a, "captions": "open", "ref_colour": "red", "ref_background": "gray",
                  "unreadable": "", "shape_read": "circle", "texture_read": "plain"}
        reqs = [(f"p{q}", 100 * a + 10 * q + i) for q in range(prompts) for i in range(seeds)]
        for k, (q, s) in enumerate(reqs):
            rows.append({**common, "kind": "base", "tau": 1000, "reference_direction": "", "prompt": q, "seed": s,
                         "direction_read": base, "colour_read": "red" if colour(1000, k) else "blue",
                         "background_read": "gray" if k % 3 == 0 else "black"})
        for tau in taus:
            for d in world.DIRECTIONS:
                for k, (q, s) in enumerate(reqs):
                    rows.append({**common, "kind": "transfer", "tau": tau, "reference_direction": d, "prompt": q,
                                 "seed": s, "direction_read": adapter(d, tau, k),
                                 "colour_read": "red" if colour(tau, k) else "blue",
                                 "background_read": "gray" if k % 3 == 0 else "black"})
                    if 0 < tau < 1000 and k % seeds < 2:
                        rows.append({**common, "kind": "ceiling", "tau": tau, "reference_direction": d, "prompt": q,
                                     "seed": s, "direction_read": ceiling(d, tau, k), "colour_read": "",
                                     "background_read": ""})
                if tau == 0:
                    for i in range(4):
                        rows.append({**common, "kind": "overfit", "tau": 0, "reference_direction": d, "prompt": "own",
                                     "seed": 500 + i, "direction_read": d, "colour_read": "red",
                                     "background_read": "gray"})
    return pd.DataFrame(rows)


def _check(rows, name):
    return transfer.checks(rows, 700, n_boot=500).set_index("check").loc[name]


def test_paired_transfer_is_zero_whatever_the_base_model_leans_to_and_one_for_a_perfect_adapter():
    leaning = _rows(base="right")  # a base model that always goes right, adapters that change nothing
    assert leaning[leaning["kind"] == "transfer"].eval("direction_read == reference_direction").mean() == 0.25
    assert transfer.paired_units(leaning, "transfer", 700).tolist() == [0.0] * 8  # 4 appearances x 2 pairs
    perfect = _rows(adapter=lambda d, tau, k: d)
    assert transfer.paired_units(perfect, "transfer", 700).tolist() == [1.0] * 8
    # an adapter that carries the axis but not the sign scores 0, as it should
    axis = _rows(adapter=lambda d, tau, k: "left" if d in ("left", "right") else "up")
    assert transfer.paired_units(axis, "transfer", 700).tolist() == [0.0] * 8
    table = transfer.summary(perfect).set_index(["kind", "tau"])
    assert table.loc[("transfer", 700), "paired_transfer"] == 1.0
    assert table.loc[("transfer", 1000), "paired_transfer"] == 0.0
    rates = transfer.base_rates(leaning).set_index(["attribute", "value"])
    assert rates.loc[("direction", "right"), "share"] == 1.0 and rates.loc[("direction", "right"), "samples"] == 32
    assert rates.loc[("colour", "red"), "share"] == 0.25  # the synthetic base copies the colour in 1 of 4


def test_the_bar_lies_inside_the_ceiling_an_adapter_as_good_as_the_ceiling_passes_and_a_weak_one_fails():
    assert transfer.bar_within_ceiling()
    ceiling = lambda d, tau, k: d if k % 4 == 0 else "still"  # noqa: E731  the ceiling reaches 0.5
    as_good = _rows(adapter=ceiling, ceiling=ceiling)  # an adapter exactly as good as the ceiling
    row = _check(as_good, "(iii) transfer at the paper's tau")
    assert row["bar"] == pytest.approx(transfer.BAR_OF_CEILING * 0.5) and row["verdict"] == "pass"
    weak = _rows(adapter=lambda d, tau, k: d if k % 8 == 0 else "still", ceiling=ceiling)  # 0.125 < 0.25
    assert _check(weak, "(iii) transfer at the paper's tau")["verdict"] == "fail"
    no_ceiling = _rows(adapter=lambda d, tau, k: d, ceiling=lambda d, tau, k: "right")
    assert _check(no_ceiling, "(ii) the ceiling carries the direction")["verdict"] == "fail"
    assert _check(no_ceiling, "(iii) transfer at the paper's tau")["verdict"] == "not testable"


def test_the_peak_and_overfit_checks_can_pass_and_fail():
    peak = _rows(adapter=lambda d, tau, k: d if tau == 700 else "right")
    assert _check(peak, "(iv) the paper's peak")["verdict"] == "pass"
    flat = _rows(adapter=lambda d, tau, k: d)
    assert _check(flat, "(iv) the paper's peak")["verdict"] == "fail"
    assert _check(flat, "(i) overfit")["verdict"] == "pass"
    deaf = flat.assign(direction_read=np.where(flat["kind"] == "overfit", "still", flat["direction_read"]))
    assert _check(deaf, "(i) overfit")["verdict"] == "fail"


def test_leakage_is_read_only_when_its_premise_holds():
    none = _rows()  # every tau copies the colour as often as the base model: nothing can leak
    assert _check(none, "(P) premise: colour can leak")["verdict"] == "fail"
    assert _check(none, "(v) less colour leakage early")["verdict"] == "not testable"
    leaky = _rows(colour=lambda tau, k: (k % 4 == 0) if tau != 0 else (k % 4 != 3))  # 0.25 -> 0.75 at tau 0
    premise = _check(leaky, "(P) premise: colour can leak")
    assert premise["value"] == pytest.approx(0.5) and premise["verdict"] == "pass"
    assert _check(leaky, "(v) less colour leakage early")["verdict"] == "pass"
    late = _rows(colour=lambda tau, k: (k % 4 == 0) if tau == 1000 else (k % 4 != 3))  # leaks at 700 too
    assert _check(late, "(v) less colour leakage early")["verdict"] == "fail"
    named = _rows().assign(captions="direction_free")
    assert _check(named, "(P) premise: appearance can leak")["verdict"] == "not testable"


# ------------------------------------------------------------------------------ on a toy model
def test_carry_through_from_the_last_steps_keeps_the_reference_and_from_the_top_is_the_base_model():
    model = load_model("modelscope", "toy")
    ref = transfer.reference_groups(1, seed=3)[0]["up"]
    video = world.render(ref)
    low = transfer.carry_through(model, video, [world.caption(ref)], [0], tau=100, num_steps=10)[0]
    assert oracle.read(low).direction == ref.direction
    assert np.abs(low.astype(float) - video).mean() < 12  # the reference itself, through the VAE
    top = transfer.carry_through(model, video, [world.caption(ref)], [0], tau=1000, num_steps=10)[0]
    assert np.abs(top.astype(float) - video).mean() > np.abs(low.astype(float) - video).mean()


def test_a_run_samples_every_reference_with_the_same_prompts_and_seeds_and_resumes_from_its_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    model = load_model("modelscope", "toy")
    protocol = transfer.Protocol(appearances=1, prompts=1, seeds=2, overfit_seeds=1, ceiling_seeds=1,
                                 taus=(1000, 700, 0), steps=3)
    settings = CustomizeSettings(train_steps=2, checkpoint_every=2)
    rows, records = transfer.run(model, protocol, settings, progress=False)
    counts = rows.groupby(["kind", "tau"]).size().to_dict()
    assert counts == {("base", 1000): 2, ("transfer", 700): 8, ("transfer", 0): 8, ("overfit", 0): 4,
                      ("ceiling", 700): 4}
    transfer_rows = rows[rows["kind"] == "transfer"]
    keys = transfer_rows.groupby("reference_direction").apply(lambda g: tuple(zip(g["prompt"], g["seed"])))
    assert keys.nunique() == 1  # one set of prompts and seeds for the four adapters
    assert set(rows[rows["kind"] == "base"]["seed"]) == {s for _, s in keys.iloc[0]}
    assert len(records) == 8 and {r["direction"] for r in records} == set(world.DIRECTIONS)
    again, _ = transfer.run(model, protocol, settings, progress=False)
    pd.testing.assert_frame_equal(rows, again)

    def no_base(*args, **kwargs):
        raise AssertionError("the base model's samples depend on no adapter: read them from the cache")

    monkeypatch.setattr(transfer, "base_samples", no_base)
    other, _ = transfer.run(model, protocol, CustomizeSettings(train_steps=1), progress=False)
    pd.testing.assert_frame_equal(other[other["kind"] == "base"], rows[rows["kind"] == "base"])


def test_kept_samples_are_the_rows_own_and_come_back_from_the_cache(tmp_path, monkeypatch):
    """keep_videos: each row's ``sample`` is the video the oracle read for it, after a rerun from the
    cache too (no adapter trained again); ``examples`` shows one prompt and seed across adapters."""
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    model = load_model("modelscope", "toy")
    protocol = transfer.Protocol(appearances=1, prompts=1, seeds=2, overfit_seeds=1, ceiling_seeds=1,
                                 taus=(1000, 700, 0), steps=3, train_steps=2)
    m = transfer.measure(model, protocol, CustomizeSettings(checkpoint_every=2), progress=False, keep_videos=True)
    assert m.rows["sample"].tolist() == list(range(len(m.videos)))
    for _, row in m.rows.iterrows():
        assert transfer.read_sample(m.videos[row["sample"]])["direction_read"] == row["direction_read"]
    assert {r["steps"] for r in m.adapters} == {2}  # the protocol's train_steps, whatever the settings say
    assert "sample" not in m.table()

    def no_training(*args, **kwargs):
        raise AssertionError("every unit is cached with its samples")

    monkeypatch.setattr(transfer, "customized_adapter", no_training)
    again = transfer.measure(model, protocol, CustomizeSettings(checkpoint_every=2), progress=False, keep_videos=True)
    pd.testing.assert_frame_equal(m.rows, again.rows)
    assert all(np.array_equal(a, b) for a, b in zip(m.videos, again.videos, strict=True))

    shown = transfer.examples(m, taus=(700, 0), protocol=protocol)
    labels = [label for label, _ in shown]
    assert [lb.split("\n")[0] for lb in labels] == [
        "reference (left)", "reference (right)", "base model (t = 1000)",
        "adapter of the left reference, t ≥ 700", "adapter of the right reference, t ≥ 700",
        "adapter of the left reference, t ≥ 0", "adapter of the right reference, t ≥ 0"]
    first = m.rows[m.rows["kind"] == "base"].iloc[0]
    picked = m.rows[(m.rows["prompt"] == first["prompt"]) & (m.rows["seed"] == first["seed"])
                    & (m.rows["kind"] == "transfer") & (m.rows["tau"] == 700) & (m.rows["reference_direction"] == "left")]
    assert np.array_equal(shown[3][1], m.videos[picked["sample"].iloc[0]])
    assert f"reads {picked['direction_read'].iloc[0] or 'unreadable'}" in labels[3]
    with pytest.raises(ParameterError, match="keep_videos"):
        transfer.examples(transfer.measure(model, protocol, CustomizeSettings(checkpoint_every=2), progress=False))


def test_a_notebook_runs_the_protocol_on_toy_world_models_only_with_the_captions_they_take(capsys):
    size = {"appearances": 1, "prompts": 1, "seeds": 2}
    assert transfer.notebook_protocol(load_model("modelscope", "tiny"), size) is None
    assert "needs a toy-world model" in capsys.readouterr().out
    assert transfer.notebook_protocol(load_model("modelscope", "toy"), None) is None
    free = transfer.notebook_protocol(load_model("latte", "toy:latte-free"), size, seed=3)
    assert (free.captions, free.taus, free.paper_tau, free.seed, free.seeds) == ("open", (1000, 700, 0), 700, 3, 2)
    plain = transfer.notebook_protocol(load_model("modelscope", "toy"), {**size, "taus": [1000, 650]}, tau=650)
    assert (plain.captions, plain.taus, plain.paper_tau) == ("direction_free", (1000, 650), 650)
    with pytest.raises(ParameterError, match="unknown Protocol fields \\['sedes'\\]"):
        transfer.notebook_protocol(load_model("modelscope", "toy"), {"sedes": 2})
    with pytest.raises(ParameterError, match="train_steps must be a positive integer"):
        transfer.notebook_protocol(load_model("modelscope", "toy"), {"train_steps": 0})


def test_scores_are_the_same_on_rows_read_back_from_their_csv(tmp_path):
    """A CSV gives NaN for the oracle's empty readings; summary, base rates and checks read them as ""."""
    rows = _rows(adapter=lambda d, tau, k: d if k % 3 else "")  # every third sample read as going nowhere
    rows.loc[rows.index[::7], "unreadable"] = "mask over 24% of the frame"
    rows.to_csv(tmp_path / "rows.csv", index=False)
    back = pd.read_csv(tmp_path / "rows.csv")
    assert back["direction_read"].isna().any() and back["unreadable"].isna().any()
    pd.testing.assert_frame_equal(transfer.summary(back, n_boot=200), transfer.summary(rows, n_boot=200))
    pd.testing.assert_frame_equal(transfer.base_rates(back), transfer.base_rates(rows))
    pd.testing.assert_frame_equal(transfer.checks(back, 700, n_boot=200), transfer.checks(rows, 700, n_boot=200))


def test_variants_are_scored_each_beside_the_ceiling_with_checks_per_variant():
    rows = _rows(adapter=lambda d, tau, k: d if tau == 700 else "right")
    both = pd.concat([rows.assign(variant="good"),
                      rows.assign(variant="bad").assign(direction_read=lambda r: r["direction_read"].where(
                          r["kind"] != "transfer", "right"))], ignore_index=True)
    table = transfer.variant_table(both)
    at = table[table["tau"] == 700].set_index("variant")
    assert at.loc["good", "paired_transfer"] == 1.0 and at.loc["bad", "paired_transfer"] == 0.0
    assert at.loc["good", "ceiling"] == at.loc["bad", "ceiling"] == 1.0
    assert table[table["tau"] == 0]["ceiling"].isna().all()


def test_the_command_writes_rows_base_rates_checks_and_loss_curves_and_refuses_bad_counts_first(tmp_path, monkeypatch,
                                                                                                 capsys):
    import json

    import motionlib.models
    from motionlib.cli import main

    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["toyworld", "transfer", "--model", "modelscope", "--appearances", "1", "--prompts", "1",
                 "--seeds", "1", "--overfit-seeds", "2", "--ceiling-seeds", "1", "--taus", "1000", "0", "--steps", "3",
                 "--train-steps", "2", "--out", str(out)]) == 0
    rows = pd.read_csv(out / "transfer_rows_modelscope_open.csv", keep_default_na=False)
    assert sorted(rows.groupby(["kind", "tau"]).size().items()) == [(("base", 1000), 1), (("overfit", 0), 8),
                                                                     (("transfer", 0), 4)]
    checks = pd.read_csv(out / "transfer_checks_modelscope_open.csv").set_index("check")
    overfit = rows[rows["kind"] == "overfit"]
    assert checks.loc["(i) overfit", "value"] == pytest.approx(
        (overfit["direction_read"] == overfit["reference_direction"]).mean())
    assert checks.loc["(iii) transfer at the paper's tau", "verdict"] == "not measured"  # no tau 700 in this run
    rates = pd.read_csv(out / "transfer_base_rates_modelscope_open.csv")
    assert set(rates["attribute"]) == {"direction", "colour", "background"}
    adapters = json.loads((out / "transfer_adapters_modelscope_open.json").read_text())
    assert [a["tau"] for a in adapters] == [0] * 4 and len(adapters[0]["losses"]) == 2

    def no_model(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(motionlib.models, "load_model", no_model)
    capsys.readouterr()
    for bad in (["--appearances", "0"], ["--seeds", "0"], ["--appearances", "500"]):
        assert main(["toyworld", "transfer", "--model", "modelscope", *bad, "--out", str(tmp_path / "bad")]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_the_references_as_a_dataset_carry_the_protocol_and_its_ground_truth(tmp_path, monkeypatch):
    from motionlib.data import read_video
    from motionlib.videos import find_video, select_videos

    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    items = select_videos("transfer:2")
    specs = reference_specs(2)
    assert [world.ClipSpec(**i.toy_spec) for i in items] == specs
    assert [i.caption for i in items] == [free_caption(s) for s in specs]
    assert items[1].edit("multiple") == free_caption(new_prompts(specs[1], 1, 1)[0])
    for kind in ("object", "style", "background", "multiple"):
        assert world.parse_caption(items[0].edit(kind))["direction"] == ""
        assert items[0].edit(kind) != items[0].caption
    assert find_video("ref01") == items[1] and items[1].name.startswith("ref01-")
    assert np.array_equal(read_video(items[0].path, None), world.render(specs[0]))


def test_the_evaluation_reads_transfer_and_leakage_by_the_oracle_for_a_toy_model_only():
    from dataclasses import replace

    from motionlib.evaluation import oracle_judge
    from motionlib.toyworld.dataset import reference_dataset

    item = reference_dataset(1)[0]
    reference = world.ClipSpec(**item.toy_spec)
    asked = world.ClipSpec(**{**item.toy_spec, **{a: v for a, v in world.parse_caption(item.edit("multiple")).items()
                                                  if a in world.APPEARANCE}})
    judge = oracle_judge(load_model("modelscope", "toy"), item)
    prompt = item.edit("multiple")
    assert judge(world.render(asked), prompt) == {"transfer": 1.0, "leakage": 0.0}  # its motion, the asked look
    assert judge(world.render(reference), prompt) == {"transfer": 1.0, "leakage": 1.0}  # the reference copied
    other = {"left": "right", "right": "left", "up": "down", "down": "up"}[reference.direction]
    turned = replace(asked, direction=other, start=world.random_start(other, asked.speed, np.random.default_rng(0)))
    assert judge(world.render(turned), prompt)["transfer"] == 0.0
    assert oracle_judge(load_model("modelscope", "tiny"), item) is None
