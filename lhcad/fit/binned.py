"""Signal + background binned extended-likelihood fits with iminuit, started from the data.

No start value is ever written by hand: the background alone is fitted first (several
starting shapes), the largest local excesses of the data over it become candidate peaks (their
position, width and size start the signal), every candidate is fitted and the best valid
minimum is kept. HESSE gives the covariance, MINOS the asymmetric error of the mean. The local
significance is sqrt(q0) with q0 = -2 ln(L_B / L_SB) from the background-only refit
(one-sided: 0 when the fitted signal yield is not positive; Wilks).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from iminuit import Minuit
from iminuit.cost import ExtendedBinnedNLL
from scipy import stats

from lhcad.fit.shapes import (
    CB_BETA_LIMITS,
    CB_M_LIMITS,
    SIGNAL_CDFS,
    SIGNAL_TAILS,
    dijet_cdf,
    expo_poly_cdf,
    template_cdf,
)

#: Background shape parameters: name -> (limits, candidate starting values tried in turn).
BACKGROUND_PARAMS: dict[str, dict[str, tuple[tuple[float, float], tuple[float, ...]]]] = {
    "dijet": {"p1": ((-10.0, 60.0), (8.0, 20.0)), "p2": ((-10.0, 25.0), (4.0, 8.0)), "p3": ((-3.0, 3.0), (0.0,))},
    "exponential": {"a1": ((-50.0, 50.0), (-3.0, 0.0))},
    "expo_poly": {"a1": ((-50.0, 50.0), (-3.0, 2.0)), "a2": ((-50.0, 50.0), (0.0, -3.0))},
    "template": {},
    "none": {},
}
MIN_EVENTS = 10


class PeakModel:
    """Cumulative expected counts at the bin edges for a signal and a background shape."""

    def __init__(
        self, signal: str, background: str, edges: np.ndarray, template: np.ndarray | None = None, free_tails: bool = False
    ):
        if signal not in SIGNAL_CDFS:
            raise ValueError(f"unknown signal model {signal!r} (choose: {', '.join(SIGNAL_CDFS)})")
        if background not in BACKGROUND_PARAMS:
            raise ValueError(f"unknown background model {background!r}")
        if background == "template" and template is None:
            raise ValueError("background 'template' needs the template histogram")
        self.signal, self.background, self.edges = signal, background, np.asarray(edges, dtype=np.float64)
        self.template_cdf = template_cdf(template) if template is not None else None
        self.shape_names = list(BACKGROUND_PARAMS[background])
        self.tail_names = list(SIGNAL_TAILS[signal]) if free_tails else []
        self.names = ["s", "mean", "sigma", *self.tail_names, *(["b"] if background != "none" else []), *self.shape_names]

    def background_cdf(self, shape: Sequence[float]) -> np.ndarray:
        if self.background == "dijet":
            return dijet_cdf(self.edges, *shape)
        if self.background == "exponential":
            return expo_poly_cdf(self.edges, shape[0], 0.0)
        if self.background == "expo_poly":
            return expo_poly_cdf(self.edges, *shape)
        if self.background == "template":
            assert self.template_cdf is not None
            return self.template_cdf
        return np.zeros_like(self.edges)

    def cumulative(self, xe: np.ndarray, *par: float) -> np.ndarray:
        """Expected events below each edge (the 'scaled cdf' iminuit integrates)."""
        n_tails = len(self.tail_names)
        s, mean, sigma = par[:3]
        sig = SIGNAL_CDFS[self.signal](self.edges, mean, sigma, *par[3 : 3 + n_tails])
        total = s * (sig - sig[0])
        if self.background != "none":
            total = total + par[3 + n_tails] * self.background_cdf(par[4 + n_tails :])
        return np.nan_to_num(total, nan=0.0)

    def expected(self, values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Per-bin (total, background) expected counts for fitted parameter values."""
        total = np.diff(self.cumulative(self.edges, *values))
        background = np.diff(self.cumulative(self.edges, 0.0, *values[1:]))
        return total, background


@dataclass
class FitResult:
    """A fit's outcome, JSON-serialisable with :meth:`to_dict`."""

    observable: str | None
    n: int
    model: str
    background: str
    valid: bool = False
    accurate: bool = False
    reason: str | None = None
    mean: float | None = None
    mean_error: float | None = None
    mean_error_low: float | None = None
    """MINOS lower error (negative number), HESSE's when MINOS fails."""
    mean_error_high: float | None = None
    sigma: float | None = None
    sigma_error: float | None = None
    signal_yield: float | None = None
    signal_yield_error: float | None = None
    background_yield: float | None = None
    params: dict[str, float] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    chi2: float | None = None
    ndf: int | None = None
    chi2_ndf: float | None = None
    p_value: float | None = None
    significance: float | None = None
    fit_range: tuple[float, float] | None = None
    edges: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [clean(v) for v in value]
            return value

        return clean(asdict(self))

    def expected_counts(self, edges: np.ndarray | None = None, template: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(total, background) expected counts per bin of the fit range (for plots and pulls)."""
        return expected_from_dict(self.to_dict(), template)


def expected_from_dict(fit: dict[str, Any], template: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(total, background) expected counts per bin of a fit stored as :meth:`FitResult.to_dict`.

    ``template`` is the background template on the fit's bins (only for ``template`` fits).
    """
    model = PeakModel(fit["model"], fit["background"], np.asarray(fit["edges"]), template, "beta_l" in fit["params"])
    return model.expected([fit["params"][name] for name in model.names])


def _restrict(edges: np.ndarray, counts: np.ndarray, template: np.ndarray | None, fit_range: tuple[float, float] | None):
    if fit_range is None:
        return edges, counts, template
    lo, hi = fit_range
    keep = (edges[:-1] >= lo - 1e-9) & (edges[1:] <= hi + 1e-9)
    index = np.flatnonzero(keep)
    if len(index) == 0:
        return edges[:1], counts[:0], None if template is None else template[:0]
    return edges[index[0] : index[-1] + 2], counts[keep], None if template is None else template[keep]


def _minimize(cost: ExtendedBinnedNLL, start: dict[str, float], limits: dict[str, tuple[float, float]], fixed: Sequence[str] = ()) -> Minuit:
    m = Minuit(cost, **start)
    for name, limit in limits.items():
        m.limits[name] = limit
    for name in fixed:
        m.fixed[name] = True
    m.migrad(ncall=20_000)
    return m


def _excess_candidates(counts: np.ndarray, expected: np.ndarray, n_candidates: int) -> list[tuple[int, int, int]]:
    """Local maxima of the smoothed excess over the background: (peak bin, left bin, right bin)."""
    z = (counts - expected) / np.sqrt(expected + 1.0)
    smooth = np.convolve(z, np.ones(3) / 3.0, mode="same")
    order = np.argsort(-smooth, kind="stable")
    chosen: list[tuple[int, int, int]] = []
    for peak in order:
        if smooth[peak] <= 0 or len(chosen) >= n_candidates:
            break
        if any(abs(int(peak) - c[0]) <= 2 for c in chosen):
            continue
        left = right = int(peak)
        while left > 0 and smooth[left - 1] > 0.25 * smooth[peak]:
            left -= 1
        while right < len(z) - 1 and smooth[right + 1] > 0.25 * smooth[peak]:
            right += 1
        chosen.append((int(peak), left, right))
    return chosen


def fit_resonance(
    edges: np.ndarray,
    counts: np.ndarray,
    *,
    signal: str = "crystal_ball",
    background: str = "dijet",
    template: np.ndarray | None = None,
    observable: str | None = None,
    fit_range: tuple[float, float] | None = None,
    n_starts: int = 5,
    minos: bool = True,
    free_tails: bool = False,
    seed: int = 0,
) -> FitResult:
    """Fit a resonance peak on a background to a histogram; never raises for a failed fit.

    Args:
        edges, counts: the histogram (``len(edges) == len(counts) + 1``).
        signal: ``crystal_ball`` or ``double_crystal_ball``.
        background: ``dijet``, ``exponential``, ``expo_poly``, ``template`` or ``none``.
        template: reference counts on the same bins (for ``template``).
        observable: name recorded in the result.
        fit_range: restrict the fit to bins inside ``(lo, hi)``.
        n_starts: number of candidate peaks tried.
        minos: compute MINOS errors of the mean.
        free_tails: fit the Crystal Ball tail parameters too (needs a few hundred signal
            events; otherwise they stay at generic values).
        seed: unused by the deterministic start-value search; kept for API stability.
    """
    del seed
    edges = np.asarray(edges, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    template = None if template is None else np.asarray(template, dtype=np.float64)
    edges, counts, template = _restrict(edges, counts, template, fit_range)
    n = int(round(counts.sum()))
    result = FitResult(observable=observable, n=n, model=signal, background=background, edges=edges.tolist())
    if len(counts) == 0:
        result.reason = "no bins in the fit range"
        return result
    result.fit_range = (float(edges[0]), float(edges[-1]))
    if n < MIN_EVENTS:
        result.reason = f"only {n} events in the fit range (need {MIN_EVENTS})"
        return result
    if template is not None and background == "template" and template.sum() <= 0:
        result.reason = "empty background template"
        return result
    model = PeakModel(signal, background, edges, template, free_tails)
    n_free = len(model.names)
    if np.count_nonzero(counts) < n_free + 1:
        result.reason = f"only {np.count_nonzero(counts)} non-empty bins for {n_free} parameters"
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _fit(model, edges, counts, result, n_starts, minos)


def _fit(model: PeakModel, edges: np.ndarray, counts: np.ndarray, result: FitResult, n_starts: int, minos: bool) -> FitResult:
    n = float(counts.sum())
    width = float(edges[-1] - edges[0])
    bin_width = float(np.min(np.diff(edges)))
    cost = ExtendedBinnedNLL(counts, edges, model.cumulative, name=model.names)
    shape_spec = BACKGROUND_PARAMS[model.background]
    limits: dict[str, tuple[float, float]] = {
        "s": (0.0, 2.0 * n),
        "mean": (float(edges[0]), float(edges[-1])),
        "sigma": (bin_width, 0.25 * width),
        **{name: (CB_BETA_LIMITS if name.startswith("beta") else CB_M_LIMITS) for name in model.tail_names},
        **({"b": (0.0, 2.0 * n + 10.0)} if model.background != "none" else {}),
        **{name: spec[0] for name, spec in shape_spec.items()},
    }
    centre = 0.5 * (edges[0] + edges[-1])
    # 1. background alone, from every combination of candidate shape starts
    background_only: Minuit | None = None
    if model.background != "none":
        for shape in np.array(np.meshgrid(*[spec[1] for spec in shape_spec.values()])).T.reshape(-1, len(shape_spec)) if shape_spec else [[]]:
            tails = {name: SIGNAL_TAILS[model.signal][name] for name in model.tail_names}
            start = {"s": 0.0, "mean": centre, "sigma": 0.05 * width, **tails, "b": n, **dict(zip(model.shape_names, shape))}
            m = _minimize(cost, start, limits, fixed=("s", "mean", "sigma", *model.tail_names))
            if m.valid and (background_only is None or m.fval < background_only.fval):
                background_only = m
        if background_only is None:
            result.reason = "the background-only fit did not converge"
            return result
        expected_b = np.diff(model.cumulative(edges, *background_only.values))
    else:
        expected_b = np.full_like(counts, 0.0)
    # 2. signal + background from each candidate excess
    candidates = _excess_candidates(counts, expected_b, n_starts) or [(int(np.argmax(counts)), 0, len(counts) - 1)]
    best: Minuit | None = None
    for peak, left, right in candidates:
        centres = 0.5 * (edges[:-1] + edges[1:])
        excess = np.clip(counts[left : right + 1] - expected_b[left : right + 1], 0.0, None)
        s0 = max(float(excess.sum()), 5.0)
        sigma0 = float(np.clip((edges[right + 1] - edges[left]) / 4.0, limits["sigma"][0] * 1.01, limits["sigma"][1] * 0.99))
        start = {"s": min(s0, 0.9 * n), "mean": float(centres[peak]), "sigma": sigma0}
        start.update({name: SIGNAL_TAILS[model.signal][name] for name in model.tail_names})
        if model.background != "none":
            assert background_only is not None
            start.update({"b": max(n - start["s"], 1.0), **{k: background_only.values[k] for k in model.shape_names}})
        m = _minimize(cost, start, limits)
        if m.valid and (best is None or m.fval < best.fval):
            best = m
    if best is None:
        result.reason = "no valid signal+background minimum"
        return result
    best.hesse()
    if not (best.valid and best.accurate):  # HESSE can move the minimum: polish once more
        best.migrad(ncall=20_000)
        best.hesse()
    result.valid, result.reason = _judge(best, {k: float(best.values[k]) for k in model.names}, limits, n)
    result.accurate = bool(best.accurate)
    values = {name: float(best.values[name]) for name in model.names}
    errors = {name: float(best.errors[name]) for name in model.names}
    result.params, result.errors = values, errors
    result.mean, result.mean_error = values["mean"], errors["mean"]
    result.mean_error_low, result.mean_error_high = -errors["mean"], errors["mean"]
    if minos:
        try:
            best.minos("mean")
            merror = best.merrors["mean"]
            if merror.is_valid:
                result.mean_error_low, result.mean_error_high = float(merror.lower), float(merror.upper)
        except RuntimeError:
            pass
    result.sigma, result.sigma_error = values["sigma"], errors["sigma"]
    result.signal_yield, result.signal_yield_error = values["s"], errors["s"]
    result.background_yield = values.get("b", 0.0)
    total, _ = model.expected(list(values.values()))
    result.chi2, result.ndf = _baker_cousins(counts, total), max(len(counts) - sum(not best.fixed[k] for k in model.names), 1)
    result.chi2_ndf = result.chi2 / result.ndf
    result.p_value = float(stats.chi2.sf(result.chi2, result.ndf))
    q0 = max(background_only.fval - best.fval, 0.0) if background_only is not None else 2.0 * values["s"]
    result.significance = math.sqrt(q0) if values["s"] > 0 else 0.0
    return result


def _baker_cousins(counts: np.ndarray, expected: np.ndarray) -> float:
    """The Poisson likelihood-ratio chi2 of Baker and Cousins (good for small counts)."""
    mu = np.clip(expected, 1e-12, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = np.where(counts > 0, counts * np.log(counts / mu), 0.0)
    return float(2.0 * np.sum(mu - counts + log_term))


def _judge(m: Minuit, values: dict[str, float], limits: dict[str, tuple[float, float]], n: float) -> tuple[bool, str | None]:
    """A fit measures a peak only if MINUIT converged and nothing sits on a limit."""
    if not (m.valid and m.accurate):
        return False, "MINUIT did not converge to an accurate minimum"
    lo, hi = limits["mean"]
    if min(values["mean"] - lo, hi - values["mean"]) < 0.01 * (hi - lo):
        return False, "the peak sits at the edge of the fit range"
    s_lo, s_hi = limits["sigma"]
    if values["sigma"] <= s_lo * 1.001 or values["sigma"] >= s_hi * 0.999:
        return False, "the peak width sits at its limit"
    if values["s"] < 1e-3 * n + 0.5:
        return False, "no signal: the fitted yield is zero"
    return True, None
