"""Fit shapes: normalised densities, CDFs that are their integrals, accurate bin integrals, and the
vectorised Poisson regression that starts the fits and drives the bump hunt."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import gamma as stats_gamma

from lhcad.fit import shapes
from lhcad.fit.shapes import (
    BACKGROUND_SHAPES,
    PoissonRegression,
    asymmetric_crystal_ball_cdf,
    asymmetric_crystal_ball_pdf,
    crystal_ball_cdf,
    crystal_ball_pdf,
    dijet_cdf,
    dijet_pdf,
    double_crystal_ball_cdf,
    double_crystal_ball_pdf,
    expo_poly_cdf,
    expo_poly_pdf,
    template_cdf,
    template_pdf,
)

MJJ = (1500.0, 8000.0)
JET_MASS = (0.0, 1000.0)
TEMPLATE_EDGES = np.linspace(0.0, 1000.0, 21)
TEMPLATE_COUNTS = np.linspace(50.0, 1.0, 20) ** 2


def integral(pdf, lo: float, hi: float, points: tuple[float, ...] = ()) -> float:
    return integrate.quad(lambda x: float(pdf(np.array([x]))[0]), lo, hi, points=points, limit=200, epsabs=0, epsrel=1e-11)[0]


# (pdf, cdf, range) of every shape, parameters typical of the spectra lhcad fits
SHAPES = {
    "crystal_ball": (
        lambda x: crystal_ball_pdf(x, 3450.0, 170.0),
        lambda x: crystal_ball_cdf(x, 3450.0, 170.0),
        (-1e5, 1e5),
    ),
    "double_crystal_ball": (
        lambda x: double_crystal_ball_pdf(x, 480.0, 45.0, 1.0, 3.0, 2.0, 6.0),
        lambda x: double_crystal_ball_cdf(x, 480.0, 45.0, 1.0, 3.0, 2.0, 6.0),
        (-1e5, 1e5),
    ),
    "asymmetric_crystal_ball": (
        lambda x: asymmetric_crystal_ball_pdf(x, 480.0, 45.0, 0.2, 1.0, 3.0, 2.0, 6.0),
        lambda x: asymmetric_crystal_ball_cdf(x, 480.0, 45.0, 0.2, 1.0, 3.0, 2.0, 6.0),
        (-1e5, 1e5),
    ),
    "dijet": (
        lambda x: dijet_pdf(x, 2.0, 14.0, 3.5, lo=MJJ[0], hi=MJJ[1]),
        lambda x: dijet_cdf(x, 2.0, 14.0, 3.5, lo=MJJ[0], hi=MJJ[1]),
        MJJ,
    ),
    "exponential": (
        lambda x: expo_poly_pdf(x, -4.0, lo=JET_MASS[0], hi=JET_MASS[1]),
        lambda x: expo_poly_cdf(x, -4.0, lo=JET_MASS[0], hi=JET_MASS[1]),
        JET_MASS,
    ),
    "expo_poly": (
        lambda x: expo_poly_pdf(x, -6.0, 2.0, lo=JET_MASS[0], hi=JET_MASS[1]),
        lambda x: expo_poly_cdf(x, -6.0, 2.0, lo=JET_MASS[0], hi=JET_MASS[1]),
        JET_MASS,
    ),
    "power_expo": (
        lambda x: BACKGROUND_SHAPES["power_expo"].pdf(x, 1.5, -8.0, 1.0, lo=JET_MASS[0], hi=JET_MASS[1]),
        lambda x: BACKGROUND_SHAPES["power_expo"].cdf(x, 1.5, -8.0, 1.0, lo=JET_MASS[0], hi=JET_MASS[1]),
        JET_MASS,
    ),
    "template": (
        lambda x: template_pdf(x, TEMPLATE_EDGES, TEMPLATE_COUNTS),
        lambda x: template_cdf(x, TEMPLATE_EDGES, TEMPLATE_COUNTS),
        JET_MASS,
    ),
}


@pytest.mark.parametrize("name", SHAPES)
def test_every_density_integrates_to_one_over_its_range(name: str) -> None:
    pdf, _, (lo, hi) = SHAPES[name]
    breaks = tuple(TEMPLATE_EDGES[1:-1]) if name == "template" else (3000.0, 3450.0, 4000.0, 480.0)
    assert integral(pdf, lo, hi, tuple(b for b in breaks if lo < b < hi)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("name", SHAPES)
def test_cdf_differences_are_integrals_of_the_density(name: str) -> None:
    pdf, cdf, (lo, hi) = SHAPES[name]
    finite_lo, finite_hi = max(lo, 0.0), min(hi, 8000.0)
    points = np.linspace(finite_lo, finite_hi, 9)
    values = cdf(points)
    for a, b, difference in zip(points[:-1], points[1:], np.diff(values)):
        inside = tuple(TEMPLATE_EDGES[(TEMPLATE_EDGES > a) & (TEMPLATE_EDGES < b)]) if name == "template" else ()
        assert difference == pytest.approx(integral(pdf, a, b, inside), rel=1e-6, abs=1e-12)
    assert np.all(np.diff(values) >= 0)


def test_the_asymmetric_crystal_ball_peaks_at_its_mean_with_a_width_per_side() -> None:
    """Without asymmetry it is the double-sided Crystal Ball; with asymmetry a its core falls to
    half its height at mean - 1.1774 sigma (1 - a) and mean + 1.1774 sigma (1 + a), and its mode
    stays at mean."""
    x = np.linspace(300.0, 700.0, 2001)
    np.testing.assert_allclose(asymmetric_crystal_ball_pdf(x, 480.0, 45.0, 0.0), double_crystal_ball_pdf(x, 480.0, 45.0), rtol=1e-12)
    density = asymmetric_crystal_ball_pdf(x, 480.0, 45.0, 0.2, 3.0, 3.0, 3.0, 3.0)  # tails beyond the half heights
    assert x[np.argmax(density)] == pytest.approx(480.0, abs=0.2)
    half = np.sqrt(2 * np.log(2)) * 45.0
    peak = asymmetric_crystal_ball_pdf(np.array([480.0]), 480.0, 45.0, 0.2, 3.0, 3.0, 3.0, 3.0)[0]
    at_half = asymmetric_crystal_ball_pdf(np.array([480.0 - 0.8 * half, 480.0 + 1.2 * half]), 480.0, 45.0, 0.2, 3.0, 3.0, 3.0, 3.0)
    np.testing.assert_allclose(at_half / peak, 0.5, rtol=1e-9)


def test_power_expo_holds_the_gamma_spectrum_of_qcd_jet_masses() -> None:
    """A gamma density m^(k-1) exp(-m/theta) is (m/hi)^a0 exp(a1 t) with a0 = k - 1,
    a1 = -(hi - lo)/theta on [0, hi]: the family holds it exactly."""
    lo, hi, k, theta = 0.0, 1000.0, 2.0, 60.0
    x = np.linspace(1.0, 999.0, 50)
    expected = stats_gamma.pdf(x, k, scale=theta) / (stats_gamma.cdf(hi, k, scale=theta) - stats_gamma.cdf(lo, k, scale=theta))
    fitted = BACKGROUND_SHAPES["power_expo"].pdf(x, k - 1.0, -(hi - lo) / theta, 0.0, lo=lo, hi=hi)
    np.testing.assert_allclose(fitted, expected, rtol=1e-8)


@pytest.mark.slow
def test_dijet_bin_integrals_are_accurate_to_1e_6_even_for_wide_bins() -> None:
    """Gauss-Legendre on refined panels vs adaptive quadrature, bin by bin, over parameters from
    a steep QCD spectrum to a flat one, and binnings from 100 GeV bins to a few wide ones."""
    for edges in (np.linspace(*MJJ, 66), np.array([1500.0, 1520.0, 3000.0, 8000.0]), np.linspace(2600.0, 8000.0, 10)):
        for theta in ((2.0, 14.0, 3.5), (10.0, 5.0, 0.1), (-4.0, 20.0, 5.3)):
            probabilities = np.diff(dijet_cdf(edges, *theta))
            density = lambda x: float(dijet_pdf(np.array([x]), *theta, lo=edges[0], hi=edges[-1])[0])
            reference = np.array([integrate.quad(density, a, b, epsabs=0, epsrel=1e-12)[0] for a, b in zip(edges[:-1], edges[1:])])
            relevant = reference > 1e-9  # relative accuracy of the far tail (1e-12 of the events) is moot
            np.testing.assert_allclose(probabilities[relevant], reference[relevant], rtol=1e-6)


def test_cdfs_are_normalised_on_the_range_and_flat_outside() -> None:
    edges = np.linspace(2600.0, 6000.0, 35)
    for values in (dijet_cdf(edges, 2.0, 14.0, 3.5), expo_poly_cdf(edges, -3.0, 1.0), template_cdf(edges, edges, np.ones(34))):
        assert values[0] == 0.0 and values[-1] == pytest.approx(1.0, abs=1e-12)
    outside = dijet_cdf(np.array([1000.0, 2600.0, 6000.0, 9000.0]), 2.0, 14.0, 3.5, lo=2600.0, hi=6000.0)
    np.testing.assert_allclose(outside, [0.0, 0.0, 1.0, 1.0], atol=1e-12)


def test_poisson_regression_reaches_the_maximum_likelihood_of_every_histogram() -> None:
    """The batched Fisher scoring ends where a general minimiser ends, on every pseudo-experiment,
    and (as every Poisson MLE with a free normalisation) predicts exactly the observed total."""
    from scipy import optimize

    edges = np.linspace(2600.0, 7000.0, 45)
    expected = 3000 * np.diff(dijet_cdf(edges, 2.0, 14.0, 3.5))
    counts = np.random.default_rng(1).poisson(expected, size=(200, len(expected))).astype(float)
    regression = PoissonRegression(BACKGROUND_SHAPES["dijet"], edges)
    beta, fitted = regression.fit(counts)
    np.testing.assert_allclose(fitted.sum(axis=1), counts.sum(axis=1), rtol=1e-6)
    for row in range(3):

        def nll(b: np.ndarray, n: np.ndarray = counts[row]) -> float:
            mu = regression.expected(b[None, :])[0]
            return float(np.sum(mu - n * np.log(mu)))

        reference = optimize.minimize(nll, beta[row] + 0.05, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000})
        assert nll(beta[row]) <= reference.fun + 1e-6


def test_whitened_coordinates_have_unit_uncorrelated_errors() -> None:
    """The dijet parameters are ~0.99 correlated; the fit's coordinates c (theta = theta0 + A c)
    have an identity Fisher information, which is what MIGRAD and HESSE need."""
    edges = np.linspace(2600.0, 7000.0, 45)
    theta = np.array([2.0, 14.0, 3.5])
    binned = BACKGROUND_SHAPES["dijet"].binned(edges)
    basis = binned.whitening(theta, 2000.0)
    step = 1e-5

    def log_likelihood_hessian() -> np.ndarray:
        # expected information of the normalised shape for 2000 events: sum_i N p_i g_i g_i^T
        p = np.diff(binned.cdf(theta))
        gradients = np.stack([(np.diff(binned.cdf(theta + step * basis[:, j])) - p) / step for j in range(3)], axis=1)
        return 2000.0 * (gradients / p[:, None]).T @ gradients

    np.testing.assert_allclose(log_likelihood_hessian(), np.eye(3), atol=0.02)


def test_quadrature_switches_to_panel_sums_for_many_points() -> None:
    fine = np.linspace(*MJJ, 30_001)  # far beyond the matrix size: summed panel by panel
    coarse = np.linspace(*MJJ, 66)
    np.testing.assert_allclose(np.interp(coarse, fine, dijet_cdf(fine, 2.0, 14.0, 3.5)), dijet_cdf(coarse, 2.0, 14.0, 3.5), atol=1e-12)
    assert len(fine) * 32 * shapes.GL_ORDER > shapes.MATRIX_SIZE
