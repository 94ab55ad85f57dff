"""Does a jet-mass peak belong to the mjj resonance? A sideband (ABCD) test on the selected events.

A selection on an anomaly score sculpts the QCD jet-mass spectrum (the Sudakov peak at a few tens
of GeV, the shoulder of heavy QCD jets): a jet-mass fit on a smooth background then finds
"peaks" with large local significance whatever the data hold. The mjj bump hunt's global
significance says a resonance is there; it does not say that the jet-mass peak is its
daughter. A daughter's events sit in the mjj peak, a sculpted QCD feature's events sit at every
mjj. So the selected events are split four ways:

======================  ==========================  ==============================
..                      jet mass in the peak window  jet mass outside it
======================  ==========================  ==============================
mjj signal region       A                            B
mjj sidebands           C                            D
======================  ==========================  ==============================

Without a daughter, the jet-mass window holds the same fraction of the signal-region events as
of the sideband events (A/B = C/D up to the weak dependence of jet masses on mjj, which the
narrow sidebands, one signal-region width either side, keep small). The evidence is Fisher's
exact test of the 2x2 table, one-sided (A over-represented), conditional on the margins, so
valid for small counts; its p-value is quoted as a one-sided Gaussian significance. A peak
window found by a jet-mass fit of the whole selection does not look at the signal-region /
sideband split, so the test has no look-elsewhere effect of its own; a window found among the
signal-region events alone was picked where they peak, and the p-value is multiplied by the
number of windows the fit could have picked (``trials``, Bonferroni).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from lhcad.fit.significance import p_to_significance


@dataclass(frozen=True)
class SidebandTest:
    """The 2x2 counts of :func:`sideband_test` and the significance of the window's enrichment.

    ``expected`` is the count A the sideband fraction predicts, ``B C / D``; ``significance``
    is None when the sidebands hold no event in or none out of the window (nothing to compare
    with).
    """

    signal_region: tuple[float, float]
    sidebands: tuple[float, float]
    window: tuple[float, float]
    trials: float
    in_region_in_window: int
    in_region_out_window: int
    sideband_in_window: int
    sideband_out_window: int
    expected: float | None
    p_value: float | None
    significance: float | None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def sideband_test(
    mjj: ArrayLike,
    mass: ArrayLike,
    signal_region: tuple[float, float],
    window: tuple[float, float],
    sideband_width: float = 1.0,
    trials: float = 1.0,
) -> SidebandTest:
    """Test whether events with ``mass`` inside ``window`` concentrate in the mjj signal region.

    Args:
        mjj: dijet mass of the selected events.
        mass: the jet mass of the same events.
        signal_region: ``(lo, hi)`` in mjj.
        window: ``(lo, hi)`` in the jet mass (the fitted peak, e.g. mean +- 2 sigma).
        sideband_width: width of each sideband in units of the signal region's width.
        trials: the windows the peak could have been found in; the p-value is multiplied by it.
    """
    mjj, mass = np.asarray(mjj, dtype=np.float64), np.asarray(mass, dtype=np.float64)
    lo, hi = map(float, signal_region)
    reach = sideband_width * (hi - lo)
    sidebands = (lo - reach, hi + reach)
    in_region = (mjj >= lo) & (mjj < hi)
    in_sidebands = ~in_region & (mjj >= sidebands[0]) & (mjj < sidebands[1])
    in_window = (mass >= window[0]) & (mass < window[1])
    a, b = int(np.sum(in_region & in_window)), int(np.sum(in_region & ~in_window))
    c, d = int(np.sum(in_sidebands & in_window)), int(np.sum(in_sidebands & ~in_window))
    expected = p_value = significance = None
    if c > 0 and d > 0:
        expected = b * c / d
        p_value = min(float(stats.fisher_exact([[a, b], [c, d]], alternative="greater").pvalue) * trials, 1.0)
        significance = float(p_to_significance(p_value))
    return SidebandTest(
        (lo, hi), sidebands, (float(window[0]), float(window[1])), float(trials), a, b, c, d, expected, p_value, significance
    )
