"""Training a toy-world model from scratch: the VAE, then the text encoder and denoiser together.

``train(family, out_dir)`` (``motionlib toyworld train``) writes a diffusers folder that
``load_model(family, DIR)`` (or ``"toy"``, once copied to ``motionlib/assets/toy/<family>``) loads:

1. **Data**: ``pool`` clips of the world's training split (held-out combinations excluded, straight
   paths only), rendered from ``seed``.
2. **VAE** (``vae_steps``): the family's VAE class on the pool's frames (CogVideoX: whole clips),
   squared error with the object's pixels weighted ``1 + fg_weight`` (the background is most of
   every frame, the texture a few pixels), plus a small KL term. Its latents are then scaled to
   unit variance (``scaling_factor``).
3. **Text encoder** (``text_encoder``):

   - ``"pretrained"`` (ModelScope, Latte): first trained alone (``text_steps``) to tell every captioned
     attribute (shape, colour, texture, background, direction, path) from its output, one linear
     head per attribute on the mean over tokens, on the captions of the training combinations, then
     frozen, as the real families freeze their pretrained CLIP or T5. Trained jointly with the
     denoiser, the toy ModelScope's text encoder had washed the direction out: swapping "left" for
     "right" moved its output by 1.1 (L2 over the prompt), against 30-63 for an appearance word.
   - ``"joint"`` (CogVideoX): trained with the denoiser in stage 4.
4. **Denoiser** (``steps``): the plain diffusion loss on the family's own schedule and
   prediction type (:func:`motionlib.customize.diffusion_loss`), except with ``zero_terminal_snr``
   (ModelScope, Latte): its betas rescaled so that t = 999 keeps no signal, with v-prediction (Lin et al.,
   "Common Diffusion Noise Schedules and Sample Steps are Flawed"; CogVideoX's own schedule does the
   same). On ModelScope's schedule, x at t = 999 still holds 6.8% of the clip: the first shipped toy
   ModelScope read the direction from it (17 of 24 held-out clips, with the caption fixed to "left"),
   so the caption's direction word taught it nothing and samples took their direction from the
   starting noise. Latte's noise prediction on its own schedule was worse: its clean estimate above
   t = 600 was worse than zero, so guidance amplified noise (docs/toyworld-diagnosis.md). A share
   ``direction_free`` of the batches (Latte, CogVideoX) drop the direction word from every caption
   ("a red square moves on a gray background"), so that such a caption leaves the direction open:
   the motion a customization adapter has to teach. Prompts are embedded in batches by the model's
   ``encode_prompts``, whose every row is what ``encode_prompt`` gives that caption alone, so training
   sees exactly what sampling sees (``tests/test_models.py``; docs/toyworld-diagnosis.md for what
   happened to the toy Latte when it did not). The caption is replaced by the empty prompt
   with probability ``caption_dropout`` (for classifier-free guidance). Every batch holds captions of
   one token length, so no row is padded.
   AdamW, linear warm-up then cosine decay to a tenth; an exponential moving average of the weights
   (``ema``) is what is saved.

Checkpoints go to ``out_dir/.training/`` every ``checkpoint_every`` steps: a stopped run, started
again with the same settings, resumes there. Weights are saved in float16 (half the size; loaded
as float32), with ``toyworld.json``: the generation defaults, the settings, the seed, the loss
curves, the minutes each stage took, and the git commit and package versions.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from motionlib import families, provenance
from motionlib.errors import ParameterError
from motionlib.models.base import FamilyDefaults, VideoModel
from motionlib.models.loading import TOY_RECORD
from motionlib.families import ToyRecipe
from motionlib.toyworld import components, world
from motionlib.training_loop import Loop, loss_curve

TOY_STEPS = 50  # DDIM steps, as in the paper
TEXT_ENCODER_MODES = ("pretrained", "joint")


@dataclass(frozen=True)
class TrainSettings:
    """Everything that determines a toy model. The defaults fit 60 minutes on two CPU cores."""

    family: str
    seed: int = 0
    pool: int = 6000  # training clips
    vae_steps: int = 1200
    vae_batch: int = 32  # frames (CogVideoX: clips / 8)
    vae_lr: float = 2e-3
    fg_weight: float = 10.0
    kl_weight: float = 1e-6
    # None below: the family's toy recipe (``families.get(family).toy``, motionlib/families/<name>.py)
    text_encoder: str | None = None  # "pretrained" or "joint"
    text_steps: int = 400  # "pretrained": steps of the attribute objective, batch 64
    zero_terminal_snr: bool | None = None
    steps: int | None = None  # denoiser steps
    direction_free: float | None = None  # share of captions without the direction word
    appearance_free: float = 0.0  # share of captions without the direction, colour and background words
    latent_channels: int | None = None
    patch_size: int = components.PATCH_SIZE  # Latte and CogVideoX only
    batch: int = 16
    lr: float = 1e-3  # the text encoder's pretraining, and the denoiser's unless denoiser_lr is set
    denoiser_lr: float | None = None  # None: lr
    warmup: int = 200
    caption_dropout: float = 0.1
    ema: float = 0.999
    checkpoint_every: int = 250

    def __post_init__(self):
        recipe = self.recipe
        for name, value in (("steps", recipe.train_steps), ("text_encoder", recipe.text_encoder),
                            ("zero_terminal_snr", recipe.zero_terminal_snr), ("direction_free", recipe.direction_free),
                            ("latent_channels", recipe.latent_channels)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.text_encoder not in TEXT_ENCODER_MODES:
            raise ParameterError(f"text_encoder must be one of {', '.join(TEXT_ENCODER_MODES)}, "
                                 f"got {self.text_encoder!r}")
        for name in ("pool", "vae_steps", "vae_batch", "text_steps", "steps", "batch", "checkpoint_every",
                     "latent_channels", "patch_size"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ParameterError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("lr", "denoiser_lr", "vae_lr"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and value > 0):
                raise ParameterError(f"{name} is a learning rate and must be > 0, got {value!r}")
        if not 0 <= self.caption_dropout < 1 or not 0 <= self.ema < 1:
            raise ParameterError("caption_dropout and ema must lie in [0, 1)")
        if not 0 <= self.direction_free < 1:
            raise ParameterError(f"direction_free is a share of captions in [0, 1), got {self.direction_free!r}")
        if not (0 <= self.appearance_free < 1 and self.direction_free + self.appearance_free < 1):
            raise ParameterError(f"appearance_free is a share of captions in [0, 1) and, with direction_free "
                                 f"({self.direction_free}), under 1; got {self.appearance_free!r}")
        size = components.LATENT_SIZE
        if recipe.patched and size % self.patch_size:
            divisors = ", ".join(str(d) for d in range(1, size + 1) if size % d == 0)
            raise ParameterError(f"patch size {self.patch_size} does not divide the {size} x {size} latent of the "
                                 f"{world.SIZE} x {world.SIZE} world (4x VAE); use one of {divisors}")
        if not recipe.patched and self.patch_size != components.PATCH_SIZE:
            raise ParameterError(f"patch_size applies to the transformers; {self.family}'s denoiser has no patches")

    @property
    def recipe(self) -> ToyRecipe:
        return components.toy_recipe(self.family)

    @property
    def defaults(self) -> FamilyDefaults:
        return FamilyDefaults(num_frames=world.FRAMES, height=world.SIZE, width=world.SIZE,
                              num_steps=TOY_STEPS, guidance_scale=self.recipe.guidance, fps=4)


# ------------------------------------------------------------------------------------ building
def build_model(settings: TrainSettings) -> VideoModel:
    """Untrained toy components of ``settings.family`` (seeded) behind the family's VideoModel."""
    import diffusers

    from motionlib.models.loading import quiet_diffusers

    fam, recipe = families.get(settings.family), settings.recipe
    with torch.random.fork_rng():
        torch.manual_seed(settings.seed)
        tokenizer, text_encoder = components.text_parts(recipe.tokenizer)
        vae = components.vae(recipe.vae, settings.latent_channels)
        denoiser = components.denoiser(settings.family, settings.latent_channels, settings.patch_size)
    parts = {fam.denoiser_key: denoiser, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
             "scheduler": toy_scheduler(settings)}
    with quiet_diffusers():
        pipeline = getattr(diffusers, fam.spec.pipeline_class)(**parts)
    return fam.model_class(spec=fam.spec, source="toy", denoiser=denoiser, vae=vae, text_encoder=text_encoder,
                           tokenizer=tokenizer, scheduler=pipeline.scheduler, pipeline=pipeline,
                           toy_defaults=settings.defaults)


def toy_scheduler(settings: TrainSettings):
    """The family's real schedule; with ``zero_terminal_snr``, its betas rescaled so that the last
    timestep keeps no signal, and v-prediction (which zero SNR needs), as CogVideoX's own schedule is."""
    from diffusers import DDIMScheduler

    scheduler = families.get(settings.family).scheduler()
    if settings.zero_terminal_snr and not scheduler.config.get("rescale_betas_zero_snr", False):
        scheduler = DDIMScheduler.from_config(scheduler.config, rescale_betas_zero_snr=True,
                                              prediction_type="v_prediction")
    return scheduler


def training_clips(settings: TrainSettings) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The pool: videos ``(N, F, H, W, 3)`` uint8, captions, and object masks ``(N, F, H, W)``."""
    specs = world.sample_specs(settings.pool, settings.seed, "train", world.TRAINING_PATHS)
    videos = np.stack([world.render(s) for s in specs])
    backgrounds = np.array([world.BACKGROUNDS[s.background] for s in specs], float)[:, None, None, None]
    masks = np.abs(videos.astype(float) - backgrounds).sum(-1) > 10
    return videos, [world.caption(s) for s in specs], masks


# The settings each stage's result depends on (its checkpoint resumes only for the same ones), so a
# run that changes only the denoiser's settings reuses a finished VAE and text encoder.
STAGE_FIELDS = {
    "vae": ("family", "seed", "pool", "vae_steps", "vae_batch", "vae_lr", "fg_weight", "kl_weight",
            "latent_channels", "warmup"),
    "text_encoder": ("family", "seed", "text_encoder", "text_steps", "lr", "warmup"),
}


def stage_settings(s: TrainSettings, stage: str) -> dict:
    """The part of ``s`` that determines ``stage`` ("vae", "text_encoder"; the denoiser: all of it)."""
    return {k: v for k, v in asdict(s).items() if k in STAGE_FIELDS[stage]}


# ------------------------------------------------------------------------------------ helpers
def _pixels(videos: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, F, H, W, 3)`` -> float ``(N, F, 3, H, W)`` in [-1, 1]."""
    return torch.from_numpy(videos).permute(0, 1, 4, 2, 3).float() / 127.5 - 1


# ------------------------------------------------------------------------------------ stages
def train_vae(model: VideoModel, videos: np.ndarray, masks: np.ndarray, s: TrainSettings, work: Path,
              progress: bool = True) -> dict:
    """Stage 2: fit the VAE to the pool, then scale its latents to unit variance. Returns a record."""
    vae = model.vae
    vae.requires_grad_(True).eval()  # no dropout or batch norm: eval() only skips no-op dropout masks
    run = {"stage": "vae", "settings": stage_settings(s, "vae")}
    loop = Loop({"vae": vae}, lr=s.vae_lr, seed=s.seed + 1, path=work / "vae.safetensors", run=run)
    pixels, weights = _pixels(videos), 1 + s.fg_weight * torch.from_numpy(masks).float()
    per_clip = s.recipe.vae == "video"  # a VAE over whole clips draws clips, a frame VAE frames
    batch = max(1, s.vae_batch // world.FRAMES) if per_clip else s.vae_batch

    def step_loss(step: int) -> tuple[torch.Tensor, float]:
        if per_clip:
            idx = torch.randint(len(videos), (batch,), generator=loop.generator)
            x = model.vae_pixels(pixels[idx])
            w = model.vae_pixels(weights[idx][:, :, None].expand(-1, -1, 3, -1, -1))
        else:
            idx = torch.randint(len(videos) * world.FRAMES, (batch,), generator=loop.generator)
            x = pixels.flatten(0, 1)[idx]
            w = weights.flatten(0, 1)[idx][:, None]
        x, w = x.to(model.device), w.to(model.device)
        posterior = vae.encode(x).latent_dist
        noise = torch.randn(posterior.mean.shape, generator=loop.generator).to(model.device)
        recon = vae.decode(posterior.mean + posterior.std * noise).sample
        mse = (w * (recon - x) ** 2).mean() / w.mean()
        kl = 0.5 * (posterior.mean**2 + posterior.var - 1 - posterior.logvar).mean()  # per latent value
        return mse + s.kl_weight * kl, mse.item()

    loop.run_steps(step_loss, s.vae_steps, checkpoint_every=s.checkpoint_every, desc=f"toy {s.family}: VAE",
                   progress=progress, warmup=s.warmup, max_grad_norm=1.0, window=50)
    vae.requires_grad_(False).eval()
    scale = 1.0 / float(encode_pool(model, videos[:512], scale=1.0).std())
    model.set_vae_scaling_factor(scale)
    with torch.no_grad():
        recon = model.decode_latents(encode_pool(model, videos[:64]), world.FRAMES)
    psnr = float(10 * torch.log10(4 / ((recon.cpu().clamp(-1, 1) - _pixels(videos[:64])) ** 2).mean()))
    return {"steps": s.vae_steps, "loss_curve": loss_curve(loop.losses), "minutes": loop.seconds / 60,
            "scaling_factor": scale, "psnr_db_first_64_clips": psnr}


@torch.no_grad()
def encode_pool(model: VideoModel, videos: np.ndarray, batch: int = 64, scale: float | None = None) -> torch.Tensor:
    """Latents of every clip (posterior means x scaling factor, or x ``scale``), model layout."""
    out = []
    for i in range(0, len(videos), batch):
        latents = model.encode_video(_pixels(videos[i:i + batch]).to(model.device))
        if scale is not None:
            latents = latents / model.vae.config.scaling_factor * scale
        out.append(latents)
    return torch.cat(out)


def text_captions() -> list[str]:
    """Captions of every training combination, on both paths (the held-out combinations excluded)."""
    held_out = world.held_out_combinations()
    return [world.caption(world.ClipSpec(*combo, path=path)) for combo in world.all_combinations()
            if combo not in held_out for path in world.PATHS]


def pretrain_text_encoder(model: VideoModel, s: TrainSettings, work: Path, progress: bool = True) -> dict:
    """Stage 3, ``"pretrained"``: teach the text encoder to tell every captioned attribute apart, then
    freeze it. One linear head per attribute reads the prompt embedding ``(B, L, D)`` (as the pipeline
    makes it) averaged over tokens; the heads are thrown away. Returns a record with the heads'
    accuracy on every caption of :func:`text_captions`."""
    captions = text_captions()
    labels = {name: torch.tensor([values.index(world.parse_caption(c)[name]) for c in captions])
              for name, values in world.VOCABULARY.items()}
    with torch.random.fork_rng():
        torch.manual_seed(s.seed + 3)
        heads = torch.nn.ModuleDict({name: torch.nn.Linear(model.text_encoder.config.hidden_size, len(values))
                                     for name, values in world.VOCABULARY.items()}).to(model.device)
    labels = {name: label.to(model.device) for name, label in labels.items()}
    encoder = model.text_encoder
    encoder.requires_grad_(True).eval()
    groups = _length_groups(model, captions)
    draw = _same_length_draw(groups)
    run = {"stage": "text_encoder", "settings": stage_settings(s, "text_encoder")}
    loop = Loop({"text_encoder": encoder, "heads": heads}, lr=s.lr, seed=s.seed + 4,
                path=work / "text_encoder.safetensors", run=run)

    def loss_and_hits(idx: np.ndarray) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        pooled = model.encode_prompts([captions[i] for i in idx]).cond.mean(1)
        logits = {name: head(pooled) for name, head in heads.items()}
        loss = sum(torch.nn.functional.cross_entropy(logits[n], labels[n][idx]) for n in heads)
        return loss, {n: (logits[n].argmax(1) == labels[n][idx]).float() for n in heads}

    def step_loss(step: int) -> tuple[torch.Tensor, float]:
        loss, _ = loss_and_hits(draw(64, loop.generator))
        return loss, loss.item()

    loop.run_steps(step_loss, s.text_steps, checkpoint_every=s.checkpoint_every, desc=f"toy {s.family}: text encoder",
                   progress=progress, warmup=min(s.warmup, s.text_steps // 4), window=50)
    encoder.requires_grad_(False).eval()
    with torch.no_grad():
        hits = [loss_and_hits(g)[1] for g in groups]
    accuracy = {n: float(torch.cat([h[n] for h in hits]).mean()) for n in heads}
    return {"mode": "pretrained", "steps": s.text_steps, "captions": len(captions),
            "loss_curve": loss_curve(loop.losses), "minutes": loop.seconds / 60, "attribute_accuracy": accuracy}


def _length_groups(model: VideoModel, captions: list[str]) -> list[np.ndarray]:
    """Indices of the captions grouped by token count."""
    lengths = np.array([len(model.tokenizer(c).input_ids) for c in captions])
    return [np.flatnonzero(lengths == n) for n in np.unique(lengths)]


def _same_length_draw(groups: list[np.ndarray]):
    """``draw(n, generator) -> idx``: ``n`` caption indices from one group of :func:`_length_groups`
    (a group picked in proportion to its size), so a batch needs no padding."""
    sizes = torch.tensor([len(g) for g in groups], dtype=torch.float64)

    def draw(n: int, generator: torch.Generator) -> np.ndarray:
        g = groups[int(torch.multinomial(sizes, 1, generator=generator))]
        return g[torch.randint(len(g), (n,), generator=generator).numpy()]

    return draw


def train_denoiser(model: VideoModel, latents: torch.Tensor, captions: list[str], s: TrainSettings,
                   work: Path, progress: bool = True) -> dict:
    """Stage 4: the denoiser (and the text encoder, if ``"joint"``); leaves the EMA weights in the model."""
    from motionlib.customize import diffusion_loss
    from motionlib.models.base import PromptEmbeds

    joint = s.text_encoder == "joint"
    trained = {"denoiser": model.denoiser, **({"text_encoder": model.text_encoder} if joint else {})}
    n = len(captions)
    # Caption forms: the full caption, and with shares direction_free / appearance_free of the batches
    # the same clips captioned without the direction word / without the direction, colour and background.
    forms = [(1.0, list(captions))]
    if s.direction_free:
        forms.append((s.direction_free, [without_direction(c) for c in captions]))
    if s.appearance_free:
        forms.append((s.appearance_free, [with_open_appearance(c) for c in captions]))
    texts = [text for _, block in forms for text in block]
    frozen_embeds = None if joint else _embedding_table(model, texts)
    for m in trained.values():
        # eval(): every dropout of these models has p = 0 (and there is no batch norm), so training mode
        # would change nothing but draw all-ones dropout masks (7% of the step time).
        m.requires_grad_(True).eval()
    run = {"stage": "denoiser", "settings": asdict(s)}
    lr = s.lr if s.denoiser_lr is None else s.denoiser_lr
    loop = Loop(trained, lr=lr, seed=s.seed + 2, path=work / "denoiser.safetensors", run=run, ema=s.ema)
    draws = [_same_length_draw([g + k * n for g in _length_groups(model, block)]) for k, (_, block) in enumerate(forms)]

    def step_loss(step: int) -> tuple[torch.Tensor, float]:
        # A whole batch is of one caption form (one token length per batch): direction-free with
        # probability direction_free, then open-appearance with probability appearance_free. The draws
        # are those of the runs before appearance_free existed when it is 0.
        form = 0
        if s.direction_free and float(torch.rand(1, generator=loop.generator)) < s.direction_free:
            form = 1
        elif s.appearance_free and float(torch.rand(1, generator=loop.generator)) < (
                s.appearance_free / (1 - s.direction_free)):
            form = len(forms) - 1
        idx = draws[form](s.batch, loop.generator)
        x0 = latents[idx % n]
        t = torch.randint(0, model.num_train_timesteps, (s.batch,), generator=loop.generator)
        noise = torch.randn(x0.shape, generator=loop.generator)
        drop = (torch.rand(s.batch, generator=loop.generator) < s.caption_dropout).to(model.device)
        embeds = model.encode_prompts([texts[i] for i in idx]) if joint else frozen_embeds(idx)
        cond = torch.where(drop[:, None, None], embeds.uncond, embeds.cond)
        loss = diffusion_loss(model, x0, t, noise, PromptEmbeds(embeds.prompt, cond, embeds.uncond))
        return loss, loss.item()

    loop.run_steps(step_loss, s.steps, checkpoint_every=s.checkpoint_every, desc=f"toy {s.family}: denoiser",
                   progress=progress, warmup=s.warmup, max_grad_norm=1.0, window=100)
    loop.apply_ema()
    for module in trained.values():
        module.requires_grad_(False).eval()
    return {"steps": s.steps, "loss_curve": loss_curve(loop.losses), "minutes": loop.seconds / 60}


def with_open_appearance(text: str) -> str:
    """A world caption with its direction, colour and background left out ("a striped square moves")."""
    return world.caption(_spec_of_caption(text), omit=("direction", *world.OPEN_APPEARANCE))


def _spec_of_caption(text: str) -> world.ClipSpec:
    a = world.parse_caption(text)
    return world.ClipSpec(a["shape"], a["colour"] or "red", a["texture"], a["background"] or "gray",
                          a["direction"] or "left", a["path"])


def without_direction(text: str) -> str:
    """A world caption with its direction word left out (:func:`world.caption`, ``with_direction=False``)."""
    a = world.parse_caption(text)
    spec = world.ClipSpec(a["shape"], a["colour"], a["texture"], a["background"], a["direction"] or "left",
                          a["path"])
    return world.caption(spec, with_direction=False)


@torch.no_grad()
def _embedding_table(model: VideoModel, captions: list[str]):
    """For a frozen text encoder: ``lookup(idx) -> PromptEmbeds`` of ``captions[idx]`` (one token
    length), from embeddings computed once per distinct caption, as ``encode_prompts`` makes them."""
    from motionlib.models.base import PromptEmbeds

    rows, table, uncond = {}, [], {}
    for group in _length_groups(model, captions):
        distinct = sorted({captions[i] for i in group})
        embeds = model.encode_prompts(distinct)
        for text, row in zip(distinct, embeds.cond):
            rows[text] = len(table)
            table.append(row)
        uncond[embeds.cond.shape[1]] = embeds.uncond[:1]

    def lookup(idx: np.ndarray) -> PromptEmbeds:
        cond = torch.stack([table[rows[captions[i]]] for i in idx])
        return PromptEmbeds(captions[idx[0]], cond, uncond[cond.shape[1]].expand_as(cond))

    return lookup


# ------------------------------------------------------------------------------------ the command
def train(settings: TrainSettings, out_dir: str | Path, *, progress: bool = True, device: str = "cpu") -> dict:
    """Train ``settings.family`` from scratch into ``out_dir`` (resuming a stopped run); see the module doc.

    ``device`` ("cpu", "cuda"): where the networks train. Every random draw comes from the CPU
    generators either way, so a GPU run sees the same batches, noise and timesteps as a CPU run
    (its weights still differ: GPU kernels round differently, and training compounds it)."""
    out_dir = Path(out_dir)
    work = out_dir / ".training"
    work.mkdir(parents=True, exist_ok=True)
    tic = time.perf_counter()
    commit = provenance.git_commit()  # the code this run starts from
    torch.manual_seed(settings.seed)
    model = build_model(settings)
    model.pipeline.to(device)
    model.device = torch.device(device)
    videos, captions, masks = training_clips(settings)
    vae_record = train_vae(model, videos, masks, settings, work, progress)
    latents = encode_pool(model, videos)
    text_record = ({"mode": "joint"} if settings.text_encoder == "joint"
                   else pretrain_text_encoder(model, settings, work, progress))
    denoiser_record = train_denoiser(model, latents, captions, settings, work, progress)
    record = {
        "family": settings.family,
        "what": "toy-world model: the family's real classes at toy size, trained from scratch on "
                "motionlib's procedural world; not the paper's model",
        "defaults": asdict(settings.defaults),
        "world": {"frames": world.FRAMES, "size": world.SIZE, "held_out_combinations": len(world.held_out_combinations()),
                  "training_paths": list(world.TRAINING_PATHS), "pool": settings.pool},
        "settings": asdict(settings),
        "device": str(model.device),
        "seed": settings.seed,
        "vae": vae_record,
        "text_encoder": text_record,
        "denoiser": denoiser_record,
        "parameters": {name: sum(p.numel() for p in m.parameters())
                       for name, m in (("denoiser", model.denoiser), ("vae", model.vae),
                                       ("text_encoder", model.text_encoder))},
        **_stamp(tic, commit),
    }
    return _finish(model, out_dir, work, record)


def finetune(base: str | Path, out_dir: str | Path, *, steps: int, direction_free: float, lr: float = 3e-4,
             warmup: int = 100, pool: int | None = None, appearance_free: float = 0.0, progress: bool = True) -> dict:
    """Continue training the denoiser of the toy model in ``base`` (a folder with ``toyworld.json``)
    with a share ``direction_free`` of direction-free batches (and ``appearance_free`` of batches whose
    captions leave the direction, colour and background open), for ``steps`` more steps at peak
    learning rate ``lr``, into ``out_dir``. The VAE and the frozen text encoder stay as they are; the
    pool is the base's (same settings and seed; ``pool`` clips of it if given). ``toyworld.json`` keeps the
    base's record, with the fine-tune's settings, loss curve and minutes under ``"finetune"`` (a stopped run
    resumes). A base that is itself a fine-tune keeps its own ``"finetune"`` under ``["finetune"]["base"]``, so
    the record names every stage."""
    from motionlib.models import load_model

    base, out_dir = Path(base), Path(out_dir)
    if not (base / TOY_RECORD).is_file():
        raise ParameterError(f"{base} is not a toy-world model folder (no {TOY_RECORD}); give the folder "
                             "`motionlib toyworld train` wrote, or motionlib/assets/toy/<family>")
    record = json.loads((base / TOY_RECORD).read_text())
    earlier = record.pop("finetune", None)
    known = {k: v for k, v in record["settings"].items() if k in TrainSettings.__dataclass_fields__}
    base_settings = TrainSettings(**known)
    if base_settings.text_encoder != "pretrained":
        raise ParameterError(f"the {base_settings.family} toy model's text encoder was trained jointly; the "
                             "fine-tune keeps the text encoder frozen, so it needs a 'pretrained' one")
    settings = replace(base_settings, steps=steps, direction_free=direction_free, appearance_free=appearance_free,
                       denoiser_lr=lr, warmup=warmup,
                       pool=pool or base_settings.pool)
    work = out_dir / ".training"
    work.mkdir(parents=True, exist_ok=True)
    tic = time.perf_counter()
    commit = provenance.git_commit()
    torch.manual_seed(settings.seed)
    model = load_model(base_settings.family, str(base), dtype=torch.float32)
    videos, captions, _ = training_clips(settings)
    latents = encode_pool(model, videos)
    denoiser_record = train_denoiser(model, latents, captions, settings, work, progress)
    record["settings"]["direction_free"] = direction_free
    record["settings"]["appearance_free"] = appearance_free
    record["finetune"] = {
        "what": finetune_what(direction_free, appearance_free),
        "base": {"settings": known, "git_commit": record.get("git_commit"),
                 "wall_minutes": record.get("wall_minutes"), **({"finetune": earlier} if earlier else {})},
        "settings": {"steps": steps, "direction_free": direction_free, "appearance_free": appearance_free, "lr": lr, "warmup": warmup, "pool": settings.pool,
                     "batch": settings.batch, "ema": settings.ema, "caption_dropout": settings.caption_dropout,
                     "seed": settings.seed + 2},
        "denoiser": denoiser_record,
        **_stamp(tic, commit),
    }
    return _finish(model, out_dir, work, record)


def finetune_what(direction_free: float, appearance_free: float = 0.0) -> str:
    """What a fine-tune with a share ``direction_free`` of direction-free batches (and ``appearance_free``
    without the direction, colour and background words) did, in one line."""
    parts = [f"{direction_free:.0%} of batches captioned without the direction word"] if direction_free else []
    if appearance_free:
        parts.append(f"{appearance_free:.0%} without the direction, colour and background words")
    captions = ", ".join(parts) or "full captions only"
    return f"the base model's denoiser trained further ({captions}); VAE and text encoder unchanged"


def total_minutes(record: dict) -> float:
    """Minutes of training behind a toy model: its from-scratch run plus every fine-tune stage."""
    stage, total = record.get("finetune"), record.get("wall_minutes") or 0.0
    while stage:
        total += stage.get("wall_minutes") or 0.0
        stage = stage["base"].get("finetune")
    return total


def _stamp(tic: float, commit: str | None) -> dict:
    """The minutes since ``tic``, the git commit the run started from, and the package versions."""
    return {"wall_minutes": (time.perf_counter() - tic) / 60, "git_commit": commit,
            "packages": provenance.package_versions()}


def _finish(model: VideoModel, out_dir: Path, work: Path, record: dict) -> dict:
    """Save the model and its record, then drop the checkpoints of the finished run."""
    save(model, out_dir, record)
    shutil.rmtree(work, ignore_errors=True)
    return record


def save(model: VideoModel, out_dir: Path, record: dict) -> None:
    """Write the pipeline (float16 safetensors) and ``toyworld.json`` into ``out_dir``."""
    from motionlib.models.loading import quiet_diffusers

    with quiet_diffusers():
        half = copy.deepcopy(model.pipeline).to(dtype=torch.float16)
        half.save_pretrained(out_dir, safe_serialization=True)
    (out_dir / TOY_RECORD).write_text(json.dumps(record, indent=1, default=str) + "\n")


def settings_with(family: str, **overrides) -> TrainSettings:
    """``TrainSettings(family)`` with ``overrides`` (None values ignored)."""
    return replace(TrainSettings(family), **{k: v for k, v in overrides.items() if v is not None})
