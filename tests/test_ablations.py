"""Tab. 3-4 ablations: every Q/K/V/O subset adapts exactly its projections, parameter counts are the
real tensor sizes, and Fig. 6's edited-word highlighting."""

from dataclasses import replace

import matplotlib
import pytest
import torch

from motionlib.customize import (
    CustomizeSettings,
    attach,
    projection_subsets,
    subset_label,
    target_modules,
    train,
    trainable_parameter_count,
)
from motionlib.data import bundled_dataset, read_video
from motionlib.errors import ParameterError
from motionlib.models import load_model
from motionlib.plotting import draw_highlighted, highlighted_words

FAMILY, FRAMES, SIZE = "latte", 16, 32  # Latte's temporal embedding is fixed at 16 frames
ATTR = {"q": "to_q", "k": "to_k", "v": "to_v", "o": "to_out.0"}
ITEM = bundled_dataset()[0]


@pytest.fixture(scope="module")
def model():
    """One model of our own, reused: each adapter is removed again before the next is attached."""
    return load_model(FAMILY, "tiny", seed=0)


def settings(subset, **kwargs):
    return CustomizeSettings(num_frames=FRAMES, height=SIZE, width=SIZE, tau=0, projections=subset, **kwargs)


def temporal_attentions(model):
    return sorted({p.attention for p in model.attention_projections() if p.group == "temporal"})


def test_the_fifteen_subsets_in_canonical_order():
    subsets = projection_subsets()
    assert len(subsets) == len(set(subsets)) == 15
    assert subsets[:4] == ["q", "k", "v", "o"] and subsets[4:6] == ["qk", "qv"] and subsets[-1] == "qkvo"
    assert [len(s) for s in subsets] == sorted(len(s) for s in subsets)
    for s in subsets:  # letters in q < k < v < o order, every subset valid settings
        assert list(s) == sorted(s, key="qkvo".index) and CustomizeSettings(projections=s).projections == s
    assert [subset_label(s) for s in ("qkvo", "vo", "ov", "q")] == ["QKVO", "VO", "VO", "Q"]
    with pytest.raises(ParameterError):
        subset_label("qx")


def test_each_subset_trains_exactly_its_projections(model):
    video = read_video(ITEM.path, FRAMES, (SIZE, SIZE))
    attentions = temporal_attentions(model)
    assert attentions and all(a.startswith("temporal_transformer_blocks.") for a in attentions)
    before = {n: p.detach().clone() for n, p in model.denoiser.named_parameters()}
    for subset in projection_subsets():
        result = train(model, video, ITEM.caption, settings(subset, train_steps=2, learning_rate=1e-2),
                       progress=False)
        expected = {f"{a}.{ATTR[p]}" for a in attentions for p in subset}
        assert set(result.adapter.targets) == expected, subset
        base, lora = {}, {}
        for name, p in model.denoiser.named_parameters():
            (lora if ".lora_" in name else base)[name.replace(".base_layer", "")] = p
        assert base.keys() == before.keys()
        assert all(torch.equal(p, before[n]) for n, p in base.items()), subset  # bitwise unchanged
        assert set(lora) == {f"{m}.lora_{ab}.motion.weight" for m in expected for ab in "AB"}, subset
        assert all(p.requires_grad for p in lora.values())
        assert not any(p.requires_grad for p in base.values())
        for m in expected:  # B starts at zero: non-zero means this projection really trained
            assert lora[f"{m}.lora_B.motion.weight"].abs().sum() > 0, (subset, m)
        result.adapter.remove()
        after = dict(model.denoiser.named_parameters())
        assert after.keys() == before.keys() and not any(".lora_" in n for n in after)
    assert all(torch.equal(p, before[n]) for n, p in model.denoiser.named_parameters())


def test_parameter_counts_are_the_adapter_tensor_sizes(model):
    counts = {}
    for subset in projection_subsets():
        for mode, rank in (("lora", 4), ("lora", 16), ("direct", 4)):
            s = settings(subset, mode=mode, rank=rank, alpha=rank)
            adapter = attach(model, s)
            try:
                tensors = adapter.state_dict()
                modules = {n: model.denoiser.get_submodule(n) for n in target_modules(model, s)}
                if mode == "lora":
                    assert set(tensors) == {f"{n}.lora_{ab}.weight" for n in modules for ab in "AB"}
                    actual = sum(p.numel() for n, p in model.denoiser.named_parameters() if ".lora_" in n)
                else:
                    weights = [m.weight.numel() + (m.bias.numel() if m.bias is not None else 0)
                               for m in modules.values()]
                    actual = sum(weights)
                    assert set(tensors) == {f"{n}.{p}" for n, m in modules.items()
                                            for p in ("weight", "bias") if getattr(m, p) is not None}
                assert sum(t.numel() for t in tensors.values()) == actual
                assert sum(p.numel() for p in adapter.parameters()) == actual
                counts[subset, mode, rank] = trainable_parameter_count(model, s)
                assert counts[subset, mode, rank] == actual, (subset, mode, rank)
            finally:
                adapter.remove()
    for mode, rank in (("lora", 4), ("lora", 16), ("direct", 4)):
        for subset in projection_subsets():  # additive over projections
            assert counts[subset, mode, rank] == sum(counts[p, mode, rank] for p in subset)
        # temporal Q, K, V, O are all dim x dim: V, O is half of Q, K, V, O (the paper's "in half")
        assert counts["qkvo", mode, rank] == 2 * counts["vo", mode, rank] == 4 * counts["q", mode, rank]
    for subset in projection_subsets():  # LoRA grows linearly with the rank, and stays below direct
        assert counts[subset, "lora", 16] == 4 * counts[subset, "lora", 4] < counts[subset, "direct", 4]
    base = replace(settings("qkvo"), rank=8)
    assert trainable_parameter_count(model, base) == 2 * counts["qkvo", "lora", 4]


@pytest.mark.parametrize("caption, edit, new", [
    ("a rabbit is eating a watermelon", "a rabbit is eating an orange", ["an", "orange"]),
    ("a jeep car is moving on the road", "a jeep car is moving on the road, cartoon style", ["cartoon", "style"]),
    ("a man is skiing", "spider man is skiing on the beach, cartoon style",
     ["spider", "on", "the", "beach,", "cartoon", "style"]),
    ("Dog jumps over a bar.", "Kangaroo jumps over a bar in a park, black and white.",
     ["Kangaroo", "in", "a", "park,", "black", "and", "white."]),  # the inserted phrase's "a" too
    ("An Audi Q7 goes on a snow trail.", "An Audi Q7 goes on a desert trail.", ["desert"]),
    ("A man is surfing.", "a MAN is surfing!", []),  # case and punctuation are not edits
    ("a cat", "", []),
])
def test_highlighted_words_marks_the_edited_words(caption, edit, new):
    words = highlighted_words(caption, edit)
    assert [w for w, _ in words] == edit.split()  # every word of the edit, in order, as written
    assert [w for w, h in words if h] == new


def test_draw_highlighted_puts_a_label_on_an_axis():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    artist = draw_highlighted(ax, highlighted_words("a man is skiing", "spider man is skiing " * 12),
                              max_chars=40)
    fig.canvas.draw()
    assert artist in ax.artists and len(artist.offsetbox.get_children()) > 1  # wrapped into lines
    plt.close(fig)
