"""Peak and background shapes as cumulative distributions, for binned likelihood fits.

Binned fits use the integral of the model over each bin (differences of the CDF at the bin
edges), which is exact for any bin width: essential for top-N histograms with few events and
wide bins. Signal: the one-sided and the double-sided Crystal Ball of numba-stats (compiled,
vectorised and tested, and the double-sided form has separate left/right widths and tails,
which scipy.stats lacks). Backgrounds are normalised to the fit range.
"""

from __future__ import annotations

import numpy as np
from numba_stats import crystalball, crystalball_ex

from lhcad.data.columns import SQRT_S_GEV

#: Crystal Ball tails: the Gaussian core turns into a power law ``beta`` standard deviations from
#: the mode, with slope ``m``. These are the starting values of the free tail parameters (and
#: the values used when tails are fixed): generic detector-smeared peaks with a long low side.
CB_BETA_LEFT, CB_M_LEFT = 1.2, 4.0
CB_BETA_RIGHT, CB_M_RIGHT = 2.0, 8.0
#: Limits of the tail parameters when they float.
CB_BETA_LIMITS, CB_M_LIMITS = (0.3, 5.0), (1.05, 60.0)

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)


def crystal_ball_cdf(
    x: np.ndarray, mean: float, sigma: float, beta_l: float = CB_BETA_LEFT, m_l: float = CB_M_LEFT
) -> np.ndarray:
    """One-sided Crystal Ball (low-side power-law tail)."""
    return crystalball.cdf(np.asarray(x, dtype=np.float64), beta_l, m_l, mean, sigma)


def double_crystal_ball_cdf(
    x: np.ndarray,
    mean: float,
    sigma: float,
    beta_l: float = CB_BETA_LEFT,
    m_l: float = CB_M_LEFT,
    beta_r: float = CB_BETA_RIGHT,
    m_r: float = CB_M_RIGHT,
) -> np.ndarray:
    """Double-sided Crystal Ball with a common core width and tails on both sides."""
    return crystalball_ex.cdf(np.asarray(x, dtype=np.float64), beta_l, m_l, sigma, beta_r, m_r, sigma, mean)


SIGNAL_CDFS = {"crystal_ball": crystal_ball_cdf, "double_crystal_ball": double_crystal_ball_cdf}
#: Tail parameters of each signal shape, in call order after (mean, sigma), with their starts.
SIGNAL_TAILS: dict[str, dict[str, float]] = {
    "crystal_ball": {"beta_l": CB_BETA_LEFT, "m_l": CB_M_LEFT},
    "double_crystal_ball": {"beta_l": CB_BETA_LEFT, "m_l": CB_M_LEFT, "beta_r": CB_BETA_RIGHT, "m_r": CB_M_RIGHT},
}


def _bin_integrals(pdf, edges: np.ndarray, *params: float) -> np.ndarray:
    """Integrals of ``pdf`` over each bin by 8-point Gauss-Legendre quadrature."""
    lo, hi = edges[:-1], edges[1:]
    half = 0.5 * (hi - lo)
    points = (0.5 * (hi + lo))[:, None] + half[:, None] * _GL_NODES[None, :]
    return (pdf(points, *params) * _GL_WEIGHTS[None, :]).sum(axis=1) * half


def _normalised_cdf(pieces: np.ndarray) -> np.ndarray:
    cumulative = np.concatenate([[0.0], np.cumsum(pieces)])
    total = cumulative[-1]
    return cumulative / total if total > 0 and np.isfinite(total) else np.full_like(cumulative, np.nan)


def dijet_pdf(m: np.ndarray, p1: float, p2: float, p3: float) -> np.ndarray:
    """The standard dijet function ``(1-x)^p1 / x^(p2 + p3 ln x)``, x = m / sqrt(s) (unnormalised)."""
    x = np.clip(np.asarray(m, dtype=np.float64) / SQRT_S_GEV, 1e-9, 1 - 1e-9)
    log_x = np.log(x)
    return np.exp(p1 * np.log1p(-x) - (p2 + p3 * log_x) * log_x)


def dijet_cdf(edges: np.ndarray, p1: float, p2: float, p3: float) -> np.ndarray:
    """Dijet-function CDF at the edges, normalised over ``[edges[0], edges[-1]]``."""
    return _normalised_cdf(_bin_integrals(dijet_pdf, edges, p1, p2, p3))


def expo_poly_pdf(m: np.ndarray, lo: float, width: float, a1: float, a2: float) -> np.ndarray:
    """``exp(a1 t + a2 t^2)`` with ``t = (m - lo) / width`` in [0, 1] (unnormalised)."""
    t = (np.asarray(m, dtype=np.float64) - lo) / width
    return np.exp(a1 * t + a2 * t * t)


def expo_poly_cdf(edges: np.ndarray, a1: float, a2: float) -> np.ndarray:
    """Exponential-of-quadratic CDF at the edges, normalised over the range."""
    lo, width = edges[0], edges[-1] - edges[0]
    return _normalised_cdf(_bin_integrals(expo_poly_pdf, edges, lo, width, a1, a2))


def template_cdf(template: np.ndarray) -> np.ndarray:
    """CDF at the edges of a reference histogram's shape (linear within bins)."""
    return _normalised_cdf(np.clip(np.asarray(template, dtype=np.float64), 0.0, None))
