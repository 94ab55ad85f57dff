"""lhcad's figures (matplotlib with the Agg backend, mplhep styles), one module per topic:

- :mod:`~lhcad.plots.style`: colours, labels, the mplhep style, :func:`save_figure`
- :mod:`~lhcad.plots.inputs`: input features, reconstructed features
- :mod:`~lhcad.plots.training`: loss and AUC per epoch
- :mod:`~lhcad.plots.scores`: score distributions, ROC, 1/FPR and SIC curves
- :mod:`~lhcad.plots.fits`: mass histograms with the fitted model and pulls
- :mod:`~lhcad.plots.masses`: extracted masses against the truth

Every function returns a matplotlib Figure; :func:`~lhcad.plots.style.save_figure` writes and
closes it.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from lhcad.plots.style import plot_style, save_figure

__all__ = ["plot_style", "save_figure"]
