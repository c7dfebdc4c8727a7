"""Print the checkpoint-twin tables of docs/twins.md (markdown), computed on the meta device.

    .venv/bin/python scripts/twin_tables.py

1. Parameters per component at full scale, beside the published weight files' sizes and dtypes
   (the test suite checks each count against its file size).
2. Trainable parameters of a rank-4 LoRA per projection subset (the paper's group: temporal
   attention, or CogVideoX's joint attention), and on every attention.
"""

from __future__ import annotations

from motionlib.models.loading import quiet_diffusers
from motionlib.twins import checkpoints, facts


def _size(comp) -> str:
    b = comp.published_bytes
    shown = f"{b / 1e9:.2f} GB" if b >= 1e9 else f"{b / 1e6:.0f} MB"
    text = f"{b:,} B" if not comp.bytes_rounding else f"{shown} (as the hub shows it)"
    return f"{text}, {comp.dtype}"


def main() -> None:
    with quiet_diffusers():
        print("| checkpoint | component | class | parameters (full twin) | published weights |")
        print("|---|---|---|---:|---|")
        for family, ckpt in checkpoints().items():
            counts = facts.parameter_counts(family)
            for name, comp in ckpt.components.items():
                print(f"| {ckpt.hub_id} | {name} | {comp.class_name} | {counts[name]:,} | {_size(comp)} |")
        print()
        print("| family | adapted group | QKVO | QKV | VO | O | all attentions, QKVO |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for family in checkpoints():
            group = "joint" if family.startswith("cogvideox") else "temporal"
            cells = [facts.lora_parameters(family, group, p) for p in ("qkvo", "qkv", "vo", "o")]
            cells.append(facts.lora_parameters(family, "all", "qkvo"))
            print(f"| {family} | {group} | " + " | ".join(f"{c:,}" for c in cells) + " |")


if __name__ == "__main__":
    main()
