"""The plan before a long run: units, cached units, projected GPU time, and nothing written."""

import pytest

from motionlib.cli import main
from motionlib.customize import CustomizeSettings
from motionlib.customize.settings import projection_subsets
from motionlib.data import bundled_dataset
from motionlib.evaluation import EvalSettings, Method, evaluate
from motionlib.metrics import tiny_clip_scorer
from motionlib.families import paper_names
from motionlib.models import load_model
from motionlib.projection import CacheIndex, Unit, project
from motionlib.reproduce import plan
from motionlib.sweep import SweepSettings, run_sweep


def test_quick_profile_fits_the_hour_and_the_paper_scope_is_the_smaller():
    quick = project(plan("quick"))
    assert [r.name for r in quick.runs] == ["fig2_families", "tab1_timestep_range-modelscope"]
    assert {u.video for u in quick.units} == {"bmx-rider", "basketball-mall", "seagull-flying", "cat-dog-play"}
    assert {u.family for u in quick.units if u.kind == "customize"} == {"modelscope"}
    assert quick.gpu_hours() <= 1.5
    scoped, every = project(plan("paper")), project(plan("paper", families=paper_names()))
    assert scoped.gpu_hours() < every.gpu_hours()
    assert {r.name for r in scoped.runs if r.name.startswith("tab3")} == {"tab3_projections-latte"}
    tab3 = next(r for r in scoped.runs if r.name == "tab3_projections-latte")
    assert tab3.units == 76 * (len(projection_subsets()) - 1)  # qkvo at the best tau: Tab. 1's adapter
    for pr in (quick, scoped, every):
        assert pr.total("lower_bound") <= pr.gpu_hours() * 3600
        assert abs(sum(pr.by_phase().values()) - pr.gpu_hours()) < 1e-6
        assert abs(sum(pr.by_family().values()) - pr.gpu_hours()) < 1e-6


def test_the_plan_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path / "cache"))
    for profile in ("quick", "paper", "smoke"):
        assert main(["reproduce", "--profile", profile, "--plan", "--out", str(tmp_path / "out")]) == 0
    said = capsys.readouterr().out
    assert "quick: 32 units, 0 cached" in said and "GPU-h" in said
    assert "the GPU projection is for the real checkpoints" in said  # smoke
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
    with pytest.raises(SystemExit):
        main(["reproduce", "--profile", "nope", "--plan"])


def test_the_cache_index_finds_a_finished_sweep_and_not_an_unfinished_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    item = bundled_dataset()[0]
    model = load_model("cogvideox", "tiny")
    settings = SweepSettings(num_steps=4, grid=500, num_frames=9, height=32, width=32)
    run_sweep(model, item.path, item.caption, item.edit("object"), tiny_clip_scorer(), settings=settings,
              progress=False)
    unit = Unit("fig2", "cogvideox", "tiny", "sweep", item.name, item.caption, item.edit("object"), grid=500, steps=4)
    assert CacheIndex().done(unit)
    assert not CacheIndex().done(Unit(**{**unit.__dict__, "edit": item.edit("style")}))
    assert not CacheIndex().done(Unit(**{**unit.__dict__, "source": "toy"}))
    next(tmp_path.glob("sweep/*/w*.safetensors")).unlink()  # one window lost: not finished
    assert not CacheIndex().done(unit)


def test_the_cache_index_finds_a_customization_unit_with_all_its_samples(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    item, model = bundled_dataset()[0], load_model("modelscope", "tiny", seed=0)
    common = dict(num_frames=8, height=32, width=32)
    methods = [Method("base", CustomizeSettings(tau=1000, **common)),
               Method("tau=700", CustomizeSettings(tau=700, train_steps=2, **common))]
    settings = EvalSettings(edit_kinds=("object", "background"), num_samples=2, num_steps=3, **common)
    evaluate(model, [item], methods, tiny_clip_scorer(), None, settings, progress=False)
    lora = Unit("tab1", "modelscope", "tiny", "customize", item.name, item.caption, adapter=(700, "qkvo", 4, "lora"),
                needed=4)
    base = Unit(**{**lora.__dict__, "adapter": (1000,)})
    index = CacheIndex()
    assert index.done(lora) and index.done(base)
    assert not index.done(Unit(**{**lora.__dict__, "needed": 5}))  # more samples than made
    assert not index.done(Unit(**{**lora.__dict__, "adapter": (700, "qkvo", 8, "lora")}))
    assert not index.done(Unit(**{**lora.__dict__, "caption": "another video"}))


def test_measured_batching_scales_only_the_sampling_and_unmeasured_families_stay_upper_bounds(tmp_path):
    """With per-latent times measured at batch 1 and 16 for one family (as gpu_check.py writes them), that
    family's sampling seconds scale by exactly their ratio; training, decode, sweeps and the other
    families are unchanged, and the projection says which numbers are measured and which assumed."""
    import json

    from motionlib.projection import batching_factor, batching_table

    runs = plan("paper", only=["tab1", "fig2"])
    before = project(runs, batching_path=tmp_path / "none.json")
    assert "sampling batching not measured" in before.sources()
    rows = [{"family": "latte", "batch": 1, "ran_batch": 1, "seconds_per_latent": 0.2},
            {"family": "latte", "batch": 4, "ran_batch": 4, "seconds_per_latent": 0.1},
            {"family": "latte", "batch": 16, "ran_batch": 8, "seconds_per_latent": 0.01}]  # halved: not a batch-16 time
    (tmp_path / "batching.json").write_text(json.dumps(rows))
    table = batching_table(tmp_path / "batching.json")
    assert table == {"latte": {1: 0.2, 4: 0.1}}
    assert batching_factor("latte", 16, table) == (0.5, "measured")
    assert batching_factor("latte", 2, table) == (1.0, "measured")
    assert batching_factor("modelscope", 16, table) == (1.0, "assumed")
    after = project(runs, batching_path=tmp_path / "batching.json")
    assert "measured for latte" in after.sources() and "assumed none for cogvideox, modelscope" in after.sources()
    b, a = ({r.name: r for r in p.runs} for p in (before, after))
    for name in b:
        for phase in ("sweep", "training", "decode"):
            assert a[name].phases[phase] == pytest.approx(b[name].phases[phase])
        expected = b[name].phases["sampling"] * (0.5 if name.endswith("-latte") else 1.0)  # 16 samples per unit
        assert a[name].phases["sampling"] == pytest.approx(expected), name
    assert any(name.endswith("-latte") and b[name].phases["sampling"] > 0 for name in b)
    assert after.total("lower_bound") <= after.gpu_hours() * 3600 < before.gpu_hours() * 3600
