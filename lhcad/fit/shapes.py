"""Normalised peak and background shapes, and their CDFs, for binned likelihood fits.

Binned fits use the integral of the model over each bin, a difference of CDFs at the bin
edges: exact for any bin width, which matters for top-N histograms with wide bins.

Signal shapes are numba-stats' ``crystalball`` (one-sided: a Gaussian core with a power-law
tail on the low side, where radiation and lost neutrinos push reconstructed masses) and
``crystalball_ex`` (double-sided: tails on both sides; one core width, or one per side for
``asymmetric_crystal_ball``), normalised on the real line. They are
chosen over ``scipy.stats.crystalball`` because the minimiser evaluates the model thousands of
times per fit: numba-stats' compiled, vectorised CDF takes about 5 microseconds per call where
scipy's generic ``rv_continuous`` machinery takes about 150; and scipy has no double-sided form.
numba-stats loads its compiled code in a few seconds, so it is imported on first use only (the
bump hunt never needs it). ``mean`` is the position of the Gaussian core (the mode), ``sigma``
its standard deviation: the mass and resolution of the resonance.

Background shapes are normalised on a range ``[lo, hi]`` (the fit range):

- ``dijet``: ``(1 - x)^p1 / x^(p2 + p3 ln x)`` with ``x = m / sqrt(s)``, the function of the
  ATLAS and CMS dijet searches, for mjj above the trigger turn-on, where it falls (fits
  constrain it to: ``falling``);
- ``power_expo``: ``(m / hi)^a0 exp(a1 t + a2 t^2)``, the Sudakov shape of QCD jet masses: a
  power-law rise from zero mass, then a fall (a gamma spectrum is one of the family, which
  ``expo_poly`` cannot follow near its peak);
- ``exponential`` and ``expo_poly``: ``exp(a1 t)`` and ``exp(a1 t + a2 t^2)`` with
  ``t = (m - lo) / (hi - lo)``, for jet-mass spectra (``expo_poly`` may rise then fall, like
  QCD jet masses);
- ``template``: a reference histogram's shape (the full dataset), linear CDF within its bins.

The functional backgrounds are *log-linear*: ``ln f(x) = theta . phi(x)`` for fixed features
``phi``. Their integrals have no closed form, so they are computed by Gauss-Legendre quadrature
(8 nodes on each interval between the requested points, refined to at least 32 panels over the
range: per-bin integrals agree with adaptive quadrature to 1e-8, even for a few wide bins). Log-linearity also makes
background-only fits a Poisson regression, solved in a few vectorised Newton steps
(:func:`fit_log_linear`): how the fits get data-driven starting values and how the bump hunt
refits thousands of pseudo-experiments in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from lhcad.data.columns import SQRT_S_GEV

#: Tail parameters of the Crystal Balls when they are not fitted: the Gaussian core turns into a
#: power law ``beta`` standard deviations from the mode, with exponent ``m``. Generic values for
#: detector-smeared jet peaks (fits to the pure LHCO-like signal give beta 1.0-1.5 and m 2-5 on
#: the low side, a steeper high side).
CB_TAILS: dict[str, float] = {"beta_l": 1.2, "m_l": 4.0, "beta_r": 1.5, "m_r": 5.0, "asymmetry": 0.0}
#: Limits of the tail parameters when they are fitted. The tails start at least one core width
#: from the mode: closer, a few hundred events let the core shrink onto a fluctuation while the
#: tails take the peak (measured on 500-event jet-mass selections: spikes of sigma/mean 3% on a
#: 9% peak). They fall at least like a power 2: flatter (m near 1), they turn into a second
#: background under a narrower core (measured on a 500-event light-jet selection: the mean +3%).
#: ``asymmetry`` (of :func:`asymmetric_crystal_ball_pdf`) keeps each core width within a factor 3.
CB_TAIL_LIMITS: dict[str, tuple[float, float]] = {
    "beta_l": (1.0, 5.0), "m_l": (2.0, 60.0), "beta_r": (1.0, 5.0), "m_r": (2.0, 60.0),
    "asymmetry": (-0.5, 0.5),
}  # fmt: skip

GL_ORDER = 8
MIN_PANELS = 32
#: Largest points x nodes matrix a :class:`Quadrature` keeps (one matrix product per evaluation);
#: beyond, it sums panels and accumulates them.
MATRIX_SIZE = 200_000


def crystal_ball_pdf(
    x: ArrayLike, mean: float, sigma: float, beta_l: float = CB_TAILS["beta_l"], m_l: float = CB_TAILS["m_l"]
) -> np.ndarray:
    """One-sided Crystal Ball density (tail on the low side), normalised on the real line."""
    from numba_stats import crystalball

    return crystalball.pdf(np.asarray(x, dtype=np.float64), beta_l, m_l, mean, sigma)


def crystal_ball_cdf(
    x: ArrayLike, mean: float, sigma: float, beta_l: float = CB_TAILS["beta_l"], m_l: float = CB_TAILS["m_l"]
) -> np.ndarray:
    """CDF of :func:`crystal_ball_pdf`."""
    from numba_stats import crystalball

    return crystalball.cdf(np.asarray(x, dtype=np.float64), beta_l, m_l, mean, sigma)


def _two_sided(
    method: str, x: ArrayLike, mean: float, sigma_l: float, sigma_r: float, beta_l: float, m_l: float, beta_r: float, m_r: float
) -> np.ndarray:
    """numba-stats' ``crystalball_ex.<method>`` with lhcad's argument order."""
    from numba_stats import crystalball_ex

    return getattr(crystalball_ex, method)(np.asarray(x, dtype=np.float64), beta_l, m_l, sigma_l, beta_r, m_r, sigma_r, mean)


def double_crystal_ball_pdf(
    x: ArrayLike,
    mean: float,
    sigma: float,
    beta_l: float = CB_TAILS["beta_l"],
    m_l: float = CB_TAILS["m_l"],
    beta_r: float = CB_TAILS["beta_r"],
    m_r: float = CB_TAILS["m_r"],
) -> np.ndarray:
    """Double-sided Crystal Ball density: one core width ``sigma``, a power-law tail on each side.

    One width rather than one per side: on a few hundred signal events a second width trades
    off against the mode (see :func:`asymmetric_crystal_ball_pdf`), and a single ``sigma`` is
    what the analysis reports as the resolution.
    """
    return _two_sided("pdf", x, mean, sigma, sigma, beta_l, m_l, beta_r, m_r)


def double_crystal_ball_cdf(
    x: ArrayLike,
    mean: float,
    sigma: float,
    beta_l: float = CB_TAILS["beta_l"],
    m_l: float = CB_TAILS["m_l"],
    beta_r: float = CB_TAILS["beta_r"],
    m_r: float = CB_TAILS["m_r"],
) -> np.ndarray:
    """CDF of :func:`double_crystal_ball_pdf`."""
    return _two_sided("cdf", x, mean, sigma, sigma, beta_l, m_l, beta_r, m_r)


def asymmetric_crystal_ball_pdf(
    x: ArrayLike,
    mean: float,
    sigma: float,
    asymmetry: float = CB_TAILS["asymmetry"],
    beta_l: float = CB_TAILS["beta_l"],
    m_l: float = CB_TAILS["m_l"],
    beta_r: float = CB_TAILS["beta_r"],
    m_r: float = CB_TAILS["m_r"],
) -> np.ndarray:
    """Double-sided Crystal Ball with a core width per side: ``sigma (1 -+ asymmetry)``.

    ``sigma`` is the average of the two half-widths, ``mean`` still the mode. Jet-mass peaks are
    skewed (radiation out of the jet and lost neutrinos pull masses down, smearing spreads both
    ways): a symmetric core puts its mode at the centre of the peak's top, this one at its
    maximum, which a few thousand events or fewer locate less precisely unless the asymmetry is
    constrained (``fit_resonance(asymmetry_constraint=...)``).
    """
    return _two_sided("pdf", x, mean, sigma * (1.0 - asymmetry), sigma * (1.0 + asymmetry), beta_l, m_l, beta_r, m_r)


def asymmetric_crystal_ball_cdf(
    x: ArrayLike,
    mean: float,
    sigma: float,
    asymmetry: float = CB_TAILS["asymmetry"],
    beta_l: float = CB_TAILS["beta_l"],
    m_l: float = CB_TAILS["m_l"],
    beta_r: float = CB_TAILS["beta_r"],
    m_r: float = CB_TAILS["m_r"],
) -> np.ndarray:
    """CDF of :func:`asymmetric_crystal_ball_pdf`."""
    return _two_sided("cdf", x, mean, sigma * (1.0 - asymmetry), sigma * (1.0 + asymmetry), beta_l, m_l, beta_r, m_r)


@dataclass(frozen=True)
class SignalShape:
    """A peak shape: its CDF ``cdf(x, mean, sigma, *tails)`` and the names of its tail parameters."""

    cdf: Callable[..., np.ndarray]
    pdf: Callable[..., np.ndarray]
    tails: tuple[str, ...]


SIGNAL_SHAPES: dict[str, SignalShape] = {
    "crystal_ball": SignalShape(crystal_ball_cdf, crystal_ball_pdf, ("beta_l", "m_l")),
    "double_crystal_ball": SignalShape(double_crystal_ball_cdf, double_crystal_ball_pdf, ("beta_l", "m_l", "beta_r", "m_r")),
    "asymmetric_crystal_ball": SignalShape(
        asymmetric_crystal_ball_cdf, asymmetric_crystal_ball_pdf, ("asymmetry", "beta_l", "m_l", "beta_r", "m_r")
    ),
}  # fmt: skip


def gauss_legendre(breaks: np.ndarray, order: int = GL_ORDER) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights, shaped ``(len(breaks) - 1, order)``, integrating over each interval."""
    x, w = np.polynomial.legendre.leggauss(order)
    half = 0.5 * np.diff(breaks)
    middle = 0.5 * (breaks[1:] + breaks[:-1])
    return middle[:, None] + half[:, None] * x[None, :], half[:, None] * w[None, :]


class Quadrature:
    """Integrals of a smooth function from ``lo`` to each of a set of increasing points.

    The intervals between the points (clipped to ``[lo, hi]``) are refined so that no panel is
    wider than ``(hi - lo) / min_panels``, and each panel gets ``order`` Gauss-Legendre nodes:
    accurate even for a few very wide bins. Built once per binning, the integrals are then one
    matrix product with the function's values at the nodes: what a fit evaluates at every step.
    """

    def __init__(self, points: ArrayLike, lo: float, hi: float, order: int = GL_ORDER, min_panels: int = MIN_PANELS):
        points = np.clip(np.asarray(points, dtype=np.float64), lo, hi)
        breaks = np.unique(np.concatenate([points, np.linspace(lo, hi, max(min_panels, 1) + 1)]))
        nodes, weights = gauss_legendre(breaks, order)
        self.nodes, self.weights = nodes.ravel(), weights.ravel()
        self._shape = nodes.shape
        self._index = np.searchsorted(breaks, points)
        self._below: np.ndarray | None = None
        if len(points) * len(self.nodes) <= MATRIX_SIZE:
            # node k lies below point j when its panel ends at or before the point
            panel_of_node = np.repeat(np.arange(len(breaks) - 1), order)
            self._below = np.where(panel_of_node[None, :] < self._index[:, None], self.weights[None, :], 0.0)

    def cumulative(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(integral from lo to each point, integral from lo to hi)`` of ``values`` at the nodes.

        ``values`` may have leading batch dimensions: ``(..., len(nodes))``.
        """
        if self._below is not None:
            return values @ self._below.T, values @ self.weights
        panels = (values * self.weights).reshape(*values.shape[:-1], *self._shape).sum(axis=-1)
        cumulative = np.concatenate([np.zeros((*panels.shape[:-1], 1)), np.cumsum(panels, axis=-1)], axis=-1)
        return cumulative[..., self._index], cumulative[..., -1]


def dijet_features(m: ArrayLike, lo: float, hi: float) -> np.ndarray:
    """``phi(m) = (ln(1-x), -ln x, -ln^2 x)``, x = m / sqrt(s): ``ln f = p1 phi_1 + p2 phi_2 + p3 phi_3``."""
    del lo, hi  # x is scaled by sqrt(s), not by the range
    x = np.clip(np.asarray(m, dtype=np.float64) / SQRT_S_GEV, 1e-12, 1.0 - 1e-12)
    log_x = np.log(x)
    return np.stack([np.log1p(-x), -log_x, -(log_x**2)], axis=-1)


def _polynomial_features(degree: int) -> Callable[[ArrayLike, float, float], np.ndarray]:
    def features(m: ArrayLike, lo: float, hi: float) -> np.ndarray:
        t = (np.asarray(m, dtype=np.float64) - lo) / (hi - lo)
        return np.stack([t**k for k in range(1, degree + 1)], axis=-1)

    return features


#: ``ln(m / hi)`` is clipped here, so that a range starting at zero mass stays finite.
POWER_FLOOR = 1e-9


def power_expo_features(m: ArrayLike, lo: float, hi: float) -> np.ndarray:
    """``phi(m) = (ln(m / hi), t, t^2)``, ``t = (m - lo) / (hi - lo)``."""
    m = np.asarray(m, dtype=np.float64)
    t = (m - lo) / (hi - lo)
    return np.stack([np.log(np.clip(m / hi, POWER_FLOOR, None)), t, t**2], axis=-1)


@dataclass(frozen=True)
class LogLinearShape:
    """A background family ``f(x) = exp(theta . phi(x))`` normalised on ``[lo, hi]``.

    Attributes:
        name: the family's name in configs and results.
        params: names of ``theta``'s components.
        features: ``phi(x, lo, hi)``, shaped ``(len(x), len(params))``.
        falling: whether fits constrain the shape to fall over the range.
    """

    name: str
    params: tuple[str, ...]
    features: Callable[[ArrayLike, float, float], np.ndarray]
    falling: bool = False

    def binned(self, points: ArrayLike, lo: float | None = None, hi: float | None = None) -> BinnedLogLinear:
        """The CDF of this family at fixed ``points`` (bin edges), ready for repeated evaluation."""
        points = np.asarray(points, dtype=np.float64)
        return BinnedLogLinear(self, points, points[0] if lo is None else lo, points[-1] if hi is None else hi)

    def cdf(self, x: ArrayLike, *theta: float, lo: float | None = None, hi: float | None = None) -> np.ndarray:
        """CDF at increasing points ``x``, normalised on ``[lo, hi]`` (default: ``x[0], x[-1]``)."""
        return self.binned(x, lo, hi).cdf(np.asarray(theta))

    def pdf(self, x: ArrayLike, *theta: float, lo: float, hi: float) -> np.ndarray:
        """Density at ``x`` (0 outside ``[lo, hi]``), normalised on ``[lo, hi]``."""
        x = np.asarray(x, dtype=np.float64)
        quadrature = Quadrature([lo, hi], lo, hi)
        log_nodes = self.features(quadrature.nodes, lo, hi) @ np.asarray(theta)
        offset = log_nodes.max()
        _, total = quadrature.cumulative(np.exp(log_nodes - offset))
        density = np.exp(self.features(x, lo, hi) @ np.asarray(theta) - offset) / total
        return np.where((x >= lo) & (x <= hi), density, 0.0)


class BinnedLogLinear:
    """CDF of a :class:`LogLinearShape` at fixed points, for any parameters (or a batch of them)."""

    def __init__(self, shape: LogLinearShape, points: np.ndarray, lo: float, hi: float):
        self.shape, self.lo, self.hi = shape, float(lo), float(hi)
        self.quadrature = Quadrature(points, lo, hi)
        self.node_features = shape.features(self.quadrature.nodes, lo, hi)
        self._node_features_t = np.ascontiguousarray(self.node_features.T)

    def whitening(self, theta: np.ndarray, n_events: float) -> np.ndarray:
        """A matrix ``A`` such that ``theta + A c`` has coordinates ``c`` with unit, uncorrelated
        statistical errors for ``n_events`` drawn from the shape at ``theta``.

        The Fisher information of the shape parameters is ``n_events`` times the covariance of
        the features under the density; ``A`` whitens it. The dijet parameters are correlated
        at 0.99 and beyond, which MIGRAD and HESSE handle poorly; the ``c`` are not.
        """
        log_nodes = self.node_features @ theta
        density = np.exp(log_nodes - log_nodes.max()) * self.quadrature.weights
        density /= density.sum()
        centred = self.node_features - density @ self.node_features
        covariance = (centred * density[:, None]).T @ centred
        values, vectors = np.linalg.eigh(covariance)
        values = np.clip(values, 1e-14 * max(values.max(), 1e-300), None)
        return vectors / np.sqrt(values * max(n_events, 1.0))[None, :]

    def cdf(self, theta: np.ndarray) -> np.ndarray:
        """CDF at the points for ``theta`` shaped ``(P,)`` or ``(T, P)`` (then ``(T, points)``)."""
        log_nodes = np.asarray(theta) @ self._node_features_t
        below, total = self.quadrature.cumulative(np.exp(log_nodes - log_nodes.max(axis=-1, keepdims=True)))
        return below / np.asarray(total)[..., None]


BACKGROUND_SHAPES: dict[str, LogLinearShape] = {
    "dijet": LogLinearShape("dijet", ("p1", "p2", "p3"), dijet_features, falling=True),
    "exponential": LogLinearShape("exponential", ("a1",), _polynomial_features(1)),
    "expo_poly": LogLinearShape("expo_poly", ("a1", "a2"), _polynomial_features(2)),
    "power_expo": LogLinearShape("power_expo", ("a0", "a1", "a2"), power_expo_features),
}


def dijet_pdf(m: ArrayLike, p1: float, p2: float, p3: float, *, lo: float, hi: float) -> np.ndarray:
    """The dijet function ``(1-x)^p1 / x^(p2 + p3 ln x)``, x = m / 13 TeV, normalised on ``[lo, hi]``."""
    return BACKGROUND_SHAPES["dijet"].pdf(m, p1, p2, p3, lo=lo, hi=hi)


def dijet_cdf(
    m: ArrayLike, p1: float, p2: float, p3: float, *, lo: float | None = None, hi: float | None = None
) -> np.ndarray:
    """CDF of :func:`dijet_pdf` at increasing points (default range: the first and last point)."""
    return BACKGROUND_SHAPES["dijet"].cdf(m, p1, p2, p3, lo=lo, hi=hi)


def expo_poly_pdf(m: ArrayLike, *coefficients: float, lo: float, hi: float) -> np.ndarray:
    """``exp(a1 t + a2 t^2 + ...)``, ``t = (m - lo) / (hi - lo)``, normalised on ``[lo, hi]``.

    One coefficient is the ``exponential`` background, two the ``expo_poly`` one.
    """
    shape = LogLinearShape("expo_poly", (), _polynomial_features(len(coefficients)))
    return shape.pdf(m, *coefficients, lo=lo, hi=hi)


def expo_poly_cdf(m: ArrayLike, *coefficients: float, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """CDF of :func:`expo_poly_pdf` at increasing points (default range: the first and last point)."""
    shape = LogLinearShape("expo_poly", (), _polynomial_features(len(coefficients)))
    return shape.cdf(m, *coefficients, lo=lo, hi=hi)


def _template_cumulative(edges: ArrayLike, counts: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    edges = np.asarray(edges, dtype=np.float64)
    counts = np.clip(np.asarray(counts, dtype=np.float64), 0.0, None)
    return edges, np.concatenate([[0.0], np.cumsum(counts)])


def template_cdf(
    x: ArrayLike, edges: ArrayLike, counts: ArrayLike, *, lo: float | None = None, hi: float | None = None
) -> np.ndarray:
    """CDF of a reference histogram's shape at ``x``: linear within its bins, normalised on ``[lo, hi]``.

    Args:
        x: points (any order).
        edges, counts: the reference histogram.
        lo, hi: normalisation range (default: the histogram's range).

    Returns:
        The CDF, NaN everywhere when the template is empty on the range.
    """
    edges, cumulative = _template_cumulative(edges, counts)
    lo = edges[0] if lo is None else lo
    hi = edges[-1] if hi is None else hi
    at_lo, at_hi = np.interp([lo, hi], edges, cumulative)
    below = np.interp(np.clip(np.asarray(x, dtype=np.float64), lo, hi), edges, cumulative)
    return (below - at_lo) / (at_hi - at_lo) if at_hi > at_lo else np.full(np.shape(below), np.nan)


def template_pdf(
    x: ArrayLike, edges: ArrayLike, counts: ArrayLike, *, lo: float | None = None, hi: float | None = None
) -> np.ndarray:
    """Density of a reference histogram's shape (constant within bins), normalised on ``[lo, hi]``."""
    edges, cumulative = _template_cumulative(edges, counts)
    lo = edges[0] if lo is None else lo
    hi = edges[-1] if hi is None else hi
    at_lo, at_hi = np.interp([lo, hi], edges, cumulative)
    x = np.asarray(x, dtype=np.float64)
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    density = np.diff(cumulative)[index] / np.diff(edges)[index] / (at_hi - at_lo)
    return np.where((x >= lo) & (x <= hi) & (x >= edges[0]) & (x <= edges[-1]), density, 0.0)


def _solve(matrices: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Batched ``solve(A, b)`` for ``A`` shaped ``(..., Q, Q)`` and ``b`` shaped ``(..., Q)``."""
    return np.linalg.solve(matrices, vectors[..., None])[..., 0]


class PoissonRegression:
    """Vectorised maximum-likelihood fits of a :class:`LogLinearShape` to many histograms at once.

    The expected count in bin ``i`` is ``mu_i = integral over the bin of exp(beta . X(x))`` with
    ``X = (1, standardised phi)``: the intercept carries the yield, the rest the shape. The
    Poisson likelihood of all histograms is maximised by Fisher scoring (Newton steps with the
    expected information, halved until the likelihood improves), started from a weighted
    least-squares fit of ``ln(counts)``: a handful of batched 4x4 solves per histogram.

    Each bin gets ``order`` Gauss-Legendre nodes and no sub-panels, so the nodes are laid out
    ``(bins, order)``: :meth:`window_expected` relies on that.
    """

    def __init__(self, shape: LogLinearShape, edges: ArrayLike, order: int = 4):
        self.shape = shape
        self.edges = np.asarray(edges, dtype=np.float64)
        self.n_bins = len(self.edges) - 1
        nodes, weights = gauss_legendre(self.edges, order)
        self.weights = weights  # (B, K)
        lo, hi = self.edges[0], self.edges[-1]
        features = shape.features(nodes.ravel(), lo, hi)
        self._centre, self._scale = features.mean(axis=0), features.std(axis=0) + 1e-300
        self._flat_design = self._standardised(features)  # (B K, Q)
        self.design = self._flat_design.reshape(self.n_bins, order, -1)
        centres = 0.5 * (self.edges[1:] + self.edges[:-1])
        self._start_design = self._standardised(shape.features(centres, lo, hi))
        self._log_widths = np.log(np.diff(self.edges))

    def _standardised(self, features: np.ndarray) -> np.ndarray:
        return np.concatenate([np.ones((*features.shape[:-1], 1)), (features - self._centre) / self._scale], axis=-1)

    def theta(self, beta: np.ndarray) -> np.ndarray:
        """The shape parameters (``shape.params`` order) of coefficients ``beta``."""
        return beta[..., 1:] / self._scale

    def _node_values(self, beta: np.ndarray) -> np.ndarray:
        """Integrand times weight at every node, ``(T, B, K)``."""
        log_values = np.clip(beta @ self._flat_design.T, -700.0, 700.0)
        return np.exp(log_values).reshape(len(beta), *self.weights.shape) * self.weights

    def expected(self, beta: np.ndarray) -> np.ndarray:
        """Expected counts per bin, ``(T, B)`` for ``beta`` shaped ``(T, Q)``."""
        return self._node_values(beta).sum(axis=-1)

    def jacobian(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected counts ``(T, B)`` and their derivatives ``d mu / d beta``, ``(T, B, Q)``."""
        values = self._node_values(beta)
        jac = (values.reshape(len(beta), -1, 1) * self._flat_design).reshape(*values.shape, -1).sum(axis=2)
        return values.sum(axis=-1), jac

    def window_expected(self, beta: np.ndarray, first_bin: np.ndarray, width: int) -> np.ndarray:
        """Expected counts in windows of ``width`` bins starting at ``first_bin`` (``(A,)``), each
        with its own coefficients ``beta`` shaped ``(T, A, Q)``: ``(T, A)``."""
        bins = first_bin[:, None] + np.arange(width)[None, :]
        design = self.design[bins].reshape(len(first_bin), -1, self.design.shape[-1])  # (A, w K, Q)
        values = np.exp(np.clip(np.einsum("taq,amq->tam", beta, design), -700.0, 700.0))
        return (values * self.weights[bins].reshape(len(first_bin), -1)).sum(axis=-1)

    def fit(
        self, counts: ArrayLike, used: ArrayLike | None = None, iterations: int = 50, tolerance: float = 1e-7
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fit every histogram (rows of ``counts``, ``(T, B)`` or ``(B,)``).

        Args:
            counts: the histograms.
            used: which bins enter the fit (boolean, broadcastable to ``counts``); the
                expectation is returned for every bin.
            iterations: most Fisher-scoring steps.
            tolerance: a histogram's fit stops when its log-likelihood improves by less.

        Returns:
            ``(beta, expected)``: coefficients ``(T, Q)`` and expected counts ``(T, B)``.
        """
        counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
        weight = np.broadcast_to(np.ones(1) if used is None else np.asarray(used, dtype=np.float64), counts.shape)
        ridge = 1e-10 * np.eye(self.design.shape[-1])
        sqrt_w = np.sqrt((counts + 0.5) * weight)
        a = sqrt_w[..., None] * self._start_design[None]
        target = np.log(counts + 0.5) - self._log_widths
        beta = _solve(np.einsum("tbi,tbj->tij", a, a) + ridge, np.einsum("tbi,tb->ti", a, sqrt_w * target))

        def nll(b: np.ndarray, rows: np.ndarray) -> np.ndarray:
            mu = np.clip(self.expected(b), 1e-300, None)
            return (weight[rows] * (mu - counts[rows] * np.log(mu))).sum(axis=-1)

        current = nll(beta, np.arange(len(beta)))
        active = np.arange(len(beta))
        for _ in range(iterations):
            if len(active) == 0:
                break
            b, n, w = beta[active], counts[active], weight[active]
            mu, jac = self.jacobian(b)
            mu = np.clip(mu, 1e-300, None)
            score = np.einsum("tb,tbq->tq", w * (n / mu - 1.0), jac)
            information = np.einsum("tbi,tbj->tij", jac * (w / mu)[..., None], jac) + ridge
            step = _solve(information, score)
            scale = np.ones(len(active))
            trial = nll(b + step, active)
            for _ in range(30):  # halve the step of the histograms whose likelihood got worse
                worse = ~(trial <= current[active])
                if not worse.any():
                    break
                scale[worse] *= 0.5
                trial[worse] = nll(b[worse] + scale[worse, None] * step[worse], active[worse])
            accept = trial <= current[active]
            gain = np.where(accept, current[active] - trial, 0.0)
            beta[active[accept]] = (b + scale[:, None] * step)[accept]
            current[active[accept]] = trial[accept]
            active = active[gain > tolerance]
        return beta, self.expected(beta)
