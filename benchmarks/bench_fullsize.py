"""Full-size checkpoint twins: memory and time, measured (and projected where marked).

    .venv/bin/python benchmarks/bench_fullsize.py cpu [--families ...] [--work DIR] [--keep]
    .venv/bin/python benchmarks/bench_fullsize.py gpu [--families ...] [--json FILE]

``cpu``: writes each family's full-scale twin (``motionlib twin FAMILY --scale full --dtype bfloat16``:
the published fp32 components would not fit 24 GiB while being built) to ``--work``, then in a fresh subprocess loads it with ``load_model`` (the
``--source DIR`` path) and prints the load time, the peak resident memory (ru_maxrss) and the seconds
of one denoiser call (batch 1, no CFG) at a reduced resolution: 4 frames at 64 x 64 (Latte: its 16
frames; CogVideoX: 5 frames). The twin is deleted after each family unless ``--keep``. Families
whose loaded size would not fit this machine's memory are skipped and say so.

``gpu``: builds each full-scale twin in memory on the GPU in bfloat16 (``twins.build.twin_model``;
no files) and measures at the paper's settings (frames, resolution, guidance):

- seconds per denoiser call: CFG batched (one call, batch 2) and unbatched (two calls, batch 1);
- seconds per customization step (rank-4 LoRA on the paper's projections, batch 1, timesteps in
  [700, 1000)) and its peak GPU memory, through ``motionlib.customize.train`` on a seeded random
  clip (the time does not depend on the pixels);
- seconds to decode one clip with the VAE;
- with ``--compile``: the first CFG-batched call through ``torch.compile`` (compilation included) and
  the steady-state call, and its ratio to the eager call;
- projected minutes for one video's customization (300 steps) and one video's 55-window sweep at
  50 steps (the shared-prefix evaluation count of ``resampling.shared_evaluations``, CFG batched,
  plus 50 unguided inversion calls and 56 decodes). Projections are products of measured times,
  marked as such.

Each family runs in its own subprocess (its peak memory is its own; a failure does not stop the rest).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

FAMILIES = ("modelscope", "latte", "cogvideox", "cogvideox-5b")
CPU_CALL = {"modelscope": (4, 64, 64), "latte": (16, 64, 64), "cogvideox": (5, 64, 64), "cogvideox-5b": (5, 64, 64)}
CUSTOMIZE_STEPS = 300  # the paper's one-video customization (MotionDirector's 150-300; our default for real models)
WARMUP, REPEATS = 2, 5


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def cpu_one(family: str, folder: str) -> dict:
    import torch

    from motionlib.models import load_model

    t0 = time.perf_counter()
    model = load_model(family, folder, device="cpu", dtype=torch.bfloat16)
    load_s = time.perf_counter() - t0
    rss_loaded = _rss_gib()
    frames, h, w = CPU_CALL[family]
    embeds = model.encode_prompt("a corgi surfing on a wave")
    x = torch.randn(model.latent_shape(1, frames, h, w))
    with torch.no_grad():
        model.predict(x, 500, embeds, 1.0)  # warm-up
        t0 = time.perf_counter()
        model.predict(x, 500, embeds, 1.0)
        call_s = time.perf_counter() - t0
    return dict(family=family, load_s=load_s, peak_rss_gib_after_load=rss_loaded, peak_rss_gib=_rss_gib(),
                call_s=call_s, call_shape=list(x.shape), dtype="bfloat16")


def gpu_one(family: str, scale: str = "full", device: str = "cuda", compile: str = "eager") -> dict:
    """One family at the paper's settings (``scale="reduced", device="cpu"``: a dry run of this code);
    ``compile="compile"`` also times the CFG-batched call through ``torch.compile`` (``--compile``)."""
    import numpy as np
    import torch

    from motionlib.customize import CustomizeSettings, train
    from motionlib.inversion import invertible_steps
    from motionlib.resampling import shared_evaluations
    from motionlib.twins.build import twin_model
    from motionlib.windows import NO_EDIT, grid_windows

    cuda = device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    peak = (lambda: torch.cuda.max_memory_allocated() / 2**30) if cuda else _rss_gib
    reset = torch.cuda.reset_peak_memory_stats if cuda else (lambda: None)

    def sync_time(fn) -> float:
        for _ in range(WARMUP):
            fn()
        sync()
        t0 = time.perf_counter()
        for _ in range(REPEATS):
            fn()
        sync()
        return (time.perf_counter() - t0) / REPEATS

    t0 = time.perf_counter()
    model = twin_model(family, scale, device=device, dtype=torch.bfloat16 if cuda else torch.float32)
    sync()
    build_s = time.perf_counter() - t0
    weights_gib = sum(p.numel() * p.element_size() for c in (model.denoiser, model.vae, model.text_encoder)
                      for p in c.parameters()) / 2**30
    d = model.spec.paper if scale == "full" else model.spec.tiny  # (a reduced dry run: the small setting)
    embeds = model.encode_prompt("a corgi surfing on a wave")
    shape = model.latent_shape(1, d.num_frames, d.height, d.width)
    x = torch.randn(shape, device=device, dtype=model.dtype)
    reset()
    with torch.no_grad():
        cfg_batched = sync_time(lambda: model.predict(x, 500, embeds, d.guidance_scale))
        cfg_two_calls = sync_time(lambda: (model.predict(x, 500, embeds, 1.0), model.predict(x, 500, embeds, 1.0)))
        infer_peak = peak()
        decode_s = sync_time(lambda: model.decode_latents(x, d.num_frames))
    decode_peak = peak()
    # Seconds per step do not depend on the pixels: a seeded random clip (no video decoder needed).
    video = np.random.default_rng(0).integers(0, 256, (d.num_frames, d.height, d.width, 3), dtype=np.uint8)
    stamps: list[float] = []

    def tick(_t):
        sync()
        stamps.append(time.perf_counter())
        if len(stamps) == 1:  # the clip is encoded: measure the training steps alone
            reset()

    settings = CustomizeSettings(tau=700, train_steps=WARMUP + REPEATS + 1, seed=0, num_frames=d.num_frames,
                                 height=d.height, width=d.width)
    result = train(model, video, "a corgi surfing on a wave", settings, progress=False, timestep_hook=tick)
    sync()
    stamps.append(time.perf_counter())
    step_s = (stamps[-1] - stamps[WARMUP]) / (len(stamps) - 1 - WARMUP)
    train_peak = peak()
    compiled = {}
    if compile == "compile":
        from motionlib.models.loading import compile_denoiser

        result.adapter.remove()  # time the base denoiser, as the eager call above
        compile_denoiser(model)
        with torch.no_grad():
            t0 = time.perf_counter()
            model.predict(x, 500, embeds, d.guidance_scale)  # the first call compiles
            sync()
            first = time.perf_counter() - t0
            steady = sync_time(lambda: model.predict(x, 500, embeds, d.guidance_scale))
        compiled = {"compile_first_call_s": first, "call_cfg_batched_compiled_s": steady,
                    "compiled_over_eager": steady / cfg_batched}

    steps = invertible_steps(model, d.num_steps)
    windows = [NO_EDIT, *grid_windows(100)]
    evaluations = shared_evaluations(windows, steps)
    sweep_s = evaluations * cfg_batched + len(steps) * cfg_two_calls / 2 + len(windows) * decode_s
    return dict(
        family=family, scale=scale, device=torch.cuda.get_device_name() if cuda else "cpu", dtype=str(model.dtype),
        paper_setting=f"{d.num_frames}x{d.height}x{d.width}, {d.num_steps} steps, cfg {d.guidance_scale:g}",
        latent_shape=list(shape), build_s=build_s, weights_gib=weights_gib,
        call_cfg_batched_s=cfg_batched, call_cfg_two_calls_s=cfg_two_calls, inference_peak_gib=infer_peak,
        decode_s=decode_s, decode_peak_gib=decode_peak,
        customize_step_s=step_s, customize_peak_gib=train_peak,
        trainable_parameters=result.record["trainable_parameters"],
        projected_customize_min=CUSTOMIZE_STEPS * step_s / 60,
        sweep_evaluations=evaluations, projected_sweep_min=sweep_s / 60, **compiled,
    )


def _subprocess(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, "_one", *args], capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        lines = proc.stderr.splitlines()
        sys.stderr.write("\n".join(lines[:40] + ["..."] + lines[-5:]) + "\n")
        return {"family": args[1], "error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    return json.loads(lines[-1])


def run_cpu(families, work: Path, keep: bool) -> list[dict]:
    import psutil

    from motionlib.twins import facts, get_checkpoint, write_twin
    from motionlib.twins.build import DTYPES

    work.mkdir(parents=True, exist_ok=True)
    free_gib = shutil.disk_usage(work).free / 2**30
    rows = []
    for family in families:
        counts = facts.parameter_counts(family)
        ckpt = get_checkpoint(family)
        published_gib = sum(n * DTYPES[ckpt.components[c].dtype].itemsize for c, n in counts.items()) / 2**30
        bf16_gib = sum(counts.values()) * 2 / 2**30
        if bf16_gib > 0.8 * psutil.virtual_memory().total / 2**30 or bf16_gib > 0.9 * free_gib:
            rows.append(dict(family=family, skipped=f"{bf16_gib:.1f} GiB in bfloat16 does not fit this machine"))
            continue
        folder = work / family
        t0 = time.perf_counter()
        write_twin(family, folder, scale="full", dtype="bfloat16", overwrite=True)
        write_s = time.perf_counter() - t0
        row = _subprocess(["cpu", family, str(folder)])
        row.update(write_s=write_s, published_dtypes_gib=published_gib, weights_bf16_gib=bf16_gib)
        rows.append(row)
        print(json.dumps(row), flush=True)
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return rows


def main() -> None:
    if sys.argv[1:2] == ["_one"]:
        kind, family, *rest = sys.argv[2:]
        print(json.dumps(cpu_one(family, rest[0]) if kind == "cpu" else gpu_one(family, *rest)), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["cpu", "gpu"])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--work", default="/tmp/motionlib-fullsize", help="cpu: where full twins are written")
    parser.add_argument("--keep", action="store_true", help="cpu: keep the written twins")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--dry-run", action="store_true", help="gpu: run the code on reduced twins on the CPU")
    parser.add_argument("--compile", action="store_true",
                        help="gpu: also time the CFG-batched call through torch.compile (first call and steady state)")
    args = parser.parse_args()
    if args.mode == "cpu":
        rows = run_cpu(args.families, Path(args.work), args.keep)
    else:
        rows = []
        for family in args.families:
            scale = ["reduced", "cpu"] if args.dry_run else ["full", "cuda"]
            rows.append(_subprocess(["gpu", family, *scale, "compile" if args.compile else "eager"]))
            print(json.dumps(rows[-1]), flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    print("\nmeasured unless the key says projected; projected = measured seconds x counts")
    for row in rows:
        print(" ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
