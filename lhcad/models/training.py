"""The fast ensemble trainer.

The training set lives on the device as one float32 tensor; every epoch each member draws its
own permutation from its own generator and batches are gathered by index: no DataLoader and no
per-event Python. All members step together through the vectorized :class:`EnsembleVAE`. A
member's shuffling and reparametrisation noise come only from its own generators, so training a
member inside an ensemble gives the same weights as training it alone with the same seed.

Early stopping is per member: when a member's validation loss has not improved for
``patience`` epochs its checkpoints freeze (``last`` is its state at that epoch); training
ends when every member has stopped or after ``epochs``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from lhcad.errors import LhcadError
from lhcad.models.vae import EnsembleVAE, VAEArchitecture

#: Offset between a member's initialisation seed and its training-noise seed.
NOISE_SEED_OFFSET = 7919


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings shared by every member."""

    epochs: int = 100
    batch_size: int = 1024
    optimizer: str = "adam"
    lr: float = 1e-3
    """Learning rate; Adadelta's customary value is 1.0."""
    weight_decay: float = 0.0
    patience: int | None = 10
    grad_clip: float | None = None
    device: str = "cpu"


@dataclass
class TrainResult:
    """A trained ensemble and its history."""

    model: EnsembleVAE
    last_states: list[dict[str, torch.Tensor]]
    best_states: list[dict[str, torch.Tensor]]
    best_epochs: list[int]
    stopped_epochs: list[int | None]
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    events_per_second: float = 0.0


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; asking for CUDA without a GPU is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise LhcadError("train.device is cuda but no CUDA GPU is available (use auto or cpu)", where="train.device")
    return torch.device(name)


def make_optimizer(params: Any, settings: TrainSettings) -> torch.optim.Optimizer:
    """The optimizer named in the settings (elementwise, so members stay independent)."""
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=settings.lr, weight_decay=settings.weight_decay)
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    if settings.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=settings.lr, weight_decay=settings.weight_decay)
    raise ValueError(f"unknown optimizer {settings.optimizer!r}")


def clip_member_gradients(model: EnsembleVAE, max_norm: float) -> None:
    """Clip each member's gradient norm separately (its norm ignores the other members)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    squared = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads]).sum(0)
    factor = (max_norm / (squared.sqrt() + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(factor.view(-1, *([1] * (g.dim() - 1))))


@torch.no_grad()
def validation_loss(model: EnsembleVAE, x: torch.Tensor, chunk: int = 262_144) -> torch.Tensor:
    """Per-member validation loss with z = z_mean (deterministic), ``(K,)``."""
    total = torch.zeros(model.n_members, device=x.device)
    for start in range(0, len(x), chunk):
        terms = model.event_terms(x[start : start + chunk])
        total += (terms["recon"] + model.arch.beta * terms["kl"]).sum(1)
    return total / max(len(x), 1)


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
    """Train ``len(seeds)`` VAEs together.

    Args:
        arch: the architecture.
        settings: optimisation settings.
        x_train, x_val: inputs ``(N, F)``.
        seeds: one seed per member.
        criterion: per-member "higher is better" figure after each epoch that picks the
            ``best`` states (default: minus the validation loss).
        on_epoch: called after each epoch with the epoch number (from 1) and a dict holding the
            epoch's history entry, the ``model`` and ``active`` (members not yet stopped before
            this epoch).
        progress: show a progress bar (only when stderr is a terminal).
    """
    device = resolve_device(settings.device)
    model = EnsembleVAE(arch, seeds).to(device)
    k = model.n_members
    xt = torch.as_tensor(np.asarray(x_train, dtype=np.float32), device=device)
    xv = torch.as_tensor(np.asarray(x_val, dtype=np.float32), device=device)
    generators = [torch.Generator(device=device).manual_seed(int(s) + NOISE_SEED_OFFSET) for s in seeds]
    optimizer = make_optimizer(model.parameters(), settings)
    n, batch = len(xt), settings.batch_size
    best_score = np.full(k, -np.inf)
    best_val = np.full(k, np.inf)
    since_best = np.zeros(k, dtype=int)
    result = TrainResult(
        model=model,
        last_states=[model.member_state(m) for m in range(k)],
        best_states=[model.member_state(m) for m in range(k)],
        best_epochs=[0] * k,
        stopped_epochs=[None] * k,
    )
    t0 = time.perf_counter()
    epochs_run = 0
    bar = tqdm(range(1, settings.epochs + 1), unit="epoch", disable=not (progress and sys.stderr.isatty()), leave=False)
    for epoch in bar:
        model.train()
        sums = torch.zeros(3, k, device=device)
        order = torch.stack([torch.randperm(n, generator=g, device=device) for g in generators])
        for start in range(0, n, batch):
            index = order[:, start : start + batch]
            noise = torch.stack(
                [torch.randn(index.shape[1], arch.latent_dim, generator=g, device=device) for g in generators]
            )
            terms = model.loss_terms(xt[index], noise)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].sum().backward()
            if settings.grad_clip is not None:
                clip_member_gradients(model, settings.grad_clip)
            optimizer.step()
            sums += torch.stack([terms["loss"], terms["recon"], terms["kl"]]).detach() * index.shape[1]
        epochs_run = epoch
        model.eval()
        val = validation_loss(model, xv).cpu().numpy()
        score = -val if criterion is None else np.asarray(criterion(model), dtype=np.float64)
        means = (sums / n).cpu().numpy()
        entry = {"epoch": epoch, "loss": means[0].tolist(), "recon": means[1].tolist(), "kl": means[2].tolist(),
                 "val_loss": val.tolist(), "criterion": score.tolist()}  # fmt: skip
        result.history.append(entry)
        for m in range(k):
            if result.stopped_epochs[m] is not None:
                continue
            if score[m] > best_score[m]:
                best_score[m] = score[m]
                result.best_states[m] = model.member_state(m)
                result.best_epochs[m] = epoch
            if val[m] < best_val[m]:
                best_val[m], since_best[m] = val[m], 0
            else:
                since_best[m] += 1
            result.last_states[m] = model.member_state(m)
            if settings.patience is not None and since_best[m] >= settings.patience:
                result.stopped_epochs[m] = epoch
        bar.set_postfix(loss=f"{means[0].mean():.4f}", val=f"{val.mean():.4f}")
        if on_epoch is not None:
            active = [s is None or s == epoch for s in result.stopped_epochs]
            on_epoch(epoch, {**entry, "model": model, "active": active})
        if all(s is not None for s in result.stopped_epochs):
            break
    result.seconds = time.perf_counter() - t0
    result.events_per_second = n * epochs_run / result.seconds if result.seconds > 0 else math.inf
    for m, state in enumerate(result.last_states):
        model.load_member_state(m, state)
    return result
