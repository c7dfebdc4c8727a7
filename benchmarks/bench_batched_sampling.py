"""Batched customized sampling: one evaluation unit's samples one at a time vs batched, in one run.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_batched_sampling.py [--family modelscope]
        [--source toy] [--kinds 4] [--samples 4] [--steps N] [--tau 700]

One unit of Tab. 1-4: the edit prompts of the first bundled video (``--kinds`` of them) x ``--samples``
seeds, with a motion LoRA on at ``t >= tau``. The LoRA's weights are seeded noise (sampling time does
not depend on what it learned). The same requests are sampled with ``sample_batch=1`` (what the
evaluation did before) and with the model's default (tiny and toy: the whole unit in one batch);
prints the wall-clock of each, their ratio, the denoiser calls, and the largest difference between
the two runs' samples. Timing excludes a one-step warm-up.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    import torch

    from motionlib.customize import CustomizeSettings, attach, generate_customized_batch
    from motionlib.data import EDIT_KINDS, bundled_dataset
    from motionlib.models import load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--family", default="modelscope")
    p.add_argument("--source", default="toy")
    p.add_argument("--kinds", type=int, default=4, help="edit prompts in the unit (default 4, the paper)")
    p.add_argument("--samples", type=int, default=4, help="samples per prompt (default 4, the paper)")
    p.add_argument("--steps", type=int, default=None, help="DDIM steps (default: the model's)")
    p.add_argument("--tau", type=int, default=700)
    args = p.parse_args()

    model = load_model(args.family, args.source)
    d = model.defaults.resolved(num_steps=args.steps)
    adapter = attach(model, CustomizeSettings(tau=args.tau))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in adapter.parameters():
            param.copy_(0.1 * torch.randn(param.shape, generator=generator))
    item = bundled_dataset()[0]
    requests = [(item.edit(kind), seed) for kind in EDIT_KINDS[: args.kinds] for seed in range(args.samples)]

    calls = []  # rows of each denoiser call (2 per sample: both guidance branches)
    denoise = model._denoise

    def counted(latents, t, embeds, **kwargs):
        calls.append(latents.shape[0])
        return denoise(latents, t, embeds, **kwargs)

    model._denoise = counted

    def run(sample_batch, num_steps=d.num_steps, which=requests):
        calls.clear()
        start = time.perf_counter()
        samples = generate_customized_batch(model, adapter, which, tau=args.tau, sample_batch=sample_batch,
                                            num_steps=num_steps, progress=False)
        return samples, time.perf_counter() - start, list(calls)

    run(None, num_steps=1, which=requests[:2])  # warm-up
    alone, alone_s, alone_calls = run(1)
    batched, batched_s, batched_calls = run(None)
    latent_diff = max((a.latents - b.latents).abs().max().item() for a, b in zip(alone, batched))
    video_diff = max(int(abs(a.video.astype(int) - b.video.astype(int)).max()) for a, b in zip(alone, batched))

    print(f"{model.family} {model.source}: {d.num_frames}x{d.height}x{d.width}, {d.num_steps} steps, "
          f"cfg {d.guidance_scale:g}, tau {args.tau}; torch threads {torch.get_num_threads()}")
    print(f"unit: {args.kinds} edit prompts x {args.samples} seeds = {len(requests)} samples")
    print(f"one at a time: {alone_s:8.2f} s  {len(alone_calls):4d} denoiser calls of {alone_calls[0]} rows")
    print(f"batched:       {batched_s:8.2f} s  {len(batched_calls):4d} denoiser calls of {batched_calls[0]} rows")
    print(f"speed-up (one at a time / batched): {alone_s / batched_s:.2f}x")
    print(f"batched vs one at a time: max |latent diff| {latent_diff:.2e}, max |uint8 diff| {video_diff}")


if __name__ == "__main__":
    main()
