"""The vectorized VAE ensemble: K independent dense VAEs in one module."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from lhcad.models.naive import PlainVAE
from lhcad.models.vae import EnsembleVAE, VAEArchitecture


def gaussian_data(n: int, seed: int = 0) -> np.ndarray:
    """Correlated 4-D Gaussian events, float32."""
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, 0.8, 0.2, 0.0], [0.8, 1.0, 0.1, 0.0], [0.2, 0.1, 1.0, 0.5], [0.0, 0.0, 0.5, 1.0]])
    return rng.multivariate_normal(np.zeros(4), cov, n).astype(np.float32)


def test_architecture_round_trips_through_json() -> None:
    arch = VAEArchitecture(
        n_inputs=6, hidden=(64, 32, 8), latent_dim=3, activation="silu", beta=0.5, recon_loss="gaussian_nll"
    )
    assert VAEArchitecture.from_dict(json.loads(json.dumps(arch.to_dict()))) == arch


def test_unknown_activation_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        VAEArchitecture(n_inputs=4, activation="swish")


def test_member_initialisation_equals_a_lone_model_with_the_same_seed() -> None:
    arch = VAEArchitecture(n_inputs=4)
    ensemble, alone = EnsembleVAE(arch, [5, 6, 7]), EnsembleVAE(arch, [6])
    for name, tensor in alone.member_state(0).items():
        assert torch.equal(ensemble.member_state(1)[name], tensor)


@pytest.mark.parametrize(("activation", "recon_loss"), [("elu", "mse"), ("tanh", "gaussian_nll")])
def test_a_member_computes_what_a_plain_nn_linear_vae_computes(activation: str, recon_loss: str) -> None:
    # Same seed -> same nn.Linear initialisation, and the same losses on the same events and noise.
    arch = VAEArchitecture(n_inputs=4, hidden=(16, 8), activation=activation, recon_loss=recon_loss)
    torch.manual_seed(11)
    plain = PlainVAE(arch)
    ensemble = EnsembleVAE(arch, [3, 11])
    x = torch.as_tensor(gaussian_data(64))
    noise = torch.randn(2, 64, arch.latent_dim, generator=torch.Generator().manual_seed(0))
    recon, kl = plain(x, noise[1])
    terms = ensemble.loss_terms(x, noise)
    torch.testing.assert_close(terms["recon"][1], recon)
    torch.testing.assert_close(terms["kl"][1], kl)


def test_loss_terms_of_a_hand_set_model() -> None:
    # Zero weights: the encoder gives z_mean = 1, z_logvar = log(1/4) for every event and the
    # decoder outputs 0, so recon = sum(x^2) and KL = L * 0.5 * (1/4 + 1 - 1 - log(1/4)).
    arch = VAEArchitecture(n_inputs=4, latent_dim=2, beta=0.5)
    model = EnsembleVAE(arch, [0])
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.mean_head.bias.fill_(1.0)
        model.logvar_head.bias.fill_(math.log(0.25))
    x = torch.as_tensor(gaussian_data(100))
    terms = model.loss_terms(x, torch.randn(1, 100, 2))
    kl = 2 * 0.5 * (0.25 + 1.0 - 1.0 - math.log(0.25))
    recon = float(x.pow(2).sum(1).mean())
    assert terms["kl"].item() == pytest.approx(kl, rel=1e-6)
    assert terms["recon"].item() == pytest.approx(recon, rel=1e-6)
    assert terms["loss"].item() == pytest.approx(recon + 0.5 * kl, rel=1e-6)


def test_encode_broadcasts_events_to_every_member() -> None:
    model = EnsembleVAE(VAEArchitecture(n_inputs=4, latent_dim=3), [0, 1])
    x = torch.as_tensor(gaussian_data(10))
    z_mean, z_logvar = model.encode(x)
    assert z_mean.shape == z_logvar.shape == (2, 10, 3)
    torch.testing.assert_close(model.encode(x.expand(2, 10, 4))[0], z_mean, rtol=0, atol=0)


def test_a_member_state_loads_into_another_member() -> None:
    model = EnsembleVAE(VAEArchitecture(n_inputs=4), [0, 1, 2])
    model.load_member_state(2, model.member_state(0))
    z_mean, _ = model.encode(torch.as_tensor(gaussian_data(20)))
    assert torch.equal(z_mean[2], z_mean[0])
    assert not torch.equal(z_mean[1], z_mean[0])
