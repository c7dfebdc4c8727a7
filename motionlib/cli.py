"""The ``motionlib`` command: ``models``, ``sample``, ``sweep``, ``customize``, ``generate``, ``twin``,
``toyworld``, ``reproduce`` (the main job), ``report`` (its results as HTML pages), ``figures`` (every
figure of a profile redrawn from its recorded inputs, in another style or width).

Seeds mean one thing everywhere: ``--seed`` is the randomness of the run itself (initial noise,
LoRA initialisation and training draws, toy-world data); ``--weights-seed`` is the seed of tiny
random weights. A command that draws nothing (``sweep``) has no ``--seed``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from motionlib.errors import MotionlibError, ParameterError


def _frame_sampling(text: str) -> str | int:
    """``--frame-sampling``: ``even``, ``linspace`` or an integer stride."""
    return int(text) if text.strip().isdigit() else text


def _note(model) -> str:
    """What a result of ``model`` is not: the label of tiny random and toy-world models."""
    from motionlib.provenance import label

    return f" ({label(model)})" if label(model) else ""


def cmd_models(args) -> int:
    from motionlib import families
    from motionlib.models import weights_status
    from motionlib.models.loading import toy_sources

    print(f"{'family':14s} {'hub checkpoint (source hub)':36s} {'paper setting':26s} {'hub weights':18s} toy models")
    for fam in families.all_families():
        d = fam.spec.paper
        setting = f"{d.num_frames}x{d.height}x{d.width}, {d.num_steps} st, cfg {d.guidance_scale:g}"
        toys = ", ".join(toy_sources(fam.name)) or "-"
        print(f"{fam.name:14s} {fam.spec.hub_id:36s} {setting:26s} {weights_status(fam.name):18s} {toys}")
    print("\nsources: toy (the default where one ships: trained on the toy world; toy:<name> another shipped "
          "one), tiny (seeded random weights, for unit tests only), hub, hub:<org/name>, a local diffusers folder, "
          "or a checkpoint twin's folder (motionlib twin)")
    return 0


def cmd_sample(args) -> int:
    from motionlib import provenance
    from motionlib.data import write_video
    from motionlib.sampling import generate

    out = Path(args.out)
    if out.suffix.lower() not in (".mp4", ".gif"):
        raise ParameterError(f"--out must end in .mp4 or .gif, got {out.name!r}")
    model = _load(args)
    sample = generate(model, args.prompt, num_frames=args.frames, height=args.height,
                      width=args.width, num_steps=args.steps, guidance_scale=args.guidance,
                      seed=args.seed)
    write_video(out, sample.video, fps=model.defaults.fps)
    provenance.write_sidecar(out, provenance.record(model, settings=sample.settings, seed=args.seed,
                                                     what="motionlib sample"))
    f, h, w = sample.video.shape[:3]
    print(f"wrote {out} ({f} frames, {h}x{w}){_note(model)}")
    return 0


def cmd_sweep(args) -> int:
    from motionlib import provenance
    from motionlib.metrics import clip_scorer
    from motionlib.sweep import run_sweep, settings_record

    out = Path(args.out)
    settings = _sweep_settings(args)  # refuses out-of-range counts (--batch-size 0, --grid 7) before any work
    if args.videos:
        return _sweep_videos(args, out, settings)
    if not (args.video and args.caption and args.edit):
        raise ParameterError("give --video, --caption and --edit for one video, or --videos NAME ... (bundled, "
                             "toy or TGVE names, with their dataset captions) for many")
    scale_out = [flag for flag, given in (("--executor ray", args.executor != "serial"), ("--address", args.address),
                                          ("--num-gpus", args.num_gpus is not None),
                                          ("--num-cpus", args.num_cpus is not None)) if given]
    if scale_out:
        raise ParameterError(f"{', '.join(scale_out)} apply to --videos (one task per video); a single --video "
                             "runs in this process: leave them out")
    model = _load(args)
    scorer = clip_scorer(args.clip, model, device=args.device)
    result = run_sweep(model, args.video, args.caption, args.edit, scorer, settings=settings,
                       edit_kind=args.edit_kind)
    rec = provenance.record(model, settings={**settings_record(settings, model), "clip": scorer.describe(),
                                             "video": str(args.video), "caption": args.caption,
                                             "edit": args.edit, "counts": result.counts},
                            seed=args.weights_seed, what="motionlib sweep: prompt-window resampling")
    path = provenance.save_table(result.rows, out / "sweep.csv", rec)
    c = result.counts
    print(f"wrote {path} ({len(result.rows) - 1} windows and the no-edit reference; denoiser evaluations "
          f"{c['evaluations']} this run, {c['shared_formula']} shared vs {c['naive']} naive; "
          f"{c['windows_from_cache']} of {c['windows']} from cache){_note(model)}")
    return 0


def _sweep_settings(args):
    from motionlib.sweep import SweepSettings

    return SweepSettings(num_steps=args.steps, grid=args.grid, guidance_scale=args.guidance,
                         inversion_guidance=args.inversion_guidance, num_frames=args.frames,
                         height=args.height, width=args.width,
                         frame_sampling=_frame_sampling(args.frame_sampling),
                         fixed_point_iters=args.fixed_point_iters, batch_size=args.batch_size)


def _sweep_videos(args, out: Path, settings) -> int:
    """``motionlib sweep --videos ...``: one sweep unit per video, on the chosen executor; one CSV."""
    from motionlib import provenance
    from motionlib.executors import check_executor, gpus_per_unit
    from motionlib.metrics import clip_scorer
    from motionlib.sweep import run_videos, settings_record
    from motionlib.videos import select_videos

    check_executor(args.executor)
    if args.num_cpus is not None and args.num_cpus < 1:  # (run_units says so too, but only after the model loaded)
        raise ParameterError(f"--num-cpus must be a whole number >= 1 of CPUs per task, got {args.num_cpus!r}")
    if args.executor == "ray":
        gpus_per_unit(args.device, args.num_gpus)  # --num-gpus: a number >= 0, and > 0 for a model on a GPU
    items = select_videos(args.videos, tgve_root=args.tgve_root)
    model = _load(args)
    if any(item.subset == "toy" for item in items):
        from motionlib.toyworld.dataset import check_edit_kind

        check_edit_kind(args.edit_kind, model)  # a path edit on a model that never drew a zigzag measures nothing
    scorer = clip_scorer(args.clip, model, device=args.device)
    rows, counts = run_videos(model, items, scorer, edit_kind=args.edit_kind, settings=settings,
                              executor=args.executor, address=args.address, num_gpus=args.num_gpus,
                              num_cpus=args.num_cpus)
    rec = provenance.record(model, settings={**settings_record(settings, model), "clip": scorer.describe(),
                                             "videos": [i.name for i in items], "edit_kind": args.edit_kind,
                                             "executor": args.executor, "counts": counts},
                            seed=args.weights_seed, what="motionlib sweep: prompt-window resampling, many videos")
    path = provenance.save_table(rows, out / "sweep.csv", rec)
    print(f"wrote {path} ({len(items)} videos x {len(rows) // max(1, len(items))} rows, executor "
          f"{args.executor}){_note(model)}")
    return 0


def cmd_customize(args) -> int:
    from motionlib.customize import CustomizeSettings, train
    from motionlib.data import read_video

    out = Path(args.out)
    model = _load(args)
    settings = CustomizeSettings(
        tau=args.tau, projections=args.projections, group=args.group, mode=args.mode, rank=args.rank,
        alpha=args.alpha or args.rank, learning_rate=args.lr, train_steps=args.steps,
        num_frames=args.frames, height=args.height, width=args.width, seed=args.seed,
        placement=args.placement, dropout=args.dropout,
    ).resolved(model)
    video = read_video(args.video, settings.num_frames, (settings.height, settings.width))
    result = train(model, video, args.caption, settings, out)
    r = result.record
    resumed = f", resumed at step {result.resumed_from}" if result.resumed_from else ""
    loss = f", loss {result.losses[0]:.4f} -> {result.losses[-1]:.4f}" if result.losses else ""
    print(f"wrote {out / 'adapter.safetensors'} and {out / 'adapter.json'}: {r['mode']} on "
          f"{len(r['target_modules'])} {settings.group} projections ({settings.projections}), "
          f"{r['trainable_parameters']} trainable parameters, tau {settings.tau}, {result.steps} steps"
          f"{resumed}{loss}{_note(model)}")
    return 0


def cmd_generate(args) -> int:
    import json

    from motionlib import provenance
    from motionlib.customize import generate_customized, load_adapter
    from motionlib.data import write_video

    out = Path(args.out)
    if args.samples < 1:
        raise ParameterError(f"--samples must be at least 1, got {args.samples}")
    model = _load(args)
    adapter = load_adapter(model, args.adapter)
    tau = adapter.settings.tau if args.tau is None else args.tau
    samples = generate_customized(model, adapter, args.prompt, tau=tau, num_samples=args.samples,
                                  seed_base=args.seed, num_steps=args.steps, guidance_scale=args.guidance)
    record = json.loads((Path(args.adapter) / "adapter.json").read_text())
    written = []
    for i, sample in enumerate(samples):
        path = out / f"sample{i}_seed{sample.settings['seed']}.mp4"
        write_video(path, sample.video, fps=model.defaults.fps)
        provenance.write_sidecar(path, provenance.record(
            model, settings={**sample.settings, "adapter_dir": str(args.adapter), "adapter_record": record},
            seed=sample.settings["seed"], what="motionlib generate: customized sample"))
        written.append(path.name)
    print(f"wrote {len(written)} videos to {out} ({', '.join(written)}); adapter on at t >= {tau}{_note(model)}")
    return 0


def cmd_twin(args) -> int:
    from motionlib.twins import facts, get_checkpoint, hub_cache, write_twin

    ckpt = get_checkpoint(args.family)
    out = write_twin(args.family, args.out, scale=args.scale, dtype=args.dtype, seed=args.weights_seed,
                     overwrite=args.overwrite, progress=lambda text: print(f"  building {text}", flush=True))
    counts = facts.parameter_counts(args.family, args.scale)
    sizes = ", ".join(f"{name} {n / 1e6:,.1f}M" for name, n in counts.items())
    print(f"wrote {out}: a {args.scale}-scale twin of {ckpt.hub_id} (seeded random weights; {sizes} parameters)")
    if args.hub_cache:
        snapshot = hub_cache.install(out, ckpt.hub_id, args.hub_cache)
        print(f"laid out as a download of {ckpt.hub_id} in {snapshot}; load it with --source hub and "
              f"HF_HUB_OFFLINE=1 HF_HUB_CACHE={args.hub_cache}")
    return 0


def cmd_reproduce(args) -> int:
    from motionlib.reproduce import execute_all, plan, print_summary, uses_ray

    overrides = {"executor": args.executor} if args.executor else {}
    if args.address:
        overrides["ray_address"] = args.address
    if args.device:  # checked here, before any notebook starts: one line if this machine has no such device
        from motionlib.devices import resolve_device

        resolve_device(args.device)
        overrides["device"] = args.device
    runs = plan(args.profile, args.only, args.out, overrides, args.families)
    if args.compile:  # the notebooks' kernels inherit it; load_model reads it (models.loading.compile_requested)
        os.environ["MOTIONLIB_COMPILE"] = "1"
    if args.plan:
        from motionlib.reproduce import print_plan

        print_plan(runs, args.profile)
        return 0
    if uses_ray(runs):  # (the paper profile's batch notebooks, or --executor ray)
        from motionlib.executors import check_executor

        check_executor("ray")  # before any notebook starts: say how to install Ray (or to use --executor serial)
    if args.profile in ("quick", "paper"):  # the real checkpoints: refuse before any notebook if one is missing
        from motionlib.prerequisites import print_checklist
        from motionlib.reproduce import prerequisites

        missing = print_checklist(prerequisites(runs))
        if missing:
            raise ParameterError(f"{missing} prerequisite{'s' if missing > 1 else ''} of the {args.profile} profile "
                                 "missing (listed above, each with the command that fetches it; "
                                 "docs/real-checkpoints.md); --only runs the notebooks whose prerequisites are here")
    runs = execute_all(runs, args.profile, args.jobs)
    print_summary(runs)
    return 0 if all(r.status == "ok" for r in runs) else 1


def cmd_figures(args) -> int:
    from motionlib import figures

    done, others, seconds = figures.redraw(figures.profile_dir(args.profile, args.figures), args.style, args.width)
    root = next(iter(done)).parent.parent
    for png, problems in done.items():
        verdict = "ok" if not problems else f"{len(problems)} problem(s): " + "; ".join(str(p) for p in problems[:3])
        print(f"  {png.relative_to(root)}: figure check {verdict}")
    failing = sum(1 for problems in done.values() if problems)
    print(f"redrew {len(done)} figures in {seconds:.1f} s under {root}"
          + (f" (style {args.style})" if args.style else "") + (f" at {args.width} column width" if args.width else "")
          + f"; {len(done) - failing} pass the figure check, {failing} do not")
    if others:
        print(f"{len(others)} PNGs have no recorded inputs and were left as they are: "
              + ", ".join(p.name for p in others[:10]) + (" ..." if len(others) > 10 else ""))
    return 0


def cmd_report(args) -> int:
    from motionlib import paths
    from motionlib.report import build_report

    profile_dir = Path(args.figures or paths.figures_dir()) / args.profile
    print(f"wrote {build_report(profile_dir, args.out)}; open it in a browser")
    return 0


def _family_list() -> str:
    from motionlib import families

    return ", ".join(families.names())


def _model_args(p: argparse.ArgumentParser, model_help: str | None = None) -> None:
    p.add_argument("--model", required=True, help=model_help or f"the model family: {_family_list()}")
    p.add_argument("--source", help="toy | toy:<name> | tiny | hub | hub:<org/name> | PATH (default: the family's "
                   "shipped toy model; tiny: seeded random weights, for unit tests only)")


def _weights_seed_and_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights-seed", type=int, default=0, help="seed of tiny random weights")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (default cpu)")
    p.add_argument("--dtype", choices=["float32", "float16", "bfloat16"],
                   help="weights dtype (default: float32 on CPU and for tiny/toy models, bfloat16 for real models on GPU)")
    p.add_argument("--vae-slicing", action="store_true", help="decode a batch one clip at a time")
    p.add_argument("--vae-tiling", action="store_true", help="encode/decode in spatial tiles")
    p.add_argument("--cpu-offload", action="store_true",
                   help="keep each component on the CPU until it runs (real models; needs a GPU)")
    p.add_argument("--compile", action="store_true",
                   help="run the denoiser through torch.compile (off by default; the first call at each shape "
                        "compiles; results equal eager ones up to float rounding)")


def _load(args):
    """``load_model`` with the command line's source, device, dtype, seed and memory savers."""
    import torch

    from motionlib.models import load_model

    from motionlib.models.loading import default_source

    source = args.source if args.source is not None else default_source(args.model)
    return load_model(args.model, source, device=args.device, seed=args.weights_seed,
                      dtype=getattr(torch, args.dtype) if args.dtype else None, vae_slicing=args.vae_slicing,
                      vae_tiling=args.vae_tiling, cpu_offload=args.cpu_offload, compile=args.compile or None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motionlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("models", help="list model families, sources and local weights").set_defaults(func=cmd_models)

    p = sub.add_parser("sample", help="text-to-video sample from one family")
    _model_args(p)
    p.add_argument("--prompt", required=True, help='the text; "" samples unconditionally')
    p.add_argument("--frames", type=int)
    p.add_argument("--height", type=int)
    p.add_argument("--width", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--guidance", type=float)
    p.add_argument("--seed", type=int, default=0, help="seed of the initial noise")
    _weights_seed_and_device(p)
    p.add_argument("--out", required=True, help="FILE.mp4 or FILE.gif")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("sweep", help="Fig. 2 prompt-window sweep for one video, or many with --videos "
                       "(writes DIR/sweep.csv)")
    _model_args(p)
    p.add_argument("--video", help="an mp4, gif or folder of frames")
    p.add_argument("--caption", help="the video's caption c (used for inversion)")
    p.add_argument("--edit", help="the edited caption c'")
    p.add_argument("--videos", nargs="+", metavar="NAME",
                   help="instead of --video: bundled, toy[:N], TGVE names or all (with --tgve-root), each with its "
                   "dataset caption and --edit-kind caption; one CSV for all")
    p.add_argument("--tgve-root", help="a LOVEU-TGVE-2023 folder for --videos (default $MOTIONLIB_TGVE)")
    p.add_argument("--executor", default="serial", choices=["serial", "ray"],
                   help="where the per-video sweeps run (default serial; ray: one task each, pip install -e .[ray])")
    p.add_argument("--address", help="ray: join this cluster (auto, HOST:PORT); default: start a local one")
    p.add_argument("--num-gpus", type=float, help="ray: GPUs per task (default: 1 with --device cuda, else 0; "
                   "0.5 puts two tasks on a GPU)")
    p.add_argument("--num-cpus", type=int, help="ray: CPUs and torch threads per task (default: 1 with a GPU, else "
                   "this process's threads, so the results equal the serial run's to the last digit)")
    p.add_argument("--edit-kind", default="object",
                   help="with --videos, which dataset edit caption: object (default), style, background, multiple; "
                        "toy clips also direction, direction_colour, direction_multiple, path (edits that change the "
                        "motion); with --video, a label for the rows")
    p.add_argument("--grid", type=int, default=100, help="window grid interval (100: 55 windows)")
    p.add_argument("--steps", type=int, help="sampling steps (default: the family's)")
    p.add_argument("--frames", type=int, help="frames (default: the family's)")
    p.add_argument("--height", type=int, help="height in pixels (default: the family's)")
    p.add_argument("--width", type=int, help="width in pixels (default: the family's)")
    p.add_argument("--guidance", type=float, help="CFG while resampling (default: the family's)")
    p.add_argument("--inversion-guidance", type=float, default=1.0,
                   help="CFG while inverting (default 1: c only, no guidance, as the paper inverts)")
    p.add_argument("--frame-sampling", default="even",
                   help="frames of a longer clip: even (default: the largest fixed stride), linspace, or a stride N")
    p.add_argument("--fixed-point-iters", type=int, default=0, help="inversion refinement (default 0: plain DDIM)")
    p.add_argument("--batch-size", type=int, help="latents per denoiser pass (default: every live latent, at most 56 "
                   "on the default grid; out of CUDA memory halves it automatically)")
    p.add_argument("--clip", default="auto", help="CLIP for scoring: auto (tiny for tiny models, else "
                   "ViT-L-14:openai), tiny, or an open_clip NAME[:PRETRAINED]")
    _weights_seed_and_device(p)  # (no --seed: inversion and DDIM resampling draw nothing)
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("customize", help="train a motion adapter on one video at t >= tau "
                       "(writes DIR/adapter.safetensors and DIR/adapter.json; a stopped run resumes)")
    _model_args(p)
    p.add_argument("--video", required=True, help="the reference video: an mp4, gif or folder of frames")
    p.add_argument("--caption", required=True, help="the reference video's caption")
    p.add_argument("--tau", type=int, default=700, help="train at t in [tau, 1000) (default 700; 0: all, 1000: none)")
    p.add_argument("--projections", default="qkvo", help="which of Q, K, V, O to adapt (default qkvo)")
    p.add_argument("--group", choices=["temporal", "spatial", "joint", "all"],
                   help="attention group (default: temporal; CogVideoX: joint; all: every attention)")
    p.add_argument("--mode", default="lora", choices=["lora", "direct"], help="LoRA or direct weight tuning")
    p.add_argument("--rank", type=int, default=4, help="LoRA rank (default 4)")
    p.add_argument("--alpha", type=float, help="LoRA alpha (default: the rank)")
    p.add_argument("--placement", default="attention", choices=("attention", "attention+ff", "attention+ff+conv"),
                   help="the attention projections (default), + the feed-forward of their blocks, + the temporal "
                        "convolutions")
    p.add_argument("--dropout", type=float, default=0.0, help="LoRA dropout while training (default 0; "
                                                              "MotionDirector: 0.1)")
    p.add_argument("--steps", type=int, help="training steps (default: the family's for real models, 200 for toy, 20 for tiny)")
    p.add_argument("--lr", type=float, help="learning rate (default: the family's)")
    p.add_argument("--frames", type=int, help="frames of the reference video (default: the family's)")
    p.add_argument("--height", type=int)
    p.add_argument("--width", type=int)
    p.add_argument("--seed", type=int, default=0, help="seed of LoRA initialisation and timestep/noise draws")
    _weights_seed_and_device(p)
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=cmd_customize)

    p = sub.add_parser("generate", help="sample a prompt with a trained motion adapter on at t >= tau")
    _model_args(p, "the family the adapter was trained on")
    p.add_argument("--adapter", required=True, help="a folder written by motionlib customize")
    p.add_argument("--prompt", required=True)
    p.add_argument("--tau", type=int, help="apply the adapter at t >= tau (default: the tau it was trained with)")
    p.add_argument("--samples", type=int, default=4, help="number of samples (default 4)")
    p.add_argument("--seed", type=int, default=0, help="sample i uses noise seed SEED + i")
    p.add_argument("--steps", type=int, help="sampling steps (default: the family's)")
    p.add_argument("--guidance", type=float, help="guidance scale (default: the family's)")
    _weights_seed_and_device(p)
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("twin", help="write a checkpoint twin: the real checkpoint's layout and configs with "
                       "seeded random weights (load it with --source DIR)")
    p.add_argument("family", help=f"the family whose published checkpoint to copy: {_family_list()}")
    p.add_argument("--out", required=True, help="folder to write (a diffusers checkpoint folder)")
    p.add_argument("--scale", default="reduced", choices=["full", "reduced"],
                   help="full: the published size; reduced (default): one layer/block per stage, every width kept")
    p.add_argument("--dtype", choices=["float32", "float16", "bfloat16"],
                   help="weights dtype (default: the dtype each published component is stored in)")
    p.add_argument("--weights-seed", type=int, default=0, help="seed of the random weights")
    p.add_argument("--hub-cache", help="also lay the twin out in this Hugging Face cache folder as a download "
                   "of the family's hub id")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_twin)

    from motionlib.toyworld.commands import add_parser as add_toyworld

    add_toyworld(sub)

    p = sub.add_parser("reproduce", help="run every notebook (figures and tables) with papermill")
    p.add_argument("--profile", default="smoke", choices=["smoke", "toy", "quick", "paper"],
                   help="smoke: every notebook at its stored defaults (minutes); toy: the full toy-world measurement "
                        "(notebooks/params/toy/, about 92 min on 2 cores; --device cuda for a GPU); quick: the headline with the real "
                        "checkpoints on one GPU in about an hour (notebooks/params/quick/); paper: everything with "
                        "the real checkpoints (GPU days: see --plan)")
    p.add_argument("--compile", action="store_true",
                   help="every notebook's denoiser runs through torch.compile (off by default; sets MOTIONLIB_COMPILE=1)")
    p.add_argument("--plan", "--dry-run", action="store_true",
                   help="print the notebook runs, their units, how many are cached and the projected GPU time; "
                        "compute and write nothing")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only notebooks whose name contains NAME")
    p.add_argument("--families", nargs="+", metavar="FAMILY",
                   help="paper profile: run every model notebook for these families (default: the paper's scope, "
                        "Tab. 3 and Tab. 4 with Latte only, the rest for the paper's three families)")
    p.add_argument("--out", help="output root (default figures/)")
    p.add_argument("--executor", choices=["serial", "ray"],
                   help="where the batch notebooks run their units (default: the profile's: smoke and toy serial, paper ray)")
    p.add_argument("--address", help="ray: join this cluster (auto, HOST:PORT); default: each notebook starts a local one")
    p.add_argument("--device", help="where every notebook's models run (cpu, cuda, cuda:N): passed to each notebook "
                                    "that takes a device; random draws stay on CPU generators (default: each "
                                    "notebook's, cpu)")
    p.add_argument("--jobs", type=int, help="notebooks at a time, each on cores/jobs torch threads "
                                            "(default: smoke and toy 2 on 2 or more cores, paper 1)")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("report", help="a static HTML page per executed notebook of a profile, and an index "
                       "(writes FIGURES/PROFILE/report/index.html)")
    p.add_argument("--profile", default="smoke", help="the profile folder under --figures (default smoke)")
    p.add_argument("--figures", help="the reproduce output root (default figures/, or $MOTIONLIB_FIGURES)")
    p.add_argument("--out", help="output folder (default FIGURES/PROFILE/report)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("figures", help="redraw every figure of a profile from its recorded inputs (CSVs, frames), "
                       "loading no model: a new style or column width in seconds")
    p.add_argument("--profile", default="smoke", help="the profile folder under --figures (default smoke)")
    p.add_argument("--figures", help="the reproduce output root (default figures/, or $MOTIONLIB_FIGURES)")
    p.add_argument("--style", help="a matplotlib .mplstyle file applied over the house style")
    p.add_argument("--width", choices=["single", "double"], help="draw every figure at this column width "
                   "(3.3 or 7.0 in; default: each figure its own)")
    p.set_defaults(func=cmd_figures)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MotionlibError as err:
        print(f"motionlib: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("motionlib: interrupted; finished results are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
