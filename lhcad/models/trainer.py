"""The trainer of every torch model: dense, convolutional and point-cloud VAEs, classifiers,
compressors, normalizing flows. The vectorized VAE ensemble (:mod:`lhcad.models.ensemble`) is its
specialisation: the same settings, device choice, optimizers, seeded streams and early-stopping
rule, with every member stepping together.

What makes it fast and reproducible: the whole training set lives on the device as tensors
(one or several, each ``(N, ...)``: inputs, labels, masks, context), every epoch draws one
permutation from a seeded generator and batches are gathered by index, with no DataLoader and no
per-event Python. Early stopping watches the validation loss (:class:`EarlyStopping`); the
returned model holds the weights of its best epoch (by ``criterion`` when one is given, else by
validation loss). Per-epoch history and an ``on_epoch`` callback let a caller keep more (the
CATHODE flow keeps its best few epochs).
"""

from __future__ import annotations

import copy
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from lhcad.errors import LhcadError, StageError
from lhcad.executors.progress import progress as progress_bar

OPTIMIZERS: tuple[str, ...] = ("adam", "adamw", "adadelta")

#: A batch: one tensor per array handed to :func:`train_model`, rows gathered together.
Batch = tuple[torch.Tensor, ...]
#: ``loss_fn(model, batch, generator)`` -> per-event loss ``(B,)`` (or a scalar mean); the
#: generator is the trainer's, for any sampling the loss does (reparametrisation noise).
LossFunction = Callable[[nn.Module, Batch, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings.

    Attributes:
        epochs: maximum number of passes over the training set.
        batch_size: events per step (each ensemble member sees its own shuffle of them).
        optimizer: ``adam``, ``adamw`` or ``adadelta`` (the reference study's choice).
        lr: learning rate, used as given for every optimizer: 1e-3 is typical for Adam(W);
            Adadelta scales its adaptive step by ``lr`` and its customary value is 1.0.
        weight_decay: L2 penalty (decoupled for AdamW).
        patience: epochs without a lower validation loss after which training (a member) stops;
            None disables early stopping.
        grad_clip: maximum gradient norm (per member of an ensemble; None: no clipping).
        device: ``cpu``, ``cuda`` (or ``cuda:N``) or ``auto``.
    """

    epochs: int = 100
    batch_size: int = 1024
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int | None = 10
    grad_clip: float | None = None
    device: str = "cpu"

    @classmethod
    def of(cls, section: Any) -> TrainSettings:
        """The settings a config section names (an attribute per field it sets: ``epochs``,
        ``lr``...); the fields it lacks keep their defaults."""
        return cls(**{f.name: getattr(section, f.name) for f in fields(cls) if hasattr(section, f.name)})


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cpu``; ``cuda`` or ``cuda:N``.

    Raises:
        LhcadError: unknown name, or CUDA asked for where there is none.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not re.fullmatch(r"cuda(:\d+)?", name):
        raise LhcadError(f"unknown device {name!r} (use auto, cpu or cuda)", where="train.device")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise LhcadError(
            f"device {name} was asked for but no CUDA GPU is available (use auto or cpu)", where="train.device"
        )
    return torch.device(name)


def make_optimizer(params: Iterable[torch.Tensor], settings: TrainSettings) -> torch.optim.Optimizer:
    """The optimizer named in the settings, in its fastest implementation (fused Adam(W),
    multi-tensor Adadelta).

    All three are elementwise, which is what keeps ensemble members independent.
    """
    options = {"lr": settings.lr, "weight_decay": settings.weight_decay}
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, **options, fused=True)
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(params, **options, fused=True)
    if settings.optimizer == "adadelta":
        return torch.optim.Adadelta(params, **options, foreach=True)
    raise ValueError(f"unknown optimizer {settings.optimizer!r}, expected one of {OPTIMIZERS}")


def training_generator(seed: int, device: torch.device) -> torch.Generator:
    """A model's (or an ensemble member's) generator for shuffling and reparametrisation noise.

    Its seed is derived from the seed through :class:`numpy.random.SeedSequence`, so the training
    stream is independent of the stream the same seed gave the initialisation.
    """
    stream_seed = np.random.SeedSequence(seed, spawn_key=(1,)).generate_state(1, np.uint64)[0]
    return torch.Generator(device=device).manual_seed(int(stream_seed))


@dataclass
class EarlyStopping:
    """The early-stopping and best-epoch rule of one model (one per ensemble member).

    An epoch is the best so far when its criterion ("higher is better"; minus the validation loss
    by default) beats the best by more than ``min_delta``; training stops after ``patience``
    epochs in a row whose validation loss is not below the lowest by more than ``min_delta``.
    """

    patience: int | None
    min_delta: float = 0.0
    best_criterion: float = -math.inf
    best_val_loss: float = math.inf
    since_improvement: int = 0

    def update(self, val_loss: float, criterion: float | None = None) -> tuple[bool, bool]:
        """Take one epoch's validation loss (and criterion); returns (best so far, stop now)."""
        score = -val_loss if criterion is None else criterion
        is_best = score > self.best_criterion + self.min_delta
        if is_best:
            self.best_criterion = score
        if val_loss < self.best_val_loss - self.min_delta:
            self.best_val_loss, self.since_improvement = val_loss, 0
        else:
            self.since_improvement += 1
        return is_best, self.patience is not None and self.since_improvement >= self.patience


@dataclass
class ModelTrainResult:
    """A trained model and its history.

    Attributes:
        model: the model, holding the weights of its best epoch (of its last one when there was
            no validation).
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


def _device_batches(train: Batch, generator: torch.Generator, batch_size: int) -> Iterable[Batch]:
    """One epoch of the device-resident training tensors in the generator's order."""
    n = len(train[0])
    order = torch.randperm(n, generator=generator, device=generator.device).to(train[0].device)
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]
        yield tuple(t.index_select(0, index) for t in train)


def train_model(
    model: nn.Module,
    loss_fn: LossFunction,
    train: Sequence[np.ndarray | torch.Tensor] | Iterable[Batch],
    val: Sequence[np.ndarray | torch.Tensor] | Callable[[nn.Module], float] | None,
    settings: TrainSettings,
    seed: int,
    *,
    generator: torch.Generator | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    schedule: torch.optim.lr_scheduler.LRScheduler | None = None,
    criterion: Callable[[nn.Module], float] | None = None,
    min_delta: float = 0.0,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    val_chunk: int = 8192,
    progress: bool = True,
    desc: str | None = None,
) -> ModelTrainResult:
    """Train ``model`` on ``train`` (validated on ``val``) with minibatches gathered on the device.

    Args:
        model: any module; moved to the settings' device.
        loss_fn: the loss of a batch (see :data:`LossFunction`).
        train: training arrays, each ``(N, ...)``, passed to ``loss_fn`` batch by batch in order;
            or a re-iterable of batches (a ``DataLoader``), iterated once per epoch.
        val: validation arrays, the same kinds ``(M, ...)`` (the validation loss is the mean of
            ``loss_fn`` over them, in chunks of ``val_chunk``); or a function of the model that
            gives the validation loss (called in eval mode, without gradients); or None: no
            validation, no early stopping, the last epoch's weights are kept.
        settings: optimisation settings (``grad_clip`` clips the whole model's gradient norm).
        seed: seeds the shuffling and the generator handed to ``loss_fn`` (through
            :func:`training_generator`) and the validation noise.
        generator: the shuffling generator instead of the one ``seed`` derives.
        optimizer: an optimizer of the model's parameters instead of the settings' one.
        schedule: a learning-rate schedule stepped after every optimizer step.
        criterion: "higher is better" figure evaluated after each epoch (in eval mode) that picks
            the best epoch (default: minus the validation loss), without gradients. Early stopping
            always follows the validation loss.
        min_delta: how much an epoch must beat the best to count (:class:`EarlyStopping`).
        on_epoch: called with the epoch number and its history entry plus ``model``.
        val_chunk: events per validation chunk.
        progress: show the epochs' progress (:mod:`lhcad.executors.progress`: a bar on a
            terminal, a few log lines elsewhere, nothing inside an executor's remote task).
        desc: the progress's label (default: ``training <model class>``).

    Raises:
        LhcadError: an unusable device, or empty / ragged / non-finite arrays.
    """
    device = resolve_device(settings.device)
    train_t = as_device_tensors(train, "training", device) if isinstance(train, Sequence) else None
    val_t = as_device_tensors(val, "validation", device) if isinstance(val, Sequence) else None
    model = model.to(device)
    if generator is None:
        generator = training_generator(seed, device)
    val_generator = torch.Generator(device=device)
    if optimizer is None:
        optimizer = make_optimizer(model.parameters(), settings)
    result = ModelTrainResult(model=model)
    best_state = copy.deepcopy(model.state_dict()) if val is not None else None
    stopping = EarlyStopping(settings.patience, min_delta)

    t0 = time.perf_counter()
    label = desc or f"training {type(model).__name__}"
    with progress_bar(settings.epochs, desc=label, unit="epoch", enabled=progress) as bar:
        for epoch in range(1, settings.epochs + 1):
            model.train()
            batches = train if train_t is None else _device_batches(train_t, generator, settings.batch_size)
            loss_sum, n = torch.zeros((), device=device), 0
            for batch in batches:
                loss = _mean_loss(loss_fn(model, batch, generator))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if settings.grad_clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
                optimizer.step()
                if schedule is not None:
                    schedule.step()
                loss_sum += loss.detach() * len(batch[0])
                n += len(batch[0])
            entry: dict[str, Any] = {"epoch": epoch, "loss": float(loss_sum) / max(n, 1)}
            result.history.append(entry)
            if val is None:
                bar.set_postfix(loss=f"{entry['loss']:.4g}")
                bar.update()
                if on_epoch is not None:
                    on_epoch(epoch, {**entry, "model": model})
                continue
            model.eval()
            if val_t is not None:
                val_generator.manual_seed(seed)  # the same noise every epoch: a comparable val loss
                val_loss = evaluate_loss(model, loss_fn, val_t, val_generator, val_chunk)
            else:
                with torch.no_grad():
                    val_loss = float(val(model))  # type: ignore[operator]
            with torch.no_grad():
                score = -val_loss if criterion is None else float(criterion(model))
            entry.update(val_loss=val_loss, criterion=score)
            is_best, stop = stopping.update(val_loss, score)
            if is_best:
                best_state, result.best_epoch = copy.deepcopy(model.state_dict()), epoch
            bar.set_postfix(loss=f"{entry['loss']:.4g}", val_loss=f"{val_loss:.4g}")
            bar.update()
            if on_epoch is not None:
                on_epoch(epoch, {**entry, "model": model})
            if stop:
                result.stopped_epoch = epoch
                break
    result.seconds = time.perf_counter() - t0
    result.seconds_per_epoch = result.seconds / max(len(result.history), 1)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result
