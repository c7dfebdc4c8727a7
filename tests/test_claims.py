"""The claim as a test that can fail: commitment times, nulls, both protocols and the fixed criteria.

The statistics are checked on synthetic sample rows whose answer is known (an attribute that follows A
below a given tau), so each criterion is seen to pass, to fail and to be not testable; the protocols
are checked against their naive definitions on the toy models."""

import numpy as np
import pandas as pd
import pytest

from motionlib.errors import DatasetError
from motionlib.models import load_model
from motionlib.toyworld import claim, commitment, criteria, switching, world
from motionlib.toyworld.dataset import check_edit_kind, toy_dataset

TAUS = list(range(0, 1001, 100))


# ------------------------------------------------------------------------------------ the statistic
def test_crossing_interpolates_the_isotonic_fit_at_one_half():
    share = [1, 1, 1, 0.75, 0.25, 0, 0, 0, 0, 0, 0]  # over tau = 0, 100, ..., 1000
    assert commitment.crossing(TAUS, share) == pytest.approx(350.0)
    assert commitment.crossing(TAUS, [1] * 11) == 1000 and commitment.crossing(TAUS, [0] * 11) == 0
    assert commitment.crossing(TAUS[::-1], share[::-1]) == pytest.approx(350.0)  # order-free


def test_one_stray_cell_cannot_drag_the_commitment_time():
    clean = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]  # decided at t = 750
    stray_late = clean.copy()
    stray_late[2] = 0  # one sample at tau = 200 missed A: the old "first change" rule gave 100
    stray_early = clean.copy()
    stray_early[10] = 1  # one sample at tau = 1000 showed A's value
    assert commitment.crossing(TAUS, clean) == pytest.approx(750)
    assert abs(commitment.crossing(TAUS, stray_late) - 750) <= 100
    assert abs(commitment.crossing(TAUS, stray_early) - 750) <= 100
    assert np.all(np.diff(commitment.isotonic_decreasing([3, 1, 2, 0])) <= 0)


def test_permutation_null_rejects_a_trend_and_keeps_noise():
    rng = np.random.default_rng(0)
    taus = np.array(TAUS)
    step = (taus[None, :] < rng.uniform(500, 800, size=(20, 1))).astype(float)  # 20 clips, each a step
    noise = rng.integers(0, 2, size=(20, 11)).astype(float)
    assert commitment.permutation_p(step, taus, n_perm=500) < 0.01
    assert commitment.permutation_p(noise, taus, n_perm=500) > 0.05
    lo, hi = commitment.bootstrap_crossing(step, taus, n_boot=300)
    assert 500 <= lo <= commitment.crossing(taus, step.mean(0)) <= hi <= 800


# ------------------------------------------------------------------------------------ the criteria
def _samples(decided: dict, protocol="switching", clips=20, flip=0.05, seed=0, drawn=("direction", "colour")):
    """Synthetic sample rows: attribute ``a`` shows A's value when tau < decided[a] (+ per-clip jitter),
    B's otherwise, with ``flip`` of the readings wrong; attributes not in ``drawn`` read a third value."""
    rng = np.random.default_rng(seed)
    a = dict(shape="circle", colour="red", texture="plain", background="gray", direction="left", path="straight")
    b = dict(a, colour="blue", direction="right")
    rows = []
    for clip in range(clips):
        jitter = {k: rng.normal(0, 40) for k in decided}
        for tau in TAUS:
            row = {"model": "toy", "protocol": protocol, "edit_kind": "direction_colour", "guidance": 9.0, "steps": 25,
                   "clip": clip, "seed": 0, "tau": tau}
            for k in commitment.ATTRIBUTES:
                row[f"a_{k}"], row[f"b_{k}"] = a[k], b[k]
                follows_a = tau < decided.get(k, 0) + jitter.get(k, 0)
                if rng.random() < flip:
                    follows_a = not follows_a
                read = a[k] if follows_a else b[k]
                row[f"read_{k}"] = read if k in drawn or a[k] == b[k] else "still"
            row["trajectory_error_a_px"] = 0.0 if tau < decided["direction"] else 20.0
            row["trajectory_error_b_px"] = 20.0 - row["trajectory_error_a_px"]
            row["clip_change"], row["flow_similarity"] = 0.1, 1.0 - tau / 2000 + rng.normal(0, 0.01)
            rows.append(row)
    return pd.DataFrame(rows)


def _verdict(samples, motion="direction"):
    commits, table = criteria.evaluate(samples, n_boot=300, n_perm=300)
    return commits, table[(table["claim"] == criteria.CLAIMS[0]) & (table["motion_attribute"] == motion)].iloc[0]


def test_motion_before_appearance_passes_when_direction_is_decided_early():
    commits, v = _verdict(_samples({"direction": 750, "colour": 150}))
    assert v["verdict"] == "pass", v["cell"]
    d = commits.set_index("attribute").loc["direction"]
    assert d["commit_lo"] <= 750 <= d["commit_hi"] and d["p_permutation"] < 0.01 and d["testable"]
    assert commits.set_index("attribute").loc["colour", "spurious"] < 0.2


def test_motion_before_appearance_fails_when_appearance_is_decided_first():
    assert _verdict(_samples({"direction": 150, "colour": 750}))[1]["verdict"] == "fail"
    assert _verdict(_samples({"direction": 420, "colour": 420}))[1]["verdict"] == "fail"  # decided together


def test_motion_before_appearance_is_not_testable_when_the_model_draws_no_direction():
    _, v = _verdict(_samples({"direction": 750, "colour": 150}, drawn=("colour",)))
    assert v["verdict"] == "not testable" and "direction" in v["cell"]


def test_flow_and_tau_star_claims_are_judged_under_inversion_only():
    samples = _samples({"direction": 750, "colour": 150}, protocol="inversion")
    _, table = criteria.evaluate(samples, n_boot=200, n_perm=200)
    flow = table[table["claim"] == criteria.CLAIMS[2]].iloc[0]
    assert flow["verdict"] == "pass" and flow["value"] < -0.9  # flow falls with tau_start by construction
    _, table = criteria.evaluate(_samples({"direction": 750, "colour": 150}), n_boot=200, n_perm=200)
    assert set(table[table["claim"] != criteria.CLAIMS[0]]["verdict"]) == {"not testable"}
    grid = criteria.claims_grid(table)
    assert list(grid.columns) == ["toy / switching"] and criteria.markdown(grid).startswith("| claim |")


# ------------------------------------------------------------------------------------ edits
def test_motion_edits_exist_for_toy_clips_and_are_refused_elsewhere(tmp_path):
    from motionlib.data import bundled_dataset

    item = toy_dataset(1)[0]
    a, b = world.parse_caption(item.caption), world.parse_caption(item.edit("direction_colour"))
    assert a["direction"] != b["direction"] and a["colour"] != b["colour"] and a["shape"] == b["shape"]
    with pytest.raises(DatasetError, match="has no 'direction_colour' edit caption"):
        bundled_dataset()[0].edit("direction_colour")
    with pytest.raises(DatasetError, match="unknown toy edit kind"):
        check_edit_kind("colour")


def test_a_path_edit_on_a_model_that_never_drew_a_zigzag_is_refused():
    from motionlib.models import load_model

    model = load_model("cogvideox", "toy")
    with pytest.raises(DatasetError, match="zigzag"):
        switching.switching_samples(model, 1, edit_kind="path")
    assert check_edit_kind("direction", model) == ("direction",)


# ------------------------------------------------------------------------------------ protocols
def test_prompt_switching_equals_sampling_each_switch_alone(tiny_model):
    from motionlib.sampling import ddim_schedule, denoise, initial_noise

    model, a, b = tiny_model, "a red circle moves left", "a blue square moves right"
    calls = []
    predict = model.predict
    model.predict = lambda *args, **kw: calls.append(args[0].shape[0]) or predict(*args, **kw)
    try:
        finals = switching.switch_prompts(model, a, b, [0, 500, 1000], [0, 1], num_steps=4, guidance_scale=3.0)
    finally:
        del model.predict
    assert len(calls) <= 2 * 4  # one A pass and one B pass per step, batched
    d = model.defaults
    noise = np.concatenate([initial_noise(model, d.num_frames, d.height, d.width, s).numpy() for s in (0, 1)])
    steps = ddim_schedule(model, 4)
    ea, eb = model.encode_prompt(a), model.encode_prompt(b)
    for tau in (0, 500, 1000):
        alone = denoise(model, __import__("torch").from_numpy(noise), ea, steps, 3.0,
                        before_step=lambda k, s, tau=tau: eb if s.t < tau else None)
        assert (finals[tau] - alone).abs().max().item() < 1e-4, tau


@pytest.mark.parametrize("protocol", claim.PROTOCOLS)
def test_protocol_rows_have_their_references_at_the_ends(protocol):
    from motionlib.metrics import clip_scorer
    from motionlib.models import load_model

    model = load_model("cogvideox", "toy")
    rows = claim.protocol_samples(model, protocol, 2, scorer=clip_scorer("auto", model), num_steps=6, grid=500,
                                  progress=False)
    assert sorted(rows["tau"].unique()) == [0, 500, 1000] and rows["clip"].nunique() == 2
    assert (rows.loc[rows["tau"] == 0, "trajectory_error_a_px"].fillna(0) == 0).all()  # the A reference itself
    assert (rows.loc[rows["tau"] == 1000, "trajectory_error_b_px"].fillna(0) == 0).all()
    assert (rows["a_direction"] != rows["b_direction"]).all() and (rows["guidance_setting"] == "family").all()
    if protocol == "switching":  # each clip its own noise: clips sharing a caption pair are still two samples
        assert rows.groupby("clip")["seed"].first().tolist() == [0, 1]
    again = claim.protocol_samples(model, protocol, 2, scorer=clip_scorer("auto", model), num_steps=6, grid=500,
                                   progress=False)
    pd.testing.assert_frame_equal(rows, again)  # cached, and read back the same


def test_claim_command_writes_the_claims_table(tmp_path):
    from motionlib.cli import main

    assert main(["toyworld", "claim", "--model", "cogvideox", "--clips", "2", "--steps", "6", "--grid", "500",
                 "--protocol", "switching", "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "claims.csv")
    assert set(table["verdict"]) <= {"pass", "fail", "not testable"} and table["label"].str.startswith("TOY WORLD").all()
    assert "not testable: no source video" in (tmp_path / "claims.md").read_text()
    commits = pd.read_csv(tmp_path / "commitment.csv", comment="#")
    alphas = load_model("cogvideox", "toy").scheduler.alphas_cumprod.double().numpy()  # the model's own schedule
    for _, row in commits.iterrows():  # the noise axis, recomputed here: 10 log10(a / (1 - a)), linear in between
        if pd.isna(row["commit"]):
            assert pd.isna(row["commit_db"])
            continue
        t = min(row["commit"], 999)
        lo, w = int(t), t - int(t)
        snr = [10 * np.log10(alphas[i] / (1 - alphas[i])) for i in (lo, min(lo + 1, 999))]
        assert row["commit_db"] == pytest.approx(snr[0] if w == 0 else (1 - w) * snr[0] + w * snr[1], abs=1e-6)
    assert main(["toyworld", "claim", "--model", "cogvideox", "--guidance", "x", "--out", str(tmp_path)]) == 2


def test_a_trajectory_that_cannot_tell_a_from_b_is_not_testable():
    samples = _samples({"direction": 750, "colour": 150}).assign(trajectory_error_a_px=0.0, trajectory_error_b_px=0.0)
    commits, v = _verdict(samples, motion="trajectory@2.5px")  # still objects: A's and B's paths coincide
    row = commits.set_index("attribute").loc["trajectory@2.5px"]
    assert row["spurious"] == 1.0 and not row["testable"] and v["verdict"] == "not testable"


def test_sweep_command_takes_motion_edits_of_toy_clips_and_refuses_a_path_edit(tmp_path, capsys):
    from motionlib.cli import main

    base = ["sweep", "--model", "cogvideox", "--source", "toy", "--videos", "toy:1", "--steps", "4", "--grid", "500"]
    assert main([*base, "--edit-kind", "path", "--out", str(tmp_path / "p")]) == 2
    assert "zigzag" in capsys.readouterr().err and not (tmp_path / "p" / "sweep.csv").exists()
    assert main([*base, "--edit-kind", "direction_colour", "--out", str(tmp_path / "d")]) == 0
    rows = pd.read_csv(tmp_path / "d" / "sweep.csv")
    a, b = world.parse_caption(rows["caption"].iloc[0]), world.parse_caption(rows["edit"].iloc[0])
    assert a["direction"] != b["direction"] and (rows["edit_kind"] == "direction_colour").all()
