"""The vectorized ensemble trainer, the specialisation of :func:`lhcad.models.trainer.train_model`
for a :class:`~lhcad.models.vae.EnsembleVAE`: the same settings, device, optimizers, seeded
streams and early-stopping rule (one :class:`~lhcad.models.trainer.EarlyStopping` per member).

The training set lives on the device as one float32 tensor; every epoch each member draws its
own permutation from its own generator and batches are gathered by index: no DataLoader and no
per-event Python. All members step together through the vectorized :class:`EnsembleVAE`. A
member's shuffling and reparametrisation noise come only from its own generator, its gradient
clipping sees only its own gradient norm, and the optimizers are elementwise, so training a
member inside an ensemble gives the same weights as training it alone with the same seed (up to
float rounding of the batched matrix products).

Early stopping is per member: when a member's validation loss has not improved for
``patience`` epochs, its checkpoints (``best`` and ``last``) freeze at that epoch. The weights
of a stopped member keep being updated with the others (stopping it would cost as much as
training it, since all members share every kernel), but they are thrown away: at the end every
member of the returned model holds its ``last`` checkpoint. Training ends when every member has
stopped or after ``epochs``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lhcad.errors import StageError
from lhcad.executors.progress import progress as progress_bar
from lhcad.models.trainer import EarlyStopping, TrainSettings, make_optimizer, resolve_device, training_generator
from lhcad.models.vae import EnsembleVAE, VAEArchitecture

#: Events per chunk when the validation loss is computed (no gradients, so chunks can be large).
VALIDATION_CHUNK = 262_144


@dataclass
class TrainResult:
    """A trained ensemble and its history.

    Attributes:
        model: the ensemble, every member holding its ``last`` checkpoint.
        last_states: per member, the weights at its last epoch (its stopping epoch if it stopped).
        best_states: per member, the weights at the epoch of its highest criterion.
        best_epochs: per member, that epoch (from 1; 0 = the initial weights were never beaten).
        stopped_epochs: per member, the epoch at which it ran out of patience, or None.
        history: one entry per epoch run: ``epoch`` and per-member lists ``loss``, ``recon``,
            ``kl`` (training means), ``val_loss`` and ``criterion``.
        seconds: wall time of training, validation and criterion included.
        events_per_second: training events x epochs run / seconds.
    """

    model: EnsembleVAE
    last_states: list[dict[str, torch.Tensor]]
    best_states: list[dict[str, torch.Tensor]]
    best_epochs: list[int]
    stopped_epochs: list[int | None]
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    events_per_second: float = 0.0


def clip_member_gradients(model: EnsembleVAE, max_norm: float) -> torch.Tensor:
    """Scale each member's gradient so its norm (over all its parameters, and only its own) is at
    most ``max_norm``, as ``torch.nn.utils.clip_grad_norm_`` does for a lone model.

    Returns:
        The per-member gradient norms before clipping, ``(K,)``.
    """
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    norms = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads]).sum(0).sqrt()
    factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(factor.view(-1, *([1] * (g.dim() - 1))))
    return norms


@torch.no_grad()
def validation_loss(model: EnsembleVAE, x: torch.Tensor, chunk: int = VALIDATION_CHUNK) -> torch.Tensor:
    """Per-member mean loss ``(K,)`` decoding z = z_mean, so it does not depend on noise."""
    total = torch.zeros(model.n_members, device=x.device)
    for start in range(0, len(x), chunk):
        terms = model.event_terms(x[start : start + chunk])
        total += (terms["recon"] + model.arch.beta * terms["kl"]).sum(1)
    return total / len(x)


def _as_device_array(x: np.ndarray, n_inputs: int, what: str, device: torch.device) -> torch.Tensor:
    """Events ``(N, F)`` as one float32 tensor on the device, with a clear error when unusable."""
    array = np.asarray(x, dtype=np.float32)
    if array.ndim != 2 or array.shape[1] != n_inputs:
        raise StageError(f"{what} events must have shape (N, {n_inputs}), got {array.shape}")
    if len(array) == 0:
        raise StageError(f"no {what} events")
    if not np.isfinite(array).all():
        raise StageError(f"{what} events hold NaN or infinite values")
    return torch.as_tensor(array, device=device)


def _train_one_epoch(
    model: EnsembleVAE,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    generators: Sequence[torch.Generator],
    settings: TrainSettings,
) -> torch.Tensor:
    """One pass over ``x`` in every member's own order; returns the per-member means of
    ``loss``, ``recon`` and ``kl``, ``(3, K)``."""
    n, n_features, latent_dim = len(x), x.shape[1], model.arch.latent_dim
    order = torch.stack([torch.randperm(n, generator=g, device=x.device) for g in generators])
    sums = torch.zeros(3, model.n_members, device=x.device)
    for start in range(0, n, settings.batch_size):
        index = order[:, start : start + settings.batch_size]
        batch = x.index_select(0, index.reshape(-1)).view(*index.shape, n_features)
        noise = torch.stack(
            [torch.randn(index.shape[1], latent_dim, generator=g, device=x.device) for g in generators]
        )
        terms = model.loss_terms(batch, noise)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].sum().backward()
        if settings.grad_clip is not None:
            clip_member_gradients(model, settings.grad_clip)
        optimizer.step()
        sums += torch.stack([terms["loss"], terms["recon"], terms["kl"]]).detach() * index.shape[1]
    return sums / n


def train_ensemble(
    arch: VAEArchitecture,
    settings: TrainSettings,
    x_train: np.ndarray,
    x_val: np.ndarray,
    seeds: Sequence[int],
    *,
    criterion: Callable[[EnsembleVAE], np.ndarray] | None = None,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train ``len(seeds)`` VAEs together (see the module docstring).

    Args:
        arch: the architecture.
        settings: optimisation settings.
        x_train: training inputs ``(N, F)``.
        x_val: validation inputs ``(M, F)``, for early stopping and the default criterion.
        seeds: one non-negative seed per member (initialisation, shuffling and noise).
        criterion: per-member "higher is better" figure, ``(K,)``, evaluated after each epoch,
            that picks the ``best`` states (default: minus the validation loss).
        on_epoch: called after each epoch with the epoch number (from 1) and the epoch's history
            entry plus ``model`` and ``active`` (per member: its checkpoints still follow it,
            i.e. it had not stopped before this epoch).
        progress: show the epochs' progress (:mod:`lhcad.executors.progress`: a bar on a
            terminal, a few log lines elsewhere, nothing inside an executor's remote task).

    Raises:
        LhcadError: an unusable device, or empty / malformed / non-finite inputs.
    """
    if any(int(s) < 0 for s in seeds):
        raise ValueError("member seeds must be non-negative")
    device = resolve_device(settings.device)
    x_train_t = _as_device_array(x_train, arch.n_inputs, "training", device)
    x_val_t = _as_device_array(x_val, arch.n_inputs, "validation", device)
    model = EnsembleVAE(arch, seeds).to(device)
    n_members = model.n_members
    generators = [training_generator(int(s), device) for s in seeds]
    optimizer = make_optimizer(model.parameters(), settings)
    initial = [model.member_state(k) for k in range(n_members)]
    result = TrainResult(
        model=model,
        last_states=list(initial),
        best_states=list(initial),
        best_epochs=[0] * n_members,
        stopped_epochs=[None] * n_members,
    )
    stopping = [EarlyStopping(settings.patience) for _ in range(n_members)]

    t0 = time.perf_counter()
    bar = progress_bar(settings.epochs, desc=f"VAE ensemble ({n_members} members)", unit="epoch", enabled=progress)
    for epoch in range(1, settings.epochs + 1):
        model.train()
        train_means = _train_one_epoch(model, optimizer, x_train_t, generators, settings).cpu().numpy()
        model.eval()
        val_loss = validation_loss(model, x_val_t).cpu().numpy()
        score = -val_loss if criterion is None else np.asarray(criterion(model), dtype=np.float64)
        entry = {
            "epoch": epoch,
            **{name: means.tolist() for name, means in zip(("loss", "recon", "kl"), train_means)},
            "val_loss": val_loss.tolist(),
            "criterion": score.tolist(),
        }
        result.history.append(entry)
        active = [stop is None for stop in result.stopped_epochs]
        for k in np.flatnonzero(active):
            state = model.member_state(k)
            result.last_states[k] = state
            is_best, stop = stopping[k].update(float(val_loss[k]), float(score[k]))
            if is_best:
                result.best_states[k], result.best_epochs[k] = state, epoch
            if stop:
                result.stopped_epochs[k] = epoch
        bar.set_postfix(loss=f"{train_means[0].mean():.4f}", val_loss=f"{val_loss.mean():.4f}")
        bar.update()
        if on_epoch is not None:
            on_epoch(epoch, {**entry, "model": model, "active": active})
        if all(stop is not None for stop in result.stopped_epochs):
            break
    bar.close()
    result.seconds = time.perf_counter() - t0
    n_events = len(x_train_t) * len(result.history)
    result.events_per_second = n_events / result.seconds if result.seconds > 0 else math.inf
    for k, state in enumerate(result.last_states):
        model.load_member_state(k, state)
    return result
