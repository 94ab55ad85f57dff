"""Input features: signal vs background before and after the quantile transform, and the
features reconstructed by the VAE (encoder -> decoder -> inverse transform) against the originals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from lhcad.plots.style import (
    ENSEMBLE,
    axis_label,
    class_samples,
    finish_fraction_panel,
    finish_grid,
    finite_range,
    fraction_histograms,
    grid,
    member_color,
    nice_bins,
    unit_of,
)

N_BINS = 60


def feature_distributions(
    features: Mapping[str, np.ndarray], labels: np.ndarray | None, analysis: str, *, transformed: bool = False
) -> Figure:
    """One panel per feature: unit-area histograms of signal and background (all events when
    unlabelled)."""
    fig, axes = grid(len(features), ncols=min(len(features), 4))
    for ax, (name, values) in zip(axes, features.items()):
        values = np.asarray(values, dtype=np.float64)
        samples = class_samples(values, labels)
        bins = nice_bins(*finite_range(*(sample for sample, _, _ in samples)), N_BINS)
        fraction_histograms(ax, samples, bins)
        unit = "" if transformed else unit_of(name)
        finish_fraction_panel(ax, bins, axis_label(name, transformed=transformed), unit, headroom=1.25)
    finish_grid(fig, analysis)
    return fig


def reconstruction_comparison(
    original: Mapping[str, np.ndarray], reconstructed: Sequence[Mapping[str, np.ndarray]], analysis: str
) -> Figure:
    """One panel per feature: the original distribution against each member's reconstruction
    (encoder -> decoder -> inverse quantile transform), in physical units."""
    fig, axes = grid(len(original), ncols=min(len(original), 4))
    for ax, (name, values) in zip(axes, original.items()):
        values = np.asarray(values, dtype=np.float64)
        bins = nice_bins(*finite_range(values, *(m[name] for m in reconstructed)), N_BINS)
        samples = [(values, "original", {"color": ENSEMBLE, "linewidth": 2.5})]
        samples += [
            (member[name], f"member {k} reconstructed", {"color": member_color(k), "linestyle": "--"})
            for k, member in enumerate(reconstructed)
        ]
        fraction_histograms(ax, samples, bins)
        finish_fraction_panel(ax, bins, axis_label(name), unit_of(name), legend_size=16)
    finish_grid(fig, analysis)
    return fig
