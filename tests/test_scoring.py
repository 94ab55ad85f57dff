"""Latent scores: chunk-independent, sign-invariant, able to find a displaced cluster."""

from __future__ import annotations

import numpy as np

from lhcad.metrics import roc_auc
from lhcad.models.scoring import combine_members, event_scores, latent_scores, orient_z_mean
from lhcad.models.training import TrainSettings, train_ensemble
from lhcad.models.vae import EnsembleVAE, VAEArchitecture
from tests.test_vae import gaussian_data


def anomaly_task(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Correlated Gaussian background plus 2% signal in a small cluster displaced by 3 sigma."""
    rng = np.random.default_rng(seed)
    background = gaussian_data(9800, seed)
    signal = rng.normal([3.0, -2.0, 2.5, 0.0], 0.3, (200, 4)).astype(np.float32)
    x = np.concatenate([background, signal])
    labels = np.concatenate([np.zeros(9800), np.ones(200)])
    order = rng.permutation(len(x))
    return x[order], labels[order]


def test_scores_do_not_depend_on_the_chunk_size() -> None:
    model = EnsembleVAE(VAEArchitecture(n_inputs=4), [0, 1])
    x = gaussian_data(50)
    small, large = latent_scores(model, x, batch_size=7), latent_scores(model, x)
    for name in large:
        np.testing.assert_allclose(small[name], large[name], rtol=1e-6, atol=1e-6)


def test_orientation_undoes_a_sign_flip() -> None:
    rng = np.random.default_rng(0)
    kl = rng.exponential(1.0, (1, 1000))
    z = (kl + rng.normal(0, 0.1, (1, 1000)))[:, :, None]
    np.testing.assert_array_equal(orient_z_mean(-z, kl), z)


def test_rank_combination_of_identical_members_is_the_rank() -> None:
    s = np.array([[0.1, 5.0, 2.0, 3.0]])
    np.testing.assert_allclose(combine_members(np.repeat(s, 3, axis=0), "rank_mean"), [0.0, 1.0, 1 / 3, 2 / 3])


def test_ensemble_latent_score_finds_a_displaced_cluster() -> None:
    x, labels = anomaly_task()
    result = train_ensemble(VAEArchitecture(n_inputs=4), TrainSettings(epochs=15, batch_size=256, patience=None), x[:8000], x[8000:], [0, 1, 2])
    scores = event_scores(latent_scores(result.model, x))
    assert roc_auc(labels, scores["z_mean2"][1]) > 0.9
    assert roc_auc(labels, scores["kl"][1]) > 0.9


def test_two_cpu_runs_with_one_seed_give_identical_scores() -> None:
    x, _ = anomaly_task(1)
    runs = [train_ensemble(VAEArchitecture(n_inputs=4), TrainSettings(epochs=2, batch_size=256), x[:8000], x[8000:], [4, 5]) for _ in range(2)]
    a, b = (latent_scores(r.model, x) for r in runs)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
