"""Training a binary classifier with the fast single-model trainer, and its figures of merit.

The loss is the binary cross-entropy of the logit; early stopping follows the validation loss
and the weights kept are those of the epoch with the highest validation AUC (the trainer's
``criterion``). The test AUC's uncertainty is the spread of the AUC over bootstrap resamplings
of the test events.
"""

from __future__ import annotations

from collections.abc import Callable
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
    """Per-event binary cross-entropy of the model's logits (batch: inputs, 0/1 labels)."""
    x, y = batch
    return F.binary_cross_entropy_with_logits(model(x), y, reduction="none")


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray | torch.Tensor, chunk: int = PREDICT_CHUNK) -> np.ndarray:
    """The model's logits for ``x`` (in eval mode, in chunks, on the model's device)."""
    model.eval()
    device = next(model.parameters()).device
    x = torch.as_tensor(x)
    parts = [model(x[start : start + chunk].to(device)).float().cpu() for start in range(0, len(x), chunk)]
    return torch.cat(parts).numpy().astype(np.float64)


def train_classifier(
    kind: str,
    config: ClassifyConfig,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    seed: int,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
) -> TrainedClassifier:
    """Train the network ``kind`` on ``train`` = (inputs, 0/1 labels), keeping the weights of the
    epoch with the best AUC on ``val`` (``on_epoch``: the trainer's per-epoch callback)."""
    model = build_network(kind, config, tuple(train[0].shape[1:]), seed)
    settings = TrainSettings.of(config)
    x_val = torch.as_tensor(val[0], device=resolve_device(settings.device))

    def validation_auc(network: nn.Module) -> float:
        return roc_auc(val[1], predict(network, x_val))

    result = train_model(
        model, binary_cross_entropy, (train[0], train[1].astype(np.float32)), (val[0], val[1].astype(np.float32)),
        settings, seed, criterion=validation_auc, on_epoch=on_epoch,
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
    rng = np.random.default_rng(seed)
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    aucs = []
    while len(aucs) < n_resamples:
        index = rng.integers(0, len(labels), len(labels))
        if labels[index].min() != labels[index].max():
            aucs.append(rank_auc(labels[index], scores[index]))
    return np.asarray(aucs)
