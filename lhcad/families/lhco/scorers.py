"""The scorers of the LHCO search, one class each, chosen by ``score.method`` (:data:`SCORERS`):

- :class:`VaeScorer` (``vae``): the trained VAE ensemble's latent-space scores of every event
  (the ``train`` stage's :class:`~lhcad.families.lhco.artifacts.Ensemble`);
- :class:`CwolaScorer` (``cwola``) and :class:`CathodeScorer` (``cathode``): a weakly supervised
  classifier per sliding mjj window (:func:`lhcad.weak.scan.run_scan`), its signal region
  against the sidebands or against synthetic background from a flow trained on them.

Every scorer turns the typed outputs of the stages before it into the same
:class:`~lhcad.families.lhco.artifacts.Scores`: ``scores.parquet`` with ``event_id`` and
``score`` (the one that goes downstream), ``score.json`` (``use``, and what the scorer did) and,
with labels, ``metrics.json``. A weak scorer's ``score`` is ``-log10`` of the event's reference
p-value in the window that scores it (the same background efficiency at every mjj), with
``window`` (that window's index, -1 for none) and ``in_signal_region`` (of the best window);
its ``score.json`` has ``method``, ``features``, ``mjj_range`` (the range whose events are all
scored, the only one in which the selected mjj spectrum is smooth), ``best_window``, ``windows``
(per-window diagnostics) and ``seconds``; its ``metrics.json`` measures the best window's
signal-region events, plus ``idealised`` with a template sample.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd

from lhcad.data.columns import EVENT_ID, LABEL, MJJ, WEAK_FEATURE_SETS
from lhcad.data.features import add_derived_features
from lhcad.data.sources import read_events, resolve_path
from lhcad.errors import StageError
from lhcad.executors import Executor
from lhcad.families.lhco.artifacts import Scores, SearchArtifacts
from lhcad.families.lhco.config import ScoreConfig
from lhcad.preprocessing import TEST
from lhcad.weak.scan import run_scan
from lhcad.weak.settings import FlowSettings, ScanSettings, WindowSettings

if TYPE_CHECKING:
    from lhcad.models.vae import EnsembleVAE


class Scorer(ABC):
    """Per-event anomaly scores from the outputs of the stages before ``score``."""

    method: ClassVar[str]
    """Its ``score.method``."""
    trained: ClassVar[bool] = False
    """Whether it reads the trained VAE ensemble (the ``train`` stage)."""

    def __init__(self, cfg: ScoreConfig):
        self.cfg = cfg

    def input_files(self) -> list[Path]:
        """External files it reads (their content hashes key the score stage)."""
        return []

    @abstractmethod
    def score(self, inputs: SearchArtifacts, executor: Executor, log: logging.Logger) -> Scores:
        """Score every event of ``inputs.events``."""


def score_metrics(labels: np.ndarray, per_member: np.ndarray, combined: np.ndarray) -> dict[str, Any]:
    """AUC and max SIC of the ensemble score, with the members' for comparison; ``inverted``
    where the AUC is below 0.5 (the label-free orientation put the signal on the low side)."""
    from lhcad.metrics import max_sic, roc_auc  # scikit-learn: a second of import time, only to measure

    def measured(score: np.ndarray) -> dict[str, Any]:
        auc = roc_auc(labels, score)
        return {"auc": auc, "max_sic": max_sic(labels, score), "inverted": auc is not None and auc < 0.5}

    return {**measured(combined), "members": [measured(s) for s in per_member]}


def _score_chunk(x: np.ndarray, *, spec: dict[str, Any], states: list[dict[str, Any]], batch_size: int) -> dict[str, np.ndarray]:
    """One executor task: rebuild the ensemble from its weights and score a chunk of events."""
    from lhcad.models.scoring import latent_scores
    from lhcad.models.trainer import resolve_device
    from lhcad.models.vae import EnsembleVAE, VAEArchitecture

    model = EnsembleVAE(VAEArchitecture.from_dict(spec["architecture"]), spec["seeds"])
    for k, state in enumerate(states):
        model.load_member_state(k, state)
    return latent_scores(model, x, batch_size=batch_size, device=resolve_device("auto"))


class VaeScorer(Scorer):
    """The VAE ensemble's latent-space scores (``score.use`` goes downstream)."""

    method = "vae"
    trained = True

    def score(self, inputs: SearchArtifacts, executor: Executor, log: logging.Logger) -> Scores:
        from lhcad.models.scoring import ORIENTATION, event_scores, latent_scores
        from lhcad.models.trainer import resolve_device

        cfg = self.cfg
        if not inputs.has("train"):
            raise StageError("score.method vae needs the train stage in the pipeline", where="pipeline")
        x, split = inputs.inputs.x, inputs.inputs.split
        model, used = inputs.ensemble.model(cfg.checkpoint, cfg.use)
        log.info("scoring with checkpoint: %s", used)
        if executor.kind == "local" or len(x) <= cfg.batch_size:
            raw = latent_scores(model, x, batch_size=cfg.batch_size, device=resolve_device("auto"))
        else:
            raw = self._in_chunks(model, x, executor, log)
        scores = event_scores(raw, aggregate=cfg.aggregate, combine=cfg.combine)
        events = inputs.events.table
        table: dict[str, np.ndarray] = {EVENT_ID: events[EVENT_ID].to_numpy(), "score": scores[cfg.use][1]}
        for name, (per_member, combined) in scores.items():
            table[name] = combined
            for k, member in enumerate(per_member):
                table[f"{name}_m{k}"] = member
        metrics = None
        labels = inputs.events.labels
        if labels is not None:
            test = split == TEST
            if len(np.unique(labels[test])) == 2:
                metrics = {name: score_metrics(labels[test], pm[:, test], c[test]) for name, (pm, c) in scores.items()}
        return Scores(pd.DataFrame(table), {"use": cfg.use, "checkpoint": used, "orientation": ORIENTATION}, metrics)

    def _in_chunks(self, model: EnsembleVAE, x: np.ndarray, executor: Executor, log: logging.Logger) -> dict[str, np.ndarray]:
        """:func:`lhcad.models.scoring.latent_scores` with chunks of ``score.batch_size`` events
        as executor tasks (each chunk travels with its task; the weights are shared once): the
        same numbers as scoring in one process, since every event is scored independently."""
        chunk = self.cfg.batch_size
        spec = {"architecture": model.arch.to_dict(), "seeds": [int(s) for s in model.seeds]}
        states = [{k: v.cpu() for k, v in model.member_state(m).items()} for m in range(model.n_members)]
        chunks = [x[start : start + chunk] for start in range(0, len(x), chunk)]
        parts = executor.map(_score_chunk, chunks, spec=spec, states=states, batch_size=chunk)
        log.info("scored %d events in %d chunks on %s", len(x), len(chunks), executor.kind)
        return {name: np.concatenate([p[name] for p in parts], axis=1) for name in parts[0]}


class WeakScorer(Scorer):
    """A weakly supervised classifier per sliding mjj window (:func:`lhcad.weak.scan.run_scan`)."""

    method: ClassVar[Literal["cwola", "cathode"]]

    def input_files(self) -> list[Path]:
        """The template file (its content hash keys the score stage)."""
        return [resolve_path(self.cfg.template_path)] if self.cfg.template_path else []

    def settings(self) -> ScanSettings:
        """The scan's plain settings, from the score section."""
        cfg = self.cfg
        return ScanSettings(
            method=self.method,
            windows=WindowSettings(**_tuples(cfg.windows.model_dump())),
            folds=cfg.folds,
            classifier=cfg.classifier,
            ensemble=cfg.ensemble,
            oversample=cfg.oversample,
            flow=FlowSettings(**_tuples(cfg.flow.model_dump())),
            seed=cfg.seed,
            threads=cfg.threads,
        )

    def features(self, columns: list[str]) -> list[str]:
        """The classifier inputs: ``score.weak_features``, else the ``score.feature_set``.

        Raises:
            StageError: for a missing column or mjj among the inputs.
        """
        cfg = self.cfg
        names = list(cfg.weak_features or WEAK_FEATURE_SETS[cfg.feature_set])
        where = "score.weak_features" if cfg.weak_features else "score.feature_set"
        if MJJ in names:
            raise StageError("mjj is the bump-hunt variable: it cannot be a weak scorer's input", where=where)
        missing = [n for n in names if n not in columns]
        if missing:
            hint = (
                ": the extended set needs events made with `lhcad generate` or `lhcad features` --feature-set extended"
                if not cfg.weak_features and cfg.feature_set == "extended" else ""
            )
            shown = ", ".join(map(repr, missing[:3])) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            raise StageError(f"no column {shown} in the events table{hint}", where=where)
        return names

    def score(self, inputs: SearchArtifacts, executor: Executor, log: logging.Logger) -> Scores:
        cfg = self.cfg
        events = inputs.events.table
        names = self.features(list(events.columns))
        template = read_template(cfg.template_path, names) if cfg.template_path else (None, None)
        x = events[names].to_numpy(np.float64)
        undefined = ~np.isfinite(x)
        if undefined.any():
            # Only the extended ratios can be NaN here (the data stage drops the rest): tau_{N+1}/tau_N
            # of a jet with at most N constituents, which N axes describe exactly, so its limit 0.
            log.info("%s: %d events with an undefined tau ratio (tau_N = 0) take the ratio 0", self.method, int(undefined.any(axis=1).sum()))
            x = np.where(undefined, 0.0, x)
        result = run_scan(
            self.settings(),
            x=x,
            mjj=events[MJJ].to_numpy(np.float64),
            names=names,
            labels=inputs.events.labels,
            template=template[0],
            template_mjj=template[1],
            executor=executor,
        )
        best = result.windows[result.best]
        log.info("%s: best window %d at %.0f GeV (excess significance %.1f)", self.method, result.best, best["centre"], best["significance"])
        table = pd.DataFrame(
            {
                EVENT_ID: events[EVENT_ID].to_numpy(),
                "score": result.scores,
                "window": result.window_of,
                "in_signal_region": result.in_signal_region,
            }
        )
        info = {
            "use": "score",
            "method": self.method,
            "features": names,
            "dequantized": result.dequantized,
            "mjj_range": list(result.mjj_range),
            "best_window": {k: best[k] for k in ("index", "centre", "lo", "hi", "significance", "efficiency")},
            "windows": result.windows,
            "seconds": result.seconds,
        }
        metrics = None
        if result.metrics is not None:
            metrics = dict(result.metrics)
            if "idealised" in metrics:
                metrics["idealised"] = {**metrics["idealised"], "members": []}
        reference = pd.DataFrame(
            {
                "row": result.reference["row"].astype(np.int64),
                "window": result.reference["window"].astype(np.int32),
                "weight": result.reference["weight"].astype(np.float64),
                "score": result.reference["score"].astype(np.float64),
            }
        )
        return Scores(table, info, metrics, reference)


def _tuples(section: dict[str, Any]) -> dict[str, Any]:
    """A section's values with its lists as tuples (the settings are frozen)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in section.items()}


class CwolaScorer(WeakScorer):
    """CWoLa hunting: each window's signal region against its sidebands."""

    method = "cwola"


class CathodeScorer(WeakScorer):
    """CATHODE: each window's signal region against synthetic background sampled from a flow
    trained on its sidebands."""

    method = "cathode"


def read_template(path: str, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Features and mjj of a template (background-only) file; labelled signal rows and rows with
    non-finite features are dropped."""
    template = add_derived_features(read_events(resolve_path(path)))
    if LABEL in template.columns:
        template = template[template[LABEL] == 0]
    x = template[names].to_numpy(np.float64)
    keep = np.isfinite(x).all(axis=1)
    if keep.sum() == 0:
        raise StageError("the template holds no usable background event", where="score.template_path")
    return x[keep], template[MJJ].to_numpy(np.float64)[keep]


#: ``score.method`` -> its scorer.
SCORERS: dict[str, type[Scorer]] = {cls.method: cls for cls in (VaeScorer, CwolaScorer, CathodeScorer)}


def scorer_of(cfg: ScoreConfig) -> Scorer:
    """The scorer ``score.method`` names."""
    return SCORERS[cfg.method](cfg)
