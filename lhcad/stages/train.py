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

    def csv_text(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        n_members = len(next(iter(self.best_auc.values())))
        writer.writerow(["epoch", "score", *[f"member{k}" for k in range(n_members)], "ensemble"])
        for name in SCORE_NAMES:
            for epoch, (aucs, combined) in enumerate(zip(self.history[name], self.ensemble[name]), start=1):
                writer.writerow([epoch, name, *[f"{a:.6f}" for a in aucs], f"{combined:.6f}"])
        return buffer.getvalue()


@stage("train", summary="train the vectorized VAE ensemble (per-epoch validation AUC with labels)", needs=("data", "preprocess"))
def run_train(ctx: StageContext) -> None:
    from lhcad.models.training import train_ensemble

    cfg: TrainConfig = ctx.config()
    arrays = ctx.inputs["preprocess"].read_arrays("inputs.npz")
    x, split = arrays["x"], arrays["split"]
    events = ctx.inputs["data"].read_table("events.parquet", columns=None)
    labels = events[LABEL].to_numpy() if LABEL in events.columns else None
    arch = architecture(cfg, x.shape[1])
    seeds = member_seeds(cfg, ctx.seed)
    x_val = x[split == VAL]
    tracker = None
    if labels is not None and cfg.track_auc and len(np.unique(labels[split == VAL])) == 2:
        tracker = AucTracker(x_val, labels[split == VAL], cfg.members)
    result = train_ensemble(
        arch,
        settings_of(cfg),
        x[split == TRAIN],
        x_val,
        seeds,
        on_epoch=tracker,
        progress=True,
    )
    ctx.log.info("trained %d members: %.0f event-epochs/s", cfg.members, result.events_per_second)
    ctx.out.write_json("model.json", {"architecture": arch.to_dict(), "seeds": seeds})
    ctx.out.write_torch("last.pt", list(result.last_states))
    ctx.out.write_torch("best_loss.pt", list(result.best_states))
    history: dict[str, Any] = {
        "epochs": result.history,
        "best_loss_epoch": list(result.best_epochs),
        "stopped_epoch": list(result.stopped_epochs),
        "seconds": result.seconds,
        "events_per_second": result.events_per_second,
    }
    if tracker is not None:
        ctx.out.write_torch("best_auc.pt", {name: states for name, states in tracker.best_states.items()})
        ctx.out.write_json("auc_history.json", tracker.history)
        ctx.out.write_json("auc_history_ensemble.json", tracker.ensemble)
        ctx.out.path("auc_history.csv").write_text(tracker.csv_text())
        history["best_auc_epoch"] = tracker.best_epoch
    ctx.out.write_json("history.json", history)
