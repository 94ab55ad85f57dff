"""Stage ``train``: the VAE ensemble, with per-epoch AUC tracking when labels exist.

Checkpoints per member: ``last``, ``best_loss`` (lowest validation loss) and, with labels,
``best_auc`` for every score (highest validation AUC of that score), so the ``score`` stage can
pick the epoch by the score it uses without retraining.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from lhcad.config.vae import TrainConfig
from lhcad.data.stage import Events
from lhcad.executors import split_evenly
from lhcad.families.lhco.artifacts import Ensemble, ModelInputs
from lhcad.models.scoring_names import SCORE_NAMES
from lhcad.models.settings import architecture, member_seeds
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.preprocessing import TRAIN, VAL

if TYPE_CHECKING:
    from lhcad.models.trainer import TrainSettings
    from lhcad.models.vae import EnsembleVAE, VAEArchitecture


class AucTracker:
    """Validation AUC of every score, per member and for the ensemble, after each epoch; keeps
    each member's best state per score."""

    def __init__(self, x_val: np.ndarray, labels: np.ndarray, n_members: int):
        self.x_val = x_val
        self.labels = labels
        self.history: dict[str, list[list[float]]] = {name: [] for name in SCORE_NAMES}
        self.ensemble: dict[str, list[float]] = {name: [] for name in SCORE_NAMES}
        self.best_auc = {name: [-np.inf] * n_members for name in SCORE_NAMES}
        self.best_epoch = {name: [0] * n_members for name in SCORE_NAMES}
        self.best_states: dict[str, list[dict[str, Any] | None]] = {name: [None] * n_members for name in SCORE_NAMES}

    def __call__(self, epoch: int, info: dict[str, Any]) -> None:
        from lhcad.metrics import roc_auc
        from lhcad.models.scoring import event_scores, latent_scores

        model: EnsembleVAE = info["model"]
        scores = event_scores(latent_scores(model, self.x_val))
        for name, (per_member, combined) in scores.items():
            aucs = [roc_auc(self.labels, s) for s in per_member]
            self.history[name].append(aucs)
            self.ensemble[name].append(roc_auc(self.labels, combined))
            for k, auc in enumerate(aucs):
                if info["active"][k] and auc > self.best_auc[name][k]:
                    self.best_auc[name][k] = auc
                    self.best_epoch[name][k] = epoch
                    self.best_states[name][k] = {n: t.detach().clone() for n, t in model.member_state(k).items()}



def train_member_group(
    seeds: list[int],
    *,
    arch: VAEArchitecture,
    settings: TrainSettings,
    x_train: np.ndarray,
    x_val: np.ndarray,
    val_labels: np.ndarray | None,
) -> dict[str, Any]:
    """Train some members of the ensemble together (one executor task); plain, picklable output."""
    from lhcad.models.ensemble import train_ensemble

    tracker = AucTracker(x_val, val_labels, len(seeds)) if val_labels is not None else None
    result = train_ensemble(arch, settings, x_train, x_val, seeds, on_epoch=tracker, progress=True)
    group: dict[str, Any] = {
        "last": list(result.last_states),
        "best_loss": list(result.best_states),
        "best_loss_epoch": list(result.best_epochs),
        "stopped_epoch": list(result.stopped_epochs),
        "history": result.history,
        "seconds": result.seconds,
        "events_per_second": result.events_per_second,
    }
    if tracker is not None:
        group.update(best_auc=tracker.best_states, best_auc_epoch=tracker.best_epoch, auc=tracker.history, auc_ensemble=tracker.ensemble)
    return group


def _merge_members(per_group: list[list[Any]]) -> list[Any]:
    return [item for group in per_group for item in group]


def _merge_epochs(groups: list[dict[str, Any]]) -> list[Any]:
    """Per-epoch per-member lists of every group side by side (None once a group stopped)."""
    n_epochs = max(len(g["history"]) for g in groups)
    merged = []
    for epoch in range(n_epochs):
        entry: dict[str, Any] = {"epoch": epoch + 1}
        for field in ("loss", "recon", "kl", "val_loss", "criterion"):
            entry[field] = _merge_members(
                [g["history"][epoch][field] if epoch < len(g["history"]) else [None] * len(g["last"]) for g in groups]
            )
        merged.append(entry)
    return merged


@stage("train", version=2, summary="train the vectorized VAE ensemble (per-epoch validation AUC with labels)", needs=("data", "preprocess"))
def run_train(ctx: StageContext) -> None:
    from lhcad.models.trainer import TrainSettings  # torch

    cfg: TrainConfig = ctx.config()
    inputs = ModelInputs.read(ctx.inputs["preprocess"])
    x, split = inputs.x, inputs.split
    labels = Events.read(ctx.inputs["data"]).labels
    arch = architecture(cfg, x.shape[1])
    seeds = member_seeds(cfg, ctx.seed)
    val_labels = labels[split == VAL] if labels is not None else None
    if not (cfg.track_auc and val_labels is not None and len(np.unique(val_labels)) == 2):
        val_labels = None
    # the vectorized ensemble trains every member in one task locally; on a cluster, member
    # groups are independent tasks (a member's weights do not depend on its group)
    executor = ctx.executor
    groups = executor.map(
        train_member_group,
        split_evenly(seeds, executor.n_workers),
        arch=arch,
        settings=TrainSettings.of(cfg),
        x_train=x[split == TRAIN],
        x_val=x[split == VAL],
        val_labels=val_labels,
    )
    speed = sum(g["events_per_second"] for g in groups) / len(groups)
    ctx.log.info("trained %d members in %d task(s): %.0f event-epochs/s", cfg.members, len(groups), speed)
    history: dict[str, Any] = {
        "epochs": _merge_epochs(groups),
        "best_loss_epoch": _merge_members([g["best_loss_epoch"] for g in groups]),
        "stopped_epoch": _merge_members([g["stopped_epoch"] for g in groups]),
        "seconds": max(g["seconds"] for g in groups),
        "events_per_second": speed,
        "tasks": len(groups),
    }
    checkpoints: dict[str, Any] = {
        "last": _merge_members([g["last"] for g in groups]),
        "best_loss": _merge_members([g["best_loss"] for g in groups]),
    }
    trained = Ensemble({"architecture": arch.to_dict(), "seeds": seeds}, history, checkpoints=checkpoints)
    if val_labels is not None:
        checkpoints["best_auc"] = {name: _merge_members([g["best_auc"][name] for g in groups]) for name in SCORE_NAMES}
        trained.auc = {
            name: [
                _merge_members([g["auc"][name][e] if e < len(g["auc"][name]) else [None] * len(g["last"]) for g in groups])
                for e in range(max(len(g["auc"][name]) for g in groups))
            ]
            for name in SCORE_NAMES
        }
        if len(groups) == 1:  # the ensemble's AUC needs every member's scores at each epoch
            trained.auc_ensemble = groups[0]["auc_ensemble"]
        history["best_auc_epoch"] = {name: _merge_members([g["best_auc_epoch"][name] for g in groups]) for name in SCORE_NAMES}
    trained.write(ctx.out)
