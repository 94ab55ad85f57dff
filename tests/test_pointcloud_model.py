"""Sparse digits, the feature scaling and the point-cloud VAE: a permutation-invariant encoder
that never sees padding, and a masked Chamfer loss it learns to lower."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lhcad.models.trainer import TrainSettings
from lhcad.families.pointcloud.evaluate import TrainedPointCloudVAE, anomaly_metrics, train_pointcloud_vae
from lhcad.families.pointcloud.model import PointCloudArchitecture, PointCloudVAE
from lhcad.families.pointcloud.sets import FeatureScaler, brightest_pixels, render_image

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_brightest_pixels_are_ordered_positions_and_intensities() -> None:
    image = np.zeros((1, 4, 5), dtype=np.float32)
    image[0, 0, 4], image[0, 3, 0], image[0, 2, 2] = 0.9, 0.5, 0.7  # (row, col)
    points, mask = brightest_pixels(image, 4)
    np.testing.assert_array_equal(mask[0], [True, True, True, False])  # only 3 lit pixels
    np.testing.assert_allclose(
        points[0, :3], [[1.0, 0.0, 0.9], [0.5, 2 / 3, 0.7], [0.0, 1.0, 0.5]], rtol=1e-6
    )
    np.testing.assert_array_equal(points[0, 3], np.zeros(3))
    np.testing.assert_array_equal(render_image(points, mask, (4, 5)), image)


def test_log_pt_scaling_makes_a_factor_two_cost_the_same_for_soft_and_hard_particles() -> None:
    rng = np.random.default_rng(0)
    points = np.stack([rng.normal(0, 0.1, (200, 20)), rng.normal(0, 0.1, (200, 20)),
                       np.exp(rng.uniform(-9, -0.5, (200, 20)))], -1)  # fmt: skip
    mask = np.ones((200, 20), bool)
    scaler = FeatureScaler.fit(points, mask, log_features=(2,))
    probe = np.array([[[0, 0, 0.4], [0, 0, 0.2], [0, 0, 4e-4], [0, 0, 2e-4]]])
    scaled = scaler.transform(probe, np.ones((1, 4), bool))[0, :, 2]
    assert scaled[0] - scaled[1] == pytest.approx(scaled[2] - scaled[3], rel=1e-5)
    np.testing.assert_allclose(
        scaler.inverse(scaler.transform(points, mask)), points, rtol=1e-4, atol=1e-6
    )
    valid = scaler.transform(points, mask)[mask]
    np.testing.assert_allclose(valid.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(valid.std(0), 1.0, atol=1e-4)


def test_encoder_is_permutation_invariant_and_blind_to_padding() -> None:
    torch.manual_seed(0)
    model = PointCloudVAE(
        PointCloudArchitecture(n_points=6, n_features=3, latent_dim=4, hidden=16, point_hidden=8)
    )
    points = torch.randn(2, 6, 3)
    mask = torch.tensor([[True] * 4 + [False] * 2, [True] * 6])
    z, _ = model.encode(points, mask)
    perm = torch.tensor([3, 1, 0, 2, 4, 5])
    torch.testing.assert_close(model.encode(points[:, perm], mask[:, perm])[0], z)
    garbage = points.clone()
    garbage[0, 4:] = 1e3
    torch.testing.assert_close(model.encode(garbage, mask)[0], z)


def _blobs(n: int, seed: int, width: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Sets of 5 to 8 points around a random centre: a family a tiny VAE can learn."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1, 1, (n, 1, 2))
    points = np.concatenate(
        [centres + rng.normal(0, width, (n, 8, 2)), rng.uniform(0, 1, (n, 8, 1))], axis=2
    )
    counts = rng.integers(5, 9, n)
    mask = np.arange(8) < counts[:, None]
    return np.where(mask[..., None], points, 0.0).astype(np.float32), mask


def test_training_lowers_the_chamfer_error_and_the_model_survives_a_save() -> None:
    arch = PointCloudArchitecture(
        n_points=8, n_features=3, latent_dim=4, hidden=64, point_hidden=32, beta=0.01
    )
    train, val = _blobs(384, 1), _blobs(128, 2)
    settings = TrainSettings(epochs=15, batch_size=64, lr=3e-3, patience=None, device="cpu")
    untrained = (
        TrainedPointCloudVAE(PointCloudVAE(arch), FeatureScaler.fit(*train))
        .terms(*val)["recon"]
        .mean()
    )
    trained, result = train_pointcloud_vae(arch, train, val, settings, seed=0)
    after = trained.terms(*val)
    assert after["recon"].mean() < 0.5 * untrained
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]
    # the predicted masks learn the typical number of points (6.5 on average)
    _, recon_mask = trained.reconstruct(*val)
    assert recon_mask.sum(1).mean() == pytest.approx(val[1].sum(1).mean(), abs=0.75)
    again = TrainedPointCloudVAE.from_state(trained.state())
    np.testing.assert_allclose(again.terms(*val)["recon"], after["recon"], rtol=1e-5)
    for latent in ("prior", "fitted"):
        points, mask = again.generate(10, seed=3, latent=latent)
        assert points.shape == (10, 8, 3) and mask.shape == (10, 8)
    # the fitted latent Gaussian is that of the training sets' z_mean
    z = again.model.encode(
        torch.as_tensor(again.scaler.transform(*train)), torch.as_tensor(train[1])
    )[0]
    np.testing.assert_allclose(again.latent_mean, z.mean(0).detach().numpy(), atol=1e-5)
    # wider sets than the training family reconstruct worse: an anomaly score
    anomalous = _blobs(128, 3, width=0.8)
    metrics = anomaly_metrics(after["recon"], {"wide": trained.terms(*anomalous)["recon"]})
    assert metrics["wide"]["auc"] > 0.8
