"""One-shot motion customization restricted to early timesteps (the paper's method).

Train a LoRA (or tune the attention weights directly) on one reference video with the plain
diffusion loss, drawing timesteps only from ``[tau, 1000)``; at inference apply it only at sampling
steps with ``t >= tau`` and use the base model below. ``tau = 0`` trains at every timestep;
``tau = 1000`` trains nothing (the base model, Tab. 1's first row).

One training step (``a = alphas_cumprod[t]``, the schedule the sampler uses)::

    t ~ U{tau, ..., 999},  noise ~ N(0, I)
    x_t = sqrt(a) x0 + sqrt(1 - a) noise
    target = noise (epsilon models) or sqrt(a) noise - sqrt(1 - a) x0 (v-prediction models)
    loss = mean((model(x_t, t, caption) - target)^2)

Adapters are injected with peft into ``model.denoiser`` on exactly the projections that
:func:`target_modules` names (``model.attention_projections()`` filtered by group and Q/K/V/O).
Files are safetensors + JSON only; nothing is ever pickled.

Modules: :mod:`~motionlib.customize.settings` (what a run is), :mod:`~motionlib.customize.lora`
(the adapter on the denoiser), :mod:`~motionlib.customize.training` and
:mod:`~motionlib.customize.generation`.
"""

from motionlib.customize.lora import MotionAdapter, attach, load_adapter
from motionlib.customize.generation import (
    TauMismatchWarning,
    adapter_active_at,
    generate_customized,
    generate_customized_batch,
)
from motionlib.customize.settings import (
    DIRECT_LR_SCALE, GROUPS, MODES, TINY_TRAIN_STEPS, TOY_LEARNING_RATE,
    TOY_TRAIN_STEPS,
    CustomizeSettings, check_sample_batch, default_group, projection_subsets, sample_batch_size, subset_label,
    target_modules, trainable_parameter_count,
)
from motionlib.customize.training import TrainResult, diffusion_loss, train

__all__ = [
    "DIRECT_LR_SCALE", "GROUPS", "MODES", "TINY_TRAIN_STEPS",
    "TOY_LEARNING_RATE", "TOY_TRAIN_STEPS", "CustomizeSettings", "MotionAdapter", "TauMismatchWarning", "TrainResult", "adapter_active_at", "attach",
    "check_sample_batch", "default_group", "diffusion_loss", "generate_customized", "generate_customized_batch",
    "load_adapter", "projection_subsets", "sample_batch_size", "subset_label", "target_modules", "train",
    "trainable_parameter_count",
]
