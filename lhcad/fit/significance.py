"""P-values and Gaussian significances, one-sided, in one place.

Every significance lhcad reports answers "how unlikely is an *excess* at least this large
under the background-only hypothesis", so the conversion is one-sided: Z = Phi^-1(1 - p),
and a p-value of 0.5 or more (no excess) is Z = 0 rather than a negative number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

#: Smallest p-value represented; smaller ones (beyond ~37 sigma) are clipped to it.
P_FLOOR = 1e-300


def p_to_significance(p: ArrayLike) -> np.ndarray | float:
    """One-sided Gaussian significance ``Z = isf(p)`` of a p-value, 0 for ``p >= 0.5``.

    Args:
        p: p-value(s) in [0, 1]; values below :data:`P_FLOOR` are clipped to it.

    Returns:
        Z, a float for a scalar input, else an array of the input's shape.
    """
    z = np.clip(stats.norm.isf(np.clip(np.asarray(p, dtype=np.float64), P_FLOOR, 1.0)), 0.0, None)
    return float(z) if z.ndim == 0 else z


def bonferroni_p(p_values: Sequence[float]) -> float:
    """The smallest of several tests' p-values times their number (at most 1): a global
    p-value that is never too small, however the tests are correlated."""
    return min(1.0, len(p_values) * min(float(p) for p in p_values))


def significance_to_p(z: ArrayLike) -> np.ndarray | float:
    """One-sided p-value ``sf(Z)`` of a Gaussian significance (inverse of :func:`p_to_significance`)."""
    p = stats.norm.sf(np.asarray(z, dtype=np.float64))
    return float(p) if np.ndim(p) == 0 else p


def poisson_excess_p(observed: ArrayLike, expected: ArrayLike) -> np.ndarray:
    """BumpHunter's local p-value of a count: ``P(N >= n | b)`` for an excess, 1 otherwise.

    For integer ``n >= 1``, ``P(N >= n | b)`` is the regularised lower incomplete gamma
    function ``P(n, b)``. Deficits (``n <= b``) and windows expecting nothing get p = 1, as in
    the original BumpHunter (arXiv:1101.0390) and pyBumpHunter: only excesses are hunted.

    Args:
        observed: observed counts ``n``.
        expected: expected background counts ``b`` (same shape, broadcastable).

    Returns:
        The p-values, clipped below at :data:`P_FLOOR`.
    """
    n = np.asarray(observed, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    excess = (n > b) & (b > 0)
    p = special.gammainc(np.where(excess, n, 1.0), np.where(excess, b, 1.0))
    return np.where(excess, np.clip(p, P_FLOOR, 1.0), 1.0)
