"""A fourth model family in one file, as a newcomer would add one (tests/test_families.py loads it).

"FakeScope": ModelScope's pipeline and wrapper with a one-level UNet3D of its own, a linear
epsilon schedule, its own LoRA defaults and colour, no toy recipe and no published checkpoint.
"""

from __future__ import annotations

from motionlib.families import Family, LoraDefaults, register
from motionlib.families.modelscope import ModelScopeModel
from motionlib.models.base import FamilyDefaults, FamilySpec
from motionlib.models.tiny import seeded, tiny_frame_vae

SPEC = FamilySpec(
    name="fakescope", title="FakeScope (test family)", hub_id="example/fakescope",
    pipeline_class="TextToVideoSDPipeline", latent_layout="BCFHW",
    paper=FamilyDefaults(num_frames=8, height=64, width=64, num_steps=10, guidance_scale=5.0),
    tiny=FamilyDefaults(num_frames=8, height=64, width=64, num_steps=10, guidance_scale=5.0),
)


class FakeScopeModel(ModelScopeModel):
    @staticmethod
    def classify_attention(name: str) -> tuple[str, str]:
        if name.startswith("transformer_in.") or ".temp_attentions." in name:
            return "temporal", "self"
        return "spatial", "cross" if name.endswith("attn2") else "self"


def scheduler():
    from diffusers import DDIMScheduler

    return DDIMScheduler(beta_start=0.0001, beta_end=0.02, beta_schedule="linear", clip_sample=False,
                         prediction_type="epsilon")


def build_tiny(seed: int) -> dict:
    from diffusers import UNet3DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from motionlib.models.tokenizers import clip_tokenizer

    unet = seeded(seed, lambda: UNet3DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, down_block_types=("CrossAttnDownBlock3D",),
        up_block_types=("CrossAttnUpBlock3D",), block_out_channels=(16,), layers_per_block=1,
        norm_num_groups=4, cross_attention_dim=16, attention_head_dim=8,
    ))
    text = CLIPTextConfig(vocab_size=49408, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                          num_attention_heads=2, max_position_embeddings=77, projection_dim=16)
    return dict(unet=unet, vae=tiny_frame_vae(seed + 1), text_encoder=seeded(seed + 2, lambda: CLIPTextModel(text)),
                tokenizer=clip_tokenizer(), scheduler=scheduler())


FAMILY = register(Family(
    spec=SPEC, model_class=FakeScopeModel, build_tiny=build_tiny, scheduler=scheduler, denoiser_key="unet",
    motion_group="temporal", lora=LoraDefaults(learning_rate=1e-3, train_steps=300), color="#CC79A7",
    in_paper=False, paper_best_tau=600,
))
