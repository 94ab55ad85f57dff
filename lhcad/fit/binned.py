"""Signal + background extended binned likelihood fits of a resonance peak, started from the data.

The model is ``s * signal + b * background``, both normalised on the fit range, integrated over
each bin (CDF differences) and compared to the counts with ``iminuit.cost.ExtendedBinnedNLL``.

No start value is written by hand:

1. The background alone is fitted: a vectorised Poisson regression of the log-linear shape
   (:class:`lhcad.fit.shapes.PoissonRegression`) gives its maximum, MIGRAD polishes it. MINUIT
   then sees the shape parameters in coordinates whitened around that fit (the dijet
   parameters are correlated beyond 0.99, which MIGRAD and HESSE handle badly); the results
   are reported in the shape's own parameters (``p1, p2, p3``), errors propagated.
2. Windows of 1 to 11 bins are ranked by their excess over that background; each of the
   ``n_starts`` best non-overlapping excesses starts a peak (position: excess-weighted
   centroid; width: its spread; yield: its size). Random peaks (seeded) fill up the starts
   when the data show fewer excesses.
3. Each start is fitted with the background shape frozen, then each distinct minimum reached
   with everything free (the background no longer allowed to peak under the signal, below; a
   frozen shape that does is replaced by the background fitted to the bins outside the peak's
   window); the lowest minimum wins. HESSE gives the covariance, MINOS the asymmetric interval
   of the mean.
4. Free Crystal Ball tail parameters (and the ``asymmetry``) that end at one of their limits
   are fixed there and the fit is repeated, until none is (:meth:`_PeakFit.fix_at_limits`): a
   parameter at its limit has no error, and MINUIT's covariance with it is wrong (it gave
   signal-yield errors of 2 on 4646 events). So are tail parameters the data do not measure
   (error beyond half their range: the power of a tail that starts 5 widths out), fixed where
   they are: a flat direction breaks HESSE too. The fit is then honest, with fewer free
   parameters (``fixed_tails`` lists them, ``ndf`` counts them as not fitted).

Conventions:

- the signal yield ``s`` is limited to ``s >= 0``: a peak is an excess, the expected count stays
  positive in every bin (so the Poisson likelihood is always defined), and the likelihood-ratio
  test is one-sided anyway; ``b >= 0`` too;
- ``mean`` is limited to the fit range and ``sigma`` to [half the median bin width, 30% of the
  range]; a minimum less than :data:`EDGE_SIGMAS` ``sigma`` from a range edge (a peak the
  range cuts), or with ``sigma`` at a limit, is not a measured peak: the result is
  ``valid=False`` with the reason;
- ``relative_width=(lo, hi)`` bounds ``sigma / mean``, the peak's relative resolution (a soft
  wall, :data:`WIDTH_PENALTY`): a resonance's jet-mass peak is neither a spike narrower than the
  detector resolution (a fluctuation the core can chase while free tails take the peak) nor
  wider than a fraction of its mass (a bump that absorbs what the smooth background misses in
  a sculpted spectrum). A minimum at a bound is not a measured peak;
- ``asymmetry_constraint=w`` adds ``(asymmetry / w)^2`` to the minimised chi2 for
  ``asymmetric_crystal_ball``: iminuit's ``NormalConstraint("asymmetry", 0, w)`` added to the
  likelihood cost (a Gaussian constraint of width ``w``). The mode of a flat-topped peak
  trades off against its asymmetry, and a few thousand events or fewer pin neither; the
  constraint lets the core lean only as far as the data insist;
- ``mean_error_low`` is negative (iminuit's sign convention: ``mean + mean_error_low`` is the
  lower end of the interval), ``mean_error_high`` positive; both are HESSE's ``-+mean_error``
  when MINOS fails (``minos_valid=False``);
- the ``dijet`` background must fall: a rise of ``ln B`` anywhere costs a penalty (see
  :data:`FALLING_PENALTY`), 0 for falling shapes;
- ``chi2`` is the Baker-Cousins likelihood-ratio chi2 ``2 sum(mu - n + n ln(n/mu))`` of the
  fitted expectation (the value of ``ExtendedBinnedNLL`` at the minimum, without the penalty),
  valid for small counts where Pearson's is not; ``ndf`` = bins - free parameters; ``p_value`` its chi2 survival
  probability (approximate when most bins hold a few events);
- ``significance`` is the local, one-sided ``sqrt(q0)``, ``q0 = -2 ln(L_B / L_SB)`` from a
  background-only fit of the same histogram (Wilks, one signal parameter), 0 when the fitted
  signal yield is 0, NaN (None in JSON) without a background model.

Validity. A fit is ``valid`` only when it measures a peak and its errors can be trusted; otherwise
``reason`` says why in words and ``reason_code`` in one machine-readable word (None when valid):

- ``not_converged``: MIGRAD did not converge (EDM above its goal, call limit);
- ``covariance_failed``, ``covariance_not_posdef``, ``covariance_inaccurate``: HESSE failed,
  or its matrix was not positive definite (or MINUIT forced it to be), or is not accurate;
- ``no_signal``: the signal yield is within half its error of its limit 0 (a legitimate "no
  signal" result: ``significance`` 0, no mass);
- ``peak_at_edge``, ``width_at_limit``: the peak is cut by the range, or its width pinned
  (see above);
- ``background_peaks_under_signal``: the background has a local maximum inside the signal
  window, ``mean +- BUMP_SIGMAS sigma`` (its ``ln B`` rises and falls there by more than
  :data:`BUMP_TOLERANCE`: ``background_bump``). A flexible background (``power_expo``,
  ``expo_poly``) can otherwise take the resonance itself while the "signal" fits something
  else. The fits with free shape therefore add :data:`BUMP_PENALTY` ``* bump^3`` to the cost:
  a background that cannot fake the signal by construction; the check catches what the
  penalty could not hold;
- ``background_is_a_peak``: the background has a local maximum inside the range as narrow as a
  resonance: its local width there (``1 / sqrt(-d^2 ln B / dm^2)``, ``background_peak`` =
  ``[position, width / position]``) below the widest peak ``relative_width`` allows, and it
  holds more events than the signal yield's Poisson floor ``sqrt(s)`` (11 background events
  beside 984 signal events cannot fake the peak, whatever their shape). The
  background then is the resonance and the "signal" fits a shoulder beside it (a substructure
  selection's heavy-jet mass, 750 signal events at 490 GeV, came out as a background peaking at
  487 GeV, 12% wide, and a "signal" of 130 events at 676 GeV, chi2/ndf 1.08). When the
  background-only fit is such a peak, a start is added there, and minima with such a
  background lose to one without;
- ``parameter_at_limit``: a free parameter still within half its error of a limit (iminuit's
  ``has_parameters_at_limit``; ``at_limit`` lists them) after the tails were fixed;
- ``yield_error_below_poisson``: the signal yield's error is below its Poisson floor
  ``signal_yield_floor = sqrt(s)``. At an extended-likelihood minimum the information on ``s``
  is at most ``1/s`` (the events' share of signal is at most 1), so any smaller error comes
  from a broken covariance: the fit is invalid rather than its error raised to the floor, since
  the same matrix gives the mean's error;
- ``poor_fit``: the chi2 p-value (``p_value``) is below :data:`MIN_FIT_P`: the model does not
  describe the histogram, so neither its mean nor its errors can be trusted.

``fmin`` records MINUIT's flags of the final minimum (``is_valid``, ``has_accurate_covar``,
``has_posdef_covar``, ``has_made_posdef_covar``, ``hesse_failed``, ``is_above_max_edm``,
``has_reached_call_limit``, ``has_parameters_at_limit``); a valid fit has them all good.

Beyond values and errors. ``covariance`` and ``correlation`` are HESSE's matrices of the free
parameters ``free_params`` (rows and columns in that order), in the reported parameters (the
background shape's own ``p1, p2, p3``, not MINUIT's whitened ``c1, c2, c3``): the correlation
is HESSE's, the covariance that correlation times the recorded ``errors`` (so its diagonal is
``errors^2`` exactly; for a parameter near a limit MINUIT's error maps the interval through the
limit's transformation and differs slightly from the linearised matrix's). The record also
keeps what the fit saw, ``fitted_counts`` on ``edges`` (and ``template_variances`` for a
finite reference), and how it was set up (``free_tails``, ``relative_width``,
``asymmetry_constraint``): :meth:`FitResult.minuit` rebuilds iminuit's ``Minuit`` at the
minimum from the record alone, for MINOS on any parameter, profiles and contours.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from iminuit import Minuit
from iminuit.cost import CostSum, ExtendedBinnedNLL, NormalConstraint, Template
from iminuit.util import IMinuitWarning
from numpy.typing import ArrayLike
from scipy import stats

from lhcad.fit.shapes import (
    BACKGROUND_SHAPES,
    CB_TAIL_LIMITS,
    CB_TAILS,
    SIGNAL_SHAPES,
    PoissonRegression,
    template_cdf,
)

SIGNALS: tuple[str, ...] = tuple(SIGNAL_SHAPES)
BACKGROUNDS: tuple[str, ...] = (*BACKGROUND_SHAPES, "template", "none")
#: Fewer events than this in the fit range cannot measure a peak on a background.
MIN_EVENTS = 10
#: Window widths, in bins, scanned for excesses that start the peak.
CANDIDATE_WINDOWS = (1, 2, 3, 4, 6, 8, 11)
MIGRAD_CALLS = 5000
#: A peak must lie this many sigma inside the fit range to be measured.
EDGE_SIGMAS = 2.0
#: Minima closer than this (in -2 ln L) are the same minimum reached from different starts.
SAME_MINIMUM = 0.01
#: Falling backgrounds (``dijet``) must fall: every rise of ``ln B`` between neighbours of a grid of
#: ``FALLING_GRID`` points adds ``FALLING_PENALTY * rise^3`` to the cost (0 for falling
#: shapes; cubed so that the cost keeps continuous second derivatives for HESSE). Without it
#: the dijet function, flexible over a wide range, can bend over a real peak while the signal
#: shape eats the steep start of the spectrum. A rise of 1% per grid step costs 1 unit of
#: -2 ln L per step.
FALLING_GRID = 64
FALLING_PENALTY = 1e6
#: A ``sigma / mean`` beyond ``relative_width`` by ``d`` adds ``WIDTH_PENALTY * d^3`` (cubed, like
#: the fall constraint): 0.01 beyond costs 1 unit of -2 ln L. A minimum within
#: :data:`WIDTH_AT_BOUND` of a bound sits at it.
WIDTH_PENALTY = 1e6
WIDTH_AT_BOUND = 1e-3
#: The signal window in which the background must not peak: ``mean +- BUMP_SIGMAS * sigma``.
BUMP_SIGMAS = 2.0
#: Steps of the grid on the signal window on which the background's slope is measured.
BUMP_GRID = 32
#: A background that rises and falls in the signal window (``background_bump`` ``h``, in ``ln B``)
#: adds ``BUMP_PENALTY * h^3`` to the cost of fits with a free background shape: ``h = 0.01``
#: (1%) costs 1 unit of -2 ln L, 0.03 costs 27. It is built from cubes of the slopes, so it
#: keeps continuous second derivatives for HESSE (a penalty on the highest local maximum of a
#: grid does not: HESSE gave signal-yield errors of 2 on 877 events with one; nor does a
#: product of rise and fall, which forbids the faintest upturn of a steep background).
BUMP_PENALTY = 1e6
#: A minimum whose background bump exceeds this (in ``ln B``: 3%) has a background that peaks
#: (or dips) under the signal.
BUMP_TOLERANCE = 0.03
#: Points of the grid on which a background's highest maximum is looked for.
PEAK_GRID = 512
#: A free tail parameter closer to a limit than this fraction of its range (or half its error)
#: sits at the limit and is fixed there.
TAIL_AT_LIMIT = 0.01
#: A free tail parameter whose error exceeds this fraction of its limits' span is not measured (the
#: power of a tail that starts 5 widths out, say): it is fixed where it is.
TAIL_UNMEASURED = 0.5
#: A signal-yield error this much below ``sqrt(s)`` (relative) is below the Poisson floor; the
#: margin absorbs HESSE's numerical derivatives.
POISSON_MARGIN = 0.02
#: A minimum whose chi2 p-value lies below this does not describe the histogram: its mean and
#: errors measure a model that is not the data's (a sculpted, two-humped selected background
#: on a one-humped shape gave chi2/ndf 4.5 and a mass 8 GeV off its signal's peak).
MIN_FIT_P = 1e-3
#: MINUIT's flags of a minimum recorded in ``FitResult.fmin``.
FMIN_FLAGS = (
    "is_valid", "has_accurate_covar", "has_posdef_covar", "has_made_posdef_covar", "hesse_failed",
    "is_above_max_edm", "has_reached_call_limit", "has_parameters_at_limit",
)  # fmt: skip


def _check_models(signal: str, background: str, has_template: bool) -> None:
    """Raise ValueError for unknown model names or a template background without template."""
    if signal not in SIGNAL_SHAPES:
        raise ValueError(f"unknown signal model {signal!r} (choose from {', '.join(SIGNALS)})")
    if background not in BACKGROUNDS:
        raise ValueError(f"unknown background model {background!r} (choose from {', '.join(BACKGROUNDS)})")
    if background == "template" and not has_template:
        raise ValueError("the 'template' background needs the template histogram")


class PeakModel:
    """Expected counts below each of fixed points: ``s * S(x) + b * B(x)`` (both CDFs on [lo, hi]).

    The functional backgrounds' shape parameters ``theta`` can be handed to MINUIT in whitened
    coordinates ``c`` (``theta = theta0 + A c``, see
    :meth:`lhcad.fit.shapes.BinnedLogLinear.whitening`), named ``c1, c2, ...``; without a basis
    they are the shape's own parameters (``p1, p2, p3`` or ``a1, a2``).

    Args:
        signal: a key of :data:`lhcad.fit.shapes.SIGNAL_SHAPES`.
        background: one of :data:`BACKGROUNDS`.
        points: increasing points (bin edges) where the cumulative counts are evaluated.
        lo, hi: the normalisation (fit) range.
        template: ``(edges, counts)`` of the reference histogram, for ``template``.
        free_tails: whether the Crystal Ball tail parameters are fitted.
        shape_basis: ``(theta0, A)`` for whitened shape coordinates.
    """

    def __init__(
        self,
        signal: str,
        background: str,
        points: np.ndarray,
        lo: float,
        hi: float,
        template: tuple[np.ndarray, np.ndarray] | None = None,
        free_tails: bool = False,
        shape_basis: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        _check_models(signal, background, template is not None)
        self.signal, self.background, self.free_tails = signal, background, free_tails
        self.points = np.asarray(points, dtype=np.float64)
        self.lo, self.hi = float(lo), float(hi)
        self._signal_shape = SIGNAL_SHAPES[signal]
        self._range = np.array([self.lo, self.hi])
        self._points_span_range = self.points[0] == self.lo and self.points[-1] == self.hi
        self._clipped = np.clip(self.points, self.lo, self.hi)  # nothing is expected outside the range
        self.tail_names = self._signal_shape.tails
        self.binned = None
        self.template_counts: np.ndarray | None = None
        self._template_cdf = np.zeros_like(self.points)
        self.shape_names: tuple[str, ...] = ()
        self.theta_names: tuple[str, ...] = ()
        if background in BACKGROUND_SHAPES:
            family = BACKGROUND_SHAPES[background]
            self.binned = family.binned(self.points, self.lo, self.hi)
            self.theta_names = family.params
            n_shape = len(family.params)
            self.theta0, self.basis = shape_basis or (np.zeros(n_shape), np.eye(n_shape))
            self.shape_names = family.params if shape_basis is None else tuple(f"c{j + 1}" for j in range(n_shape))
        elif background == "template":
            assert template is not None
            self._template_cdf = template_cdf(self.points, *template, lo=self.lo, hi=self.hi)
            if len(template[0]) == len(self.points) and np.allclose(template[0], self.points):
                self.template_counts = np.asarray(template[1], dtype=np.float64)
        yields = ("b",) if background != "none" else ()
        self.names: tuple[str, ...] = ("s", "mean", "sigma", *self.tail_names, *yields, *self.shape_names)
        self._n_signal = 3 + len(self.tail_names)

    @property
    def n_signal_params(self) -> int:
        """Number of signal parameters (``s``, ``mean``, ``sigma`` and the tails), first in ``names``."""
        return self._n_signal

    @property
    def n_free(self) -> int:
        """Number of fitted parameters."""
        return len(self.names) - (0 if self.free_tails else len(self.tail_names))

    def theta(self, shape: Sequence[float]) -> np.ndarray:
        """The background's own shape parameters for MINUIT's shape coordinates."""
        return self.theta0 + self.basis @ np.asarray(shape, dtype=np.float64)

    def background_cdf(self, shape: Sequence[float]) -> np.ndarray:
        """The background CDF at the points."""
        return self._template_cdf if self.binned is None else self.binned.cdf(self.theta(shape))

    def signal_cdf(self, mean: float, sigma: float, *tails: float) -> np.ndarray:
        """The signal CDF at the points, truncated to and normalised on the fit range."""
        cdf = self._signal_shape.cdf(self._clipped, mean, sigma, *tails)
        at_range = cdf[[0, -1]] if self._points_span_range else self._signal_shape.cdf(self._range, mean, sigma, *tails)
        return (cdf - at_range[0]) / max(at_range[1] - at_range[0], 1e-300)

    def __call__(self, xe: np.ndarray, *par: float) -> np.ndarray:
        """Cumulative expected counts at the points (``xe`` is ignored: they are fixed)."""
        del xe
        k = self._n_signal
        total = par[0] * self.signal_cdf(*par[1:k])
        if self.background != "none":
            total = total + par[k] * self.background_cdf(par[k + 1 :])
        return total if np.isfinite(total).all() else np.nan_to_num(total, nan=0.0, posinf=0.0, neginf=0.0)

    def expected(self, values: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Per-interval ``(total, background)`` expected counts for parameter ``values``."""
        par = [values[name] for name in self.names]
        total = np.diff(self(self.points, *par))
        background = np.diff(self(self.points, 0.0, *par[1:]))
        return total, background


@dataclass
class FitResult:
    """The outcome of :func:`fit_resonance`; every field has a value even when the fit failed.

    Masses and widths are in the units of the histogram's axis (GeV). See the module docstring
    for the conventions (sign of ``mean_error_low``, chi2, significance). ``edges`` are the bins
    of the fit range and ``template`` the reference counts on them (``template`` fits only):
    with ``params`` they rebuild the fitted curves (:meth:`expected_counts`).

    Validity (module docstring): ``reason`` in words, ``reason_code`` in one word, both None for
    a valid fit; ``fmin`` MINUIT's flags of the final minimum (None when no fit ran);
    ``at_limit`` the free parameters within half an error of a limit; ``fixed_tails`` the
    tail parameters fixed for the final fit, at a limit or unmeasured (name -> value); ``background_bump``
    how far the background's ``ln B`` rises and falls in the signal window (0: no peak there);
    ``background_peak`` its highest local maximum inside the range, ``[position, local width /
    position]`` (None when it has none there);
    ``signal_yield_floor`` the Poisson floor ``sqrt(s)`` of the signal yield's error.

    Beyond values and errors (module docstring): ``free_params`` the fitted parameters, the rows
    and columns of ``covariance`` and ``correlation`` (None when HESSE gave no matrix); the
    fit's input, ``fitted_counts`` per bin of ``edges`` and ``template_variances`` (a finite
    reference template's sums of squared weights, None otherwise); its settings ``free_tails``,
    ``relative_width`` and ``asymmetry_constraint``. :meth:`minuit` rebuilds the ``Minuit``.

    Examples:
        >>> fit = run.fits()["top500", "mjj"]                          # doctest: +SKIP
        >>> fit.free_params, fit.correlation                  # names, HESSE's correlation matrix
        >>> m = fit.minuit()                                  # iminuit.Minuit at the minimum
        >>> m.minos("sigma").merrors["sigma"]                 # MINOS interval of the width
    """

    observable: str | None
    n: int
    model: str
    background: str
    valid: bool = False
    accurate: bool = False
    reason: str | None = None
    reason_code: str | None = None
    mean: float = math.nan
    mean_error: float = math.nan
    mean_error_low: float = math.nan
    mean_error_high: float = math.nan
    minos_valid: bool = False
    sigma: float = math.nan
    sigma_error: float = math.nan
    signal_yield: float = math.nan
    signal_yield_error: float = math.nan
    background_yield: float = math.nan
    params: dict[str, float] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    chi2: float = math.nan
    ndf: int = 0
    chi2_ndf: float = math.nan
    p_value: float = math.nan
    significance: float = math.nan
    fit_range: tuple[float, float] = (math.nan, math.nan)
    edges: list[float] = field(default_factory=list)
    template: list[float] | None = None
    fmin: dict[str, bool] | None = None
    at_limit: list[str] = field(default_factory=list)
    fixed_tails: dict[str, float] = field(default_factory=dict)
    background_bump: float = math.nan
    background_peak: list[float] | None = None
    signal_yield_floor: float = math.nan
    free_params: list[str] = field(default_factory=list)
    covariance: list[list[float]] | None = None
    correlation: list[list[float]] | None = None
    fitted_counts: list[float] = field(default_factory=list)
    template_variances: list[float] | None = None
    free_tails: bool = False
    relative_width: tuple[float, float] | None = None
    asymmetry_constraint: float | None = None

    def __post_init__(self) -> None:
        # results rebuilt from JSON may carry NaN for a missing code, matrix or setting
        if not isinstance(self.reason_code, str):
            self.reason_code = None
        for name in ("covariance", "correlation", "template_variances", "background_peak"):
            if not isinstance(getattr(self, name), (list, np.ndarray)):
                setattr(self, name, None)
        if isinstance(self.relative_width, (list, tuple, np.ndarray)):
            lo, hi = self.relative_width
            self.relative_width = (float(lo), float(hi))
        else:
            self.relative_width = None
        constraint = self.asymmetry_constraint
        if constraint is None or not math.isfinite(constraint):
            self.asymmetry_constraint = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (NaN and infinities become None, tuples lists)."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}

    def expected_counts(self, edges: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(total, background)`` expected counts per bin of ``edges`` (default: the fit's bins).

        ``edges`` may be finer than the fit's bins (smooth curves for plots); bins outside the
        fit range get 0. Raises ValueError when the fit has no parameters (it did not run).
        """
        return expected_from_dict(self.to_dict(), edges=edges)

    def minuit(self) -> Minuit:
        """iminuit's ``Minuit`` of this fit at its minimum, rebuilt from the record alone.

        The cost is the fit's (the binned likelihood of ``fitted_counts``, or the ``Template``
        cost of a finite reference, plus the asymmetry's ``NormalConstraint`` and lhcad's soft
        walls), MIGRAD starts from the recorded values with the same parameters fixed, then
        HESSE runs: the values agree with ``params`` within a small fraction of their errors.
        A new ``Minuit`` each call; ``m.minos("sigma")``, ``m.mnprofile``, ``m.draw_mncontour``
        work as on any other.

        Its parameters are MINUIT's: ``s, mean, sigma``, the tails, ``b``, and a functional
        background's shape in the whitened coordinates ``c1, c2, ...`` (``params`` reports the
        shape's own ``p1, p2, ...``; see :class:`PeakModel`).

        Raises:
            ValueError: the fit did not run (no parameters: ``reason`` says why) or was
                recorded without its counts.
        """
        if not self.params or len(self.fitted_counts) != len(self.edges) - 1:
            raise ValueError(f"the fit of {self.observable} cannot be rebuilt: {self.reason or 'no fitted counts recorded'}")
        edges = np.asarray(self.edges, dtype=np.float64)
        template = None if self.template is None else (edges, np.asarray(self.template, dtype=np.float64))
        model = PeakModel(self.model, self.background, edges, edges[0], edges[-1], template, self.free_tails)
        variances = None if self.template_variances is None else np.asarray(self.template_variances, dtype=np.float64)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", IMinuitWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = _PeakFit(
                model, np.asarray(self.fitted_counts, dtype=np.float64), 0, np.random.default_rng(0),
                self.relative_width, self.asymmetry_constraint, variances,
            )  # fmt: skip
            return fit.restore(self.params, tuple(self.fixed_tails))


def _json_value(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_value(v) for v in value]
    return value


def expected_from_dict(
    fit: dict[str, Any], template: ArrayLike | None = None, *, edges: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(total, background)`` expected counts per bin of a fit stored with :meth:`FitResult.to_dict`.

    Args:
        fit: the stored fit.
        template: reference counts on the fit's bins (``template`` fits; default: the ones stored).
        edges: bins to evaluate on (default: the fit's bins).
    """
    if not fit.get("params"):
        raise ValueError(f"the fit of {fit.get('observable')} has no parameters: {fit.get('reason')}")
    fit_edges = np.asarray(fit["edges"], dtype=np.float64)
    points = fit_edges if edges is None else np.asarray(edges, dtype=np.float64)
    stored = fit.get("template") if template is None else template
    reference = None if stored is None else (fit_edges, np.asarray(stored, dtype=np.float64))
    model = PeakModel(fit["model"], fit["background"], points, fit_edges[0], fit_edges[-1], reference)
    values = {**CB_TAILS, **{k: v for k, v in fit["params"].items() if v is not None}}
    return model.expected(values)


def fit_resonance(
    edges: ArrayLike,
    counts: ArrayLike,
    *,
    signal: str = "crystal_ball",
    background: str = "dijet",
    template: ArrayLike | None = None,
    template_variances: ArrayLike | None = None,
    observable: str | None = None,
    fit_range: tuple[float, float] | None = None,
    n_starts: int = 5,
    minos: bool = True,
    free_tails: bool = False,
    relative_width: tuple[float, float] | None = None,
    asymmetry_constraint: float | None = None,
    seed: int = 0,
) -> FitResult:
    """Fit a resonance peak on a background to a histogram; failures are reported, never raised.

    Args:
        edges: bin edges, increasing.
        counts: counts per bin (``len(edges) - 1``).
        signal: ``crystal_ball``, ``double_crystal_ball`` or ``asymmetric_crystal_ball``.
        background: ``dijet``, ``exponential``, ``expo_poly``, ``power_expo``, ``template`` or ``none``.
        template: reference counts on the same bins (``template`` background only).
        template_variances: the template's sums of squared weights per bin: the template is
            then a finite (weighted) sample whose statistical uncertainty the fit takes into
            account (iminuit's ``Template`` cost, Dembinski-Abdelmotteleb method); None: the
            template is exact (the full dataset's histogram).
        observable: name recorded in the result.
        fit_range: fit only the bins inside ``(lo, hi)``.
        n_starts: how many starting peaks (data excesses, then random ones) are fitted.
        minos: compute the MINOS interval of the mean.
        free_tails: fit the Crystal Ball tail parameters too (they need several hundred signal
            events; otherwise they stay at :data:`lhcad.fit.shapes.CB_TAILS`).
        relative_width: ``(lo, hi)`` bounds of ``sigma / mean`` (None: only ``sigma``'s limits).
        asymmetry_constraint: width of the Gaussian constraint on the ``asymmetry`` of
            ``asymmetric_crystal_ball`` (None: unconstrained; other shapes have no asymmetry).
        seed: seeds the random starts used when the data show fewer excesses than ``n_starts``.

    Returns:
        The fit result; ``valid`` is False, with ``reason``, when it does not measure a peak.

    Raises:
        ValueError: for an unknown model name, a missing template or mismatched array lengths
            (programming errors, not fit failures).
    """
    _check_models(signal, background, template is not None)
    edges = np.asarray(edges, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    if edges.ndim != 1 or counts.shape != (len(edges) - 1,):
        raise ValueError(f"{len(edges)} edges do not bound {counts.shape} counts")
    if template is not None:
        template = np.asarray(template, dtype=np.float64)
        if template.shape != counts.shape:
            raise ValueError(f"template of shape {template.shape} for {counts.shape} counts")
        if template_variances is not None:
            template = np.stack([template, np.asarray(template_variances, dtype=np.float64)], axis=-1)
    edges, counts, template = _restrict(edges, counts, template, fit_range)
    variances = None if template is None or template.ndim == 1 else template[:, 1]
    template = template if template is None or template.ndim == 1 else template[:, 0]
    variances = None if background != "template" else variances
    setup: dict[str, Any] = {
        "free_tails": free_tails,
        "relative_width": None if relative_width is None else (float(relative_width[0]), float(relative_width[1])),
        "asymmetry_constraint": asymmetry_constraint if "asymmetry" in SIGNAL_SHAPES[signal].tails else None,
    }
    if len(counts) == 0:
        return FitResult(
            observable=observable, n=0, model=signal, background=background, reason="no bins in the fit range",
            reason_code="no_bins", **setup,
        )  # fmt: skip
    reference = None if template is None or background != "template" else (edges, template)
    model = PeakModel(signal, background, edges, edges[0], edges[-1], reference, free_tails)
    result = FitResult(
        observable=observable,
        n=int(round(float(np.sum(counts)))) if np.all(np.isfinite(counts)) else 0,
        model=signal,
        background=background,
        edges=edges.tolist(),
        template=None if reference is None else template.tolist(),
        fitted_counts=counts.tolist(),
        template_variances=None if variances is None else variances.tolist(),
        **setup,
    )
    unfit = _unfit_reason(counts, template, background, model.n_free)
    if unfit is not None:
        result.reason_code, result.reason = unfit
        return result
    result.fit_range = (float(edges[0]), float(edges[-1]))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", IMinuitWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = _PeakFit(model, counts, n_starts, np.random.default_rng(seed), relative_width, asymmetry_constraint, variances)
        return fit.run(result, minos)


def _restrict(
    edges: np.ndarray, counts: np.ndarray, template: np.ndarray | None, fit_range: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The bins lying inside ``fit_range`` (all when None)."""
    if fit_range is None:
        return edges, counts, template
    width = edges[-1] - edges[0]
    inside = (edges[:-1] >= fit_range[0] - 1e-9 * width) & (edges[1:] <= fit_range[1] + 1e-9 * width)
    index = np.flatnonzero(inside)
    if len(index) == 0:
        return edges[:1], counts[:0], None if template is None else template[:0]
    keep = slice(index[0], index[-1] + 1)
    return edges[index[0] : index[-1] + 2], counts[keep], None if template is None else template[keep]


def _unfit_reason(
    counts: np.ndarray, template: np.ndarray | None, background: str, n_free: int
) -> tuple[str, str] | None:
    """Why the histogram cannot be fitted at all, ``(reason_code, reason)``, or None."""
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        return "bad_counts", "the histogram has negative or non-finite counts"
    n = float(counts.sum())
    if n < MIN_EVENTS:
        return "too_few_events", f"only {n:g} events in the fit range (at least {MIN_EVENTS} needed)"
    if background == "template":
        assert template is not None
        if not np.all(np.isfinite(template)) or np.clip(template, 0.0, None).sum() <= 0:
            return "empty_template", "the background template is empty on the fit range"
    filled = int(np.count_nonzero(counts))
    if filled <= n_free:
        return "too_few_bins", f"only {filled} non-empty bins for {n_free} free parameters"
    return None


def _minimize_carefully(m: Minuit) -> Minuit:
    """MIGRAD and HESSE, and again with MINUIT's most careful strategy (2) when the minimum is
    not valid or its covariance not accurate."""
    m.migrad(ncall=MIGRAD_CALLS)
    m.hesse()
    if not (m.valid and m.accurate):
        m.strategy = 2
        m.migrad(ncall=MIGRAD_CALLS)
        m.hesse()
    return m


def _at_limit(m: Minuit) -> list[str]:
    """Free parameters within half their error of a limit (iminuit's ``has_parameters_at_limit``)."""
    names = []
    for param in m.params:
        if param.is_fixed or not (param.has_lower_limit or param.has_upper_limit):
            continue
        lower = param.value - param.lower_limit if param.has_lower_limit else math.inf
        upper = param.upper_limit - param.value if param.has_upper_limit else math.inf
        if min(lower, upper) < 0.5 * param.error:
            names.append(param.name)
    return names


def _same_minimum(a: Minuit, b: Minuit) -> bool:
    """Whether two fits reached the same minimum (same cost, peaks within a tenth of a width)."""
    close = abs(a.values["mean"] - b.values["mean"]) < 0.1 * min(a.values["sigma"], b.values["sigma"])
    return close and abs(a.fval - b.fval) < 10 * SAME_MINIMUM


class _SignalComponent:
    """The signal part of a :class:`PeakModel` as a component of iminuit's ``Template`` cost:
    ``s`` times its CDF at the model's points (``_parameters`` names the arguments, the bin
    edges first, for iminuit's ``describe``)."""

    def __init__(self, model: PeakModel):
        self.model = model
        self._parameters: dict[str, None] = dict.fromkeys(("xe", *model.names[: model.n_signal_params]))

    def __call__(self, xe: np.ndarray, *par: float) -> np.ndarray:
        del xe  # the model's points are the cost's edges
        return par[0] * self.model.signal_cdf(*par[1:])


class _PeakFit:
    """One histogram's fits: background only, then signal + background from data-driven starts."""

    def __init__(
        self,
        model: PeakModel,
        counts: np.ndarray,
        n_starts: int,
        rng: np.random.Generator,
        relative_width: tuple[float, float] | None = None,
        asymmetry_constraint: float | None = None,
        template_variances: np.ndarray | None = None,
    ):
        self.counts, self.n_starts, self.rng, self.relative_width = counts, n_starts, rng, relative_width
        self.n = float(counts.sum())
        self.edges = model.points
        self.centres = 0.5 * (self.edges[1:] + self.edges[:-1])
        self.regression: PoissonRegression | None = None
        if model.binned is not None:
            # the Poisson regression is the background-only MLE up to the bin-integration rule:
            # MINUIT starts there, in coordinates whitened around it
            regression = self.regression = PoissonRegression(BACKGROUND_SHAPES[model.background], self.edges)
            theta0 = np.nan_to_num(regression.theta(regression.fit(counts)[0])[0])
            basis = model.binned.whitening(theta0, self.n)
            whitened = (theta0, basis)
            model = PeakModel(model.signal, model.background, self.edges, model.lo, model.hi, None, model.free_tails, whitened)
        self.model = model
        #: the binned likelihood alone: its value at a minimum is the fit's chi2
        self.likelihood: ExtendedBinnedNLL | Template = ExtendedBinnedNLL(counts, self.edges, model, name=model.names)
        if template_variances is not None and model.template_counts is not None:
            # a finite reference sample: its per-bin uncertainty enters the likelihood
            weighted = np.stack([model.template_counts, template_variances], axis=-1)
            self.likelihood = Template(counts, self.edges, (_SignalComponent(model), weighted), name=model.names, method="da")
        #: the likelihood and the asymmetry's Gaussian constraint (iminuit cost objects; the soft
        #: walls of :meth:`fcn` are added to it)
        self.cost: ExtendedBinnedNLL | Template | CostSum = self.likelihood
        if asymmetry_constraint is not None and "asymmetry" in model.names:
            self.cost = self.likelihood + NormalConstraint("asymmetry", 0.0, asymmetry_constraint)
        self._shape_slice = slice(len(model.names) - len(model.shape_names), len(model.names))
        self._grid_features: np.ndarray | None = None
        #: whether the cost holds the background-bump penalty (fits with a free shape only: a
        #: frozen shape cannot move its bump away, the peak would flee it instead)
        self.bump_constrained = False
        if model.binned is not None and BACKGROUND_SHAPES[model.background].falling:
            grid = np.linspace(model.lo, model.hi, FALLING_GRID)
            self._grid_features = BACKGROUND_SHAPES[model.background].features(grid, model.lo, model.hi)
        self.limits: dict[str, tuple[float | None, float | None]] = {
            "s": (0.0, None),
            "mean": (model.lo, model.hi),
            "sigma": (0.5 * float(np.median(np.diff(self.edges))), 0.3 * (model.hi - model.lo)),
            "b": (0.0, None),
            **{name: CB_TAIL_LIMITS[name] for name in model.tail_names},
        }

    def rise_penalty(self, par: Sequence[float]) -> float:
        """:data:`FALLING_PENALTY` times the sum of the cubed rises of ``ln B(x)`` on a grid."""
        if self._grid_features is None:
            return 0.0
        log_b = self._grid_features @ self.model.theta(par[self._shape_slice])
        return FALLING_PENALTY * float(np.sum(np.clip(np.diff(log_b), 0.0, None) ** 3))

    def width_excess(self, mean: float, sigma: float) -> float:
        """How far ``sigma / mean`` lies outside ``relative_width`` (0 inside, or without bounds)."""
        if self.relative_width is None:
            return 0.0
        lo, hi = self.relative_width
        ratio = sigma / max(mean, 1e-12)
        return max(ratio - hi, lo - ratio, 0.0)

    def bump_moments(self, par: Sequence[float]) -> tuple[float, float]:
        """Mean cubed rise and mean cubed fall of ``ln B`` in the signal window, ``(R, F)``.

        The window ``mean +- BUMP_SIGMAS sigma`` (clipped to the range) is cut into
        :data:`BUMP_GRID` steps; ``slope`` is the change of ``ln B`` per half window on each;
        ``R`` is the mean of ``max(slope, 0)^3``, ``F`` of ``max(-slope, 0)^3``: a background
        monotone in the window has one of them 0. Cubes, like the other walls, keep the cost
        that holds them twice differentiable for HESSE. Both 0 without a functional background.
        """
        if self.model.binned is None:
            return 0.0, 0.0
        half = BUMP_SIGMAS * float(par[2])
        grid = np.clip(float(par[1]) + half * np.linspace(-1.0, 1.0, BUMP_GRID + 1), self.model.lo, self.model.hi)
        family = BACKGROUND_SHAPES[self.model.background]
        log_b = family.features(grid, self.model.lo, self.model.hi) @ self.model.theta(par[self._shape_slice])
        slope = np.diff(log_b) * (BUMP_GRID / 2)
        rise, fall = float(np.mean(np.clip(slope, 0.0, None) ** 3)), float(np.mean(np.clip(-slope, 0.0, None) ** 3))
        return (rise, fall) if math.isfinite(rise * fall) else (0.0, 0.0)

    def bump_cube(self, par: Sequence[float]) -> float:
        """``4 R F / (R + F)`` of :meth:`bump_moments`: the smaller of the cubed rise and fall
        (times 4), smoothly; ``h^3`` for a tent-shaped bump of height ``h`` centred in the
        window, 0 for a background monotone there, small for one that only turns over at an
        edge of the window."""
        rise, fall = self.bump_moments(par)
        return 4.0 * rise * fall / (rise + fall) if rise + fall > 0.0 else 0.0

    def background_bump(self, par: Sequence[float]) -> float:
        """How far the background's ``ln B`` rises and falls again in the signal window: the
        cube root of :meth:`bump_cube` (``h`` for a tent-shaped bump of height ``h``)."""
        return self.bump_cube(par) ** (1.0 / 3.0)

    def background_peak(self, par: Sequence[float]) -> tuple[float, float] | None:
        """The background's highest local maximum inside the range, ``(position, local width /
        position)``, the width ``1 / sqrt(-d^2 ln B / dm^2)`` there; None when ``ln B`` has
        none (monotone, or a dip), or without a functional background. A maximum at a range
        edge does not count: ``power_expo`` may rise towards zero mass."""
        if self.model.binned is None:
            return None
        lo, hi = self.model.lo, self.model.hi
        family = BACKGROUND_SHAPES[self.model.background]
        theta = self.model.theta(par[self._shape_slice])
        grid = np.linspace(lo, hi, PEAK_GRID + 1)
        log_b = family.features(grid, lo, hi) @ theta
        inner = np.flatnonzero((log_b[1:-1] > log_b[:-2]) & (log_b[1:-1] >= log_b[2:])) + 1
        if inner.size == 0:
            return None
        k = int(inner[np.argmax(log_b[inner])])
        if not np.all(np.isfinite(log_b[k - 1 : k + 2])):
            return None
        step = grid[1] - grid[0]
        curvature = (log_b[k + 1] - 2.0 * log_b[k] + log_b[k - 1]) / step**2
        if curvature >= 0.0:
            return None
        # the vertex of the parabola through the three points around the grid's maximum
        position = grid[k] - 0.5 * (log_b[k + 1] - log_b[k - 1]) / (step * curvature)
        return float(position), float(1.0 / math.sqrt(-curvature) / position)

    def resonant_background(self, par: Sequence[float]) -> tuple[float, float] | None:
        """The background's :meth:`background_peak` when it is as narrow as a resonance may be
        (relative local width below ``relative_width``'s upper bound), else None (always
        without width bounds)."""
        peak = self.background_peak(par)
        if self.relative_width is None or peak is None or peak[1] >= self.relative_width[1]:
            return None
        return peak

    def background_is_the_peak(self, m: Minuit) -> tuple[float, float] | None:
        """:meth:`resonant_background` of a minimum whose background holds more events than the
        signal yield's Poisson floor ``sqrt(s)`` (a background of a few events cannot fake a
        peak, whatever its shape), else None. The floor, not MINUIT's error, so that the choice
        among minima (before HESSE) and the verdict (after it) agree."""
        if "b" not in self.model.names or float(m.values["b"]) <= math.sqrt(max(float(m.values["s"]), 0.0)):
            return None
        return self.resonant_background(list(m.values))

    def fcn(self, *par: float) -> float:
        """The minimised function: :attr:`cost` (the Baker-Cousins chi2 of the binned likelihood
        and the asymmetry's ``NormalConstraint``) plus :meth:`rise_penalty`, the relative-width
        wall and, with ``bump_constrained``, the background-bump wall (errordef 1)."""
        walls = self.rise_penalty(par) + WIDTH_PENALTY * self.width_excess(par[1], par[2]) ** 3
        if self.bump_constrained:
            walls += BUMP_PENALTY * self.bump_cube(par)  # BUMP_PENALTY * background_bump^3
        return float(self.cost(*par)) + walls

    def minuit(self, start: dict[str, float], fixed: Sequence[str] = ()) -> Minuit:
        """A Minuit on the cost from ``start``, with limits, step sizes and fixed parameters."""
        m = Minuit(self.fcn, *(start[name] for name in self.model.names), name=self.model.names)
        m.errordef = Minuit.LEAST_SQUARES
        for name, limit in self.limits.items():
            if name in self.model.names:
                m.limits[name] = limit
        steps = {
            "s": max(np.sqrt(start["s"]), 1.0),
            "mean": start["sigma"] / 3,
            "sigma": start["sigma"] / 5,
            "b": max(np.sqrt(start.get("b", 0.0)), 1.0),
            **{name: 1.0 for name in self.model.shape_names},
            **{name: max(0.1 * abs(start[name]), 0.05) for name in self.model.tail_names},
        }
        for name, step in steps.items():
            if name in self.model.names:
                m.errors[name] = step
        for name in (*fixed, *(() if self.model.free_tails else self.model.tail_names)):
            m.fixed[name] = True
        return m

    def background_only(self) -> tuple[dict[str, float], float] | None:
        """Parameters and cost of the background-only fit (None without a background model)."""
        model = self.model
        if model.background == "none":
            return None
        sigma = self.limits["sigma"][1] / 3
        start = {"s": 0.0, "mean": 0.5 * (model.lo + model.hi), "sigma": sigma, **CB_TAILS, "b": self.n}
        start.update(dict.fromkeys(model.shape_names, 0.0))
        if not model.shape_names:  # template: the yield's MLE is the number of events
            return start, float(self.likelihood(*(start[name] for name in model.names)))
        m = self.minuit(start, fixed=("s", "mean", "sigma", *model.tail_names))
        m.migrad(ncall=MIGRAD_CALLS)
        # the cost without the signal's walls: the placeholder peak's width may lie outside
        # ``relative_width`` (its wall once added 125 to every jet-mass fit's q0, 11 sigma)
        values = list(m.values)
        return dict(zip(model.names, map(float, values))), float(self.likelihood(*values)) + self.rise_penalty(values)

    def starts(self, background: dict[str, float] | None) -> list[dict[str, float]]:
        """Starting points: the largest excesses over the background, then random peaks.

        Windows of :data:`CANDIDATE_WINDOWS` bins are ranked by ``excess / sqrt(expected +
        width)``; each of the best non-overlapping ones starts a peak at its excess-weighted
        centroid, with the excess's spread as width and its sum as yield.
        """
        model = self.model
        base = {**CB_TAILS, **(background or {})}
        expected = np.zeros_like(self.counts) if background is None else model.expected(base)[1]
        excess = self.counts - expected
        sigma_lo, sigma_hi = self.limits["sigma"]
        c_excess = np.concatenate([[0.0], np.cumsum(excess)])
        c_expected = np.concatenate([[0.0], np.cumsum(expected)])
        windows: list[tuple[float, int, int]] = []
        for width in CANDIDATE_WINDOWS:
            if width > len(self.counts) // 2:
                break
            z = (c_excess[width:] - c_excess[:-width]) / np.sqrt(c_expected[width:] - c_expected[:-width] + width)
            windows += [(float(z[a]), int(a), width) for a in np.argsort(-z)[:3] if z[a] > 0]
        starts: list[dict[str, float]] = []
        taken: list[tuple[int, int]] = []
        for _, first, width in sorted(windows, reverse=True):
            if len(starts) >= self.n_starts:
                break
            if any(first < hi and lo < first + width for lo, hi in taken):
                continue
            taken.append((first, first + width))
            lo, hi = max(first - width // 2 - 1, 0), min(first + width + width // 2 + 1, len(self.counts))
            weight = np.clip(excess[lo:hi], 0.0, None) + 1e-12
            mean = float(np.average(self.centres[lo:hi], weights=weight))
            spread = float(np.sqrt(np.average((self.centres[lo:hi] - mean) ** 2, weights=weight)))
            sigma = float(np.clip(spread, sigma_lo * 1.05, sigma_hi * 0.95))
            starts.append({**base, "s": float(weight.sum()), "mean": mean, "sigma": sigma})
        peak = self.resonant_background([base[name] for name in model.names]) if background is not None else None
        if peak is not None and self.relative_width is not None:
            # the background alone is a resonance-like peak: a signal there on the background
            # of the bins around it is the first start
            mean, sigma = peak[0], peak[0] * float(np.clip(peak[1], *self.relative_width))
            shape = self.sideband_shape(mean, sigma)
            if shape is not None:
                inside = np.abs(self.centres - mean) <= BUMP_SIGMAS * sigma
                start = {**base, **dict(zip(model.shape_names, map(float, shape)))}
                starts.insert(0, {**start, "s": 0.5 * float(self.counts[inside].sum()), "mean": mean, "sigma": sigma})
                starts = starts[: self.n_starts]
        while len(starts) < self.n_starts:
            mean = float(self.rng.uniform(model.lo, model.hi))
            sigma = float(np.exp(self.rng.uniform(np.log(sigma_lo * 1.05), np.log(sigma_hi * 0.5))))
            starts.append({**base, "s": 0.05 * self.n, "mean": mean, "sigma": sigma})
        for start in starts:
            if self.relative_width is not None:
                lo_w, hi_w = self.relative_width
                start["sigma"] = float(np.clip(start["sigma"], lo_w * 1.05 * start["mean"], hi_w * 0.95 * start["mean"]))
                start["sigma"] = float(np.clip(start["sigma"], sigma_lo * 1.05, sigma_hi * 0.95))
            start["s"] = float(np.clip(start["s"], 3.0, 0.9 * self.n))
            start["b"] = max(self.n - start["s"], 1.0) if model.background != "none" else 0.0
        return starts

    def signal_plus_background(self, starts: list[dict[str, float]]) -> list[Minuit]:
        """MIGRAD from every start with the background shape frozen, then, from each distinct
        minimum reached, with everything free."""
        frozen = []
        for start in starts:
            m = self.minuit(start, fixed=self.model.shape_names)
            m.migrad(ncall=MIGRAD_CALLS)
            frozen.append(m)
        if not self.model.shape_names:
            return frozen
        distinct: list[Minuit] = []
        for m in sorted(frozen, key=lambda m: m.fval):
            if not any(_same_minimum(m, other) for other in distinct):
                distinct.append(m)
        self.bump_constrained = True
        for m in distinct:
            if self.background_bump(list(m.values)) > 0.0:
                # the frozen background peaks under this signal: start from the background of
                # the bins outside the signal window instead
                shape = self.sideband_shape(float(m.values["mean"]), float(m.values["sigma"]))
                if shape is not None:
                    for name, value in zip(self.model.shape_names, shape):
                        m.values[name] = value
            for name in self.model.shape_names:
                m.fixed[name] = False
            m.migrad(ncall=MIGRAD_CALLS)
        return distinct

    def sideband_shape(self, mean: float, sigma: float) -> np.ndarray | None:
        """MINUIT's shape coordinates of the background fitted to the bins outside ``mean +-
        BUMP_SIGMAS sigma`` (None when too few bins remain)."""
        if self.regression is None:
            return None
        outside = np.abs(self.centres - mean) > BUMP_SIGMAS * sigma
        if np.count_nonzero(self.counts[outside]) <= len(self.model.shape_names) + 1:
            return None
        beta, _ = self.regression.fit(self.counts, outside)
        theta = self.regression.theta(beta)[0]
        if not np.all(np.isfinite(theta)):
            return None
        return np.linalg.solve(self.model.basis, theta - self.model.theta0)

    def fix_at_limits(self, m: Minuit) -> dict[str, float]:
        """Fix the free tail parameters (and ``asymmetry``) that sit at a limit there, and those
        the data do not measure where they are, and refit, until none is left; returns the
        fixed ones, name -> value.

        At a limit means closer than :data:`TAIL_AT_LIMIT` of the limits' span or half the
        parameter's error; unmeasured, an error beyond :data:`TAIL_UNMEASURED` of the span.
        MIGRAD and HESSE then run again (strategy 2 when the matrix is not accurate): the
        minimum is honest, with one free parameter fewer per fixed tail.
        """
        fixed: dict[str, float] = {}
        for _ in range(len(self.model.tail_names)):
            at: dict[str, float] = {}
            for name in self.model.tail_names:
                if m.fixed[name]:
                    continue
                lo, hi = self.limits[name]
                assert lo is not None and hi is not None
                value, error = float(m.values[name]), float(m.errors[name])
                if min(value - lo, hi - value) < max(TAIL_AT_LIMIT * (hi - lo), 0.5 * error):
                    at[name] = lo if value - lo <= hi - value else hi
                elif error > TAIL_UNMEASURED * (hi - lo):
                    at[name] = value
            if not at:
                break
            for name, value in at.items():
                m.values[name] = value
                m.fixed[name] = True
            fixed.update(at)
            _minimize_carefully(m)
        return fixed

    def run(self, result: FitResult, minos: bool) -> FitResult:
        """All the fits; fills and returns ``result``."""
        background = self.background_only()
        fits = self.signal_plus_background(self.starts(background[0] if background else None))
        converged = [m for m in fits if m.valid]
        # the best minimum whose peak width is not pinned at a bound and whose background does
        # not peak under it nor like a resonance elsewhere: such a peak measures nothing, while
        # a local minimum of the same data may hold the peak
        unpinned = [
            m for m in converged
            if m.values["s"] < 0.5
            or (
                self.width_problem(m) is None
                and self.background_bump(list(m.values)) <= BUMP_TOLERANCE
                and self.background_is_the_peak(m) is None
            )
        ]
        converged = unpinned or converged
        best = min(converged or fits, key=lambda m: m.fval)
        # different starts may end in the same minimum; if HESSE fails at one copy (a parameter
        # near a limit, the fall constraint starting to act), another may do
        for m in sorted(converged, key=lambda m: m.fval):
            if m.fval > best.fval + SAME_MINIMUM:
                break
            m.hesse()
            # HESSE's exact matrix may put the estimated distance to the minimum back above
            # tolerance (tails near their limits): MIGRAD then goes on from there with it
            if not m.valid:
                m.migrad(ncall=MIGRAD_CALLS)
                m.hesse()
            if m.accurate and m.valid:
                best = m
                break
        if converged and not best.accurate:  # last resort: MINUIT's most careful strategy
            best.strategy = 2
            best.migrad(ncall=MIGRAD_CALLS)
            best.hesse()
        if converged and best.valid:
            result.fixed_tails = self.fix_at_limits(best)
        self.fill(result, best)
        if background is not None:
            q0 = max(background[1] - float(best.fval), 0.0)
            result.significance = math.sqrt(q0) if result.signal_yield >= 0.5 else 0.0
        problem = self.judge(best, len(converged), len(fits))
        result.reason_code, result.reason = problem if problem is not None else (None, None)
        result.accurate = bool(best.accurate) if converged else False
        result.valid = problem is None
        if minos and result.valid:
            try:
                best.minos("mean")
                error = best.merrors["mean"]
                result.minos_valid = bool(error.is_valid)
                if error.is_valid:
                    result.mean_error_low, result.mean_error_high = float(error.lower), float(error.upper)
            except RuntimeError:
                result.minos_valid = False
        return result

    def fill(self, result: FitResult, m: Minuit) -> None:
        """Copy a minimum's parameters, errors and goodness of fit into ``result``."""
        model = self.model
        values = {name: float(m.values[name]) for name in model.names if name not in model.shape_names}
        errors = {name: (0.0 if m.fixed[name] else float(m.errors[name])) for name in values}
        if model.shape_names:
            shape = np.array([m.values[name] for name in model.shape_names])
            values.update(zip(model.theta_names, map(float, model.theta(shape))))
            if m.covariance is not None:
                index = [model.names.index(name) for name in model.shape_names]
                covariance = model.basis @ np.asarray(m.covariance)[np.ix_(index, index)] @ model.basis.T
                errors.update(zip(model.theta_names, map(float, np.sqrt(np.clip(np.diag(covariance), 0.0, None)))))
            else:
                errors.update(dict.fromkeys(model.theta_names, math.nan))
        result.params, result.errors = values, errors
        result.free_params, result.covariance, result.correlation = self.matrices(m, errors)
        result.mean, result.mean_error = values["mean"], errors["mean"]
        result.mean_error_low, result.mean_error_high = -errors["mean"], errors["mean"]
        result.sigma, result.sigma_error = values["sigma"], errors["sigma"]
        result.signal_yield, result.signal_yield_error = values["s"], errors["s"]
        result.background_yield = values.get("b", 0.0)
        result.signal_yield_floor = math.sqrt(max(result.signal_yield, 0.0))
        result.background_bump = self.background_bump(list(m.values))
        peak = self.background_peak(list(m.values))
        result.background_peak = None if peak is None else list(peak)
        result.at_limit = _at_limit(m)
        result.fmin = {flag: bool(getattr(m.fmin, flag)) for flag in FMIN_FLAGS} if m.fmin is not None else None
        result.chi2, result.ndf, p_value = self.goodness(m)
        if result.ndf > 0:
            result.chi2_ndf, result.p_value = result.chi2 / result.ndf, p_value

    def matrices(
        self, m: Minuit, errors: dict[str, float]
    ) -> tuple[list[str], list[list[float]] | None, list[list[float]] | None]:
        """The free parameters in the reported coordinates, their covariance and correlation
        matrices (None without a usable HESSE matrix).

        MINUIT's matrix is carried to the reported parameters (the shape's ``theta = theta0 +
        A c``: the Jacobian is ``A`` on the shape block, 1 elsewhere); the correlation is that
        matrix's, the covariance the correlation times ``errors`` (its diagonal ``errors^2``).
        """
        model = self.model
        reported = [name for name in model.names if name not in model.shape_names]
        jacobian = np.zeros((len(reported) + len(model.theta_names), len(model.names)))
        for row, name in enumerate(reported):
            jacobian[row, model.names.index(name)] = 1.0
        free = [name for name in reported if not m.fixed[name]]
        if model.shape_names:
            jacobian[len(reported) :, self._shape_slice] = model.basis
            reported += model.theta_names
            if not any(m.fixed[name] for name in model.shape_names):
                free += model.theta_names
        if m.covariance is None or not free:
            return free, None, None
        index = [reported.index(name) for name in free]
        covariance = (jacobian @ np.asarray(m.covariance) @ jacobian.T)[np.ix_(index, index)]
        scale = np.sqrt(np.diag(covariance))
        if not (np.all(np.isfinite(covariance)) and np.all(scale > 0.0)):
            return free, None, None
        correlation = covariance / np.outer(scale, scale)
        correlation = np.clip(0.5 * (correlation + correlation.T), -1.0, 1.0)
        np.fill_diagonal(correlation, 1.0)
        error = np.array([errors[name] for name in free])
        covariance = correlation * np.outer(error, error)
        return free, covariance.tolist(), correlation.tolist()

    def restore(self, values: dict[str, float], fixed: Sequence[str]) -> Minuit:
        """A Minuit at a recorded minimum: MIGRAD from the reported ``values`` (shape parameters
        carried to MINUIT's coordinates) with the ``fixed`` tails fixed, then HESSE, as the
        final fit of :meth:`run` was made (the background-bump wall on, MINUIT's most careful
        strategy when the matrix is not accurate)."""
        model = self.model
        start = {**CB_TAILS, **values}
        if model.shape_names:
            theta = np.array([values[name] for name in model.theta_names], dtype=np.float64)
            start.update(zip(model.shape_names, map(float, np.linalg.solve(model.basis, theta - model.theta0))))
            self.bump_constrained = True
        return _minimize_carefully(self.minuit(start, fixed=tuple(fixed)))

    def judge(self, m: Minuit, n_converged: int, n_tried: int) -> tuple[str, str] | None:
        """Why the best minimum does not measure a peak or its errors cannot be trusted,
        ``(reason_code, reason)``, or None (the codes: module docstring)."""
        fmin = m.fmin
        if n_converged == 0 or not m.valid or fmin is None:
            edm = " (EDM above its goal)" if fmin is not None and fmin.is_above_max_edm else ""
            return "not_converged", f"MIGRAD did not converge from any of {n_tried} starts{edm}"
        if fmin.hesse_failed or m.covariance is None:
            return "covariance_failed", "HESSE failed"
        if fmin.has_made_posdef_covar or not fmin.has_posdef_covar:
            return "covariance_not_posdef", "the covariance matrix is not positive definite (MINUIT forced it to be)"
        if not m.accurate:
            return "covariance_inaccurate", "HESSE could not compute an accurate covariance matrix"
        problem = self.peak_problem(m)
        if problem is not None:
            return problem
        bump = self.background_bump(list(m.values))
        if bump > BUMP_TOLERANCE:
            return "background_peaks_under_signal", (
                f"the background peaks under the signal (its log rises and falls by {bump:.2f} within "
                f"{BUMP_SIGMAS:g} sigma of the mean)"
            )
        peak = self.background_is_the_peak(m)
        if peak is not None and self.relative_width is not None:
            return "background_is_a_peak", (
                f"the background itself peaks like a resonance at {peak[0]:.4g} (local width {peak[1]:.0%} of "
                f"its position, narrower than the widest signal peak allowed, {self.relative_width[1]:.0%})"
            )
        at_limit = _at_limit(m)
        if at_limit:
            return "parameter_at_limit", f"parameters at their limits: {', '.join(at_limit)}"
        s, error = float(m.values["s"]), float(m.errors["s"])
        if error < (1.0 - POISSON_MARGIN) * math.sqrt(s):
            return "yield_error_below_poisson", (
                f"the signal yield's error {error:.3g} is below its Poisson floor sqrt(s) = {math.sqrt(s):.3g}"
            )
        chi2, ndf, p_value = self.goodness(m)
        if p_value < MIN_FIT_P:
            return "poor_fit", (
                f"the model does not describe the data (chi2/ndf {chi2 / ndf:.2f}, p = {p_value:.1e} < {MIN_FIT_P:g})"
            )
        return None

    def goodness(self, m: Minuit) -> tuple[float, int, float]:
        """A minimum's likelihood-ratio chi2, its degrees of freedom and its p-value (NaN
        without a degree of freedom)."""
        chi2, ndf = float(self.likelihood(*m.values)), len(self.counts) - m.nfit
        return chi2, ndf, float(stats.chi2.sf(chi2, ndf)) if ndf > 0 else math.nan

    def peak_problem(self, m: Minuit) -> tuple[str, str] | None:
        """Why a minimum's parameters do not describe a peak inside the range, or None."""
        s, mean, sigma = (float(m.values[name]) for name in ("s", "mean", "sigma"))
        if s < 0.5 or "s" in _at_limit(m):
            return "no_signal", "no signal: the fitted signal yield is zero (within half its error)"
        lo, hi = self.limits["mean"]
        if min(mean - lo, hi - mean) < EDGE_SIGMAS * sigma:
            return "peak_at_edge", f"the peak sits at the edge of the fit range (less than {EDGE_SIGMAS:g} sigma from it)"
        problem = self.width_problem(m)
        return None if problem is None else ("width_at_limit", problem)

    def width_problem(self, m: Minuit) -> str | None:
        """Why a minimum's peak width is pinned at a limit or a relative-width bound, or None."""
        mean, sigma = float(m.values["mean"]), float(m.values["sigma"])
        sigma_lo, sigma_hi = self.limits["sigma"]
        if sigma <= sigma_lo * 1.001 or sigma >= sigma_hi * 0.999:
            return f"the peak width sits at its limit ({sigma_lo:g} or {sigma_hi:g})"
        if self.relative_width is not None:
            lo_w, hi_w = self.relative_width
            ratio = sigma / mean
            if ratio <= lo_w + WIDTH_AT_BOUND or ratio >= hi_w - WIDTH_AT_BOUND:
                return f"the relative peak width sigma/mean = {ratio:.3f} sits at its bound ({lo_w:g} or {hi_w:g})"
        return None
