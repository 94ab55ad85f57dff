"""The sliding-window scan of a weak scorer: every window's classifier, the best window, SIC.

Work plan (every list of independent tasks goes through ``executor.map``):

0. Integer-valued inputs (constituent multiplicities) get a seeded uniform jitter of +-0.5
   (:func:`lhcad.weak.transform.dequantize`), so that flow samples and real events are alike.
1. CATHODE only: one task per window trains its flow and samples its synthetic background.
2. One task per (window, fold) trains that fold's ensemble; the out-of-fold scores of every
   window's signal-region events follow.
3. With a template sample: the idealised detector (signal-region data against the template's
   signal-region events) on the best window, again one task per fold.

Background reference. A window's classifiers learn signal-region data against a background-like
sample (sideband events for CWoLa, the flow's synthetic events for CATHODE), but how much
background a cut on their score keeps is measured on real events: the window's sideband events
(``windows.sideband`` widths either side), scored by the same classifiers, the two sides weighing
equally (:class:`Calibration`). Measured on 120k QCD-only events, CATHODE's classifiers pass 4-35%
more signal-region events than synthetic ones at a 10% cut, differently in each window (each
window has its own flow): calibrated on synthetic events, that jitter made bumps; the sideband
events carry the same mismodelling as the signal region's and cancel it. A signal-region event's
p-value is the reference weight scoring at least its out-of-fold score, ``(1 + N t) / (1 + N)``
with N the reference's effective size.

Choice of the best window. For each window and each background efficiency e of
``windows.efficiencies``, n signal-region events have a p-value at most e where e N_SR are
expected; the excess significance is Z = (n - e N_SR) / sqrt(e N_SR + var), where var = N_SR^2 e
(1 - e) / N is the reference's statistical uncertainty. A window's significance is its largest Z
over the efficiencies; the best window has the largest. This is a local significance for
diagnostics: it does not account for the windows and efficiencies tried (the claims come from the
bump hunt on the selected events and from :func:`lhcad.weak.windows.scan_evidence`, which does).

Event scores: every window scores its own signal region, each at the same background
efficiency. An event belongs to the window whose centre is nearest in log mjj (the windows' inner
halves tile the scanned range), and its score is ``-log10 p``. Under the background hypothesis
``p`` is uniform in every window: a cut on the score keeps the same fraction of the background at
every mjj, so the selected mjj spectrum stays as smooth as before the cut and the bump hunt's
background fit and pseudo-experiments describe it. (Scoring every event with the best window's
classifier instead selects events that look like that window's, which pile up in mjj there: on
250k QCD events the bump hunt then "found" 4-12 sigma resonances.) Events outside every scanned
signal region get :data:`UNSCORED`, below every scored event; ``mjj_range`` is the contiguous
range the tiles cover, the only one the mjj fit and the bump hunt may use.

With labels, every window reports the AUC and the SIC curve of its signal-region events; the
maximum SIC is taken over cuts that keep at least :data:`SIC_MIN_BACKGROUND` background events,
so that it is not one or two events' fluctuation. With a template sample, the idealised detector
(signal-region data against the template's signal-region events, same classifier and folds) is
evaluated on the best window.

Your own estimators. ``run_scan(..., density_estimator=factory)`` replaces CATHODE's flow by any
:class:`~lhcad.weak.estimators.ConditionalDensityEstimator` (``fit(X, m, X_val, m_val)``,
``sample(n_samples, m)``, ``predict_log_proba(X, m)``, as in sk_cathode), and
``classifier=factory`` the classifier members by any
:class:`~lhcad.weak.estimators.BinaryClassifier` (``fit(X, y, sample_weight)``, ``predict(X)`` or
``predict_proba(X)``); ``factory(seed)`` gives a fresh estimator per window or member. Everything
else (windows, preprocessing, mjj sampling, closure test, folds, calibration) stays the scan's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from lhcad.weak.settings import ScanSettings
from lhcad.errors import StageError
from lhcad.executors import Executor, LocalExecutor
from lhcad.weak.classifier import (
    ClassifierSpec,
    FoldFit,
    Problem,
    assemble,
    ensemble_score,
    fit_problem_fold,
    thread_limit,
)
from lhcad.weak.estimators import BinaryClassifier, ConditionalDensityEstimator
from lhcad.weak.transform import Gaussianizer, dequantize, integer_columns
from lhcad.weak.windows import CLOSURE_LIMIT, Window, fails_closure, make_windows, tiles

log = logging.getLogger("lhcad.weak")

#: The maximum SIC is taken over cuts keeping at least this many background events.
SIC_MIN_BACKGROUND = 50

#: Signal efficiencies at which the stored SIC curves are sampled.
SIC_CURVE_TPR = tuple(float(t) for t in np.round(np.linspace(0.05, 1.0, 20), 2))

#: Score of the events in no scanned signal region: below every scored event (scores are >= 0).
UNSCORED = -1.0

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


def classifier_spec(cfg: ScanSettings) -> ClassifierSpec:
    """The classifier members a scan asks for."""
    return ClassifierSpec(kind=cfg.classifier, members=cfg.ensemble, seed=cfg.seed, threads=cfg.threads)


def excess_significance(p_values: np.ndarray, n_reference: float, efficiency: float) -> dict[str, float]:
    """Signal-region events whose reference p-value is at most ``efficiency`` (observed), the
    ``efficiency * N_SR`` the reference predicts (expected), and the excess significance (see
    the module docstring; ``n_reference`` is the reference's effective size)."""
    n_data = len(p_values)
    observed = int((p_values <= efficiency).sum())
    expected = efficiency * n_data
    variance = expected + n_data**2 * efficiency * (1 - efficiency) / max(n_reference, 1.0)
    return {
        "efficiency": efficiency,
        "observed": observed,
        "expected": expected,
        "significance": (observed - expected) / np.sqrt(variance) if variance > 0 else 0.0,
    }


@dataclass(frozen=True)
class Calibration:
    """A window's background reference: the scores its classifiers give real sideband events.

    The sidebands below and above the signal region weigh equally (half each; all on one side
    when the other is empty), so the background efficiency of a cut is interpolated linearly in
    mjj into the signal region. Real events, not the flow's synthetic ones: where the flow
    mismodels the background, the classifier separates real from synthetic events everywhere,
    sideband events included, and the sideband efficiency follows the signal region's.
    """

    scores: np.ndarray
    """The reference scores, ascending."""
    tail: np.ndarray
    """``tail[i]``: the weight of ``scores[i:]`` (total 1), with a trailing 0."""
    n_effective: float
    """Kish's effective number of reference events, ``(sum w)^2 / sum w^2``."""
    events: np.ndarray | None = None
    """The reference events' rows in the events table, in the order of ``scores`` (None: not kept)."""
    weights: np.ndarray | None = None
    """Their weights (total 1), in the order of ``scores``."""

    @classmethod
    def from_sidebands(cls, scores: np.ndarray, below: np.ndarray, events: np.ndarray | None = None) -> Calibration:
        """The calibration of sideband ``scores``; ``below`` marks the lower sideband's,
        ``events`` are their rows (kept for the selections' background reference)."""
        n_below, n_above = int(below.sum()), int((~below).sum())
        if n_below and n_above:
            weights = np.where(below, 0.5 / n_below, 0.5 / n_above)
        else:
            weights = np.full(len(scores), 1.0 / max(len(scores), 1))
        order = np.argsort(scores, kind="stable")
        tail = np.r_[np.cumsum(weights[order][::-1])[::-1], 0.0]
        n_effective = float(weights.sum() ** 2 / (weights**2).sum()) if len(scores) else 0.0
        rows = None if events is None else np.asarray(events)[order]
        return cls(scores=scores[order], tail=tail, n_effective=n_effective, events=rows, weights=weights[order])

    def p_values(self, data_scores: np.ndarray) -> np.ndarray:
        """The reference weight at or above each score, ``(1 + N t) / (1 + N)`` with N the
        effective size (never 0; uniform for data drawn like the reference)."""
        tail = self.tail[np.searchsorted(self.scores, data_scores, side="left")]
        return (1.0 + self.n_effective * tail) / (1.0 + self.n_effective)


def score_of(p_values: np.ndarray) -> np.ndarray:
    """An event's score from its p-value in its window's calibration: ``-log10 p`` (module
    docstring), for signal-region events and the background reference alike."""
    return -np.log10(p_values)


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
    calibration: Calibration
    """The background reference of the window's scores (real sideband events)."""
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def data_p_values(self) -> np.ndarray:
        """Reference p-values of the signal-region events."""
        return self.calibration.p_values(self.data_scores)

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
    """Score of every event: ``-log10`` of its window's reference p-value (module docstring)."""
    window_of: np.ndarray
    """Index of the window that scored each event (-1: none)."""
    in_signal_region: np.ndarray
    """Whether each event lies in the best window's signal region."""
    mjj_range: tuple[float, float]
    """The contiguous mjj range whose events are all scored (the best window's run of tiles)."""
    metrics: dict[str, Any] | None
    """With labels: the best window's SIC summary, per-window max SIC, the idealised detector."""
    seconds: dict[str, float]
    reference: dict[str, np.ndarray] = field(default_factory=dict)
    """The selections' background reference (:func:`background_reference`): ``row``, ``window``,
    ``weight``, ``score`` per reference event."""
    dequantized: list[str] = field(default_factory=list)
    """The integer-valued inputs, jittered before the scan (:func:`lhcad.weak.transform.dequantize`)."""


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
    cfg: ScanSettings,
    windows: list[Window],
    x: np.ndarray,
    mjj: np.ndarray,
    names: list[str],
    executor: Executor,
    density_estimator: Callable[[int], ConditionalDensityEstimator] | None = None,
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
        density_estimator=density_estimator,
    )
    for w, bg in zip(windows, backgrounds):
        sr = np.flatnonzero(w.signal_region(mjj))
        transforms[w.index] = bg.gaussianizer
        data = bg.gaussianizer.transform(x[sr], mjj[sr])
        problems[w.index] = Problem.build(data, bg.synthetic, sr, None, cfg.folds, cfg.seed + w.index)
        extra[w.index] = {**bg.summary(), "histograms": bg.histograms}
        log.info("window %d (%.0f GeV): flow closure AUC %.3f", w.index, w.centre, bg.closure_auc)
    warning = closure_warning([bg.closure_auc for bg in backgrounds])
    if warning:
        log.warning(warning)
    return problems, transforms, extra


def closure_warning(aucs: list[float], limit: float = CLOSURE_LIMIT) -> str | None:
    """A warning when the flows' closure AUCs (one per window) show synthetic events that a
    classifier tells from real sideband events, else None. CATHODE's classifiers then learn the
    flow's flaws rather than a signal, and those windows are no evidence
    (:func:`lhcad.weak.windows.scan_evidence`)."""
    bad = [a for a in aucs if fails_closure(a, limit)]
    if not bad:
        return None
    return (
        f"the flow does not reproduce the sideband background in {len(bad)} of {len(aucs)} windows "
        f"(closure AUC up to {max(bad):.2f} > {limit}): CATHODE's classifiers learn its flaws instead of a "
        "signal, so those windows' excesses count for nothing; use fewer inputs (score.feature_set: standard) "
        "or a larger flow (score.flow.hidden, score.flow.epochs)"
    )


def run_scan(
    cfg: ScanSettings,
    *,
    x: np.ndarray,
    mjj: np.ndarray,
    names: list[str],
    labels: np.ndarray | None = None,
    template: np.ndarray | None = None,
    template_mjj: np.ndarray | None = None,
    executor: Executor | None = None,
    density_estimator: Callable[[int], ConditionalDensityEstimator] | None = None,
    classifier: Callable[[int], BinaryClassifier] | None = None,
) -> ScanResult:
    """Scan all windows with the weak scorer ``cfg.method`` and score the events for the best.

    Args:
        cfg: the scan (method, windows, folds, classifier, flow, ...).
        x: the weak scorer's input features of every event (physical units).
        mjj: mjj of every event.
        names: names of the columns of ``x``.
        labels: truth labels (1 = signal) for the SIC diagnostics, or None.
        template: features of a separate background-only sample (the idealised detector).
        template_mjj: its mjj values.
        executor: runs the independent tasks (default: in this process).
        density_estimator: CATHODE's background model instead of the flow of ``cfg.flow``:
            ``density_estimator(seed)`` returns a fresh, unfitted
            :class:`~lhcad.weak.estimators.ConditionalDensityEstimator`, called once per window
            with the window's seed (a class taking a seed, or ``lambda seed: MyModel(...)``).
        classifier: the members' classifier instead of ``cfg.classifier``: ``classifier(seed)``
            returns a fresh :class:`~lhcad.weak.estimators.BinaryClassifier`, called once per
            member and fold (the closure test keeps lhcad's own).

    Raises:
        StageError: if no window can be scanned, for a density estimator given to a CWoLa scan,
            or for an estimator's samples of the wrong shape or with non-finite values.
    """
    if cfg.method not in ("cwola", "cathode"):
        raise StageError(f"not a weak scorer: {cfg.method!r}", where="score.method")
    if density_estimator is not None and cfg.method != "cathode":
        message = "a density estimator is CATHODE's background model: CWoLa has none"
        raise StageError(message, where="density_estimator")
    executor = executor or LocalExecutor()
    spec = classifier_spec(cfg)
    if classifier is not None:
        spec = replace(spec, factory=classifier)
    counts = integer_columns(x)
    dequantized = [names[j] for j in counts]
    x = dequantize(x, counts, cfg.seed)
    if template is not None:
        template = dequantize(template, counts, cfg.seed + 1)
    if dequantized:
        log.info("integer inputs dequantized (a uniform jitter of +-0.5): %s", ", ".join(dequantized))
    mjj = np.asarray(mjj, dtype=np.float64)
    sideband = cfg.windows.sideband if cfg.method == "cwola" else cfg.flow.sideband
    windows = [w for w in make_windows(mjj, cfg.windows) if w.sidebands(mjj, sideband).sum() >= cfg.windows.min_events]
    if not windows:
        raise StageError("no window has enough sideband events", where="score.windows")
    windows = [Window(i, w.centre, w.lo, w.hi, w.floor) for i, w in enumerate(windows)]
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    problems, transforms, extra = _build_problems(cfg, windows, x, mjj, names, executor, density_estimator)
    seconds["flows" if cfg.method == "cathode" else "problems"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    fits = _map_folds(executor, problems, spec, cfg.folds)
    seconds["classifiers"] = time.perf_counter() - t1
    outcomes: list[WindowOutcome] = []
    for w in windows:
        problem = problems[w.index]
        scores = assemble(len(problem.y), fits[w.index])
        calibration = _calibration(cfg, w, problem, scores, fits[w.index], transforms[w.index], x, mjj)
        outcome = WindowOutcome(w, problem, transforms[w.index], fits[w.index], scores, calibration)
        outcome.diagnostics = _window_diagnostics(outcome, cfg, labels)
        outcome.diagnostics.update(extra.get(w.index, {}))
        outcomes.append(outcome)
        log.info("window %d (%.0f GeV): excess significance %.2f", w.index, w.centre, outcome.significance)
    best = max(outcomes, key=lambda o: o.significance)
    event_scores, window_of, mjj_range = calibrated_scores(outcomes, mjj, best.window.index)
    reference = background_reference(outcomes, window_of)
    in_sr = np.zeros(len(mjj), dtype=bool)
    in_sr[best.data_events] = True
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
        window_of=window_of,
        in_signal_region=in_sr,
        mjj_range=mjj_range,
        metrics=json_ready(metrics),
        seconds=json_ready(seconds),
        reference=reference,
        dequantized=dequantized,
    )


def _calibration(
    cfg: ScanSettings,
    window: Window,
    problem: Problem,
    scores: np.ndarray,
    fits: list[FoldFit],
    transform: Gaussianizer,
    x: np.ndarray,
    mjj: np.ndarray,
) -> Calibration:
    """The window's reference: its sideband events' scores (``windows.sideband`` widths either
    side). CWoLa trained on them, so they keep their out-of-fold scores. CATHODE's classifiers
    never saw them: each is scored by one fold's ensemble, the fold drawn at random (seeded),
    like a signal-region event (the mean over the folds would be a smoother score with thinner
    tails: at a 1% cut the signal region then passed twice the sidebands' rate)."""
    if cfg.method == "cwola":
        reference = problem.y == 0
        events = problem.events[reference]
        return Calibration.from_sidebands(scores[reference], mjj[events] < window.lo, events)
    events = np.flatnonzero(window.sidebands(mjj, cfg.windows.sideband))
    z = transform.transform(x[events], mjj[events])
    fold_of = np.random.default_rng(cfg.seed + 104_729 + window.index).integers(0, len(fits), len(events))
    sideband_scores = np.empty(len(events))
    for k, fit in enumerate(fits):
        mine = fold_of == k
        sideband_scores[mine] = ensemble_score(fit.members, z[mine])
    return Calibration.from_sidebands(sideband_scores, mjj[events] < window.lo, events)


def _window_diagnostics(outcome: WindowOutcome, cfg: ScanSettings, labels: np.ndarray | None) -> dict[str, Any]:
    problem = outcome.problem
    p_values = outcome.data_p_values
    excesses = [excess_significance(p_values, outcome.calibration.n_effective, e) for e in cfg.windows.efficiencies]
    strongest = max(excesses, key=lambda e: e["significance"])
    diagnostics: dict[str, Any] = {
        **outcome.window.to_dict(),
        "n_signal_region": int((problem.y == 1).sum()),
        "n_reference": int((problem.y == 0).sum()),
        "n_calibration": len(outcome.calibration.scores),
        "n_calibration_effective": outcome.calibration.n_effective,
        "excess": excesses,
        "significance": float(strongest["significance"]),
        "efficiency": strongest["efficiency"],
    }
    if labels is not None:
        diagnostics["truth"] = sic_summary(labels[outcome.data_events], outcome.data_scores)
    return diagnostics


def calibrated_scores(
    outcomes: list[WindowOutcome], mjj: np.ndarray, best: int
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Every event's score in the window whose centre is nearest in log mjj (module docstring).

    Returns:
        The scores, the index of the window that scored each event (-1: none), and the
        contiguous mjj range of the tiles around window ``best``.
    """
    n_events = len(mjj)
    scores = np.full(n_events, UNSCORED)
    window_of = np.full(n_events, -1, dtype=np.int64)
    edges = tiles([o.window for o in outcomes])
    for outcome, (lo, hi) in zip(outcomes, edges):
        events = outcome.data_events
        mine = (mjj[events] >= lo) & (mjj[events] < hi)
        scores[events[mine]] = score_of(outcome.data_p_values[mine])
        window_of[events[mine]] = outcome.window.index
    k_best = next(k for k, o in enumerate(outcomes) if o.window.index == best)
    first = last = k_best
    while first > 0 and edges[first - 1][1] >= edges[first][0]:
        first -= 1
    while last + 1 < len(edges) and edges[last + 1][0] <= edges[last][1]:
        last += 1
    return scores, window_of, (float(edges[first][0]), float(edges[last][1]))


def background_reference(outcomes: list[WindowOutcome], window_of: np.ndarray) -> dict[str, np.ndarray]:
    """What a cut on the event scores keeps of the background, event by event: every window's
    reference (sideband) events, each with the score its classifier output gives (``-log10`` of
    its p-value in its own calibration, like a signal-region event's) and the number of events
    of the window's tile it stands for (its calibration weight times the tile's scored events).

    The reference events passing a selection's cut, weighted so, have the jet-mass spectrum the
    cut gives the selected background, sculpting included (the classifier's preferences act on
    them as on the signal-region events), and the expected number of selected background events
    as their total weight. A sideband event can serve two windows (rows repeat).

    Returns:
        ``row`` (in the events table), ``window``, ``weight`` and ``score`` arrays.
    """
    length = int(max([o.window.index for o in outcomes], default=-1)) + 1
    tile_size = np.bincount(window_of[window_of >= 0], minlength=length)
    parts: list[tuple[np.ndarray, ...]] = []
    for outcome in outcomes:
        calibration, index = outcome.calibration, outcome.window.index
        if calibration.events is None or calibration.weights is None or tile_size[index] == 0:
            continue
        score = score_of(calibration.p_values(calibration.scores))
        window = np.full(len(score), index, dtype=np.int32)
        parts.append((calibration.events.astype(np.int64), window, calibration.weights * tile_size[index], score))
    names = ("row", "window", "weight", "score")
    if not parts:
        return {name: np.empty(0) for name in names}
    return {name: np.concatenate(column) for name, column in zip(names, zip(*parts))}


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
    cfg: ScanSettings,
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
