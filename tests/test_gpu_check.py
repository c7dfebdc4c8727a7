"""benchmarks/gpu_check.py's code, on the CPU with tiny models: what it writes is what the projection
reads, and a batch that does not fit is halved and reported. (Its timings are measured on a GPU only.)"""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from motionlib.projection import batching_factor, batching_table

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_batching_rows_it_writes_are_the_projections_input(gpu_check, tmp_path, capsys):
    out = tmp_path / "batching.json"
    assert gpu_check.main(["--dry-run", "--families", "latte", "--sweep-families", "--compile-family", "",
                           "--batching-json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["family"], r["batch"], r["ran_batch"]) for r in rows] == [("latte", 1, 1), ("latte", 2, 2)]
    table = batching_table(out)
    factor, source = batching_factor("latte", 16, table)
    assert source == "measured" and factor == pytest.approx(rows[1]["seconds_per_latent"] / rows[0]["seconds_per_latent"])
    assert "DRY RUN: not a measurement" in capsys.readouterr().out


def test_a_batch_that_does_not_fit_is_halved_and_the_largest_that_fit_is_reported(gpu_check, monkeypatch, capsys):
    from motionlib.models import load_model

    model = load_model("latte", "tiny")
    real = model.predict

    def small_memory(x, *args, **kwargs):
        if x.shape[0] > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(x, *args, **kwargs)

    monkeypatch.setattr(model, "predict", small_memory)
    monkeypatch.setattr(gpu_check, "_model", lambda family, scale, device: model)
    rows = gpu_check.batching("latte", "cpu", (1, 4, 8), scale="tiny")
    assert [(r["batch"], r["ran_batch"]) for r in rows] == [(1, 1), (4, 2), (8, 2)]
    assert {r["largest_batch_that_fit"] for r in rows} == {2}
    said = capsys.readouterr().out
    assert "batch 4 does not fit on cpu; trying 2" in said and "batch 8 does not fit on cpu; trying 4" in said
    assert batching_table_from(rows) == {"latte": {1: rows[0]["seconds_per_latent"]}}  # halved rows are not batch times


def batching_table_from(rows):
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(rows, f)
    return batching_table(f.name)
