"""The sliding-window scan of a weak scorer: every window's classifier, the best window, SIC.

Work plan (every list of independent tasks goes through ``executor.map``):

1. CATHODE only: one task per window trains its flow and samples its synthetic background.
2. One task per (window, fold) trains that fold's ensemble; the out-of-fold scores of every
   window's signal-region events follow.
3. With a template sample: the idealised detector (signal-region data against the template's
   signal-region events) on the best window, again one task per fold.

Choice of the best window. For each window and each background efficiency e of
``windows.efficiencies``, the threshold keeps the fraction e of the reference events'
out-of-fold scores (sideband events for CWoLa, synthetic events for CATHODE). If the reference
models the signal region's background, e N_SR signal-region events are expected above it; the
excess significance is Z = (n - e N_SR) / sqrt(e N_SR + var), where var = N_SR^2 e (1 - e) /
N_ref is the reference's statistical uncertainty. A window's significance is its largest Z over
the efficiencies; the best window has the largest. This is a local significance: it does not
account for the windows and efficiencies tried (the global significance comes from the bump hunt
on the selected events).

Events of the best window: signal-region events keep their out-of-fold scores; with
``windows.outside: classifier`` every other event is scored by the window's classifiers
(out-of-fold where a fold trained on it, e.g. CWoLa's sideband events; else the mean over the
folds), so that the top-N selections span the mjj spectrum and the bump hunt and the mjj fit see
the excess over a smooth background; with ``floor`` they sit below every signal-region event.

With labels, every window reports the AUC and the SIC curve of its signal-region events; the
maximum SIC is taken over cuts that keep at least :data:`SIC_MIN_BACKGROUND` background events,
so that it is not one or two events' fluctuation. With a template sample, the idealised detector
(signal-region data against the template's signal-region events, same classifier and folds) is
evaluated on the best window.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lhcad.config.models import ScoreConfig
from lhcad.errors import StageError
from lhcad.executors import Executor, LocalExecutor
from lhcad.weak.classifier import (
    ClassifierSpec,
    FoldFit,
    Problem,
    assemble,
    fit_problem_fold,
    score_unseen,
    thread_limit,
)
from lhcad.weak.transform import Gaussianizer
from lhcad.weak.windows import Window, make_windows

log = logging.getLogger("lhcad.weak")

#: The maximum SIC is taken over cuts keeping at least this many background events.
SIC_MIN_BACKGROUND = 50

#: Signal efficiencies at which the stored SIC curves are sampled.
SIC_CURVE_TPR = tuple(float(t) for t in np.round(np.linspace(0.05, 1.0, 20), 2))

#: Score given to events outside the best window's signal region with ``windows.outside: floor``
#: is this far below the lowest signal-region score.
FLOOR_GAP = 1.0

TOP_COUNTS = (50, 100, 200)


def json_ready(obj: Any) -> Any:
    """``obj`` with numpy scalars made Python numbers and NaN/inf made None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.integer | bool | np.bool_):
        return obj.item() if isinstance(obj, np.generic) else obj
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None
    return obj


def classifier_spec(cfg: ScoreConfig) -> ClassifierSpec:
    """The classifier members a score config asks for."""
    return ClassifierSpec(kind=cfg.classifier, members=cfg.ensemble, seed=cfg.seed, threads=cfg.threads)


def excess_significance(data_scores: np.ndarray, reference_scores: np.ndarray, efficiency: float) -> dict[str, float]:
    """Observed and expected signal-region counts above the threshold keeping ``efficiency`` of
    the reference, and the excess significance (see the module docstring)."""
    n_data, n_ref = len(data_scores), len(reference_scores)
    threshold = float(np.quantile(reference_scores, 1.0 - efficiency))
    observed = int((data_scores > threshold).sum())
    expected = efficiency * n_data
    variance = expected + n_data**2 * efficiency * (1 - efficiency) / max(n_ref, 1)
    return {
        "efficiency": efficiency,
        "threshold": threshold,
        "observed": observed,
        "expected": expected,
        "significance": (observed - expected) / np.sqrt(variance) if variance > 0 else 0.0,
    }


def sic_summary(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """AUC, max SIC (at least :data:`SIC_MIN_BACKGROUND` background events kept), SIC at fixed
    signal efficiencies, and the signal count in the top-N (labelled signal-region events)."""
    from lhcad.metrics import roc_auc, roc_curve

    labels = np.asarray(labels).astype(int)
    n_sig, n_bkg = int(labels.sum()), int((labels == 0).sum())
    order = np.argsort(-scores, kind="stable")
    top = {f"signal_in_top{n}": int(labels[order[:n]].sum()) for n in TOP_COUNTS}
    if n_sig == 0 or n_bkg == 0:
        return {"auc": None, "max_sic": None, "n_signal": n_sig, "n_background": n_bkg, **top}
    fpr, tpr = roc_curve(labels, scores)
    keep = fpr >= max(SIC_MIN_BACKGROUND / n_bkg, np.finfo(float).tiny)
    sic = np.where(keep, tpr / np.sqrt(np.maximum(fpr, np.finfo(float).tiny)), 0.0)
    best = int(np.argmax(sic))
    curve = [float(np.interp(t, tpr[keep], sic[keep])) if keep.any() else 0.0 for t in SIC_CURVE_TPR]
    return {
        "auc": roc_auc(labels, scores),
        "max_sic": float(sic[best]),
        "max_sic_tpr": float(tpr[best]),
        "max_sic_fpr": float(fpr[best]),
        "sic_curve": {"tpr": list(SIC_CURVE_TPR), "sic": [round(v, 4) for v in curve]},
        "n_signal": n_sig,
        "n_background": n_bkg,
        **top,
    }


@dataclass
class WindowOutcome:
    """One window's classifier results."""

    window: Window
    problem: Problem
    transform: Gaussianizer
    fits: list[FoldFit]
    scores: np.ndarray
    """Out-of-fold scores of the problem's rows."""
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def data_scores(self) -> np.ndarray:
        return self.scores[self.problem.y == 1]

    @property
    def data_events(self) -> np.ndarray:
        return self.problem.events[self.problem.y == 1]

    @property
    def significance(self) -> float:
        return float(self.diagnostics["significance"])


@dataclass
class ScanResult:
    """Everything a weak scorer's scan produced."""

    method: str
    windows: list[dict[str, Any]]
    """Per-window diagnostics (JSON-ready)."""
    best: int
    """Index of the best window."""
    scores: np.ndarray
    """Score of every event for the best window (see ``windows.outside``)."""
    in_signal_region: np.ndarray
    """Whether each event lies in the best window's signal region."""
    metrics: dict[str, Any] | None
    """With labels: the best window's SIC summary, per-window max SIC, the idealised detector."""
    seconds: dict[str, float]


def _map_folds(
    executor: Executor, problems: dict[Any, Problem], spec: ClassifierSpec, folds: int
) -> dict[Any, list[FoldFit]]:
    """Train every (problem, fold) as one executor task; the fold fits grouped by problem."""
    items = [(key, fold) for key in problems for fold in range(folds)]
    results = executor.map(fit_problem_fold, items, problems=problems, spec=spec)
    fits: dict[Any, list[FoldFit]] = {key: [] for key in problems}
    for (key, _), fit in zip(items, results):
        fits[key].append(fit)
    return fits


def _synthesize_task(window: Window, *, seed: int, threads: int | None, **shared: Any) -> Any:
    """Executor task: one window's flow and synthetic background (seeded per window)."""
    from lhcad.weak.cathode import synthesize

    with thread_limit(threads):
        return synthesize(window, seed=seed + window.index, **shared)


def _build_problems(
    cfg: ScoreConfig, windows: list[Window], x: np.ndarray, mjj: np.ndarray, names: list[str], executor: Executor
) -> tuple[dict[Any, Problem], dict[int, Gaussianizer], dict[int, dict[str, Any]]]:
    """Per window: the cross-training problem, its input transform, and method diagnostics."""
    problems: dict[Any, Problem] = {}
    transforms: dict[int, Gaussianizer] = {}
    extra: dict[int, dict[str, Any]] = {}
    if cfg.method == "cwola":
        from lhcad.weak.cwola import cwola_problem

        for w in windows:
            problems[w.index], transforms[w.index] = cwola_problem(
                w, x=x, mjj=mjj, sideband=cfg.windows.sideband, folds=cfg.folds, seed=cfg.seed + w.index
            )
        return problems, transforms, extra
    backgrounds = executor.map(
        _synthesize_task,
        windows,
        x=x,
        mjj=mjj,
        names=names,
        cfg=cfg.flow,
        oversample=cfg.oversample,
        seed=cfg.seed,
        threads=cfg.threads,
    )
    for w, bg in zip(windows, backgrounds):
        sr = np.flatnonzero(w.signal_region(mjj))
        transforms[w.index] = bg.gaussianizer
        data = bg.gaussianizer.transform(x[sr], mjj[sr])
        problems[w.index] = Problem.build(data, bg.synthetic, sr, None, cfg.folds, cfg.seed + w.index)
        extra[w.index] = {**bg.summary(), "histograms": bg.histograms}
        log.info("window %d (%.0f GeV): flow closure AUC %.3f", w.index, w.centre, bg.closure_auc)
    return problems, transforms, extra


def run_scan(
    cfg: ScoreConfig,
    *,
    x: np.ndarray,
    mjj: np.ndarray,
    names: list[str],
    labels: np.ndarray | None = None,
    template: np.ndarray | None = None,
    template_mjj: np.ndarray | None = None,
    executor: Executor | None = None,
) -> ScanResult:
    """Scan all windows with the weak scorer ``cfg.method`` and score the events for the best.

    Args:
        cfg: the score section (method, windows, folds, classifier, flow, ...).
        x: the weak scorer's input features of every event (physical units).
        mjj: mjj of every event.
        names: names of the columns of ``x``.
        labels: truth labels (1 = signal) for the SIC diagnostics, or None.
        template: features of a separate background-only sample (the idealised detector).
        template_mjj: its mjj values.
        executor: runs the independent tasks (default: in this process).

    Raises:
        StageError: if no window can be scanned.
    """
    if cfg.method not in ("cwola", "cathode"):
        raise StageError(f"not a weak scorer: {cfg.method!r}", where="score.method")
    executor = executor or LocalExecutor()
    spec = classifier_spec(cfg)
    x = np.asarray(x, dtype=np.float64)
    mjj = np.asarray(mjj, dtype=np.float64)
    sideband = cfg.windows.sideband if cfg.method == "cwola" else cfg.flow.sideband
    windows = [w for w in make_windows(mjj, cfg.windows) if w.sidebands(mjj, sideband).sum() >= cfg.windows.min_events]
    if not windows:
        raise StageError("no window has enough sideband events", where="score.windows")
    windows = [Window(i, w.centre, w.lo, w.hi, w.floor) for i, w in enumerate(windows)]
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    problems, transforms, extra = _build_problems(cfg, windows, x, mjj, names, executor)
    seconds["flows" if cfg.method == "cathode" else "problems"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    fits = _map_folds(executor, problems, spec, cfg.folds)
    seconds["classifiers"] = time.perf_counter() - t1
    outcomes: list[WindowOutcome] = []
    for w in windows:
        problem = problems[w.index]
        scores = assemble(len(problem.y), fits[w.index])
        outcome = WindowOutcome(w, problem, transforms[w.index], fits[w.index], scores)
        outcome.diagnostics = _window_diagnostics(outcome, cfg, labels)
        outcome.diagnostics.update(extra.get(w.index, {}))
        outcomes.append(outcome)
        log.info("window %d (%.0f GeV): excess significance %.2f", w.index, w.centre, outcome.significance)
    best = max(outcomes, key=lambda o: o.significance)
    event_scores, in_sr = _event_scores(best, cfg, x, mjj)
    metrics = None
    if labels is not None and len(np.unique(labels)) == 2:
        metrics = _metrics(cfg.method, outcomes, best, labels)
        if template is not None and template_mjj is not None:
            t2 = time.perf_counter()
            metrics["idealised"] = _idealised(best, cfg, spec, x, mjj, labels, template, np.asarray(template_mjj), executor)
            seconds["idealised"] = time.perf_counter() - t2
    seconds["total"] = time.perf_counter() - t0
    return ScanResult(
        method=cfg.method,
        windows=json_ready([o.diagnostics for o in outcomes]),
        best=best.window.index,
        scores=event_scores,
        in_signal_region=in_sr,
        metrics=json_ready(metrics),
        seconds=json_ready(seconds),
    )


def _window_diagnostics(outcome: WindowOutcome, cfg: ScoreConfig, labels: np.ndarray | None) -> dict[str, Any]:
    problem = outcome.problem
    data, reference = outcome.scores[problem.y == 1], outcome.scores[problem.y == 0]
    excesses = [excess_significance(data, reference, e) for e in cfg.windows.efficiencies]
    strongest = max(excesses, key=lambda e: e["significance"])
    diagnostics: dict[str, Any] = {
        **outcome.window.to_dict(),
        "n_signal_region": int((problem.y == 1).sum()),
        "n_reference": int((problem.y == 0).sum()),
        "excess": excesses,
        "significance": float(strongest["significance"]),
        "efficiency": strongest["efficiency"],
    }
    if labels is not None:
        diagnostics["truth"] = sic_summary(labels[outcome.data_events], data)
    return diagnostics


def _event_scores(best: WindowOutcome, cfg: ScoreConfig, x: np.ndarray, mjj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The best window's score of every event: out-of-fold wherever a fold trained on the event."""
    problem = best.problem
    n_events = len(mjj)
    in_sr = np.zeros(n_events, dtype=bool)
    in_sr[best.data_events] = True
    scores = np.empty(n_events, dtype=np.float64)
    if cfg.windows.outside == "floor":
        scores[:] = float(best.data_scores.min()) - FLOOR_GAP
    else:
        rest = np.flatnonzero(~in_sr)
        for start in range(0, len(rest), 200_000):
            chunk = rest[start : start + 200_000]
            scores[chunk] = score_unseen(best.fits, best.transform.transform(x[chunk], mjj[chunk]))
        trained = problem.events >= 0  # events a fold trained on get their out-of-fold score
        scores[problem.events[trained]] = best.scores[trained]
    scores[best.data_events] = best.data_scores
    return scores, in_sr


def _metrics(method: str, outcomes: list[WindowOutcome], best: WindowOutcome, labels: np.ndarray) -> dict[str, Any]:
    truth = best.diagnostics["truth"]
    return {
        method: {
            "auc": truth["auc"],
            "max_sic": truth["max_sic"],
            "best_window": best.window.index,
            "best_centre": best.window.centre,
            **{k: v for k, v in truth.items() if k.startswith("signal_in_top")},
            "windows": [
                {
                    "index": o.window.index,
                    "centre": o.window.centre,
                    "significance": o.significance,
                    "auc": o.diagnostics["truth"]["auc"],
                    "max_sic": o.diagnostics["truth"]["max_sic"],
                    "n_signal": o.diagnostics["truth"]["n_signal"],
                    **({"closure_auc": o.diagnostics["closure_auc"]} if "closure_auc" in o.diagnostics else {}),
                }
                for o in outcomes
            ],
            "members": [],
        }
    }


def _idealised(
    best: WindowOutcome,
    cfg: ScoreConfig,
    spec: ClassifierSpec,
    x: np.ndarray,
    mjj: np.ndarray,
    labels: np.ndarray,
    template: np.ndarray,
    template_mjj: np.ndarray,
    executor: Executor,
) -> dict[str, Any]:
    """The idealised detector on the best window: signal-region data against the template's
    signal-region events (a perfect background model), same classifier and folds."""
    window = best.window
    in_sr = window.signal_region(template_mjj)
    reference = best.transform.transform(template[in_sr], template_mjj[in_sr])
    data_events = best.data_events
    data = best.transform.transform(x[data_events], mjj[data_events])
    problem = Problem.build(data, reference, data_events, None, cfg.folds, cfg.seed + 7919)
    fits = _map_folds(executor, {"idealised": problem}, spec, cfg.folds)["idealised"]
    scores = assemble(len(problem.y), fits)
    summary = sic_summary(labels[data_events], scores[problem.y == 1])
    return {"window": window.index, "n_template": len(reference), **summary}
