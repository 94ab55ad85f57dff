"""What the report recomputes from the cached artifacts: the fitted curves on a histogram's bins
(through :func:`lhcad.fit.expected_from_dict`) and the VAE's reconstructions of the inputs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from lhcad.families.lhco.artifacts import Ensemble
from lhcad.fit import expected_from_dict
from lhcad.plots.fits import FitCurves

log = logging.getLogger("lhcad.report")


def fit_components(fit: Mapping[str, Any], edges: np.ndarray, template: np.ndarray | None) -> FitCurves | None:
    """The fitted (total, background) expected counts of a ``fits.json`` entry on the bins
    ``edges`` of its histogram (NaN outside the fit range); None when the fit has no parameters.

    ``template`` is the full-range background template (the ``all`` histogram) of ``template``
    fits that stored none; it is cut to the fit range here, as the fit did. A fit that stored its
    template (every fit of this version: a selection's background reference too) is drawn with it.
    """
    fit_edges = np.asarray(fit.get("edges") or [], dtype=np.float64)
    if not fit.get("params") or len(fit_edges) < 2:
        return None
    edges = np.asarray(edges, dtype=np.float64)
    first = int(np.argmin(np.abs(edges - fit_edges[0])))
    n_bins = len(fit_edges) - 1
    if first + n_bins >= len(edges) or not np.allclose(edges[first : first + n_bins + 1], fit_edges):
        raise ValueError(f"the fit's bins are not bins of the histogram of {fit.get('observable')}")
    window = slice(first, first + n_bins)
    stored = fit.get("template") is not None
    restricted = None if stored or template is None or fit.get("background") != "template" else np.asarray(template)[window]
    try:
        total, background = expected_from_dict(dict(fit), restricted)
    except (KeyError, ValueError, TypeError) as exc:  # a fits.json from another lhcad version
        log.warning("cannot redraw the fit of %s in %s: %s", fit.get("observable"), fit.get("selection"), exc)
        return None
    full_total, full_background = np.full(len(edges) - 1, np.nan), np.full(len(edges) - 1, np.nan)
    full_total[window], full_background[window] = total, background
    in_range = np.zeros(len(edges) - 1, dtype=bool)
    in_range[window] = True
    return FitCurves(total=full_total, background=full_background, in_range=in_range)


def reconstruct(ensemble: Ensemble, checkpoint: str, score_name: str, x: np.ndarray, *, seed: int = 0) -> list[np.ndarray]:
    """Each member's reconstruction of the (transformed) inputs ``x``: encode, sample z from the
    encoder's Gaussian (seeded), decode to the mean. One ``(N, F)`` array per member."""
    import torch

    model, _ = ensemble.model(checkpoint, score_name)
    generator = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        z_mean, z_logvar = model.encode(torch.as_tensor(np.asarray(x, dtype=np.float32)))
        noise = torch.randn(z_mean.shape, generator=generator, dtype=z_mean.dtype)
        x_hat, _ = model.decode(z_mean + torch.exp(0.5 * z_logvar) * noise)
    return [member.numpy().astype(np.float64) for member in x_hat]
