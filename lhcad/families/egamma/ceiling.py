"""The ceiling of electron/photon classification on lhcad's simulated showers, and how far a
classifier falls short of it.

What the images allow is measured with classifiers unlike the shipped networks, trained on
many more showers of the same simulation (other seeds) and scored on the same test events:

- ``shapes``: gradient-boosted trees (scikit-learn's ``HistGradientBoostingClassifier``) on the
  shower-shape variables of :mod:`lhcad.families.egamma.shapes`. It reads only the images, so
  its AUC is one that an image classifier reaches: the image ceiling that the shipped
  classifier is compared with.
- ``truth``: the same trees on the generator's truth (:class:`~lhcad.families.egamma.showers.ShowerTruth`:
  conversion, bremsstrahlung, the particles reaching the ECAL). Given that truth, the image is
  drawn the same way for either class, so no image classifier can beat the best classifier of
  the truth: an upper bound, which shows how much the calorimeter's granularity, shower
  fluctuations and noise hide.

The gap of a classifier is the ceiling's AUC minus its AUC on the same test events; its 95%
interval comes from bootstrap resamplings of the test events shared by both AUCs (paired).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from lhcad.families.egamma.config import CeilingConfig
from lhcad.families.egamma.fit import interval_95, paired_bootstrap_aucs, rank_auc
from lhcad.families.egamma.shapes import shower_shapes
from lhcad.families.egamma.showers import PARTICLES, ShowerSettings, iter_showers

IMAGE_CEILINGS: tuple[str, ...] = ("shapes",)
"""Ceiling classifiers that read only the images (their AUC is reachable from images)."""
CEILING_NAMES = {"shapes": "trees on shower shapes (images)", "truth": "trees on the generator's truth (upper bound)"}
"""Readable names of the ceiling classifiers."""
NO_CHANGE_ITERATIONS = 20
"""The boosting stops after this many iterations without a lower validation loss."""


@dataclass
class CeilingInputs:
    """Simulated showers summarised for the ceiling's classifiers: their shower shapes
    ``(N, F)``, their truth ``(N, G)`` (:attr:`ShowerTruth.FEATURES`) and labels ``(N,)``."""

    shapes: np.ndarray
    truth: np.ndarray
    y: np.ndarray

    def features(self, kind: str) -> np.ndarray:
        """The inputs of the ceiling classifier ``kind``."""
        return self.shapes if kind == "shapes" else self.truth


def simulate_ceiling_inputs(settings: ShowerSettings, per_class: int, seed: int) -> CeilingInputs:
    """Shower shapes and truth of ``per_class`` simulated electrons and as many photons, chunk by
    chunk (the images themselves are not kept)."""
    shapes, truth, labels = [], [], []
    for particle in PARTICLES:
        for chunk in iter_showers(particle, per_class, seed=seed, settings=settings):
            shapes.append(shower_shapes(chunk.images[..., 0]))
            truth.append(chunk.truth.features())
            labels.append(chunk.labels)
    return CeilingInputs(np.concatenate(shapes), np.concatenate(truth), np.concatenate(labels))


def train_trees(x: np.ndarray, y: np.ndarray, cfg: CeilingConfig, seed: int) -> HistGradientBoostingClassifier:
    """Gradient-boosted trees on ``x`` stopped early on a held-out ``cfg.validation`` fraction.

    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 500)
    >>> trees = train_trees(rng.normal(y[:, None], 1.0, (1000, 2)), y, CeilingConfig(max_iter=50), 0)
    >>> bool(trees.n_iter_ <= 50)
    True
    """
    trees = HistGradientBoostingClassifier(
        max_iter=cfg.max_iter, learning_rate=cfg.learning_rate, early_stopping=True,
        validation_fraction=cfg.validation, n_iter_no_change=NO_CHANGE_ITERATIONS, random_state=seed,
    )  # fmt: skip
    return trees.fit(x, y)


def tree_scores(trees: HistGradientBoostingClassifier, x: np.ndarray) -> np.ndarray:
    """The trees' log-odds of class 1 for ``x``."""
    return trees.decision_function(x).astype(np.float64)


def fit_ceiling(
    kind: str, train: CeilingInputs, test: CeilingInputs, cfg: CeilingConfig, seed: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """Train the ceiling classifier ``kind`` on ``train``; its scores of ``test`` and what its
    training was (showers, iterations, seconds)."""
    start = time.perf_counter()
    trees = train_trees(train.features(kind), train.y, cfg, seed)
    info = {"train_showers": int(len(train.y)), "iterations": int(trees.n_iter_),
            "train_seconds": time.perf_counter() - start}  # fmt: skip
    return tree_scores(trees, test.features(kind)), info


def ceiling_gap(
    labels: np.ndarray,
    ceilings: Mapping[str, np.ndarray],
    classifier: np.ndarray,
    n_resamples: int,
    seed: int,
) -> dict[str, Any] | None:
    """The image ceiling (the best AUC of the :data:`IMAGE_CEILINGS` among ``ceilings``, by
    kind -> test scores) against a ``classifier``'s scores of the same test events: both AUCs,
    the gap (ceiling minus classifier) and their 95% paired-bootstrap intervals; None without an
    image ceiling."""
    images = {kind: score for kind, score in ceilings.items() if kind in IMAGE_CEILINGS}
    if not images:
        return None
    best = max(images, key=lambda kind: rank_auc(labels, images[kind]))
    aucs = paired_bootstrap_aucs(labels, {"ceiling": images[best], "classifier": classifier}, n_resamples, seed)
    ceiling_auc, classifier_auc = rank_auc(labels, images[best]), rank_auc(labels, classifier)
    return {
        "ceiling_model": best,
        "ceiling_auc": ceiling_auc,
        "ceiling_interval_95": interval_95(aucs["ceiling"]),
        "classifier_auc": classifier_auc,
        "classifier_interval_95": interval_95(aucs["classifier"]),
        "gap": ceiling_auc - classifier_auc,
        "gap_interval_95": interval_95(aucs["ceiling"] - aucs["classifier"]),
    }


def energy_channel(channels: list[str]) -> int:
    """Index of the energy channel among the images' channel names."""
    return channels.index("energy")

