"""Customization evaluation: shared adapters, resumable cache, base rows equal plain sampling, tables."""

import numpy as np
import pandas as pd
import pytest

import motionlib.customize.cached as cached
import motionlib.evaluation as evaluation
from motionlib.customize import CustomizeSettings
from motionlib.data import bundled_dataset
from motionlib.errors import ParameterError
from motionlib.evaluation import EvalSettings, Method, evaluate, summarize
from motionlib.metrics import clip_score, temporal_consistency, tiny_clip_scorer, tiny_pick_scorer
from motionlib.models import load_model
from motionlib.sampling import generate
from motionlib import families
from motionlib.tables import beside_paper, paper_tab1, to_latex, to_markdown

FAMILY = "cogvideox"
SMALL = dict(num_frames=9, height=32, width=32)


def settings(**kwargs):
    return EvalSettings(edit_kinds=("object",), num_samples=2, num_steps=6, **SMALL, **kwargs)


def methods():
    small = dict(train_steps=3, **SMALL)
    return [Method("base", CustomizeSettings(tau=1000, **small)),
            Method("ours", CustomizeSettings(tau=700, **small)),
            Method("ours again", CustomizeSettings(tau=700, **small)),  # same settings: same adapter
            Method("vo", CustomizeSettings(tau=700, projections="vo", **small))]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONLIB_CACHE", str(tmp_path))
    return tmp_path


def test_evaluation_shares_adapters_resumes_and_leaves_the_model_clean(cache, monkeypatch):
    model = load_model(FAMILY, "tiny", seed=0)
    items = bundled_dataset()[:1]
    clip, pick = tiny_clip_scorer(), tiny_pick_scorer()
    trained = []
    original_train = cached.train  # the cached adapters train through customize.cached
    monkeypatch.setattr(cached, "train", lambda *a, **k: trained.append(a[3].tau) or original_train(*a, **k))
    first = evaluate(model, items, methods(), clip, pick, settings(), progress=False).rows
    assert len(first) == 4 * 2 and trained == [1000, 700, 700]  # "ours again" reused "ours"'s adapter
    assert len(list((cache / "adapters").iterdir())) == 3
    # The model is the base model again: no peft wrappers, nothing trainable.
    assert not any("lora" in n for n, _ in model.denoiser.named_parameters())
    assert not any(p.requires_grad for p in model.denoiser.parameters())
    ours, again = (first[first.method == m].reset_index(drop=True) for m in ("ours", "ours again"))
    pd.testing.assert_frame_equal(ours.drop(columns="method"), again.drop(columns="method"))
    # A finished evaluation is read back: nothing is trained or sampled again.
    monkeypatch.setattr(cached, "train", lambda *a, **k: pytest.fail("trained again"))
    monkeypatch.setattr(evaluation, "generate_customized_batch", lambda *a, **k: pytest.fail("sampled again"))
    second = evaluate(model, items, methods(), clip, pick, settings(), progress=False).rows
    pd.testing.assert_frame_equal(first, second)
    counts = first.groupby("method")["trainable_parameters"].first()
    assert counts["base"] == 0 and counts["vo"] * 2 == counts["ours"]


def test_base_rows_are_plain_sampling_scored_by_hand(cache):
    model = load_model(FAMILY, "tiny", seed=0)
    item = bundled_dataset()[1]
    clip = tiny_clip_scorer()
    # One sample per denoiser pass: bit for bit plain sampling (batched samples agree to float rounding,
    # tests/test_batched_sampling.py).
    result = evaluate(model, [item], methods()[:2], clip, None, settings(seed=5, sample_batch=1), keep_videos=True,
                      progress=False)
    rows = result.rows.set_index(["method", "sample"])
    for i in range(2):
        video = generate(model, item.edit("object"), seed=5 + i, num_steps=6, progress=False, **SMALL).video
        assert np.array_equal(result.videos[(item.name, "base", "object", i)], video)
        row = rows.loc[("base", i)]
        assert row["seed"] == 5 + i and np.isnan(row["pick_score"])
        assert row["text_alignment"] == pytest.approx(clip_score(clip, video, item.edit("object")))
        assert row["temporal_consistency"] == pytest.approx(temporal_consistency(clip, video))
    # The trained adapter changes the samples (it is applied at the early steps).
    assert not np.array_equal(result.videos[(item.name, "ours", "object", 0)],
                              result.videos[(item.name, "base", "object", 0)])


def test_summary_weighs_every_video_equally():
    rows = pd.DataFrame({"model": "m", "method": "ours", "video": ["a", "a", "a", "b"],
                         "text_alignment": [1.0, 2.0, 3.0, 10.0], "temporal_consistency": 1.0,
                         "temporal_consistency_all_pairs": 1.0, "pick_score": np.nan})
    table = summarize(rows, n_boot=200)
    assert table.loc[0, "text_alignment"] == pytest.approx((2.0 + 10.0) / 2)  # not the row mean 4
    assert table.loc[0, "text_alignment_lo"] >= 2.0 and table.loc[0, "text_alignment_hi"] <= 10.0
    assert table.loc[0, "n_videos"] == 2


def test_the_oracle_metrics_are_summarized_and_tabled_only_where_they_were_read():
    rows = pd.DataFrame({"model": "m", "method": "ours", "tau": 700, "video": ["a", "a", "b", "b"],
                         "text_alignment": 1.0, "temporal_consistency": 1.0, "temporal_consistency_all_pairs": 1.0,
                         "pick_score": np.nan, "transfer": [1.0, 0.0, 1.0, 1.0], "leakage": np.nan})
    toy = summarize(rows, n_boot=200)
    assert toy.loc[0, "transfer"] == pytest.approx((0.5 + 1.0) / 2) and "leakage" not in toy
    table = beside_paper(toy, paper_tab1("modelscope"), "tau").set_index("tau")
    assert table.loc["700", "Transfer (oracle) (ours)"].startswith("0.75 [") and table.loc["700", "Transfer (oracle) (paper)"] == "-"
    assert "transfer" not in summarize(rows.assign(transfer=np.nan), n_boot=200)


def test_bad_methods_are_refused():
    model = load_model(FAMILY, "tiny", seed=0)
    with pytest.raises(ParameterError, match="distinct"):
        evaluate(model, [], [Method("a"), Method("a")], None)
    with pytest.raises(ParameterError, match="edit_kinds"):
        EvalSettings(edit_kinds=("colour",))


def test_tables_put_ours_beside_the_paper():
    assert families.get("latte").paper_taus == [1000, 750, 700, 650, 0] and families.get("cogvideox").paper_taus[1] == 950
    ours = pd.DataFrame({"tau": [700, 123]})
    for m in ("text_alignment", "temporal_consistency", "pick_score"):
        ours[m], ours[m + "_lo"], ours[m + "_hi"] = [1.0, 2.0], [0.5, 1.5], [1.5, 2.5]
    table = beside_paper(ours, paper_tab1("modelscope"), "tau")
    assert table["tau"].tolist() == ["700", "123", "1000", "750", "650", "0"]
    row = table.set_index("tau").loc["700"]
    assert row["Text Align. (ours)"] == "1.00 [0.50, 1.50]" and row["Text Align. (paper)"] == "28.16"
    assert table.set_index("tau").loc["123", "PickScore (paper)"] == "-"
    assert table.set_index("tau").loc["1000", "PickScore (ours)"] == "-"
    markdown = to_markdown(table, "caption")
    assert markdown.count("\n|") == 1 + len(table) and markdown.rstrip().endswith("caption")
    assert r"{\scriptsize [0.50, 1.50]}" in to_latex(table, "100% & more") and r"100\% \& more" in to_latex(table, "100% & more")


def test_comparison_lists_cited_rows_then_ours():
    from motionlib.tables import PAPER_TAB2, comparison, paper_ours

    ours = pd.DataFrame({"method": ["Ours (latte)"]})
    for m in ("text_alignment", "temporal_consistency", "pick_score"):
        ours[m], ours[m + "_lo"], ours[m + "_hi"] = [1.0], [0.5], [1.5]
    table = comparison(ours, paper_ours("latte", 700, "Ours (latte)"))
    assert len(table) == len(PAPER_TAB2) + 2
    assert table["Source"].tolist()[-2:] == ["computed here", "paper (Tab. 1 row)"]
    assert table.set_index("Method").loc["Gen-1", "PickScore"] == "-"
    assert table.iloc[-1]["Text Align."] == "31.96" and paper_ours("cogvideox-5b", 950, "x") is None


def test_open_experiment_resolves_the_notebooks_shared_setup(tmp_path):
    from motionlib import provenance
    from motionlib.evaluation import Method
    from motionlib.experiment import open_experiment

    experiment = open_experiment("tab9", "cogvideox", "tiny", videos=["car-turn"], clip="tiny", pick="none",
                       num_frames=9, height=32, width=32, steps=2, out_dir=tmp_path / "out")
    assert experiment.tau == families.get("cogvideox").paper_best_tau and experiment.pick_model is None
    assert [i.name for i in experiment.items] == ["car-turn"] and experiment.out.is_dir()
    lora = experiment.lora(rank=8)
    assert (lora.tau, lora.rank, lora.num_frames, lora.height, lora.seed) == (950, 8, 9, 32, 0)
    assert experiment.lora(tau=0).tau == 0
    record = experiment.record("Tab. 9", [Method("r=8", lora)], n_boot=10)
    assert record["settings"]["methods"]["r=8"]["rank"] == 8 and record["settings"]["n_boot"] == 10
    assert provenance.label(record) == provenance.TINY_LABEL


def test_scores_of_a_scorer_that_is_not_the_papers_are_headed_as_another_scale():
    """Tab. 1's toy CLIP gives Text Align. 64.46 beside the paper's 26.05: the column says it is not comparable."""
    from types import SimpleNamespace

    from motionlib.metrics import clip_scorer, pick_scorer
    from motionlib.models import load_model
    from motionlib.tables import scale_note, unlike_scales

    toy = load_model("modelscope", "toy")
    unlike = unlike_scales(clip_scorer("auto", toy), pick_scorer("auto", toy))
    assert unlike == ("text_alignment", "temporal_consistency")  # the toy CLIP; no PickScore for toy models
    assert unlike_scales(clip_scorer("tiny"), pick_scorer("tiny")) == ("text_alignment", "temporal_consistency",
                                                                       "pick_score")
    real = SimpleNamespace(name="ViT-L-14", pretrained="openai")
    assert unlike_scales(real, SimpleNamespace(model_id="yuvalkirstain/PickScore_v1")) == () and scale_note(()) == ""
    ours = pd.DataFrame({"tau": [700]})
    for m in ("text_alignment", "temporal_consistency", "pick_score"):
        ours[m], ours[m + "_lo"], ours[m + "_hi"] = [64.46], [64.0], [65.0]
    table = beside_paper(ours, paper_tab1("modelscope"), "tau", unlike=unlike)
    assert table.set_index("tau").loc["700", "Text Align. (ours, other scale)"] == "64.46 [64.00, 65.00]"
    assert "PickScore (ours)" in table.columns and "Text Align. (ours)" not in table.columns
    assert "Text Align., Temp. Const." in scale_note(unlike)
