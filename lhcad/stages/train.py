"""Stage ``train``: the VAE ensemble, with per-epoch AUC tracking when labels exist.

Checkpoints per member: ``last``, ``best_loss`` (lowest validation loss) and, with labels,
``best_auc`` for every score (highest validation AUC of that score), so the ``score`` stage can
pick the epoch by the score it uses without retraining.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import numpy as np

from lhcad.config.models import TrainConfig
from lhcad.data.columns import LABEL
from lhcad.models.scoring_names import SCORE_NAMES
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.preprocessing import TRAIN, VAL

if TYPE_CHECKING:
    from lhcad.models.training import TrainSettings
    from lhcad.models.vae import EnsembleVAE, VAEArchitecture


def architecture(cfg: TrainConfig, n_inputs: int) -> VAEArchitecture:
    """The VAE architecture of a train config."""
    from lhcad.models.vae import VAEArchitecture

    m = cfg.model
    return VAEArchitecture(
        n_inputs=n_inputs, hidden=tuple(m.hidden), latent_dim=m.latent_dim, activation=m.activation, beta=m.beta, recon_loss=m.recon_loss
    )


def member_seeds(cfg: TrainConfig, global_seed: int) -> list[int]:
    """Distinct, reproducible seeds of the ensemble members."""
    return [1_000_003 * global_seed + cfg.seed + k for k in range(cfg.members)]


def settings_of(cfg: TrainConfig) -> TrainSettings:
    """The trainer settings of a train config."""
    from lhcad.models.training import TrainSettings

    return TrainSettings(
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        optimizer=cfg.optimizer,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        patience=cfg.patience,
        grad_clip=cfg.grad_clip,
        device=cfg.device,
    )


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



def auc_csv(auc: dict[str, list[list[float | None]]]) -> str:
    """The per-epoch AUC history as CSV: epoch, score, one column per member."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    n_members = len(next(iter(auc.values()))[0]) if auc and next(iter(auc.values())) else 0
    writer.writerow(["epoch", "score", *[f"member{k}" for k in range(n_members)]])
    for name, epochs in auc.items():
        for epoch, aucs in enumerate(epochs, start=1):
            writer.writerow([epoch, name, *["" if a is None else f"{a:.6f}" for a in aucs]])
    return buffer.getvalue()


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
    from lhcad.models.training import train_ensemble

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
    from lhcad.executors import split_evenly

    cfg: TrainConfig = ctx.config()
    arrays = ctx.inputs["preprocess"].read_arrays("inputs.npz")
    x, split = arrays["x"], arrays["split"]
    events = ctx.inputs["data"].read_table("events.parquet")
    labels = events[LABEL].to_numpy() if LABEL in events.columns else None
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
        settings=settings_of(cfg),
        x_train=x[split == TRAIN],
        x_val=x[split == VAL],
        val_labels=val_labels,
    )
    speed = sum(g["events_per_second"] for g in groups) / len(groups)
    ctx.log.info("trained %d members in %d task(s): %.0f event-epochs/s", cfg.members, len(groups), speed)
    ctx.out.write_json("model.json", {"architecture": arch.to_dict(), "seeds": seeds})
    ctx.out.write_torch("last.pt", _merge_members([g["last"] for g in groups]))
    ctx.out.write_torch("best_loss.pt", _merge_members([g["best_loss"] for g in groups]))
    history: dict[str, Any] = {
        "epochs": _merge_epochs(groups),
        "best_loss_epoch": _merge_members([g["best_loss_epoch"] for g in groups]),
        "stopped_epoch": _merge_members([g["stopped_epoch"] for g in groups]),
        "seconds": max(g["seconds"] for g in groups),
        "events_per_second": speed,
        "tasks": len(groups),
    }
    if val_labels is not None:
        best_auc = {name: _merge_members([g["best_auc"][name] for g in groups]) for name in SCORE_NAMES}
        auc = {
            name: [
                _merge_members([g["auc"][name][e] if e < len(g["auc"][name]) else [None] * len(g["last"]) for g in groups])
                for e in range(max(len(g["auc"][name]) for g in groups))
            ]
            for name in SCORE_NAMES
        }
        ctx.out.write_torch("best_auc.pt", best_auc)
        ctx.out.write_json("auc_history.json", auc)
        if len(groups) == 1:  # the ensemble's AUC needs every member's scores at each epoch
            ctx.out.write_json("auc_history_ensemble.json", groups[0]["auc_ensemble"])
        ctx.out.path("auc_history.csv").write_text(auc_csv(auc))
        history["best_auc_epoch"] = {name: _merge_members([g["best_auc_epoch"][name] for g in groups]) for name in SCORE_NAMES}
    ctx.out.write_json("history.json", history)
