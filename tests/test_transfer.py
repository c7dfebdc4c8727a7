"""Direction transfer (motionlib.toyworld.transfer): references, the carry-through ceiling, the checks."""

import numpy as np
import pandas as pd
import pytest

from motionlib.customize import CustomizeSettings
from motionlib.errors import ParameterError
from motionlib.models import load_model
from motionlib.toyworld import oracle, transfer, world


def test_references_are_distinct_appearances_with_every_direction():
    refs = transfer.reference_specs(8, seed=0)
    assert len({r.combination[:4] for r in refs}) == 8
    assert [r.direction for r in refs] == list(world.DIRECTIONS) * 2
    assert all(oracle.read(world.render(r)).direction == r.direction for r in refs)
    assert all(world.parse_caption(transfer.free_caption(r))["direction"] == "" for r in refs)


def test_a_reference_without_a_trackable_object_stops_before_training():
    from motionlib.data import read_video
    from motionlib.paths import ASSETS_DIR

    video = read_video(ASSETS_DIR / "videos" / "car-turn.mp4", 8)
    with pytest.raises(ParameterError, match="no object the oracle can track"):
        transfer.check_reference(video)
    flat = np.full((8, 32, 32, 3), 128, np.uint8)
    with pytest.raises(ParameterError, match="no object the oracle can track"):
        transfer.check_reference(flat)


def test_carry_through_from_the_last_steps_keeps_the_reference_and_from_the_top_is_the_base_model():
    model = load_model("modelscope", "toy")
    ref = transfer.reference_specs(1, seed=3)[0]
    video = world.render(ref)
    low = transfer.carry_through(model, video, [world.caption(ref)], [0], tau=100, num_steps=10)[0]
    assert oracle.read(low).direction == ref.direction
    assert np.abs(low.astype(float) - video).mean() < 12  # the reference itself, through the VAE
    top = transfer.carry_through(model, video, [world.caption(ref)], [0], tau=1000, num_steps=10)[0]
    assert np.abs(top.astype(float) - video).mean() > np.abs(low.astype(float) - video).mean()


def test_checks_follow_their_fixed_criteria():
    rows = []
    for ref in range(4):
        for tau, transfer_rate, leak in ((1000, 0.25, 0.1), (700, 0.9, 0.1), (0, 1.0, 0.5)):
            for k in range(4):
                rows.append({"kind": "transfer", "reference": ref, "tau": tau,
                             "transfer": float(k < round(4 * transfer_rate)), "leakage": leak})
        rows.append({"kind": "overfit", "reference": ref, "tau": 0, "transfer": 1.0, "leakage": 0.0})
    table = transfer.checks(pd.DataFrame(rows)).set_index("check")
    assert table["passed"].tolist() == [True, True, True, True]
    assert table.loc["(iii) transfer rises", "value"] == pytest.approx(0.75)
    worse = pd.DataFrame(rows).assign(leakage=lambda d: np.where(d["tau"] == 700, 0.3, d["leakage"]))
    assert transfer.checks(worse).set_index("check").loc["(iii) no early leakage", "passed"] == False  # noqa: E712


def test_a_run_records_every_kind_of_row_and_resumes_from_its_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    model = load_model("modelscope", "toy")
    protocol = transfer.Protocol(references=1, prompts=1, seeds=2, overfit_seeds=2, taus=(1000, 700, 0), steps=4)
    settings = CustomizeSettings(train_steps=3, checkpoint_every=3)
    rows, records = transfer.run(model, protocol, settings, progress=False)
    assert (rows.groupby(["kind", "tau"]).size().to_dict()
            == {("ceiling", 700): 1, ("overfit", 0): 2, ("transfer", 0): 2, ("transfer", 700): 2, ("transfer", 1000): 2})
    # the ceiling takes each prompt's first seed (ceiling_seeds = 1)
    assert rows.loc[rows["kind"] == "ceiling", "seed"].tolist() == rows.loc[rows["kind"] == "transfer", "seed"][:1].tolist()
    assert [r["tau"] for r in records] == [700, 0] and all(len(r["losses"]) == 3 for r in records)
    again, _ = transfer.run(model, protocol, settings, progress=False)
    pd.testing.assert_frame_equal(rows, again)
    assert set(transfer.summary(rows)["kind"]) == {"ceiling", "overfit", "transfer"}


def test_the_ceiling_sampled_together_equals_each_sample_drawn_alone():
    model = load_model("modelscope", "toy")
    reference = transfer.reference_specs(1)[0]
    video = world.render(reference)
    prompts = [transfer.free_caption(s) for s in transfer.new_prompts(reference, 3, 0)]
    together = transfer.carry_through(model, video, prompts, [1, 2, 3], 700, num_steps=4)
    alone = [transfer.carry_through(model, video, [p], [s], 700, num_steps=4)[0] for p, s in zip(prompts, [1, 2, 3])]
    for a, b in zip(together, alone):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # one uint8 level of float rounding
    assert np.abs(together[0].astype(int) - together[1].astype(int)).max() > 10  # rows are not one sample


def test_open_direction_checks_pass_only_for_an_even_split_and_a_followed_caption():
    def rows(free_reads, named_ok):
        out = [{"caption": "free", "appearance": i % 8, "direction_read": d, "direction_ok": False}
               for i, d in enumerate(free_reads)]
        return pd.DataFrame(out + [{"caption": "named", "appearance": i % 8, "direction_read": "",
                                    "direction_ok": ok} for i, ok in enumerate(named_ok)])

    even = rows(list(world.DIRECTIONS) * 16, [True] * 64)
    assert transfer.open_direction_checks(even)["passed"].all()
    biased = rows(["right"] * 40 + list(world.DIRECTIONS) * 6, [True] * 64)
    table = transfer.open_direction_checks(biased).set_index("check")
    assert not table.loc["free caption goes right", "passed"] and table.loc["free caption goes right", "value"] > 0.6
    deaf = rows(list(world.DIRECTIONS) * 16, [True] * 56 + [False] * 8)
    assert not transfer.open_direction_checks(deaf).set_index("check").loc["named direction drawn", "passed"]


def test_open_direction_samples_free_and_named_captions_of_the_same_appearances(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    model = load_model("modelscope", "toy")
    rows = transfer.open_direction(model, appearances=4, seeds=1, num_steps=4, progress=False)
    free, named = rows[rows["caption"] == "free"], rows[rows["caption"] == "named"]
    assert len(free) == len(named) == 4 and free["appearance"].tolist() == named["appearance"].tolist()
    assert all(world.parse_caption(p)["direction"] == "" for p in free["prompt"])
    assert named["named_direction"].tolist() == list(world.DIRECTIONS)
    assert [world.parse_caption(p)["direction"] for p in named["prompt"]] == list(world.DIRECTIONS)
    for f, n in zip(free["prompt"], named["prompt"]):
        assert {k: v for k, v in world.parse_caption(f).items() if k != "direction"} == \
            {k: v for k, v in world.parse_caption(n).items() if k != "direction"}
    pd.testing.assert_frame_equal(rows, transfer.open_direction(model, appearances=4, seeds=1, num_steps=4,
                                                                progress=False))


def test_variants_share_the_base_model_and_each_gets_its_own_adapters(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    model = load_model("modelscope", "toy")
    protocol = transfer.Protocol(references=2, prompts=1, seeds=1, overfit_seeds=1, taus=(1000, 700), steps=4)
    named = transfer.variants(("qkvo", "vo"), (2,), train_steps=2, checkpoint_every=2)
    assert list(named) == ["QKVO r2", "VO r2"] and named["VO r2"].projections == "vo"
    assert list(transfer.variants(("kq",), mode="direct")) == ["QK direct"]
    rows, records = transfer.run_variants(model, protocol, named, progress=False)
    counts = rows[rows["kind"] == "transfer"].groupby(["variant", "tau"]).size().to_dict()
    assert counts == {("base", 1000): 2, ("QKVO r2", 700): 2, ("VO r2", 700): 2}
    assert sorted({r["variant"] for r in records}) == ["QKVO r2", "VO r2"]
    table = transfer.variant_table(rows).set_index("variant")
    base = rows[(rows["kind"] == "transfer") & (rows["tau"] == 1000)]["transfer"].mean()
    for v in ("QKVO r2", "VO r2"):
        mine = rows[(rows["variant"] == v) & (rows["kind"] == "transfer")]["transfer"].mean()
        assert table.loc[v, "gain_over_base"] == pytest.approx(mine - base)


def test_the_references_as_a_dataset_carry_the_protocol_and_its_ground_truth(tmp_path, monkeypatch):
    from motionlib.data import read_video
    from motionlib.videos import find_video, select_videos

    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    items = select_videos("transfer:2")
    specs = transfer.reference_specs(2)
    assert [world.ClipSpec(**i.toy_spec) for i in items] == specs
    assert [i.caption for i in items] == [transfer.free_caption(s) for s in specs]
    assert items[1].edit("multiple") == transfer.free_caption(transfer.new_prompts(specs[1], 1, 1)[0])
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


def test_the_command_writes_the_open_check_the_rows_the_checks_and_each_adapters_loss_curve(tmp_path, monkeypatch):
    import json

    from motionlib.cli import main

    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["toyworld", "transfer", "--model", "modelscope", "--references", "1", "--prompts", "1",
                 "--seeds", "1", "--overfit-seeds", "2", "--taus", "1000", "0", "--steps", "3",
                 "--train-steps", "2", "--open-appearances", "1", "--open-seeds", "1", "--out", str(out)]) == 0
    rows = pd.read_csv(out / "transfer_rows_modelscope_straight.csv")
    assert sorted(rows.groupby(["kind", "tau"]).size().items()) == [(("overfit", 0), 2), (("transfer", 0), 1),
                                                                     (("transfer", 1000), 1)]
    checks = pd.read_csv(out / "transfer_checks_modelscope_straight.csv").set_index("check")
    assert checks.loc["(i) overfit", "value"] == rows[rows["kind"] == "overfit"]["transfer"].mean()
    assert len(pd.read_csv(out / "open_direction_rows_modelscope.csv")) == 2  # free + named, 1 seed
    adapters = json.loads((out / "transfer_adapters_modelscope_straight.json").read_text())
    assert [a["tau"] for a in adapters] == [0] and len(adapters[0]["losses"]) == 2
