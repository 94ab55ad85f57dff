"""Weakly supervised scans (CWoLa, CATHODE): the excess found in every mjj window, and, for
CATHODE, the features of the data beside the flow's synthetic background."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lhcad.plots.style import (
    BACKGROUND,
    ENSEMBLE,
    SIGNAL,
    axis_label,
    finish_grid,
    grid,
    label_figure,
    single,
    step,
)


def window_scan(windows: Sequence[Mapping[str, Any]], best: int, analysis: str) -> Figure:
    """Excess significance of every signal region against its reference (sidebands or synthetic
    background) at the chosen efficiency, the best window marked; with CATHODE, the sideband
    closure AUC of each window's flow on a second axis (0.5 = the flow reproduces the data)."""
    fig, ax = single()
    centres = np.array([w["centre"] for w in windows], dtype=np.float64)
    half_widths = np.array([0.5 * (w["hi"] - w["lo"]) for w in windows], dtype=np.float64)
    significance = np.array([w["significance"] for w in windows], dtype=np.float64)
    ax.errorbar(centres, significance, xerr=half_widths, fmt="o", color=ENSEMBLE, label="excess significance")
    chosen = [i for i, w in enumerate(windows) if w["index"] == best]
    if chosen:
        i = chosen[0]
        ax.plot(centres[i], significance[i], "*", markersize=24, color=SIGNAL, label="best window", zorder=5)
    ax.axhline(0.0, color="grey", linestyle=":")
    top = float(np.nanmax(significance)) if len(significance) else 1.0
    ax.set_ylim(min(0.0, float(np.nanmin(significance))) - 0.5, max(top, 1.0) * 1.4)  # room for the legends
    ax.set_xlabel(axis_label("mjj") + " (signal-region centre)")
    ax.set_ylabel("Local excess significance [σ]")
    closure = [w.get("closure_auc") for w in windows]
    if all(c is not None for c in closure):
        twin = ax.twinx()
        twin.plot(centres, closure, "s--", color=BACKGROUND, label="sideband closure AUC")
        twin.set_ylim(0.4, 0.8)
        twin.set_ylabel("Sideband closure AUC", fontsize=20)
        twin.legend(loc="upper right", fontsize=14)
        fig.subplots_adjust(left=0.14, right=0.84)
    ax.legend(loc="upper left", fontsize=14)
    label_figure(fig, analysis, ax=ax)
    return fig


def synthetic_features(histograms: Mapping[str, Mapping[str, Sequence[float]]], analysis: str) -> Figure:
    """Per feature, unit-area histograms of the data and of the flow's synthetic events, in the
    sidebands (where they must agree) and in the signal region (where a signal shows as a
    difference)."""
    names = list(histograms)
    fig, axes = grid(2 * len(names), ncols=len(names))
    for j, name in enumerate(names):
        h = histograms[name]
        edges = np.asarray(h["edges"], dtype=np.float64)
        for row, (region, title) in enumerate((("sb", "sidebands"), ("sr", "signal region"))):
            ax = axes[row * len(names) + j]
            for key, label, color in ((f"{region}_data", "data", ENSEMBLE), (f"{region}_synthetic", "synthetic", BACKGROUND)):
                counts = np.asarray(h[key], dtype=np.float64)
                total = counts.sum()
                density = counts / (total * np.diff(edges)) if total > 0 else counts
                step(ax, density, edges, color=color, label=label, linewidth=2)
            ax.set_xlabel(axis_label(name))
            ax.set_ylabel("Density")
            ax.set_title(title, fontsize=18)
            ax.legend(loc="best", fontsize=13)
    finish_grid(fig, analysis)
    return fig
