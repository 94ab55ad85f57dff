"""Stage ``score``: per-event latent-space scores of every member and of the ensemble."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lhcad.config.models import ScoreConfig
from lhcad.data.columns import EVENT_ID, LABEL
from lhcad.errors import StageError
from lhcad.pipeline.artifacts import Artifact
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.preprocessing import TEST
from lhcad.stages.weak_score import WEAK_METHODS, run_weak_score, weak_input_files

if TYPE_CHECKING:
    from lhcad.models.vae import EnsembleVAE


def load_ensemble(train: Artifact, checkpoint: str, score_name: str) -> tuple[EnsembleVAE, str]:
    """Rebuild the trained ensemble with the requested checkpoint; returns it and what was loaded.

    ``best`` means the best validation AUC of ``score_name`` when labels existed during
    training, the best validation loss otherwise.
    """
    from lhcad.models.vae import EnsembleVAE, VAEArchitecture

    spec = train.read_json("model.json")
    model = EnsembleVAE(VAEArchitecture.from_dict(spec["architecture"]), spec["seeds"])
    if checkpoint == "last":
        states, used = train.read_torch("last.pt"), "last"
    elif train.exists("best_auc.pt"):
        states, used = train.read_torch("best_auc.pt")[score_name], f"best validation AUC of {score_name}"
    else:
        states, used = train.read_torch("best_loss.pt"), "best validation loss"
    for k, state in enumerate(states):
        model.load_member_state(k, state)
    return model.eval(), used


def score_metrics(labels: np.ndarray, per_member: np.ndarray, combined: np.ndarray) -> dict[str, Any]:
    """AUC and max SIC of the ensemble score, with the members' for comparison; ``inverted``
    where the AUC is below 0.5 (the label-free orientation put the signal on the low side)."""
    from lhcad.metrics import max_sic, roc_auc

    def measured(score: np.ndarray) -> dict[str, Any]:
        auc = roc_auc(labels, score)
        return {"auc": auc, "max_sic": max_sic(labels, score), "inverted": auc is not None and auc < 0.5}

    return {**measured(combined), "members": [measured(s) for s in per_member]}


def _score_chunk(x: np.ndarray, *, spec: dict[str, Any], states: list[dict[str, Any]], batch_size: int) -> dict[str, np.ndarray]:
    """One executor task: rebuild the ensemble from its weights and score a chunk of events."""
    from lhcad.models.scoring import latent_scores
    from lhcad.models.training import resolve_device
    from lhcad.models.vae import EnsembleVAE, VAEArchitecture

    model = EnsembleVAE(VAEArchitecture.from_dict(spec["architecture"]), spec["seeds"])
    for k, state in enumerate(states):
        model.load_member_state(k, state)
    return latent_scores(model, x, batch_size=batch_size, device=resolve_device("auto"))


def _latent_scores_in_chunks(ctx: StageContext, model: EnsembleVAE, x: np.ndarray, chunk: int) -> dict[str, np.ndarray]:
    """:func:`lhcad.models.scoring.latent_scores` with chunks of ``chunk`` events as executor
    tasks (each chunk travels with its task; the weights are shared once): the same numbers as
    scoring in one process, since every event is scored independently."""
    spec = {"architecture": model.arch.to_dict(), "seeds": [int(s) for s in model.seeds]}
    states = [{k: v.cpu() for k, v in model.member_state(m).items()} for m in range(model.n_members)]
    chunks = [x[start : start + chunk] for start in range(0, len(x), chunk)]
    parts = ctx.executor.map(_score_chunk, chunks, spec=spec, states=states, batch_size=chunk)
    ctx.log.info("scored %d events in %d chunks on %s", len(x), len(chunks), ctx.executor.kind)
    return {name: np.concatenate([p[name] for p in parts], axis=1) for name in parts[0]}


@stage(
    "score",
    version=2,
    summary="per-event anomaly scores: the VAE ensemble's latent scores, or a weak scorer (CWoLa, CATHODE) per mjj window",
    needs=("data", "preprocess"),
    optional=("train",),
    input_files=weak_input_files,
)
def run_score(ctx: StageContext) -> None:
    cfg: ScoreConfig = ctx.config()
    if cfg.method in WEAK_METHODS:
        run_weak_score(ctx)
        return
    if "train" not in ctx.inputs:
        raise StageError("score.method vae needs the train stage in the pipeline", where="pipeline")
    from lhcad.models.scoring import ORIENTATION, event_scores, latent_scores
    from lhcad.models.training import resolve_device

    arrays = ctx.inputs["preprocess"].read_arrays("inputs.npz")
    x, split = arrays["x"], arrays["split"]
    model, used = load_ensemble(ctx.inputs["train"], cfg.checkpoint, cfg.use)
    ctx.log.info("scoring with checkpoint: %s", used)
    if ctx.executor.kind == "local" or len(x) <= cfg.batch_size:
        raw = latent_scores(model, x, batch_size=cfg.batch_size, device=resolve_device("auto"))
    else:
        raw = _latent_scores_in_chunks(ctx, model, x, cfg.batch_size)
    scores = event_scores(raw, aggregate=cfg.aggregate, combine=cfg.combine)
    events = ctx.inputs["data"].read_table("events.parquet", columns=None)
    table: dict[str, np.ndarray] = {EVENT_ID: events[EVENT_ID].to_numpy(), "score": scores[cfg.use][1]}
    for name, (per_member, combined) in scores.items():
        table[name] = combined
        for k, member in enumerate(per_member):
            table[f"{name}_m{k}"] = member
    ctx.out.write_table("scores.parquet", pd.DataFrame(table))
    ctx.out.write_json("score.json", {"use": cfg.use, "checkpoint": used, "orientation": ORIENTATION})
    if LABEL in events.columns:
        test = split == TEST
        labels = events[LABEL].to_numpy()[test]
        if len(np.unique(labels)) == 2:
            metrics = {name: score_metrics(labels, pm[:, test], c[test]) for name, (pm, c) in scores.items()}
            ctx.out.write_json("metrics.json", metrics)
