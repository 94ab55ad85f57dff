"""A trained flow-matching set generator at work (:mod:`lhcad.families.pointcloud.flow`):
training it on scaled features, saving and loading it with its feature scaling and multiplicity
distribution, and generating sets in physical units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lhcad.families.pointcloud.flow import (
    SetFlow,
    SetFlowArchitecture,
    flow_matching_loss,
    integrate,
)
from lhcad.families.pointcloud.sets import FeatureScaler
from lhcad.models.trainer import ModelTrainResult, TrainSettings, make_optimizer, train_model


def multiplicity_distribution(mask: np.ndarray) -> np.ndarray:
    """Probabilities ``(P + 1,)`` of each number of valid points per set, from masks ``(N, P)``."""
    mask = np.asarray(mask, bool)
    counts = np.bincount(mask.sum(1), minlength=mask.shape[1] + 1).astype(np.float64)
    return counts / counts.sum()


@dataclass
class TrainedSetGenerator:
    """A :class:`SetFlow`, the scaling between physical features and what it sees, the
    multiplicity distribution ``(P + 1,)`` new sets draw their sizes from, and the number of ODE
    steps of sampling."""

    model: SetFlow
    scaler: FeatureScaler
    multiplicity: np.ndarray
    steps: int

    def state(self) -> dict[str, Any]:
        """What :meth:`from_state` needs (for ``torch.save``)."""
        return {
            "arch": self.model.arch.to_dict(),
            "scaler": self.scaler.to_dict(),
            "state_dict": {k: v.cpu() for k, v in self.model.state_dict().items()},
            "multiplicity": torch.as_tensor(self.multiplicity),
            "steps": self.steps,
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], device: str | torch.device = "cpu"
    ) -> TrainedSetGenerator:
        model = SetFlow(SetFlowArchitecture(**state["arch"]))
        model.load_state_dict(state["state_dict"])
        return cls(
            model.to(device).eval(),
            FeatureScaler.from_dict(state["scaler"]),
            state["multiplicity"].numpy(),
            int(state["steps"]),
        )

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def generate(self, n: int, seed: int, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
        """``n`` sets in physical units ``(n, P, F)`` with masks ``(n, P)``: sizes drawn from the
        multiplicity distribution, valid points first and ordered by the last feature (pT or
        intensity), descending, as in the inputs."""
        rng = np.random.default_rng(seed)
        slots = self.model.arch.n_points
        sizes = rng.choice(len(self.multiplicity), size=n, p=self.multiplicity)
        mask = np.arange(slots)[None, :] < sizes[:, None]
        generator = torch.Generator(device=self.device).manual_seed(seed)
        parts = []
        self.model.eval()
        for start in range(0, n, chunk):
            m = torch.as_tensor(mask[start : start + chunk], device=self.device)
            shape = (len(m), slots, self.model.arch.n_features)
            noise = torch.randn(shape, generator=generator, device=self.device)
            parts.append(integrate(self.model, noise, m, self.steps).cpu().numpy())
        points = self.scaler.inverse(np.concatenate(parts)) if parts else np.zeros((0, slots, 0))
        points = np.where(mask[..., None], points, 0.0).astype(np.float32)
        key = np.where(mask, points[..., -1], -np.inf)
        order = np.argsort(-key, axis=1, kind="stable")
        return np.take_along_axis(points, order[..., None], axis=1), mask


def train_set_generator(
    arch: SetFlowArchitecture,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    settings: TrainSettings,
    seed: int,
    steps: int,
    log_features: tuple[int, ...] = (),
) -> tuple[TrainedSetGenerator, ModelTrainResult]:
    """Fit the feature scaling and the multiplicity distribution on the training sets, then train
    the velocity network by flow matching with a cosine-decaying learning rate."""
    scaler = FeatureScaler.fit(*train, log_features=log_features)
    torch.manual_seed(seed)
    model = SetFlow(arch)
    optimizer = make_optimizer(model.parameters(), settings)
    steps_per_epoch = -(-len(train[0]) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, settings.epochs * steps_per_epoch)
    )
    result = train_model(
        model,
        flow_matching_loss,
        (scaler.transform(*train), np.asarray(train[1], bool)),
        (scaler.transform(*val), np.asarray(val[1], bool)),
        settings,
        seed,
        optimizer=optimizer,
        schedule=schedule,
        desc="training the flow-matching generator",
    )
    trained = TrainedSetGenerator(
        result.model,  # type: ignore[arg-type]
        scaler,
        multiplicity_distribution(train[1]),
        steps,
    )
    return trained, result
