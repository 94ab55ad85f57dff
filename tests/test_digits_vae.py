"""The Bernoulli (bce) decoder of the dense VAE and the digits VAE's 2-D latent space."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lhcad.api import run
from lhcad.families.registry import load_analysis
from lhcad.families.digits.latent import decode, encode_means, latent_grid
from lhcad.models.vae import EnsembleVAE, VAEArchitecture

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ANALYSES = Path(__file__).resolve().parent.parent / "analyses"


def test_bce_of_a_decoder_that_outputs_one_half_is_d_log_2():
    # zero weights: logits 0, every pixel probability 1/2, so -log p(x) = D log 2 for any x
    arch = VAEArchitecture(n_inputs=16, hidden=(8,), latent_dim=2, recon_loss="bce")
    model = EnsembleVAE(arch, [0, 1])
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    x = torch.rand(5, 16, generator=torch.Generator().manual_seed(0))
    terms = model.event_terms(x)
    torch.testing.assert_close(terms["recon"], torch.full((2, 5), 16 * math.log(2.0)))
    mean, logvar = model.decode(torch.zeros(2, 5, 2))
    assert logvar is None and torch.all(mean == 0.5)


def test_bce_is_the_bernoulli_negative_log_likelihood_of_the_decoded_probabilities():
    arch = VAEArchitecture(n_inputs=10, hidden=(12,), latent_dim=2, recon_loss="bce")
    model = EnsembleVAE(arch, [3])
    x = (torch.rand(7, 10, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    with torch.no_grad():
        z_mean, _ = model.encode(x)
        p, _ = model.decode(z_mean)
        by_hand = -(x * p.log() + (1 - x) * (1 - p).log()).sum(-1)
        torch.testing.assert_close(model.event_terms(x)["recon"], by_hand, rtol=1e-5, atol=1e-5)
    assert 0.0 < float(p.min()) and float(p.max()) < 1.0


def test_latent_grid_runs_row_by_row_from_the_top_left():
    grid = latent_grid(3, 2.0)
    np.testing.assert_array_equal(grid[0], [-2.0, 2.0])
    np.testing.assert_array_equal(grid[2], [2.0, 2.0])
    np.testing.assert_array_equal(grid[-1], [2.0, -2.0])


def test_encode_and_decode_pick_one_member():
    model = EnsembleVAE(VAEArchitecture(n_inputs=6, latent_dim=2, recon_loss="bce"), [0, 1])
    x = np.random.default_rng(0).uniform(size=(4, 6))
    z0, z1 = encode_means(model, x, 0), encode_means(model, x, 1)
    assert z0.shape == (4, 2) and not np.allclose(z0, z1)
    images = decode(model, z0, 1)
    assert images.shape == (4, 6) and images.min() > 0 and images.max() < 1


@pytest.mark.slow
def test_latent_knn_accuracy_is_far_above_chance_on_the_digits(tmp_path):
    overrides = {"train.epochs": 15, "train.model.hidden": [64, 32], "report.formats": ["png"]}
    config = load_analysis(ANALYSES / "digits_vae.yaml", overrides)
    result = run(config, tmp_path / "out")
    vae = result.results["vae"]
    # ten digits, about equally many: chance is ~0.1; a 2-D latent of digit images that
    # separates nothing would stay near it
    assert vae["chance_accuracy"] < 0.12
    assert vae["knn_accuracy"] > 0.4
    # the same classifier on all 64 pixels is the uncompressed reference (~0.98 on these digits)
    assert vae["knn_accuracy_pixels"] > 0.9
    figures = tmp_path / "out" / "report" / "figures"
    for name in ("vae_latent", "vae_grid", "vae_reconstructions", "vae_loss"):
        assert (figures / f"{name}.png").stat().st_size > 1000
    latent = result.artifact("digits_vae").read_arrays("latent.npz")
    assert latent["grid_images"].shape == (400, 64)
    assert latent["z_mean"].shape == (1797, 2)


def test_cpu_threads_limits_torch_and_restores_it():
    from lhcad.families.digits.stages import cpu_threads

    torch.set_num_threads(2)  # the one_torch_thread fixture restores the default afterwards
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
