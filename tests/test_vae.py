"""The vectorized VAE ensemble: members are independent models trained at once."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lhcad.models.training import TrainSettings, train_ensemble
from lhcad.models.vae import EnsembleVAE, VAEArchitecture


def gaussian_data(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, 0.8, 0.2, 0.0], [0.8, 1.0, 0.1, 0.0], [0.2, 0.1, 1.0, 0.5], [0.0, 0.0, 0.5, 1.0]])
    return rng.multivariate_normal(np.zeros(4), cov, n).astype(np.float32)


def test_member_initialisation_equals_a_lone_model_with_the_same_seed() -> None:
    arch = VAEArchitecture(n_inputs=4)
    ensemble, alone = EnsembleVAE(arch, [5, 6, 7]), EnsembleVAE(arch, [6])
    for name, tensor in alone.member_state(0).items():
        assert torch.equal(ensemble.member_state(1)[name], tensor)


def test_validation_loss_falls_during_training() -> None:
    x = gaussian_data(3000)
    result = train_ensemble(VAEArchitecture(n_inputs=4), TrainSettings(epochs=8, batch_size=128, patience=None), x[:2400], x[2400:], [1])
    val = [e["val_loss"][0] for e in result.history]
    assert val[-1] < 0.8 * val[0]


@pytest.mark.parametrize(("optimizer", "lr"), [("adam", 1e-3), ("adadelta", 1.0)])
def test_vectorized_ensemble_matches_independently_trained_models(optimizer: str, lr: float) -> None:
    x = gaussian_data(1000, seed=1)
    arch = VAEArchitecture(n_inputs=4, hidden=(16, 8), recon_loss="gaussian_nll")
    settings = TrainSettings(epochs=3, batch_size=100, optimizer=optimizer, lr=lr, grad_clip=0.5, patience=None)
    together = train_ensemble(arch, settings, x[:800], x[800:], [1, 2, 3])
    for k, seed in enumerate([1, 2, 3]):
        alone = train_ensemble(arch, settings, x[:800], x[800:], [seed])
        for name, tensor in alone.model.member_state(0).items():
            torch.testing.assert_close(together.model.member_state(k)[name], tensor, atol=1e-5, rtol=0)


def test_early_stopping_freezes_a_member_and_keeps_its_best_state() -> None:
    x = gaussian_data(600, seed=2)
    result = train_ensemble(VAEArchitecture(n_inputs=4), TrainSettings(epochs=60, batch_size=600, lr=0.05, patience=2), x[:500], x[500:], [0, 1])
    assert all(stop is not None for stop in result.stopped_epochs)
    assert len(result.history) == max(result.stopped_epochs)
    for k, stop in enumerate(result.stopped_epochs):
        val = [e["val_loss"][k] for e in result.history[:stop]]
        assert result.best_epochs[k] == int(np.argmin(val)) + 1
