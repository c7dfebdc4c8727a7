"""``motionlib toyworld ...``: train the toy models, render and read clips, measure the claim.

Every measuring command writes CSVs with provenance sidecars into ``--out`` and prints a summary.
"""

from __future__ import annotations

import argparse

from pathlib import Path

from motionlib.errors import DatasetError
from motionlib import families


def _record(model, what: str, settings: dict):
    from motionlib import provenance

    return provenance.record(model, settings=settings, seed=settings.get("seed"), what=what)


def _save(df, out: Path, name: str, rec: dict) -> Path:
    from motionlib import provenance

    return provenance.save_table(df, out / f"{name}.csv", rec)


def _show(title: str, df) -> None:
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 30, "display.precision", 3):
        print(f"\n{title}\n{df.to_string(index=False)}")


def cmd_train(args) -> int:
    from motionlib.toyworld.training import settings_with, train

    settings = settings_with(args.family, seed=args.seed, steps=args.steps, vae_steps=args.vae_steps, pool=args.pool,
                             text_encoder=args.text_encoder, zero_terminal_snr=args.zero_terminal_snr,
                             direction_free=args.direction_free, latent_channels=args.latent_channels,
                             patch_size=args.patch_size, denoiser_lr=args.denoiser_lr)
    record = train(settings, args.out, device=args.device)
    d = record["denoiser"]
    print(f"wrote a toy-world {args.family} model to {args.out} in {record['wall_minutes']:.1f} min "
          f"(VAE {record['vae']['minutes']:.1f} min, {record['vae']['psnr_db_first_64_clips']:.1f} dB; "
          f"denoiser {d['steps']} steps, {d['minutes']:.1f} min, final loss {d['loss_curve'][-1][1]:.4f}); "
          f"load it with --source {args.out}")
    return 0


def cmd_finetune(args) -> int:
    from motionlib.toyworld.training import finetune, total_minutes

    record = finetune(args.base, args.out, steps=args.steps, direction_free=args.direction_free, lr=args.lr,
                      warmup=args.warmup, appearance_free=args.appearance_free)
    f = record["finetune"]
    print(f"wrote a fine-tuned toy-world {record['family']} model to {args.out} in {f['wall_minutes']:.1f} min "
          f"({args.steps} steps, final loss {f['denoiser']['loss_curve'][-1][1]:.4f}; {total_minutes(record):.1f} min of "
          f"training in all, every stage); load it with --source {args.out}")
    return 0


def cmd_train_clip(args) -> int:
    from dataclasses import replace

    from motionlib.toyworld.clip import ClipTrainSettings, train_clip

    settings = replace(ClipTrainSettings(), **{k: v for k, v in dict(seed=args.seed, steps=args.steps).items()
                                               if v is not None})
    record = train_clip(args.out, settings)
    print(f"wrote the toy CLIP to {args.out} in {record['wall_minutes']:.1f} min (final loss "
          f"{record['loss_curve'][-1][1]:.3f}); use it with --clip local-dir:{args.out}")
    return 0


def cmd_render(args) -> int:
    import cv2

    from motionlib.data import write_video
    from motionlib.toyworld import world

    spec = world.spec_from_caption(args.caption, seed=args.seed)
    video = world.render(spec)
    out = Path(args.out)
    if out.suffix.lower() in (".mp4", ".gif"):
        write_video(out, video, fps=4)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(video):
            cv2.imwrite(str(out / f"{i:05d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    print(f"wrote {out}: {world.caption(spec)} (speed {spec.speed:.2f} px/frame, start "
          f"({spec.start[0]:.1f}, {spec.start[1]:.1f}))")
    return 0


def cmd_read(args) -> int:
    from motionlib.data import read_video
    from motionlib.toyworld import oracle

    video = read_video(args.video, None, None)
    problems = oracle.not_toy_world(video)
    if problems and not args.force:
        raise DatasetError(f"{args.video} does not look like a toy-world clip: {'; '.join(problems)}. The oracle reads only "
                           "the toy world's clips (motionlib toyworld render); --force reads it anyway, marked unreliable")
    if video.shape[1:3] != (32, 32):  # --force: read it at the world's size
        video = read_video(args.video, None, 32)
    reading = oracle.read(video)
    attrs = reading.attributes()
    line = " ".join(f"{k}={v}" for k, v in attrs.items()) + f" speed={reading.speed:.2f}px/frame"
    if reading.unreadable:
        line += f" unreadable: {reading.unreadable}"
    print(line if not problems else f"UNRELIABLE (does not look like a toy-world clip: {'; '.join(problems)}): {line}")
    return 0


def cmd_quality(args) -> int:
    from motionlib.metrics import clip_scorer
    from motionlib.models import load_model
    from motionlib.toyworld import quality, world

    out = Path(args.out)
    settings = {"samples": args.samples, "clips": args.clips, "seed": args.seed, "steps": args.steps,
                "split": args.split}
    if args.oracle:
        rows = quality.oracle_accuracy(args.oracle)
        rec = _record([], "toy world: oracle accuracy on rendered clips", {"clips": args.oracle})
        _save(rows, out, "oracle", rec)
        _show(f"oracle on {args.oracle} rendered clips (share correct)", quality.accuracy_table(rows))
    if args.flow_pairs:
        rows = quality.flow_metric_check(args.flow_pairs, seed=args.seed + 7)
        rec = _record([], "toy world: flow-similarity variants against true motion", {"pairs": args.flow_pairs})
        _save(rows, out, "flow_metric_check", rec)
        _show(f"flow similarity on {args.flow_pairs} rendered clip pairs: Spearman against the true motion",
              quality.flow_metric_agreement(rows))
        _show("mean per kind of change", rows.groupby("change")[
            ["true_velocity_cosine", "trajectory_error_px", "flow_paper", "flow_robust"]].mean().reset_index())
    if args.clip:
        scorer = clip_scorer(args.clip)
        specs = world.sample_specs(args.clips, args.seed + 1, "held_out", world.PATHS)
        rows = quality.clip_ranking(scorer, specs)
        rec = _record([], "toy world: CLIP ranking of the true caption", {**settings, "clip": scorer.describe()})
        _save(rows, out, "clip_ranking", rec)
        _show(f"{args.clip} on frames of {args.clips} held-out clips: top-1 among 108 appearance captions",
              rows[["frame_top1", "clip_top1", "colour_ok", "shape_ok", "texture_ok", "background_ok"]].mean().to_frame().T)
    for family in args.model or []:
        model = load_model(family, args.source, device=args.device)
        rec = _record(model, "toy world: generation and reconstruction quality", settings)
        if args.samples:
            combos = (None if args.split == "held_out"
                      else world.training_combinations(len(world.held_out_combinations()), args.seed))
            gen = quality.generation_quality(model, combos, samples=args.samples, seed=args.seed, num_steps=args.steps)
            name = "generation" if args.split == "held_out" else "generation_train"
            _save(gen, out, f"{name}_{family}", rec)
            _show(f"{family}: generation on {gen['prompt'].nunique()} {args.split.replace('_', '-')} combinations "
                  f"x {args.samples} samples (share the oracle reads as captioned)", quality.accuracy_table(gen))
            print(f"speed read: {gen['speed_read'].mean():.2f} +- {gen['speed_read'].std():.2f} px/frame "
                  f"(world: uniform {world.SPEED_RANGE[0]}-{world.SPEED_RANGE[1]})")
        if not args.clips:
            continue
        specs = world.sample_specs(args.clips, args.seed + 2, "held_out", ("straight",))
        rec_rows = quality.reconstruction_quality(model, specs, num_steps=args.steps)
        _save(rec_rows, out, f"reconstruction_{family}", rec)
        table = rec_rows.groupby("how", sort=False)[
            ["psnr_db", "flow_similarity", "flow_similarity_robust", "trajectory_error_px"]
            + [c for c in rec_rows if c.endswith("_ok")]].mean()
        _show(f"{family}: inversion + resampling with the same caption, {args.clips} held-out clips", table.reset_index())
    return 0


def cmd_diagnose(args) -> int:
    import pandas as pd

    from motionlib.models import load_model
    from motionlib.toyworld import diagnostics

    out = Path(args.out)
    settings = {"clips": args.clips, "seed": args.seed, "overfit_clips": args.overfit_clips,
                "overfit_steps": args.overfit_steps, "memorize_steps": args.memorize_steps,
                "latent_clips": args.latent_clips}
    for family in args.model:
        model = load_model(family, args.source)
        rec = _record(model, "toy world: text influence, latent share, loss by timestep, overfit and caption-memorization checks", settings)
        influence = diagnostics.text_influence(model, args.clips, seed=args.seed)
        _save(influence, out, f"text_influence_{family}", rec)
        table = diagnostics.summarise(influence, "relative_change", ["attribute", "t"])
        _show(f"{family}: ||v(x_t, c) - v(x_t, c')|| / ||v(x_t, c)||, c' = c with one attribute changed "
              f"('caption': the empty caption), mean over {args.clips} held-out clips",
              table.pivot(index="t", columns="attribute", values="relative_change").sort_index(ascending=False)
              .reset_index())
        share = diagnostics.latent_share(model, args.latent_clips, seed=args.seed)
        _save(share, out, f"latent_share_{family}", rec)
        _show(f"{family}: ||z(c') - z(c)|| / ||z(c)|| through its VAE, c' = the clip with one attribute changed "
              f"(square_vs_circle: the clip as a square against as a circle), {args.latent_clips} training clips",
              diagnostics.summarise(share, "latent_change", ["change"]))
        losses = diagnostics.loss_by_timestep(model, args.clips, seed=args.seed)
        _save(losses, out, f"loss_by_timestep_{family}", rec)
        _show(f"{family}: training loss ({model.prediction_type}) and clean-latent error by t, {args.clips} held-out clips",
              diagnostics.summarise(losses, "loss", ["bucket"]).merge(
                  diagnostics.summarise(losses, "x0_relative_error", ["bucket"])[["bucket", "x0_relative_error"]]))
        if args.overfit_steps:
            fit = diagnostics.overfit(model, args.overfit_clips, args.overfit_steps, seed=args.seed)
            _save(pd.DataFrame(fit["loss_curve"], columns=["step", "loss"]), out,
                  f"overfit_{family}", {**rec, "overfit": {k: v for k, v in fit.items() if k != "loss_curve"}})
            print(f"{family}: a fresh denoiser on {fit['clips']} clips, {fit['steps']} steps: loss "
                  f"{fit['first_loss']:.4f} -> {fit['final_loss']:.4f} (EMA weights {fit['final_loss_ema']:.4f}); "
                  f"the shipped model on the same clips {fit['shipped_loss']:.4f}")
        if args.memorize_steps:
            memo = diagnostics.caption_memorization(model, args.memorize_steps, seed=args.seed)
            _save(memo["rows"], out, f"caption_memorization_{family}",
                  {**rec, "caption_memorization": {k: v for k, v in memo.items() if k != "rows"}})
            _show(f"{family}: a fresh denoiser on four clips, one per direction, {memo['steps']} steps (final loss "
                  f"{memo['final_loss']:.4f}); the direction of its samples read as captioned: {memo['accuracy']:.2f} "
                  f"(chance 0.25); ||x0_hat(t=999 | caption) - x0(clip)|| / ||x0(clip)||",
                  pd.DataFrame(memo["distance"], index=[f"caption {d}" for d in memo["directions"]],
                               columns=[f"clip {d}" for d in memo["directions"]]).reset_index())
    return 0


def _guidance(text: str) -> float:
    from motionlib.errors import ParameterError

    try:
        return float(text)
    except ValueError:
        raise ParameterError(f"--guidance takes numbers or 'family', got {text!r}") from None


def cmd_claim(args) -> int:
    import pandas as pd

    from motionlib import noise
    from motionlib.metrics import clip_scorer
    from motionlib.models import load_model
    from motionlib.toyworld import claim, criteria

    out = Path(args.out)
    guidances = [None if g == "family" else _guidance(g) for g in args.guidance]
    claim.check_settings(args.clips, seeds=args.seeds, steps=args.steps, guidances=guidances, grid=args.grid,
                         tolerances=args.tolerance)  # before any model loads: --clips 0 is one line, not a KeyError
    samples, described, schedules = [], [], {}
    for family in args.model:
        model = load_model(family, args.source, device=args.device)
        described.append(model.describe())
        schedules[family] = noise.schedule(model.scheduler)
        scorer = clip_scorer(args.clip, model) if "inversion" in args.protocol else None
        for protocol in args.protocol:
            for guidance in guidances:
                for steps in args.steps:
                    samples.append(claim.protocol_samples(model, protocol, args.clips, scorer=scorer,
                                                          edit_kind=args.edit_kind, num_steps=steps,
                                                          guidance_scale=guidance, seeds=args.seeds, grid=args.grid))
        del model
    samples = pd.concat(samples, ignore_index=True)
    rec = _record(described,
                  "toy world: when each attribute is decided (prompt windows after inversion / prompt switching)",
                  {"clips": args.clips, "protocols": args.protocol, "edit_kind": args.edit_kind, "steps": args.steps,
                   "guidance": [g if g is not None else "family" for g in guidances], "seeds": args.seeds,
                   "grid": args.grid, "tolerances_px": list(args.tolerance), "seed": 0,
                   "criteria": "motionlib.toyworld.criteria (fixed before the run)"})
    commits, table = noise.claims_with_log_snr(*criteria.evaluate(samples, tuple(args.tolerance)), schedules)
    _save(samples, out, "claim_samples", rec)
    _save(commits, out, "commitment", rec)
    _save(table, out, "claims", rec)
    grid = criteria.claims_grid(table)
    from motionlib.provenance import label

    (out / "claims.md").write_text(f"{label(rec)}\n\n{criteria.markdown(grid)}")
    _show("commitment time per attribute: tau where the share following A crosses 0.5 [95% bootstrap over clips], "
          "permutation p; commit_db: its log-SNR (dB)",
          commits[["model", "protocol", "guidance", "steps", "attribute", "commit", "commit_lo", "commit_hi",
                   "commit_db", "p_permutation", "monotone", "testable", "spurious"]])
    print("\n" + criteria.markdown(grid))
    return 0


def cmd_transfer(args) -> int:
    import json

    from motionlib.customize import CustomizeSettings
    from motionlib.errors import ParameterError
    from motionlib.models import load_model
    from motionlib.toyworld import transfer

    out = Path(args.out)
    protocols = {family: transfer.Protocol.for_family(
        family, appearances=args.appearances, prompts=args.prompts, seeds=args.seeds, overfit_seeds=args.overfit_seeds,
        ceiling_seeds=args.ceiling_seeds, taus=tuple(args.taus), captions=args.captions,
        first_appearance=args.first_appearance, steps=args.steps, seed=args.seed,
        **({"paper_tau": args.paper_tau} if args.paper_tau else {})) for family in args.model}
    if args.strength is not None:
        if args.strength not in transfer.STRENGTHS:
            raise ParameterError(f"--strength must be one of {', '.join(map(repr, transfer.STRENGTHS))}, "
                                 f"got {args.strength!r}")
        chosen = transfer.STRENGTHS[args.strength]
        settings = {args.strength: CustomizeSettings(**chosen)}
        if len(args.placements) > 1:  # Tab. 3-like rows: the same strength at each placement
            settings = {f"{args.strength}, {pl}": CustomizeSettings(**{**chosen, "placement": pl})
                        for pl in args.placements}
    else:
        settings = transfer.variants(args.projections, args.ranks, args.mode, args.placements,
                                     train_steps=args.train_steps, learning_rate=args.learning_rate,
                                     dropout=args.dropout)
    for family in args.model:  # every argument checked before any model is loaded
        transfer.reference_groups(protocols[family].appearances, args.seed, args.first_appearance)
    for family in args.model:
        protocol = protocols[family]
        model = load_model(family, args.source)
        rec = _record(model, f"toy world: paired direction transfer by a motion LoRA ({args.captions} captions), "
                             "read by the oracle",
                      {"protocol": protocol.__dict__, "seed": args.seed, "checks": [list(c) for c in transfer.CHECKS],
                       "bar_of_ceiling": transfer.BAR_OF_CEILING, "premise_margin": transfer.PREMISE_MARGIN,
                       "customize": {name: s.resolved(model).__dict__ for name, s in settings.items()}})
        stem = f"{family}_{args.captions}"
        if len(settings) > 1:
            rows, records = transfer.run_variants(model, protocol, settings)
            table = transfer.variant_table(rows)
            _save(table, out, f"transfer_variants_{stem}", rec)
            _show(f"{family}: paired transfer per LoRA variant [95% bootstrap over mirror pairs]", table)
        else:
            m = transfer.measure(model, protocol, next(iter(settings.values())))
            rows, records = m.rows, m.adapters
            _save(m.base_rates, out, f"transfer_base_rates_{stem}", rec)
            _save(m.checks, out, f"transfer_checks_{stem}", rec)
            _show(f"{family}: where the base model's samples go (fresh seeds) [95% Wilson]", m.base_rates)
            _show(f"{family}: paired transfer and leakage per tau [95% bootstrap]", m.summary)
            _show(f"{family}: the checks, fixed before the run (tau_p = {protocol.paper_tau})", m.checks)
        _save(rows, out, f"transfer_rows_{stem}", rec)
        _save(transfer.summary(rows), out, f"transfer_{stem}", rec)
        (out / f"transfer_adapters_{stem}.json").write_text(json.dumps(records, default=float) + "\n")
    return 0


def cmd_transfer_strength(args) -> int:
    from motionlib.models import load_model
    from motionlib.toyworld import transfer

    out = Path(args.out)
    protocols = {family: transfer.Protocol.for_family(
        family, appearances=args.appearances, prompts=args.prompts, seeds=args.seeds, ceiling_seeds=1,
        captions=args.captions, first_appearance=args.first_appearance, steps=args.steps, seed=args.seed)
        for family in args.model}
    for family in args.model:
        protocol = protocols[family]
        transfer.reference_groups(protocol.appearances, args.seed, protocol.first_appearance)
    for family in args.model:
        model = load_model(family, args.source)
        protocol = protocols[family]
        rec = _record(model, "toy world: adapter strength chosen by paired transfer on held-out appearances",
                      {"protocol": protocol.__dict__, "seed": args.seed, "candidates": transfer.STRENGTHS})
        chosen, table, rows = transfer.select_strength(model, protocol)
        _save(table, out, f"transfer_strength_{family}", rec)
        _save(rows, out, f"transfer_strength_rows_{family}", rec)
        _show(f"{family}: paired transfer at tau = {protocol.paper_tau} per candidate strength, appearances "
              f"{protocol.first_appearance}-{protocol.first_appearance + protocol.appearances - 1} "
              "[95% bootstrap over mirror pairs]", table)
        print(f"{family}: chosen {chosen!r}: {transfer.STRENGTHS[chosen]}")
    return 0


TRANSFER_TAUS = (1000, 900, 700, 400, 0)  # transfer.TAUS (the CLI starts without importing torch)


def _recipe_defaults(field: str) -> str:
    """``"modelscope pretrained, latte pretrained, ..."``: a toy recipe field per family, for help texts."""
    return ", ".join(f"{name} {getattr(families.get(name).toy, field)}" for name in families.toy_names())


def add_parser(sub) -> None:
    """Register ``motionlib toyworld ...`` on the main parser's subcommands."""
    toy = sub.add_parser("toyworld", help="the toy world: train its models, render and read clips, measure the claim")
    cmds = toy.add_subparsers(dest="toy_command", required=True)

    p = cmds.add_parser("train", help="train a toy-world model from scratch (a stopped run resumes)")
    p.add_argument("--family", required=True, choices=families.toy_names())
    p.add_argument("--out", required=True, help="output folder (a diffusers checkpoint folder)")
    p.add_argument("--seed", type=int, help="seed of the data, the weights and the training draws (default 0)")
    p.add_argument("--steps", type=int, help="denoiser steps (default: the family's, to fit 60 min on 2 cores)")
    p.add_argument("--vae-steps", type=int, help="VAE steps (default 1200)")
    p.add_argument("--pool", type=int, help="training clips (default 6000)")
    p.add_argument("--text-encoder", choices=("pretrained", "joint"),
                   help="pretrained: trained first on the captions' attributes, then frozen; joint: trained with "
                        f"the denoiser (default: the family's toy recipe: {_recipe_defaults('text_encoder')})")
    p.add_argument("--zero-terminal-snr", action=argparse.BooleanOptionalAction,
                   help="rescale the family's betas to zero signal at t=999, with v-prediction (default: the "
                        f"family's toy recipe: {_recipe_defaults('zero_terminal_snr')}; CogVideoX's own schedule "
                        "already is)")
    p.add_argument("--direction-free", type=float,
                   help="share of training captions without the direction word (default: the family's toy "
                        f"recipe: {_recipe_defaults('direction_free')})")
    p.add_argument("--denoiser-lr", type=float, help="the denoiser's peak learning rate (default: the family's)")
    p.add_argument("--latent-channels", type=int, help="the VAE's latent channels (default: the family's toy recipe: "
                                                       f"{_recipe_defaults('latent_channels')})")
    p.add_argument("--patch-size", type=int, help="latte and cogvideox: the transformer's patch size (default 2; "
                                                  "must divide the 8 x 8 latent)")
    p.add_argument("--device", default="cpu", help="where the networks train: cpu (default) or cuda; the random "
                                                   "draws are the same either way")
    p.set_defaults(func=cmd_train)

    p = cmds.add_parser("finetune", help="train a toy model's denoiser further with direction-free captions "
                                          "(a stopped run resumes)")
    p.add_argument("--base", required=True, help="the toy model folder to start from (e.g. motionlib/assets/toy/"
                                                 "modelscope); its text encoder must be the frozen, pretrained one")
    p.add_argument("--out", required=True, help="output folder (a diffusers checkpoint folder)")
    p.add_argument("--steps", type=int, default=1500, help="denoiser steps (default 1500)")
    p.add_argument("--direction-free", type=float, default=0.25,
                   help="share of batches whose captions leave the direction word out (default 0.25)")
    p.add_argument("--appearance-free", type=float, default=0.0,
                   help="share of batches whose captions leave the direction, colour and background out "
                        "(\"a striped square moves\"; default 0): appearance a customization adapter can leak")
    p.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (default 3e-4)")
    p.add_argument("--warmup", type=int, default=100, help="warm-up steps (default 100)")
    p.set_defaults(func=cmd_finetune)

    p = cmds.add_parser("train-clip", help="train the toy CLIP from scratch (open_clip local-dir folder)")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, help="seed of the data, the weights and the training draws (default 0)")
    p.add_argument("--steps", type=int, help="training steps (default 1500)")
    p.set_defaults(func=cmd_train_clip)

    p = cmds.add_parser("render", help="render a world clip for a caption (mp4, gif, or a folder of PNGs: lossless)")
    p.add_argument("--caption", required=True, help='e.g. "a red striped circle moves left on a gray background"')
    p.add_argument("--seed", type=int, default=0, help="seed of the speed and start position")
    p.add_argument("--out", required=True, help="FILE.mp4, FILE.gif or a folder")
    p.set_defaults(func=cmd_render)

    p = cmds.add_parser("read", help="the oracle's reading of a toy-world video")
    p.add_argument("video", help="an mp4, gif or folder of frames: a toy-world clip (8 frames of 32 x 32, one object "
                   "on a flat world background); anything else is refused")
    p.add_argument("--force", action="store_true", help="read a video that is not a toy-world clip anyway, marked unreliable")
    p.set_defaults(func=cmd_read)

    p = cmds.add_parser("quality", help="oracle accuracy, generation and reconstruction quality, CLIP ranking")
    p.add_argument("--model", nargs="*", choices=families.toy_names(), help="families to measure")
    p.add_argument("--source", default="toy", help="toy (default) or a folder written by toyworld train")
    p.add_argument("--samples", type=int, default=2, help="samples per held-out combination (default 2; 0: no generation)")
    p.add_argument("--clips", type=int, default=20, help="held-out clips for reconstruction and CLIP (default 20; 0: none)")
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's, 50)")
    p.add_argument("--split", choices=("held_out", "train"), default="held_out",
                   help="generation on the 43 held-out combinations (default) or on as many seeded training ones")
    p.add_argument("--oracle", type=int, default=0, help="also measure the oracle on this many rendered clips")
    p.add_argument("--clip", help="also rank captions with this CLIP (toy, or local-dir:DIR)")
    p.add_argument("--flow-pairs", type=int, default=0,
                   help="also compare the flow-similarity variants on this many rendered clip pairs")
    p.add_argument("--seed", type=int, default=0, help="seed of the clips drawn and the sampling noise")
    p.add_argument("--device", default="cpu", help="where the models run: cpu (default) or cuda")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_quality)

    p = cmds.add_parser("diagnose", help="why a toy model draws its caption or not: text influence by t, loss by t, "
                        "overfit check (motionlib.toyworld.diagnostics)")
    p.add_argument("--model", nargs="+", required=True, choices=families.toy_names())
    p.add_argument("--source", default="toy", help="toy (default) or a folder written by toyworld train")
    p.add_argument("--clips", type=int, default=16, help="held-out clips (default 16)")
    p.add_argument("--latent-clips", type=int, default=48, help="training clips for the latent share (default 48)")
    p.add_argument("--overfit-clips", type=int, default=4, help="clips the fresh denoiser is fitted to (default 4)")
    p.add_argument("--overfit-steps", type=int, default=300, help="its training steps (default 300; 0: skip)")
    p.add_argument("--memorize-steps", type=int, default=0,
                   help="steps of the caption-memorization check: a fresh denoiser on four clips, one per direction "
                        "(400 in docs/toyworld-diagnosis.md; default 0: skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_diagnose)

    p = cmds.add_parser("claim", help="when each attribute is decided: prompt windows after inversion (the paper's "
                                      "protocol) and prompt switching from fresh noise, judged by fixed criteria")
    p.add_argument("--model", nargs="+", required=True, choices=families.toy_names())
    p.add_argument("--source", default="toy")
    p.add_argument("--protocol", nargs="+", default=["inversion", "switching"], choices=["inversion", "switching"])
    p.add_argument("--edit-kind", default="direction_colour",
                   help="caption B: the clip's edit of this kind: direction, direction_colour (default), "
                        "direction_multiple, path, or an appearance kind (object, style, background, multiple)")
    p.add_argument("--clips", type=int, default=20, help="held-out toy clips (default 20)")
    p.add_argument("--seeds", type=int, default=1, help="noise seeds per clip for prompt switching (default 1)")
    p.add_argument("--steps", type=int, nargs="+", default=[25], help="sampling steps, one run each (default 25)")
    p.add_argument("--guidance", nargs="+", default=["family"],
                   help="CFG scales, one run each: numbers or 'family' (the family's own; default)")
    p.add_argument("--tolerance", type=float, nargs="+", default=[1.5, 2.5, 4.0],
                   help="trajectory tolerances in px for the trajectory attribute (default 1.5 2.5 4)")
    p.add_argument("--grid", type=int, default=100, help="tau grid interval (100: tau = 0, 100, ..., 1000)")
    p.add_argument("--clip", default="auto", help="CLIP for the CLIP-score change (auto: the toy CLIP)")
    p.add_argument("--device", default="cpu", help="where the models run: cpu (default) or cuda; random draws stay "
                                                   "on CPU generators")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_claim)

    p = cmds.add_parser("transfer", help="direction transfer (Tab. 1), paired: a motion LoRA per reference, its "
                                         "mirror and tau, the carry-through ceiling, leakage and the fixed checks")
    p.add_argument("--model", nargs="+", required=True, choices=families.toy_names())
    p.add_argument("--source", default="toy")
    p.add_argument("--appearances", type=int, default=6,
                   help="appearances, each a reference in all four directions (two mirror pairs; default 6)")
    p.add_argument("--first-appearance", type=int, default=0,
                   help="start this far into the seeded order of appearances (choose settings on others; default 0)")
    p.add_argument("--prompts", type=int, default=4, help="new captions per appearance (default 4)")
    p.add_argument("--seeds", type=int, default=8, help="fresh seeds per caption, shared by the appearance's four "
                                                        "adapters (default 8)")
    p.add_argument("--overfit-seeds", type=int, default=4, help="samples of check (i) per reference (default 4)")
    p.add_argument("--ceiling-seeds", type=int, default=2,
                   help="samples of check (ii) per caption, per reference and tau (default 2)")
    p.add_argument("--captions", default="open", choices=("open", "direction_free"),
                   help="open (default): captions leave direction, colour and background open, so they can leak; "
                        "direction_free: they name every appearance attribute")
    p.add_argument("--paper-tau", type=int, help="tau_p of the checks (default: the family's paper tau)")
    p.add_argument("--taus", type=int, nargs="+", default=list(TRANSFER_TAUS))
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's, 50)")
    p.add_argument("--train-steps", type=int, help="LoRA steps (default: the toy default, customize.TOY_TRAIN_STEPS)")
    p.add_argument("--ranks", type=int, nargs="+", default=[4], help="LoRA ranks (alpha the same; default 4); "
                                                                      "more than one: Tab. 4's variants")
    p.add_argument("--projections", nargs="+", default=["qkvo"],
                   help="projection subsets of the motion attention (default qkvo); more than one: Tab. 3's variants")
    p.add_argument("--mode", default="lora", choices=("lora", "direct"), help="direct: tune the projections "
                                                                                "themselves (Tab. 4's last row)")
    p.add_argument("--learning-rate", type=float, help="LoRA learning rate (default: the toy default)")
    p.add_argument("--placements", nargs="+", default=["attention"],
                   choices=("attention", "attention+ff", "attention+ff+conv"),
                   help="where the adapter goes: the attention projections (default), + feed-forward, + temporal "
                        "convolutions; more than one: Tab. 3-like variants")
    p.add_argument("--dropout", type=float, default=0.0, help="LoRA dropout while training (default 0)")
    p.add_argument("--strength", help="one of transfer.STRENGTHS by name (e.g. 'MotionDirector-like'), in place of "
                                      "--ranks, --train-steps, --learning-rate, --placements and --dropout")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_transfer)

    p = cmds.add_parser("transfer-strength", help="choose the adapter strength (steps, rate, rank, placement) by "
                                                  "paired transfer on appearances held out from the measurement")
    p.add_argument("--model", nargs="+", required=True, choices=families.toy_names())
    p.add_argument("--source", default="toy")
    p.add_argument("--appearances", type=int, default=2, help="held-out appearances (default 2: 4 mirror pairs)")
    p.add_argument("--first-appearance", type=int, default=6,
                   help="the first held-out appearance (default 6: after the toy profile's measurement's 6)")
    p.add_argument("--prompts", type=int, default=4, help="new captions per appearance (default 4)")
    p.add_argument("--seeds", type=int, default=4, help="fresh seeds per caption (default 4)")
    p.add_argument("--captions", default="open", choices=("open", "direction_free"))
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's, 50)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_transfer_strength)

    p = cmds.add_parser("validate-oracle", help="the oracle against an independent reading "
                                                "(motionlib.toyworld.independent) on model samples")
    p.add_argument("--model", nargs="+", required=True, choices=families.toy_names())
    p.add_argument("--source", default="toy", help="toy (default) or a folder written by toyworld train")
    p.add_argument("--samples", type=int, default=200, help="samples per family: held-out captions, a quarter "
                                                             "direction-free (default 200)")
    p.add_argument("--steps", type=int, default=25, help="sampling steps (default 25)")
    p.add_argument("--seed", type=int, default=0, help="sample k starts from the noise of seed + k")
    p.add_argument("--device", default="cpu", help="where the models run: cpu (default) or cuda")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_validate_oracle)


def cmd_validate_oracle(args) -> int:
    from motionlib.errors import ParameterError
    from motionlib.models import load_model
    from motionlib.toyworld import independent

    if args.samples < 1 or args.steps < 1:
        raise ParameterError(f"--samples and --steps must be at least 1, got {args.samples} and {args.steps}")
    out = Path(args.out)
    settings = {"samples": args.samples, "steps": args.steps, "seed": args.seed, "free_share": 0.25}
    for family in args.model:
        model = load_model(family, args.source, device=args.device)
        rec = _record(model, "toy world: the oracle against an independent reading on model samples", settings)
        rows = independent.agreement(model, args.samples, seed=args.seed, num_steps=args.steps)
        summary = independent.agreement_summary(rows)
        _save(rows, out, f"oracle_agreement_rows_{family}", rec)
        _save(summary, out, f"oracle_agreement_{family}", rec)
        _save(independent.colour_confusion(rows), out, f"oracle_colour_confusion_{family}", rec)
        _show(f"{family}: oracle vs independent reading on {len(rows)} samples (agreement over samples both "
              "read, 95% Wilson interval)", summary)
    return 0

