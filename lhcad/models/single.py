"""The fast trainer for one model of any shape: convolutional and point-cloud VAEs, classifiers,
compressors.

It keeps what makes :func:`lhcad.models.training.train_ensemble` fast and reproducible for models
that are not a vectorized ensemble: the whole training set lives on the device as tensors
(one or several, each ``(N, ...)``: inputs, labels, masks), every epoch draws one permutation
from a seeded generator and batches are gathered by index, with no DataLoader and no per-event
Python. Early stopping watches the validation loss; the returned model holds the weights of its
best epoch (by ``criterion`` when one is given, else by validation loss).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from lhcad.errors import StageError
from lhcad.models.training import TrainSettings, make_optimizer, resolve_device, training_generator

#: A batch: one tensor per array handed to :func:`train_model`, rows gathered together.
Batch = tuple[torch.Tensor, ...]
#: ``loss_fn(model, batch, generator)`` -> per-event loss ``(B,)`` (or a scalar mean); the
#: generator is the trainer's, for any sampling the loss does (reparametrisation noise).
LossFunction = Callable[[nn.Module, Batch, torch.Generator], torch.Tensor]


@dataclass
class ModelTrainResult:
    """A trained model and its history.

    Attributes:
        model: the model, holding the weights of its best epoch.
        best_epoch: that epoch (from 1; 0 = the initial weights were never beaten).
        stopped_epoch: the epoch at which it ran out of patience, or None.
        history: per epoch: ``epoch``, ``loss`` (training mean), ``val_loss``, ``criterion``.
        seconds: wall time of training and validation.
        seconds_per_epoch: ``seconds`` / epochs run.
    """

    model: nn.Module
    best_epoch: int = 0
    stopped_epoch: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    seconds_per_epoch: float = 0.0


def as_device_tensors(arrays: Sequence[np.ndarray | torch.Tensor], what: str, device: torch.device) -> Batch:
    """Arrays with a common first dimension as tensors on the device (float arrays as float32),
    with a clear error when they are empty, ragged or not finite."""
    tensors = []
    for array in arrays:
        tensor = torch.as_tensor(np.asarray(array) if not isinstance(array, torch.Tensor) else array)
        if tensor.is_floating_point():
            tensor = tensor.float()
            if not torch.isfinite(tensor).all():
                raise StageError(f"{what} data hold NaN or infinite values")
        tensors.append(tensor.to(device))
    lengths = {len(t) for t in tensors}
    if len(lengths) != 1:
        raise StageError(f"{what} arrays differ in length: {sorted(lengths)}")
    if lengths == {0}:
        raise StageError(f"no {what} events")
    return tuple(tensors)


def _mean_loss(loss: torch.Tensor) -> torch.Tensor:
    return loss.mean() if loss.ndim else loss


@torch.no_grad()
def evaluate_loss(
    model: nn.Module, loss_fn: LossFunction, data: Batch, generator: torch.Generator, chunk: int
) -> float:
    """Mean loss over ``data`` in chunks, without gradients."""
    total, n = 0.0, len(data[0])
    for start in range(0, n, chunk):
        batch = tuple(t[start : start + chunk] for t in data)
        total += float(_mean_loss(loss_fn(model, batch, generator))) * len(batch[0])
    return total / n


def train_model(
    model: nn.Module,
    loss_fn: LossFunction,
    train: Sequence[np.ndarray | torch.Tensor],
    val: Sequence[np.ndarray | torch.Tensor],
    settings: TrainSettings,
    seed: int,
    *,
    criterion: Callable[[nn.Module], float] | None = None,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    val_chunk: int = 8192,
) -> ModelTrainResult:
    """Train ``model`` on the arrays ``train`` (validated on ``val``) with minibatches gathered on
    the device.

    Args:
        model: any module; moved to the settings' device.
        loss_fn: the loss of a batch (see :data:`LossFunction`).
        train: training arrays, each ``(N, ...)``, passed to ``loss_fn`` batch by batch in order.
        val: validation arrays, the same kinds ``(M, ...)``.
        settings: optimisation settings (``grad_clip`` clips the whole model's gradient norm).
        seed: seeds the shuffling and the generator handed to ``loss_fn``.
        criterion: "higher is better" figure evaluated after each epoch (in eval mode) that picks
            the best epoch (default: minus the validation loss), without gradients. Early stopping always follows
            the validation loss.
        on_epoch: called with the epoch number and its history entry plus ``model``.
        val_chunk: events per validation chunk.

    Raises:
        LhcadError: an unusable device, or empty / ragged / non-finite arrays.
    """
    device = resolve_device(settings.device)
    train_t = as_device_tensors(train, "training", device)
    val_t = as_device_tensors(val, "validation", device)
    model = model.to(device)
    generator = training_generator(seed, device)
    val_generator = torch.Generator(device=device)
    optimizer = make_optimizer(model.parameters(), settings)
    result = ModelTrainResult(model=model)
    best_state = copy.deepcopy(model.state_dict())
    best_criterion, best_val_loss, since_improvement = -math.inf, math.inf, 0
    n = len(train_t[0])

    t0 = time.perf_counter()
    for epoch in range(1, settings.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator, device=device)
        loss_sum = torch.zeros((), device=device)
        for start in range(0, n, settings.batch_size):
            index = order[start : start + settings.batch_size]
            batch = tuple(t.index_select(0, index) for t in train_t)
            loss = _mean_loss(loss_fn(model, batch, generator))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            optimizer.step()
            loss_sum += loss.detach() * len(index)
        model.eval()
        val_generator.manual_seed(seed)  # the same noise every epoch: a comparable val loss
        val_loss = evaluate_loss(model, loss_fn, val_t, val_generator, val_chunk)
        with torch.no_grad():
            score = -val_loss if criterion is None else float(criterion(model))
        entry = {"epoch": epoch, "loss": float(loss_sum) / n, "val_loss": val_loss, "criterion": score}
        result.history.append(entry)
        if score > best_criterion:
            best_criterion, best_state, result.best_epoch = score, copy.deepcopy(model.state_dict()), epoch
        if val_loss < best_val_loss:
            best_val_loss, since_improvement = val_loss, 0
        else:
            since_improvement += 1
        if on_epoch is not None:
            on_epoch(epoch, {**entry, "model": model})
        if settings.patience is not None and since_improvement >= settings.patience:
            result.stopped_epoch = epoch
            break
    result.seconds = time.perf_counter() - t0
    result.seconds_per_epoch = result.seconds / max(len(result.history), 1)
    model.load_state_dict(best_state)
    model.eval()
    return result
