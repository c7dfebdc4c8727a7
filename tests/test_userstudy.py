"""The Tab. 5 user study: questionnaire, response checks, aggregation, and a real-browser round trip."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from motionlib import userstudy as us
from motionlib.data import write_video
from motionlib.errors import ParameterError
from conftest import headless_chromium

METHODS = ["VMC", "MotionDirector", "MotionClone", "Ours"]


def _square(path, dx, dy=0, color=(230, 60, 30)):
    """8 frames 64x64: a 16 px square moving by (dx, dy) per frame."""
    frames = np.full((8, 64, 64, 3), 40, np.uint8)
    for t in range(8):
        x, y = (4 + dx * t) % 48, (4 + dy * t) % 48
        frames[t, y:y + 16, x:x + 16] = color
    return write_video(path, frames)


def _items(root: Path, n: int = 3):
    items = []
    for k in range(n):
        d = root / f"item{k}"
        items.append(us.StudyItem(f"item{k}", _square(d / "ref.mp4", 5), f"a red square slides, prompt {k}", {
            "VMC": [_square(d / "vmc1.mp4", 1), _square(d / "vmc2.mp4", 2, 1)],
            "MotionDirector": [_square(d / "md1.mp4", 4), _square(d / "md2.mp4", 5, 3, (30, 160, 60))],
            "MotionClone": [_square(d / "mc.mp4", 5, 0, (60, 60, 230))],
            "Ours": [_square(d / "ours1.mp4", 5, 1, (200, 200, 40)), _square(d / "ours2.mp4", 5, 4)],
        }))
    return items


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("userstudy")
    us.build_questionnaire(_items(root / "src"), root / "questionnaire", seed=11, study_id="tab5-test")
    return root / "questionnaire"


def _response(study, pid, choices, submitted="2025-01-01T10:00:00Z", **change):
    """A response in the page's format; ``choices[(item, question)] = method``."""
    answers = []
    for (item, question), method in choices.items():
        order = us.display_order(study.methods, study.seed, pid, item)
        answers.append({"item": item, "question": question, "method": method, "order": order,
                        "label": f"Method {'ABCD'[order.index(method)]}", "answered_utc": submitted})
    return {"format": us.FORMAT, "study_id": study.study_id, "participant": pid, "seed": study.seed,
            "user_agent": "test", "started_utc": submitted, "submitted_utc": submitted, "simulated": False,
            "answers": answers, **change}


def _all(study, fidelity, diversity):
    """Choices for every item: ``fidelity``/``diversity`` are lists of methods, one per item."""
    out = {}
    for item, f, d in zip([i.item_id for i in study.items], fidelity, diversity):
        out[(item, "fidelity")], out[(item, "diversity")] = f, d
    return out


def _write(folder, name, data):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(data if isinstance(data, str) else json.dumps(data))


def test_questionnaire_is_self_contained(study_dir):
    html = (study_dir / "index.html").read_text()
    assert "http://" not in html and "https://" not in html  # no CDN or network
    study = us.load_study(study_dir)
    assert study.methods == METHODS and len(study.items) == 3
    for item in study.items:
        for rel in [item.reference, *(p for ps in item.outputs.values() for p in ps)]:
            assert (study_dir / rel).is_file() and not Path(rel).is_absolute()
            assert not any(m.lower() in str(rel).lower() for m in METHODS)  # names stay hidden
    assert len(study.item("item0").outputs["MotionClone"]) == 1


def test_known_answers_and_dropped_files(study_dir, tmp_path):
    study = us.load_study(study_dir)
    o, md, mc = "Ours", "MotionDirector", "MotionClone"
    # fidelity picks: Ours 6, MotionClone 3, MotionDirector 3 of 12; diversity: Ours 9, MotionDirector 3.
    picks = {"p1": ([o, o, mc], [o, o, o]), "p2": ([o, md, mc], [o, md, o]),
             "p3": ([o, o, md], [o, o, md]), "p4": ([o, md, mc], [md, o, o])}
    for pid, (f, d) in picks.items():
        _write(tmp_path, f"{pid}.json", _response(study, pid, _all(study, f, d)))
    everything_vmc = _all(study, ["VMC"] * 3, ["VMC"] * 3)
    _write(tmp_path, "p1_later.json", _response(study, "p1", everything_vmc, "2025-01-02T10:00:00Z"))
    _write(tmp_path, "a_p2_resent.json", _response(study, "p2", everything_vmc, "2025-01-03T10:00:00Z"))
    _write(tmp_path, "p5_partial.json", _response(study, "p5", dict(list(everything_vmc.items())[:5])))
    _write(tmp_path, "broken.json", '{"study_id": "tab5-test", "answers": [')
    _write(tmp_path, "other_study.json", _response(study, "p6", everything_vmc, study_id="another"))
    bad = _response(study, "p7", everything_vmc)
    bad["answers"][0]["item"] = "item99"
    _write(tmp_path, "unknown_item.json", bad)
    bad = _response(study, "p8", everything_vmc)
    bad["answers"][1]["method"] = "Sora"
    _write(tmp_path, "unknown_method.json", bad)
    bad = _response(study, "p9", everything_vmc)
    bad["answers"][2]["question"] = "beauty"
    _write(tmp_path, "unknown_question.json", bad)
    bad = _response(study, "p10", everything_vmc)
    bad["answers"][0]["order"] = bad["answers"][0]["order"][::-1]
    _write(tmp_path, "wrong_order.json", bad)

    answers, report = us.read_responses(tmp_path, study_dir)
    status = dict(zip(report["file"], report["status"]))
    assert [status[f"p{k}.json"] for k in range(1, 5)] == ["valid"] * 4
    assert status["p1_later.json"] == status["a_p2_resent.json"] == "duplicate"
    assert status["p5_partial.json"] == "partial"
    for name in ["broken", "other_study", "unknown_item", "unknown_method", "unknown_question", "wrong_order"]:
        assert status[f"{name}.json"] == "invalid", name
    reasons = " ".join(report["reason"])
    for word in ["JSON", "another", "item99", "Sora", "beauty", "order", "1 of 6"]:
        assert word in reasons
    assert "dropped broken.json" in us.report_summary(report)
    assert sorted(answers["participant"].unique()) == ["p1", "p2", "p3", "p4"] and len(answers) == 24

    agg = us.aggregate(answers, n_boot=500, seed=0).set_index(["criterion", "method"])
    expected = {("fidelity", o): 50, ("fidelity", mc): 25, ("fidelity", md): 25, ("fidelity", "VMC"): 0,
                ("diversity", o): 75, ("diversity", md): 25, ("diversity", mc): 0, ("diversity", "VMC"): 0}
    for key, rate in expected.items():
        assert agg.loc[key, "rate"] == pytest.approx(rate)
        assert agg.loc[key, "rate_lo"] <= rate <= agg.loc[key, "rate_hi"]
    assert (agg["n_answers"] == 12).all() and (agg["n_participants"] == 4).all() and not agg["simulated"].any()
    items = us.per_item(answers).set_index(["item", "criterion", "method"])
    assert items.loc[("item0", "fidelity", o), "rate"] == 100
    assert items.loc[("item2", "fidelity", mc), "rate"] == 75
    table = us.tab5_table(agg.reset_index())
    assert list(table["method"]) == METHODS and table.set_index("method").loc[o, "paper_fidelity"] == 45.0
    assert "SIMULATED" not in us.tab5_markdown(agg.reset_index())


def test_bootstrap_resamples_participants_and_collapses_on_agreement(study_dir, tmp_path):
    study = us.load_study(study_dir)
    for k in range(5):
        _write(tmp_path, f"p{k}.json", _response(study, f"p{k}", _all(study, ["Ours"] * 3, ["VMC"] * 3)))
    agg = us.aggregate(us.read_responses(tmp_path, study)[0], n_boot=200).set_index(["criterion", "method"])
    assert agg.loc[("fidelity", "Ours"), ["rate", "rate_lo", "rate_hi"]].tolist() == [100, 100, 100]
    assert agg.loc[("diversity", "Ours"), ["rate", "rate_lo", "rate_hi"]].tolist() == [0, 0, 0]


def test_simulated_responses_round_trip(study_dir, tmp_path):
    weights = {c: {m: r[c] for m, r in us.PAPER_TAB5["rates"].items()} for c in us.QUESTIONS}
    written = us.simulate_responses(study_dir, tmp_path, 12, weights, seed=3, n_invalid=3, n_duplicate=2,
                                    n_partial=1)
    assert all(json.loads(p.read_text()).get("simulated") for p in tmp_path.glob("*.json")
               if "invalid-001" not in p.name)  # the first invalid file is deliberately broken JSON
    answers, report = us.read_responses(tmp_path, study_dir)
    assert dict(zip(written["file"], written["kind"])) == dict(zip(report["file"], report["status"]))
    agg = us.aggregate(answers, n_boot=100)
    assert agg["simulated"].all() and (agg["n_answers"] == 36).all()
    assert agg.set_index(["criterion", "method"]).loc[("diversity", "MotionClone"), "n_picks"] == 0
    md, tex = us.tab5_markdown(agg), us.tab5_latex(agg)
    assert "SIMULATED" in md and "SIMULATED" in tex and "45.0" in md and r"\toprule" in tex
    again = us.simulate_responses(study_dir, tmp_path / "again", 12, weights, seed=3, n_invalid=3,
                                  n_duplicate=2, n_partial=1)
    assert (tmp_path / "again" / again["file"][5]).read_text() == (tmp_path / written["file"][5]).read_text()


def test_bad_input_errors(tmp_path, study_dir):
    items = _items(tmp_path / "src", 1)
    missing = tmp_path / "src" / "item0" / "gone.mp4"
    items[0].outputs["Ours"][1] = missing
    with pytest.raises(ParameterError, match="gone.mp4"):
        us.build_questionnaire(items, tmp_path / "q", seed=0)
    items = _items(tmp_path / "src2", 2)
    del items[1].outputs["VMC"]
    with pytest.raises(ParameterError, match="same two or more methods"):
        us.build_questionnaire(items, tmp_path / "q", seed=0)
    items = _items(tmp_path / "src3", 1)
    items[0].outputs["VMC"] *= 2
    with pytest.raises(ParameterError, match="got 4"):
        us.build_questionnaire(items, tmp_path / "q", seed=0)
    with pytest.raises(ParameterError, match="does not exist"):
        us.read_responses(tmp_path / "nowhere", study_dir)
    with pytest.raises(ParameterError, match="no study manifest"):
        us.load_study(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="no valid answers"):
        us.aggregate(us.read_responses(tmp_path / "empty", study_dir)[0])
    with pytest.raises(ParameterError, match="weights"):
        us.simulate_responses(study_dir, tmp_path / "sim", 3, {"fidelity": {"Ours": -1}})


CASES = [(seed, pid, item) for seed in (0, 11, 2**31 + 5) for pid in ("p1", "P-ZX81", "Zoë ✓", "")
         for item in ("item0", "clip_7")]


def test_python_shuffle_is_a_fixed_permutation():
    """The same order in another process under another hash seed (a shuffle keyed on hash() or on
    process state would differ), and a permutation of the methods that varies over cases."""
    import json
    import subprocess
    import sys

    code = ("import json, sys; from motionlib import userstudy as us; "
            f"print(json.dumps([us.display_order({METHODS!r}, *c) for c in {CASES!r}]))")
    here = [us.display_order(METHODS, *case) for case in CASES]
    for hash_seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**__import__("os").environ, "PYTHONHASHSEED": hash_seed}).stdout
        assert json.loads(out) == here
    orders = {tuple(us.display_order(METHODS, *case)) for case in CASES}
    assert len(orders) > 5 and all(sorted(o) == sorted(METHODS) for o in orders)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (the browser test also checks this)")
def test_python_and_js_shuffle_agree_in_node():
    script = us._page_asset("shuffle.js") + f"\nconsole.log(JSON.stringify({json.dumps(CASES)}.map(c => " \
                              f"displayOrder({json.dumps(METHODS)}, c[0], c[1], c[2]))));"
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=20, check=True)
    assert json.loads(out.stdout) == [us.display_order(METHODS, *case) for case in CASES]


# ---------------------------------------------------------------- headless Chromium
def _driver(download_dir: Path, profile: Path):
    driver = headless_chromium(profile, "--autoplay-policy=no-user-gesture-required", window="1500,1000",
                               prefs={"download.default_directory": str(download_dir),
                                      "download.prompt_for_download": False})
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    return driver


@pytest.mark.browser
def test_browser_answers_round_trip(study_dir, tmp_path):
    from selenium.webdriver.common.by import By

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = _driver(downloads, tmp_path / "profile")
    study, pid = us.load_study(study_dir), "P-browser ü"
    want = _all(study, ["Ours", "MotionClone", "Ours"], ["MotionDirector", "Ours", "Ours"])
    try:
        driver.set_page_load_timeout(20)
        driver.get((study_dir / "index.html").as_uri())
        js = driver.execute_script(f"return {json.dumps(CASES)}.map(c => displayOrder(arguments[0], c[0], c[1], c[2]));",
                                   METHODS)
        assert js == [us.display_order(METHODS, *case) for case in CASES]
        driver.find_element(By.ID, "participant").send_keys(pid)
        driver.find_element(By.ID, "start").click()
        for k, item in enumerate(study.items):
            assert f"Item {k + 1} of 3" in driver.find_element(By.ID, "progress").text
            order = us.display_order(study.methods, study.seed, pid, item.item_id)
            titles = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "#videos h3")]
            assert titles == ["Reference"] + [f"Method {c}" for c in "ABCD"]  # names hidden
            assert len(driver.find_elements(By.CSS_SELECTOR, "#videos video[autoplay][loop][muted]")) == 8
            for question in us.QUESTIONS:
                driver.find_element(By.ID, f"q-{question}-{order.index(want[(item.item_id, question)])}").click()
            assert f"{2 * k + 2} of 6 questions answered" in driver.find_element(By.ID, "progress").text
            if k == 0:  # every clip decodes (H.264 mp4) and is playing
                state = "return [...document.querySelectorAll('video')].map(v => [v.readyState, !!v.error, v.paused]);"
                deadline = time.time() + 10
                while time.time() < deadline and not all(r >= 2 for r, _, _ in driver.execute_script(state)):
                    time.sleep(0.1)
                assert all(r >= 2 and not err and not paused for r, err, paused in driver.execute_script(state))
                if os.environ.get("MOTIONLIB_SCREENSHOT"):
                    driver.save_screenshot(os.environ["MOTIONLIB_SCREENSHOT"])
            if k < len(study.items) - 1:
                driver.find_element(By.ID, "next").click()
        driver.find_element(By.ID, "download").click()
        deadline = time.time() + 10
        while time.time() < deadline and not [p for p in downloads.glob("*.json")]:
            time.sleep(0.1)
        files = list(downloads.glob("*.json"))
        assert files, "the page's Download button saved no file"
    finally:
        driver.quit()
    answers, report = us.read_responses(downloads, study_dir)
    assert report["status"].tolist() == ["valid"], report.to_dict("records")
    data = json.loads(files[0].read_text())
    assert data["participant"] == pid and data["seed"] == 11 and data["simulated"] is False
    assert "Chrome" in data["user_agent"] and data["started_utc"] <= data["submitted_utc"]
    for a in data["answers"]:  # the page's orders are the ones Python reproduces
        assert a["order"] == us.display_order(study.methods, study.seed, pid, a["item"])
    got = {(r.item, r.question): r.method for r in answers.itertuples()}
    assert got == want
    agg = us.aggregate(answers, n_boot=100).set_index(["criterion", "method"])
    assert agg.loc[("fidelity", "Ours"), "n_picks"] == 2 and agg.loc[("diversity", "Ours"), "n_picks"] == 2
    assert (agg["n_answers"] == 3).all() and (agg["n_participants"] == 1).all()
