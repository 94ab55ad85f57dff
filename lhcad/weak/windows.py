"""Sliding signal regions in mjj and the sidebands either side of them.

A window of centre c and relative width w has the signal region [c (1 - w/2), c (1 + w/2)); a
sideband of ``k`` signal-region widths spans k w c below and above it. Centres step
geometrically by ``step`` widths (c -> c (1 + step w)), so every window has the same relative
width, matching a dijet resolution that scales with the mass. No sideband reaches below the
window's ``floor`` (by default the peak of the mjj spectrum: the trigger turn-on ends there).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lhcad.weak.settings import WindowSettings
from lhcad.errors import StageError
from lhcad.fit.significance import bonferroni_p, p_to_significance, significance_to_p


@dataclass(frozen=True)
class Window:
    """One signal region in mjj (GeV)."""

    index: int
    centre: float
    lo: float
    hi: float
    floor: float = 0.0
    """Lowest mjj of the sidebands."""

    @property
    def width(self) -> float:
        """Width of the signal region in GeV."""
        return self.hi - self.lo

    def signal_region(self, mjj: np.ndarray) -> np.ndarray:
        """Boolean mask of the events in the signal region."""
        return (mjj >= self.lo) & (mjj < self.hi)

    def sidebands(self, mjj: np.ndarray, widths: float) -> np.ndarray:
        """Boolean mask of the events within ``widths`` signal-region widths below or above the
        signal region (the signal region excluded)."""
        reach = widths * self.width
        below = (mjj >= max(self.lo - reach, self.floor)) & (mjj < self.lo)
        above = (mjj >= self.hi) & (mjj < self.hi + reach)
        return below | above

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tiles(windows: list[Window]) -> list[tuple[float, float]]:
    """Each window's tile: the part of its signal region nearer its centre (in log mjj) than the
    neighbouring windows' centres. With steps of at most one width the tiles of consecutive
    windows meet; a window left out of the scan leaves a gap."""
    log_centres = np.log([w.centre for w in windows])
    result: list[tuple[float, float]] = []
    for k, w in enumerate(windows):
        lo = math.exp(0.5 * (log_centres[k - 1] + log_centres[k])) if k > 0 else w.lo
        hi = math.exp(0.5 * (log_centres[k] + log_centres[k + 1])) if k + 1 < len(windows) else w.hi
        result.append((max(lo, w.lo), min(hi, w.hi)))
    return result


#: Tiles on each side of the most deviant one that :func:`efficiency_jitter` leaves out with it.
SIGNAL_REACH = 1

#: Flow closure AUC above which a window's synthetic background is visibly wrong (a flow that
#: models the sidebands scores 0.50-0.52 on the standard four inputs; with the 28 extended
#: inputs the shipped flow scored 0.74-0.78 in every window, 0.71 with the multiplicities
#: dequantized, and 8 transforms of [128, 128] trained 80 epochs 0.53-0.55).
CLOSURE_LIMIT = 0.6


def fails_closure(auc: float | None, limit: float = CLOSURE_LIMIT) -> bool:
    """Whether a flow's closure AUC shows synthetic events a classifier tells from the real
    sideband events (no AUC, or NaN for too few events to test, is no failure)."""
    return auc is not None and math.isfinite(float(auc)) and float(auc) > limit


def closes(window: dict[str, Any]) -> bool:
    """Whether a window's background reference passed its closure test (windows without one,
    CWoLa's, pass)."""
    return not fails_closure(window.get("closure_auc"))


def efficiency_jitter(selected: np.ndarray, expected: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each tile's relative efficiency uncertainty: its reference's and a common extra scatter.

    ``selected[w]`` events pass the cut in tile w where ``expected[w]`` would pass at the
    reference's efficiency e; ``reference[w]`` is the relative statistical error of that
    efficiency, ``sqrt((1 - e) / (e N_eff))`` of the window's reference. Up to a common scale
    (the mjj fit absorbs it), with ``var(n) = mu + mu^2 (reference^2 + s^2)``, the extra
    scatter is the method-of-moments ``s^2 = sum((n - mu)^2 - mu - mu^2 reference^2) /
    sum(mu^2)`` without the most deviant tile and its neighbours (a signal's own excess is no
    scatter of the background's efficiency, and a resonance, about 5% wide in mjj, spills into
    the tiles on either side, or the overlapping windows of a scan; tiles in mjj order; the
    neighbours stay in when fewer than three tiles would be left), 0 when negative. With the
    neighbours left in, their share of the signal counted as scatter and made a resonance pay
    for itself twice: at 1000 injected events the signal window's excess was 3.1-5.1 sigma
    local instead of 3.9-6.3.

    Returns:
        ``sqrt(reference^2 + s^2)`` per tile.
    """
    selected, expected = np.asarray(selected, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    keep = expected > 0
    extra = 0.0
    if keep.sum() >= 4:
        scale = selected[keep].sum() / expected[keep].sum()
        pulls = (selected - scale * expected) / np.sqrt(np.where(keep, scale * expected, 1.0))
        worst = int(np.argmax(np.where(keep, pulls, -np.inf)))
        away = keep.copy()
        away[max(worst - SIGNAL_REACH, 0) : worst + SIGNAL_REACH + 1] = False
        keep[worst] = False
        if away.sum() >= 3:
            keep = away
        mu = expected[keep] * selected[keep].sum() / expected[keep].sum()
        excess = ((selected[keep] - mu) ** 2 - mu - mu**2 * reference[keep] ** 2).sum()
        extra = max(float(excess / (mu**2).sum()), 0.0)
    return np.sqrt(reference**2 + extra)


#: The scans whose excess is evidence for a resonance: those whose reference (real sideband
#: events) is not a class the classifier was trained against. CWoLa's classifier is trained to
#: tell exactly its sideband events from its signal-region events, so any background difference
#: between the two, and feature-space fluctuations its other folds share, comes out as
#: "excess": on 10 QCD-only samples of 120k events its scan gave global significances up to
#: 4.3 sigma (4 of 10 above 2 sigma; CATHODE's none). Its selections' bump hunts still count.
EVIDENCE_METHODS: tuple[str, ...] = ("cathode",)


def counts_as_evidence(scan: dict[str, Any]) -> bool:
    """Whether a :func:`scan_evidence` result may support a claim (scans written before the
    ``evidence`` field existed count, as they did)."""
    return bool(scan.get("evidence", True))


def scan_evidence(windows: list[dict[str, Any]], method: str = "cathode") -> dict[str, Any]:
    """The weak scan's own evidence for a resonance, look-elsewhere corrected.

    Per window and background efficiency e (the ``excess`` entries of the scan's diagnostics):
    n signal-region events pass the sideband-calibrated cut where ``mu = e N_SR`` are expected,
    up to a common scale (the median ratio over the windows: a reference that is off by the
    same factor everywhere makes no resonance). The variance counts Poisson, the reference's
    finite size ``N_SR^2 e (1 - e) / N_eff`` and the scatter between the windows beyond both
    (:func:`efficiency_jitter`); Z is one-sided. The global p-value is the smallest local one
    times the number of windows and efficiencies tried (Bonferroni: neighbouring windows
    overlap, so this overcounts the trials and errs on the safe side). Windows whose flow fails
    its closure test (:func:`closes`) are no evidence: their classifier learns the flow's flaws,
    which depend on mjj in ways the sidebands' linear interpolation does not follow (with the 28
    extended inputs a window at 3179 GeV, no signal in it, passed four times the expected events:
    28.7 sigma).

    Returns:
        ``{window: [lo, hi], centre, efficiency, local_significance, trials, global_p,
        global_significance, scale, windows_without_closure, evidence}`` (no ``window`` and significances of 0 without a
        usable window); ``evidence`` says whether claims may use it (``method`` in
        :data:`EVIDENCE_METHODS`).
    """
    evidence = method in EVIDENCE_METHODS
    closed = np.array([closes(w) for w in windows], dtype=bool)
    unclosed = int((~closed).sum())
    best: dict[str, Any] = {"window": None, "local_significance": 0.0, "global_p": 1.0, "global_significance": 0.0,
                            "windows_without_closure": unclosed}  # fmt: skip
    efficiencies = sorted({float(e["efficiency"]) for w in windows for e in w.get("excess", [])})
    trials = 0
    for efficiency in efficiencies:
        rows = [(w, next(e for e in w["excess"] if float(e["efficiency"]) == efficiency)) for w in windows]
        observed = np.array([float(e["observed"]) for _, e in rows])
        expected = np.array([float(e["expected"]) for _, e in rows])
        n_sr = np.array([float(w["n_signal_region"]) for w, _ in rows])
        n_ref = np.array([float(w["n_calibration_effective"]) for w, _ in rows])
        usable = (expected > 0) & closed
        if usable.sum() == 0:
            continue
        trials += int(usable.sum())
        scale = float(np.median(observed[usable] / expected[usable]))
        mu = scale * expected
        reference = np.sqrt((1.0 - efficiency) / (efficiency * np.clip(n_ref, 1.0, None)))
        jitter = efficiency_jitter(observed, np.where(usable, mu, 0.0), reference) if usable.sum() >= 4 else reference
        z = np.where(usable, (observed - mu) / np.sqrt(np.clip(mu + (mu * jitter) ** 2, 1e-300, None)), 0.0)
        k = int(np.argmax(z))
        if z[k] > best["local_significance"]:
            w = rows[k][0]
            best = {"window": [float(w["lo"]), float(w["hi"])], "centre": float(w["centre"]), "efficiency": efficiency,
                    "local_significance": float(z[k]), "scale": scale, "windows_without_closure": unclosed}  # fmt: skip
    if best["window"] is None:
        return {**best, "trials": trials, "evidence": evidence}
    global_p = bonferroni_p([float(significance_to_p(best["local_significance"]))] * trials)
    return {**best, "trials": trials, "global_p": global_p, "global_significance": float(p_to_significance(global_p)),
            "evidence": evidence}  # fmt: skip


def window_at(index: int, centre: float, width: float, floor: float = 0.0) -> Window:
    """The window of relative full width ``width`` around ``centre``."""
    lo, hi = float(centre * (1 - width / 2)), float(centre * (1 + width / 2))
    return Window(index=index, centre=float(centre), lo=lo, hi=hi, floor=float(floor))


def spectrum_peak(mjj: np.ndarray, bins: int = 100) -> float:
    """The most populated mjj (GeV): the centre of the fullest of ``bins`` log-spaced bins
    between the 0.1% and 99% quantiles."""
    lo, hi = np.quantile(mjj, [0.001, 0.99])
    counts, edges = np.histogram(np.log(mjj), bins=bins, range=(np.log(lo), np.log(hi)))
    k = int(np.argmax(counts))
    return float(np.exp(0.5 * (edges[k] + edges[k + 1])))


def make_windows(mjj: np.ndarray, cfg: WindowSettings) -> list[Window]:
    """The windows of a scan over the events' mjj values.

    Without ``cfg.start``/``cfg.stop`` the scan covers the centres whose sidebands lie between
    ``cfg.min_mjj`` (default: :func:`spectrum_peak`) and the mjj quantile ``1 -
    edge_quantile``. Windows whose signal region holds fewer than ``cfg.min_events`` events are
    left out.

    Raises:
        StageError: if no window fits the data.
    """
    mjj = np.asarray(mjj, dtype=np.float64)
    reach_lo = 1 - cfg.width / 2 - cfg.sideband * cfg.width
    reach_hi = 1 + cfg.width / 2 + cfg.sideband * cfg.width
    if reach_lo <= 0:
        raise StageError("score.windows: width x (1/2 + sideband) must stay below 1", where="score.windows")
    floor = cfg.min_mjj if cfg.min_mjj is not None else spectrum_peak(mjj)
    q_hi = float(np.quantile(mjj, 1 - cfg.edge_quantile))
    start = cfg.start if cfg.start is not None else floor / reach_lo
    stop = cfg.stop if cfg.stop is not None else q_hi / reach_hi
    ratio = 1 + cfg.step * cfg.width
    n_centres = int(np.floor(np.log(stop / start) / np.log(ratio) + 1e-9)) + 1 if stop >= start else 0
    sorted_mjj = np.sort(mjj)
    windows: list[Window] = []
    for k in range(n_centres):
        candidate = window_at(len(windows), start * ratio**k, cfg.width, floor)
        inside = np.searchsorted(sorted_mjj, candidate.hi) - np.searchsorted(sorted_mjj, candidate.lo)
        if inside >= cfg.min_events:
            windows.append(candidate)
    if not windows:
        raise StageError(
            f"no mjj window between {start:.0f} and {stop:.0f} GeV holds {cfg.min_events} events",
            where="score.windows",
        )
    return windows
