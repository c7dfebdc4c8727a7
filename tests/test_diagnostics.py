"""Toy-model diagnostics: the text-influence curve, the latent share, the loss by timestep and the overfit check."""

from dataclasses import replace

import numpy as np
import torch

from motionlib.customize import diffusion_loss
from motionlib.data import to_model_pixels
from motionlib.models import load_model
from motionlib.toyworld import diagnostics, world


def test_text_influence_shows_the_toy_modelscope_deciding_direction_early():
    """The shipped ModelScope draws its captions (docs/toyworld.md); its direction word moves the denoiser's
    output at t = 900 and hardly at t = 100, while its colour word matters at both."""
    rows = diagnostics.text_influence(load_model("modelscope", "toy"), clips=4, timesteps=(900, 100), progress=False)
    assert set(rows["attribute"]) == {*diagnostics.ATTRIBUTES, "caption"} and len(rows) == 4 * 6 * 2
    mean = diagnostics.summarise(rows, "relative_change", ["attribute", "t"]).set_index(["attribute", "t"])
    mean = mean["relative_change"]
    assert mean["direction", 900] > 5 * mean["direction", 100]
    assert min(mean["colour", 900], mean["colour", 100]) > 0.1
    assert (rows["relative_change"] > 0).all()


def test_loss_at_is_the_training_loss():
    model = load_model("cogvideox", "toy")
    spec = world.sample_specs(1, 3, "held_out")[0]
    x0 = model.encode_video(to_model_pixels(world.render(spec)))
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    embeds = model.encode_prompt(world.caption(spec))
    loss, x0_error = diagnostics.loss_at(model, x0, 400, noise, embeds)
    assert abs(loss - float(diffusion_loss(model, x0, torch.tensor([400]), noise, embeds))) < 1e-5
    assert 0 < x0_error < 1  # a trained model's clean estimate at t = 400 is closer than nothing
    rows = diagnostics.loss_by_timestep(model, clips=2, buckets=4, draws=1, progress=False)
    assert list(rows["bucket"].unique()) == ["0-249", "250-499", "500-749", "750-999"]
    assert rows.apply(lambda r: int(r["bucket"].split("-")[0]) <= r["t"] <= int(r["bucket"].split("-")[1]), axis=1).all()


def test_a_fresh_toy_denoiser_fits_two_clips_and_leaves_the_model_alone():
    model = load_model("latte", "toy")
    before = {k: v.clone() for k, v in model.denoiser.state_dict().items()}
    fit = diagnostics.overfit(model, clips=2, steps=20, progress=False)
    assert fit["final_loss"] < 0.6 * fit["first_loss"]  # measured 1.28 -> 0.48
    assert all(torch.equal(before[k], v) for k, v in model.denoiser.state_dict().items())


def test_caption_memorization_reads_the_direction_of_a_model_that_draws_it(monkeypatch):
    """The check's measurement, on a denoiser known to draw its direction word: the shipped ModelScope's,
    put where the fresh one goes, one training step. Every sample is read as captioned (chance 0.25), each
    caption's t = 999 estimate lies nearest its own clip, and the model passed in is left alone."""
    import copy

    from motionlib.toyworld import components

    model = load_model("modelscope", "toy")
    before = {k: v.clone() for k, v in model.denoiser.state_dict().items()}
    monkeypatch.setattr(components, "denoiser", lambda *args, **kwargs: copy.deepcopy(model.denoiser))
    memo = diagnostics.caption_memorization(model, steps=1, samples=2, progress=False)
    assert len(memo["rows"]) == 4 * 2 and memo["accuracy"] == 1.0  # measured 1.0
    for i, row in enumerate(memo["distance"]):  # measured diagonal 0.43-0.70, off it 0.78-0.97
        assert row[i] < min(d for j, d in enumerate(row) if j != i)
    assert all(torch.equal(before[k], v) for k, v in model.denoiser.state_dict().items())


def test_latent_share_through_an_identity_vae_is_the_naive_pixel_ratio_and_sees_the_corners_as_small():
    """Through a VAE that returns the pixels in [0, 1], the latent change must equal the change measured
    on the rendered pixels; and the circle-square difference (a few edge pixels) must be far smaller
    than a colour change."""
    from types import SimpleNamespace

    identity = SimpleNamespace(family="identity", source="test", encode_video=lambda x: (x + 1) / 2)
    rows = diagnostics.latent_share(identity, clips=6, progress=False)
    assert set(rows["change"]) == {*diagnostics.ATTRIBUTES, "square_vs_circle"} and len(rows) == 6 * 6
    assert torch.allclose(torch.tensor(rows["latent_change"].values), torch.tensor(rows["pixel_change"].values),
                          rtol=1e-4)
    spec = world.sample_specs(6, 0)[0]  # the function's first clip (seed 0)
    circle, square = (world.render(replace(spec, shape=s)) / 255 for s in ("circle", "square"))
    first = rows[(rows["clip"] == 0) & (rows["change"] == "square_vs_circle")]["latent_change"].item()
    assert abs(first - np.linalg.norm(square - circle) / np.linalg.norm(circle)) < 1e-5
    median = rows.groupby("change")["pixel_change"].median()
    assert 0 < median["square_vs_circle"] < median["colour"] / 3, median.to_dict()
