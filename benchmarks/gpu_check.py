"""The GPU check: batched denoiser passes, the step-synchronous sweep, compile, and the toy claims, in one run.

    .venv/bin/python benchmarks/gpu_check.py [--device cuda] [--families ...] [--json FILE]
        [--batching-json motionlib/assets/batching_gpu.json] [--toy-claims] [--dry-run]

Prepared to run in under 10 minutes on one GPU (``benchmarks/gpu_check.sh`` is the whole call); it
prints one table whose ratios are all measured in this run:

- **batching**: seconds per latent of one CFG-batched denoiser call at batch 1, 4 and 16 (bf16) for each
  family's full-size twin (``twins.build.twin_model``: the real architecture, seeded weights; the time
  does not depend on the weights). A batch that does not fit is halved, once per failure, with one
  line; the row says the largest batch that fit. ``--batching-json`` writes these rows where the
  projection reads them (``motionlib.projection.BATCHING``).
- **sweep**: the step-synchronous sweep against the grouped one it replaced, wall-clock, on a reduced
  twin of each family (``benchmarks/bench_sweep.py``'s code: same windows, same evaluations).
- **compile**: the denoiser through ``torch.compile`` against eager, warm (first call excluded), at
  batch 1 on the first family's full-size twin.
- **toy claims** (``--toy-claims``): ``motionlib reproduce --profile toy --only claims --device DEVICE``
  timed, against the CPU time of the same notebook in docs/reproduce.md, and its verdicts against
  the CPU run's ``claims.csv`` (``--cpu-claims``).

``--dry-run`` runs every part on the CPU with the tiny seeded models (batches 1 and 2, 3 sampling
steps): the code's check, not a measurement (``tests/test_gpu_check.py``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

FAMILIES = ("modelscope", "latte", "cogvideox", "cogvideox-5b")
BATCHES = (1, 4, 16)
WARMUP, REPEATS = 2, 5
CPU_CLAIMS_MIN = 89.5  # the toy profile's claims notebook, one CPU thread, empty cache (docs/reproduce.md)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(fn, device: str, repeats: int = REPEATS) -> float:
    for _ in range(WARMUP):
        fn()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / repeats


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, torch.cuda.OutOfMemoryError) or "out of memory" in str(err).lower()


def _model(family: str, scale: str, device: str):
    """The family's twin at ``scale`` ("full", "reduced") built on ``device``, or (``"tiny"``, a dry run)
    its tiny seeded model."""
    from motionlib.models import load_model
    from motionlib.twins.build import twin_model

    if scale == "tiny":
        return load_model(family, "tiny", device=device)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    return twin_model(family, scale, device=device, dtype=dtype)


@torch.no_grad()
def batching(family: str, device: str, batches=BATCHES, scale: str = "full") -> list[dict]:
    """Seconds per latent of one CFG-batched call per batch size; a batch that does not fit is halved."""
    model = _model(family, scale, device)
    d = model.spec.paper if scale == "full" else model.defaults
    embeds = model.encode_prompt("a corgi surfing on a wave")
    rows, fit = [], None
    for batch in batches:
        b = batch
        while b >= 1:
            try:
                x = torch.randn(model.latent_shape(b, d.num_frames, d.height, d.width), device=device, dtype=model.dtype)
                seconds = _timed(lambda: model.predict(x, 500, embeds.expand(b), d.guidance_scale), device)
                break
            except RuntimeError as err:
                if not _is_oom(err) or b == 1:
                    raise
                print(f"  {family}: batch {b} does not fit on {device}; trying {b // 2}", flush=True)
                torch.cuda.empty_cache()
                b //= 2
        fit = max(fit or 0, b)
        rows.append({"family": family, "batch": batch, "ran_batch": b, "call_s": seconds,
                     "seconds_per_latent": seconds / b, "setting": f"{d.num_frames}x{d.height}x{d.width}"})
    for row in rows:
        row["largest_batch_that_fit"] = fit
        row["speedup_per_latent"] = rows[0]["seconds_per_latent"] / row["seconds_per_latent"]
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return rows


def sweep(family: str, device: str, steps: int, dry_run: bool = False) -> dict:
    """``bench_sweep.bench`` on a reduced twin (dry run: the tiny model): grouped against step-synchronous,
    wall-clock."""
    from bench_sweep import bench

    model = None if dry_run else _model(family, "reduced", device)
    r = bench(family, "tiny", device, steps, grid=100, naive_windows=1, model=model)
    return {"family": family, "steps": r["steps"], "windows": r["windows"], "grouped_s": r["grouped_s"],
            "sync_s": r["sync_s"], "grouped_over_sync": r["grouped_s"] / r["sync_s"], "max_diff": r["max_diff"]}


@torch.no_grad()
def compiled(family: str, device: str, scale: str = "full") -> dict:
    """Eager against torch.compile at batch 1, warm; the first compiled call is reported apart."""
    from motionlib.models.loading import compile_denoiser

    model = _model(family, scale, device)
    d = model.spec.paper if scale == "full" else model.defaults
    embeds = model.encode_prompt("a corgi surfing on a wave")
    x = torch.randn(model.latent_shape(1, d.num_frames, d.height, d.width), device=device, dtype=model.dtype)
    eager = _timed(lambda: model.predict(x, 500, embeds, d.guidance_scale), device)
    reference = model.predict(x, 500, embeds, d.guidance_scale).float()
    compile_denoiser(model)
    t0 = time.perf_counter()
    out = model.predict(x, 500, embeds, d.guidance_scale).float()
    _sync(device)
    first = time.perf_counter() - t0
    warm = _timed(lambda: model.predict(x, 500, embeds, d.guidance_scale), device)
    return {"family": family, "eager_s": eager, "compiled_s": warm, "compile_first_call_s": first,
            "eager_over_compiled": eager / warm, "max_diff": float((out - reference).abs().max())}


def toy_claims(device: str, out: Path, cpu_claims: Path | None) -> dict:
    """The toy profile's claims notebook on ``device``, timed; verdicts against a CPU run's claims.csv."""
    import pandas as pd

    t0 = time.perf_counter()
    rc = subprocess.call([sys.executable, "-m", "motionlib.cli", "reproduce", "--profile", "toy", "--only", "claims",
                          "--device", device, "--out", str(out)])
    minutes = (time.perf_counter() - t0) / 60
    row = {"rc": rc, "minutes": minutes, "cpu_minutes_docs": CPU_CLAIMS_MIN, "cpu_over_device": CPU_CLAIMS_MIN / minutes}
    table = out / "toy" / "claims" / "claims.csv"
    if cpu_claims and table.is_file():
        mine, theirs = pd.read_csv(table, comment="#"), pd.read_csv(cpu_claims, comment="#")
        key = [c for c in ("model", "protocol", "claim", "setting") if c in mine and c in theirs]
        both = mine.merge(theirs, on=key, suffixes=("_device", "_cpu"))
        row["verdicts_compared"] = len(both)
        row["verdicts_equal"] = int((both["verdict_device"] == both["verdict_cpu"]).sum())
    return row


def _table(rows: list[dict]) -> None:
    print(f"\n{'part':10s} {'family':13s} {'what':46s} {'value':>12s} {'ratio':>8s}")
    for r in rows:
        print(f"{r['part']:10s} {r.get('family', '-'):13s} {r['what']:46s} {r['value']:>12s} {r.get('ratio', ''):>8s}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--families", nargs="+", default=list(FAMILIES))
    p.add_argument("--sweep-families", nargs="*", default=["modelscope", "latte", "cogvideox"])
    p.add_argument("--compile-family", default="modelscope")
    p.add_argument("--toy-claims", action="store_true", help="also time the toy profile's claims notebook")
    p.add_argument("--cpu-claims", type=Path, help="a CPU run's claims.csv to compare verdicts with")
    p.add_argument("--out", type=Path, default=Path("/tmp/motionlib-gpu-check"))
    p.add_argument("--json", type=Path, help="write every row here")
    p.add_argument("--batching-json", type=Path, help="write the batching rows here (the projection reads "
                                                      "motionlib/assets/batching_gpu.json)")
    p.add_argument("--dry-run", action="store_true", help="every part on the CPU at tiny sizes: a check of the code")
    args = p.parse_args(argv)
    from motionlib.devices import resolve_device

    device = "cpu" if args.dry_run else str(resolve_device(args.device))
    name = torch.cuda.get_device_name() if device.startswith("cuda") else "cpu"
    scale, batches, steps = ("tiny", (1, 2), 3) if args.dry_run else ("full", BATCHES, 50)
    print(f"gpu_check on {name} (torch {torch.__version__}){' DRY RUN: not a measurement' if args.dry_run else ''}")
    results: dict[str, list] = {"device": name, "batching": [], "sweep": [], "compile": [], "toy_claims": []}
    table = []

    def save() -> None:  # after every part: a run stopped by a time limit keeps what it measured
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2) + "\n")
        if args.batching_json and results["batching"]:
            args.batching_json.parent.mkdir(parents=True, exist_ok=True)
            args.batching_json.write_text(json.dumps(results["batching"], indent=2) + "\n")
    for family in args.families:
        try:
            rows = batching(family, device, batches, scale)
        except Exception as err:  # one family's failure does not stop the others
            print(f"  batching {family}: {type(err).__name__}: {str(err)[:200]}", flush=True)
            continue
        results["batching"] += [{**r, "device": name} for r in rows]
        for r in rows:
            table.append({"part": "batching", "family": family, "what": f"s per latent at batch {r['batch']} "
                          f"(ran {r['ran_batch']}, {r['setting']})", "value": f"{r['seconds_per_latent']:.4f}",
                          "ratio": f"{r['speedup_per_latent']:.2f}x"})
        save()
    for family in args.sweep_families:
        r = sweep(family, device, steps, args.dry_run)
        results["sweep"].append(r)
        table.append({"part": "sweep", "family": family, "what": f"grouped s / step-synchronous s ({r['windows']} windows)",
                      "value": f"{r['grouped_s']:.2f}/{r['sync_s']:.2f}", "ratio": f"{r['grouped_over_sync']:.2f}x"})
        save()
    if args.compile_family:
        try:
            r = compiled(args.compile_family, device, scale)
            results["compile"].append(r)
            table.append({"part": "compile", "family": args.compile_family, "what": "eager s / compiled s (warm, batch 1)",
                          "value": f"{r['eager_s']:.4f}/{r['compiled_s']:.4f}", "ratio": f"{r['eager_over_compiled']:.2f}x"})
        except Exception as err:  # e.g. no C++ compiler for the CPU's inductor: say so, go on
            print(f"  compile {args.compile_family}: {type(err).__name__}: {str(err)[:200]}", flush=True)
    if args.toy_claims:
        r = toy_claims(device, args.out, args.cpu_claims)
        results["toy_claims"].append(r)
        table.append({"part": "toy", "what": "claims notebook min (CPU docs / here)",
                      "value": f"{r['cpu_minutes_docs']:.1f}/{r['minutes']:.1f}", "ratio": f"{r['cpu_over_device']:.1f}x"})
    save()
    _table(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
