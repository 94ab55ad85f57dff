"""CWoLa hunting: per window, a classifier of signal-region events against sideband events.

Classification without labels (arXiv:1708.02949, 1805.02664): the signal region is a mixture
richer in signal than the sidebands, so the optimal SR-vs-SB classifier is monotone in the
signal-vs-background likelihood ratio, if the background's features do not depend on mjj. When
they do (jet masses grow with mjj), the classifier also learns the SR-vs-SB difference of the
background itself: the selection sculpts the background, and a fake excess grows where the
signal region's background looks unlike the sidebands'.
"""

from __future__ import annotations

import numpy as np

from lhcad.weak.classifier import Problem
from lhcad.weak.transform import Gaussianizer
from lhcad.weak.windows import Window


def cwola_problem(
    window: Window, *, x: np.ndarray, mjj: np.ndarray, sideband: float, folds: int, seed: int
) -> tuple[Problem, Gaussianizer]:
    """The signal-region-vs-sidebands problem of one window and its input transform.

    Args:
        window: the signal region.
        x: features of all events (physical units).
        mjj: mjj of all events.
        sideband: width of each sideband in signal-region widths.
        folds: cross-training folds.
        seed: seeds the folds and the transform's subsample.
    """
    sr = np.flatnonzero(window.signal_region(mjj))
    sb = np.flatnonzero(window.sidebands(mjj, sideband))
    gauss = Gaussianizer.fit(x[sb], seed=seed)
    problem = Problem.build(gauss.transform(x[sr]), gauss.transform(x[sb]), sr, sb, folds, seed)
    return problem, gauss
