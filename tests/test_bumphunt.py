"""The bump hunt: calibrated global p-values on background only, bumps found where they are."""

from __future__ import annotations

import numpy as np
from scipy import stats

from lhcad.fit.bumphunt import bump_hunt, fit_background

EDGES = np.linspace(2600.0, 6000.0, 35)


def smooth_background(rng: np.random.Generator, n: int) -> np.ndarray:
    """A falling spectrum that is *not* the dijet function: a mixture of two exponentials."""
    short = 2600.0 + rng.exponential(350.0, n)
    long = 2600.0 + rng.exponential(900.0, n)
    return np.where(rng.random(n) < 0.8, short, long)


def test_background_fit_follows_a_smooth_spectrum() -> None:
    counts, _ = np.histogram(smooth_background(np.random.default_rng(0), 200_000), EDGES)
    expected = fit_background(EDGES, counts)[0]
    pulls = (counts - expected)[counts > 50] / np.sqrt(expected[counts > 50])
    assert np.all(np.abs(pulls) < 4) and abs(counts.sum() - expected.sum()) < 1.0


def test_background_only_global_p_values_are_uniform_and_never_claim() -> None:
    rng = np.random.default_rng(1)
    global_p, claims = [], 0
    for experiment in range(200):
        counts, _ = np.histogram(smooth_background(rng, 3000), EDGES)
        result = bump_hunt(EDGES, counts, n_toys=200, seed=experiment)
        global_p.append(result.global_p)
        claims += result.global_significance >= 3.0
    assert stats.kstest(global_p, "uniform").pvalue > 0.01
    assert claims <= 2  # at most 1%


def test_a_bump_is_found_in_its_window_and_its_significance_grows_with_size() -> None:
    rng = np.random.default_rng(2)
    background = smooth_background(rng, 3000)
    globals_ = []
    for n_signal in (80, 160, 320):
        counts, _ = np.histogram(np.concatenate([background, rng.normal(3450.0, 170.0, n_signal)]), EDGES)
        result = bump_hunt(EDGES, counts, n_toys=1000, seed=3)
        assert abs(0.5 * (result.window[0] + result.window[1]) - 3450.0) < 200.0  # within ~1 resolution
        globals_.append(result.global_significance)
    assert globals_[0] < globals_[1] < globals_[2]
    assert globals_[-1] > 3.0


def test_asymptotic_estimate_agrees_with_the_pseudo_experiments() -> None:
    """Gross-Vitells vs toys where the toys still resolve the p-value: within 1 sigma."""
    rng = np.random.default_rng(4)
    counts, _ = np.histogram(np.concatenate([smooth_background(rng, 3000), rng.normal(3450.0, 170.0, 150)]), EDGES)
    result = bump_hunt(EDGES, counts, n_toys=4000, seed=5)
    assert 1e-3 < result.global_p < 0.2
    assert abs(result.asymptotic_global_significance - result.global_significance) < 1.0
