"""Training a binary classifier with the fast single-model trainer, and its figures of merit.

The loss is the binary cross-entropy of the logit; early stopping follows the validation loss
and the weights kept are those of the epoch with the highest validation AUC (the trainer's
``criterion``). With ``classify.augment: flips`` every training image is reflected about its
central crystal in eta and in phi, each with probability 1/2 (the detector and the particle gun
are symmetric under both, up to the crystals' 3 degree off-pointing), and a score is the mean
logit over the four reflections of the image. The test AUC's uncertainty is the spread of the
AUC over bootstrap resamplings of the test events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lhcad.families.egamma.networks import build_network, count_parameters
from lhcad.families.egamma.config import ClassifyConfig
from lhcad.metrics import roc_auc
from lhcad.models.trainer import Batch, ModelTrainResult, TrainSettings, resolve_device, train_model

PREDICT_CHUNK = 8192
"""Events per forward pass when scoring."""


@dataclass
class TrainedClassifier:
    """A trained network and how its training went."""

    kind: str
    model: nn.Module
    result: ModelTrainResult
    n_parameters: int


def binary_cross_entropy(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
    """Per-event binary cross-entropy of the model's logits (batch: the inputs, optionally the
    shower shapes, then the 0/1 labels)."""
    *inputs, y = batch
    return F.binary_cross_entropy_with_logits(model(*inputs), y, reduction="none")


def mirror_index(size: int, device: torch.device | None = None) -> torch.Tensor:
    """Pixel order that reflects an axis of ``size`` pixels about pixel ``size // 2`` (the
    images' most energetic crystal); the pixel without a mirror image (pixel 0 of an even
    size) stays.

    >>> mirror_index(6).tolist()
    [0, 5, 4, 3, 2, 1]
    """
    return (2 * (size // 2) - torch.arange(size, device=device)) % size


def reflect(x: torch.Tensor, rows: bool, cols: bool) -> torch.Tensor:
    """Images ``(B, C, H, W)`` reflected about their central crystal in eta (rows) and/or phi
    (columns)."""
    if rows:
        x = x.index_select(2, mirror_index(x.shape[2], x.device))
    if cols:
        x = x.index_select(3, mirror_index(x.shape[3], x.device))
    return x


def random_reflections(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image ``(B, C, H, W)`` reflected in eta and in phi, each with probability 1/2."""
    flips = torch.rand((2, len(x)), generator=generator, device=generator.device).to(x.device) < 0.5
    x = torch.where(flips[0, :, None, None, None], reflect(x, True, False), x)
    return torch.where(flips[1, :, None, None, None], reflect(x, False, True), x)


def reflected_cross_entropy(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
    """:func:`binary_cross_entropy` of randomly reflected images while training (unchanged
    images in eval mode: the validation loss stays comparable between epochs); shower shapes,
    which no reflection changes, pass as they are."""
    x, *rest = batch
    if model.training:
        x = random_reflections(x, generator)
    return binary_cross_entropy(model, (x, *rest), generator)


@torch.no_grad()
def predict(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    chunk: int = PREDICT_CHUNK,
    symmetrize: bool = False,
    shapes: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray:
    """The model's logits for ``x`` (in eval mode, in chunks, on the model's device);
    ``symmetrize``: the mean logit over the four reflections of each image; ``shapes``: the
    events' shower shapes, for a network that reads them."""
    model.eval()
    device = next(model.parameters()).device
    x = torch.as_tensor(x)
    extra = torch.as_tensor(shapes, dtype=torch.float32) if shapes is not None else None
    reflections = [(r, c) for r in (False, True) for c in (False, True)] if symmetrize else [(False, False)]

    def score(start: int) -> torch.Tensor:
        part = x[start : start + chunk].to(device)
        more = [] if extra is None else [extra[start : start + chunk].to(device)]
        return torch.stack([model(reflect(part, r, c), *more) for r, c in reflections]).mean(0).float().cpu()

    return torch.cat([score(start) for start in range(0, len(x), chunk)]).numpy().astype(np.float64)


def uses_reflections(config: ClassifyConfig, input_shape: tuple[int, ...]) -> bool:
    """Whether a network trains on reflected images and scores their four reflections
    (``augment: flips`` and image inputs ``(C, H, W)``)."""
    return config.augment == "flips" and len(input_shape) == 3


def train_classifier(
    kind: str,
    config: ClassifyConfig,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    seed: int,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    shapes: tuple[np.ndarray, np.ndarray] | None = None,
) -> TrainedClassifier:
    """Train the network ``kind`` on ``train`` = (inputs, 0/1 labels), keeping the weights of the
    epoch with the best AUC on ``val`` (``on_epoch``: the trainer's per-epoch callback); image
    networks see reflected images when :func:`uses_reflections`; ``shapes``: the training and
    validation events' shower shapes, for a network that reads them."""
    shape = tuple(train[0].shape[1:])
    model = build_network(kind, config, shape, seed, n_shapes=0 if shapes is None else shapes[0].shape[1])
    settings = TrainSettings.of(config)
    x_val = torch.as_tensor(val[0], device=resolve_device(settings.device))
    symmetric = uses_reflections(config, shape)
    extra_train, extra_val = ([], []) if shapes is None else ([shapes[0]], [shapes[1]])

    def validation_auc(network: nn.Module) -> float:
        val_shapes = None if shapes is None else shapes[1]
        return roc_auc(val[1], predict(network, x_val, symmetrize=symmetric, shapes=val_shapes))

    loss = reflected_cross_entropy if symmetric else binary_cross_entropy
    result = train_model(
        model, loss, (train[0], *extra_train, train[1].astype(np.float32)),
        (val[0], *extra_val, val[1].astype(np.float32)), settings, seed, criterion=validation_auc, on_epoch=on_epoch,
    )  # fmt: skip
    return TrainedClassifier(kind, result.model, result, count_parameters(result.model))


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """AUC from the Mann-Whitney statistic of mid-ranks (ties count one half); equal to
    :func:`lhcad.metrics.roc_auc` but cheap enough to repeat hundreds of times.

    >>> rank_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    from scipy.stats import rankdata

    positive = labels == 1
    n_pos = int(positive.sum())
    n_neg = len(labels) - n_pos
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap_auc(labels: np.ndarray, scores: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """The AUC of ``n_resamples`` resamplings (with replacement) of the events.

    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1], 500)
    >>> aucs = bootstrap_auc(labels, labels + rng.normal(0, 1, 1000), 100, seed=1)
    >>> bool(0.005 < aucs.std() < 0.03), bool(0.7 < aucs.mean() < 0.8)
    (True, True)
    """
    return paired_bootstrap_aucs(labels, {"auc": scores}, n_resamples, seed)["auc"]


def paired_bootstrap_aucs(
    labels: np.ndarray, scores: Mapping[str, np.ndarray], n_resamples: int, seed: int
) -> dict[str, np.ndarray]:
    """Per scorer, its AUC on ``n_resamples`` resamplings (with replacement) of the events, the
    same resamplings for every scorer (differences of AUCs keep their correlation).

    >>> labels = np.repeat([0, 1], 200)
    >>> noise = np.random.default_rng(0).normal(0, 1, 400)
    >>> aucs = paired_bootstrap_aucs(labels, {"a": labels + noise, "b": labels + 1.01 * noise}, 50, 0)
    >>> bool(np.std(aucs["a"] - aucs["b"]) < 0.1 * np.std(aucs["a"]))
    True
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    arrays = {name: np.asarray(score, dtype=np.float64) for name, score in scores.items()}
    found: dict[str, list[float]] = {name: [] for name in arrays}
    while len(next(iter(found.values()))) < n_resamples:
        index = rng.integers(0, len(labels), len(labels))
        if labels[index].min() == labels[index].max():
            continue
        for name, score in arrays.items():
            found[name].append(rank_auc(labels[index], score[index]))
    return {name: np.asarray(values) for name, values in found.items()}


def interval_95(values: np.ndarray) -> list[float]:
    """The central 95% interval of bootstrap values."""
    return [float(v) for v in np.quantile(values, [0.025, 0.975])]
