"""The mixture EM: monotone log-likelihood, recovery of known components, the binomial variant."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.stats import binom

from lhcad.families.digits.bmm import fit_mixture, log_likelihood, quantise, run_em, sample
from lhcad.families.digits.metrics import cluster_purity, normalized_mutual_information


def mixture_data(
    trials: int, n: int = 1500, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts from a known 3-component mixture over 40 pixels: each component has its own
    'on' pixels (mu 0.9) and 'off' pixels (mu 0.1); returns (x, true mu, true component)."""
    rng = np.random.default_rng(seed)
    mu = np.full((3, 40), 0.1)
    mu[0, :14], mu[1, 13:27], mu[2, 26:] = 0.9, 0.85, 0.8
    component = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    return rng.binomial(trials, mu[component]).astype(float), mu, component


def matched_error(fitted: np.ndarray, truth: np.ndarray) -> float:
    """Largest |mu difference| after matching fitted components to true ones (Hungarian)."""
    cost = np.abs(fitted[:, None, :] - truth[None, :, :]).max(-1)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max())


@pytest.mark.parametrize("trials", [1, 2, 5])
def test_em_log_likelihood_never_decreases(trials):
    x, _, _ = mixture_data(trials, n=600)
    rng = np.random.default_rng(3)
    fit = run_em(
        x,
        rng.uniform(0.25, 0.75, (5, 40)),
        rng.dirichlet(np.ones(5)),
        trials=trials,
        max_iterations=60,
        tolerance=0.0,
    )
    steps = np.diff(fit.log_likelihood)
    assert len(steps) == 60
    assert steps.min() >= -1e-9 * abs(fit.log_likelihood[-1])


@pytest.mark.parametrize("trials", [1, 2])
def test_em_recovers_the_components_of_a_known_mixture(trials):
    x, mu, _ = mixture_data(trials)
    fit = fit_mixture(x, 3, trials=trials, restarts=3, rng=np.random.default_rng(1))
    # the smallest component has ~300 images: a pixel's mu is known to sigma <= 0.017, and the
    # largest of the 120 deviations stays below 4 sigma
    assert matched_error(fit.mu, mu) < 0.07
    assert sorted(fit.pi) == pytest.approx([0.2, 0.3, 0.5], abs=0.04)
    assert fit.converged


def test_log_likelihood_is_the_exact_mixture_likelihood():
    x, mu, _ = mixture_data(3, n=50)
    pi = np.array([0.5, 0.3, 0.2])
    by_hand = np.log((pi[None, :] * binom.pmf(x[:, None, :], 3, mu[None]).prod(-1)).sum(1)).sum()
    assert log_likelihood(x, mu, pi, 3) == pytest.approx(by_hand, rel=1e-10)


def test_binomial_variant_converges_where_the_bernoulli_update_leaves_the_unit_interval():
    # The reference study's divergence: with counts in 0..2 the Bernoulli update sum r x / sum r
    # is a mean count, above 1 for pixels mostly on. The binomial M-step divides by n.
    x, mu, _ = mixture_data(2)
    assert x[:, :14].mean() > 1.0  # the undivided update would give mu > 1, log(1 - mu) = NaN
    fit = fit_mixture(x, 3, trials=2, restarts=2, rng=np.random.default_rng(0))
    assert fit.converged and np.isfinite(fit.log_likelihood).all()
    assert 0.0 < fit.mu.min() and fit.mu.max() < 1.0
    assert matched_error(fit.mu, mu) < 0.07


def test_mu_stays_away_from_zero_and_one():
    x = np.zeros((20, 6))
    x[:, 0] = 1  # a pixel always on, the others always off: the unconstrained mu would be 1 and 0
    fit = run_em(x, np.full((2, 6), 0.5), np.array([0.5, 0.5]), margin=1e-3, max_iterations=5)
    assert fit.mu.min() == pytest.approx(1e-3) and fit.mu.max() == pytest.approx(1 - 1e-3)
    assert np.isfinite(fit.log_likelihood).all()


def test_restarts_keep_the_best_log_likelihood_and_are_seeded():
    x, _, _ = mixture_data(1, n=400)
    fit = fit_mixture(x, 3, restarts=4, max_iterations=30, rng=np.random.default_rng(7))
    again = fit_mixture(x, 3, restarts=4, max_iterations=30, rng=np.random.default_rng(7))
    assert fit.log_likelihood[-1] == max(fit.restart_log_likelihoods)
    np.testing.assert_array_equal(fit.mu, again.mu)


def test_snapshots_are_the_means_after_those_iterations():
    x, _, _ = mixture_data(1, n=300)
    start = np.random.default_rng(2).uniform(0.25, 0.75, (3, 40)), np.full(3, 1 / 3)
    fit = run_em(x, *start, max_iterations=3, tolerance=0.0, snapshots=(1, 3, 50))
    assert fit.iterations == 3 and sorted(fit.snapshots) == [1, 3]
    np.testing.assert_array_equal(fit.snapshots[3], fit.mu)
    np.testing.assert_array_equal(fit.snapshots[1], run_em(x, *start, max_iterations=1).mu)


def test_samples_follow_the_component_means():
    x, _, _ = mixture_data(1, n=500)
    fit = fit_mixture(x, 3, restarts=2, rng=np.random.default_rng(0))
    drawn = sample(fit, 2000, np.random.default_rng(1))
    assert drawn.shape == (3, 2000, 40)
    np.testing.assert_allclose(drawn.mean(1), fit.mu, atol=0.04)


def test_quantise_binarises_at_the_threshold_and_bins_grey_levels():
    images = np.array([[[0.0, 0.3], [0.5, 0.51]], [[0.7, 0.9], [1.0, 0.34]]])
    np.testing.assert_array_equal(quantise(images, 1, 0.5), [[0, 0, 0, 1], [1, 1, 1, 0]])
    np.testing.assert_array_equal(quantise(images, 2), [[0, 0, 1, 1], [2, 2, 2, 1]])


def test_bad_counts_are_rejected():
    with pytest.raises(ValueError, match=r"integers in 0\.\.1"):
        fit_mixture(np.full((4, 3), 0.5), 2)
    with pytest.raises(ValueError, match="shape"):
        fit_mixture(np.zeros((0, 3)), 2)


def test_purity_and_nmi_of_perfect_and_uninformative_clusterings():
    labels = np.repeat(np.arange(4), 25)
    assert cluster_purity(labels + 10, labels) == 1.0
    assert normalized_mutual_information(labels + 10, labels) == pytest.approx(1.0)
    assert cluster_purity(np.zeros(100, int), labels) == 0.25
    assert normalized_mutual_information(np.zeros(100, int), labels) == pytest.approx(0.0)
