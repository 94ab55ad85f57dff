"""A trained point-cloud VAE at work: training it, saving and loading it with its feature
scaling, reconstructing and generating sets in physical units, and anomaly scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lhcad.metrics import DEFAULT_FPR_FLOOR, max_sic, roc_auc
from lhcad.models.trainer import ModelTrainResult, TrainSettings, train_model
from lhcad.families.pointcloud.model import PointCloudArchitecture, PointCloudVAE, vae_loss
from lhcad.families.pointcloud.sets import FeatureScaler

#: Where generated sets draw z from: the VAE prior N(0, 1), or a Gaussian fitted to the
#: training sets' z_mean (ex-post density estimation, Ghosh et al., arXiv:1903.12436), which
#: follows the region of latent space the decoder was trained on.
LATENT_SOURCES: tuple[str, ...] = ("prior", "fitted")


@dataclass
class TrainedPointCloudVAE:
    """A VAE, the scaling between physical features and what it sees, and the Gaussian fitted
    to its training sets' z_mean (``latent_mean`` ``(D,)``, ``latent_cov`` ``(D, D)``)."""

    model: PointCloudVAE
    scaler: FeatureScaler
    latent_mean: np.ndarray | None = None
    latent_cov: np.ndarray | None = None

    def state(self) -> dict[str, Any]:
        """What :meth:`from_state` needs (for ``torch.save``)."""
        return {
            "arch": self.model.arch.to_dict(),
            "scaler": self.scaler.to_dict(),
            "state_dict": {k: v.cpu() for k, v in self.model.state_dict().items()},
            "latent_mean": None if self.latent_mean is None else torch.as_tensor(self.latent_mean),
            "latent_cov": None if self.latent_cov is None else torch.as_tensor(self.latent_cov),
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], device: str | torch.device = "cpu"
    ) -> TrainedPointCloudVAE:
        model = PointCloudVAE(PointCloudArchitecture(**state["arch"]))
        model.load_state_dict(state["state_dict"])
        latent = [
            None if state.get(k) is None else state[k].numpy()
            for k in ("latent_mean", "latent_cov")
        ]
        return cls(model.to(device).eval(), FeatureScaler.from_dict(state["scaler"]), *latent)

    @torch.no_grad()
    def fit_latent(self, points: np.ndarray, mask: np.ndarray) -> None:
        """Fit the Gaussian of the sets' z_mean (the ``fitted`` latent source)."""
        z = self.model.encode(*self._scaled(points, mask))[0].cpu().numpy().astype(np.float64)
        self.latent_mean = z.mean(0)
        self.latent_cov = np.atleast_2d(np.cov(z, rowvar=False)) + 1e-6 * np.eye(z.shape[1])

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _scaled(self, points: np.ndarray, mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.as_tensor(self.scaler.transform(points, mask), device=self.device)
        return x, torch.as_tensor(np.asarray(mask, bool), device=self.device)

    def _physical(self, decoded: torch.Tensor, mask: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        mask_np = mask.cpu().numpy()
        points = self.scaler.inverse(decoded.cpu().numpy())
        return np.where(mask_np[..., None], points, 0.0).astype(np.float32), mask_np

    def reconstruct(self, points: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reconstructions (at z = z_mean) in physical units, with their predicted masks."""
        return self._physical(*self.model.reconstruct(*self._scaled(points, mask)))

    def generate(self, n: int, seed: int, latent: str = "prior") -> tuple[np.ndarray, np.ndarray]:
        """``n`` generated sets in physical units, with their predicted masks; z from the prior
        or from the fitted Gaussian (see :data:`LATENT_SOURCES`)."""
        if latent == "prior":
            generator = torch.Generator(device=self.device).manual_seed(seed)
            return self._physical(*self.model.generate(n, generator))
        if latent != "fitted" or self.latent_mean is None or self.latent_cov is None:
            raise ValueError(
                f"no latent source {latent!r} (choose from {', '.join(LATENT_SOURCES)}; fitted needs fit_latent)"
            )
        z = np.random.default_rng(seed).multivariate_normal(
            self.latent_mean, self.latent_cov, size=n
        )
        with torch.no_grad():
            decoded, logits = self.model.decode(
                torch.as_tensor(z, dtype=torch.float32, device=self.device)
            )
        return self._physical(decoded, logits > 0)

    @torch.no_grad()
    def terms(
        self, points: np.ndarray, mask: np.ndarray, chunk: int = 4096
    ) -> dict[str, np.ndarray]:
        """Per-set ``recon`` (the Chamfer reconstruction error, the anomaly score), ``mask``,
        ``kl`` and ``loss`` at z = z_mean."""
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(points), chunk):
            x, m = self._scaled(points[start : start + chunk], mask[start : start + chunk])
            for name, value in self.model.event_terms(x, m).items():
                parts.setdefault(name, []).append(value.cpu().numpy())
        return {name: np.concatenate(values) for name, values in parts.items()}


def train_pointcloud_vae(
    arch: PointCloudArchitecture,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    settings: TrainSettings,
    seed: int,
    log_features: tuple[int, ...] = (),
) -> tuple[TrainedPointCloudVAE, ModelTrainResult]:
    """Fit the feature scaling on the training sets, then train the VAE on ``(points, mask)``
    with :func:`lhcad.models.trainer.train_model`."""
    scaler = FeatureScaler.fit(*train, log_features=log_features)
    torch.manual_seed(seed)
    model = PointCloudVAE(arch)
    result = train_model(
        model,
        vae_loss,
        (scaler.transform(*train), np.asarray(train[1], bool)),
        (scaler.transform(*val), np.asarray(val[1], bool)),
        settings,
        seed,
    )
    trained = TrainedPointCloudVAE(result.model, scaler)  # type: ignore[arg-type]
    trained.fit_latent(*train)
    return trained, result


def anomaly_metrics(
    background: np.ndarray, anomalies: dict[str, np.ndarray]
) -> dict[str, dict[str, float]]:
    """AUC and max SIC of each anomaly type's scores against the background's. The SIC is taken
    where the background efficiency is at least 10 / (number of background sets), so that it
    never rests on fewer than ten background sets."""
    floor = max(DEFAULT_FPR_FLOOR, 10.0 / len(background))
    out = {}
    for name, scores in anomalies.items():
        labels = np.r_[np.zeros(len(background)), np.ones(len(scores))]
        values = np.r_[background, scores]
        out[name] = {
            "auc": roc_auc(labels, values),
            "max_sic": max_sic(labels, values, fpr_floor=floor),
            "n_signal": len(scores),
            "n_background": len(background),
            "sic_fpr_floor": floor,
        }
    return out
