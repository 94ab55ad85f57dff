"""Latent scores: signal vs background distributions per member and score (the reference study's
score grid), ROC curves, background rejection (1/FPR) and significance improvement (SIC)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lhcad.metrics import roc_auc, roc_curve
from lhcad.plots.style import (
    ENSEMBLE,
    class_samples,
    finish_grid,
    finite_range,
    fraction_histograms,
    fraction_label,
    grid,
    member_color,
    nice_bins,
    score_label,
)

N_BINS = 50
MIN_BACKGROUND = 10
"""Working points must keep at least this many background events: below, 1/FPR and SIC are
dominated by the fluctuation of a handful of events."""

CurveKind = Literal["roc", "rejection", "sic"]


def member_column(name: str, member: int | None) -> str:
    """The scores-table column of score ``name`` for member ``member`` (None: the ensemble)."""
    return name if member is None else f"{name}_m{member}"


def curve_label(member: int | None) -> str:
    return "ensemble" if member is None else f"member {member}"


def score_distributions(
    table: Mapping[str, np.ndarray], labels: np.ndarray | None, names: Sequence[str], n_members: int, analysis: str
) -> Figure:
    """Grid of score distributions: one row per member plus the ensemble, one column per score;
    signal vs background (all events when unlabelled), unit area, log scale."""
    rows: list[int | None] = [*range(n_members), None]
    fig, axes = grid(len(rows) * len(names), ncols=len(names))
    for i, member in enumerate(rows):
        for j, name in enumerate(names):
            ax = axes[i * len(names) + j]
            values = np.asarray(table[member_column(name, member)], dtype=np.float64)
            samples = class_samples(values, labels)
            tails = (0.001, 0.999)
            bins = nice_bins(*finite_range(*(sample for sample, _, _ in samples), quantiles=tails), N_BINS)
            fraction_histograms(ax, samples, bins)
            ax.set_yscale("log")
            ax.set_xlim(bins[0], bins[-1])
            ax.set_ylim(top=ax.get_ylim()[1] * 20)
            ax.set_xlabel(f"{score_label(name)} ({curve_label(member)})", fontsize=20)
            ax.set_ylabel(fraction_label(bins), fontsize=18)
            ax.minorticks_off()  # an overview of many small panels: minor ticks only clutter (and cost)
            if i == j == 0:  # the same two samples in every panel: one legend
                ax.legend(loc="upper right", fontsize=18)
    finish_grid(fig, analysis)
    return fig


@dataclass(frozen=True)
class Roc:
    """A ROC curve: background and signal efficiencies at every threshold."""

    fpr: np.ndarray
    tpr: np.ndarray
    auc: float
    n_background: int


def roc(labels: np.ndarray, score: np.ndarray) -> Roc:
    """The ROC curve of ``score`` (higher = more signal-like) against 0/1 ``labels``, computed
    by :mod:`lhcad.metrics` like the AUCs of ``metrics.json``."""
    labels = np.asarray(labels)
    fpr, tpr = roc_curve(labels, score)
    return Roc(fpr=fpr, tpr=tpr, auc=roc_auc(labels, score), n_background=int((labels == 0).sum()))


def roc_set(table: Mapping[str, np.ndarray], labels: np.ndarray, names: Sequence[str], n_members: int) -> dict[str, dict[int | None, Roc]]:
    """The ROC curve of every score, for every member and for the ensemble (key None)."""
    return {
        name: {member: roc(labels, np.asarray(table[member_column(name, member)])) for member in [*range(n_members), None]}
        for name in names
    }


def _curve(r: Roc, kind: CurveKind) -> tuple[np.ndarray, np.ndarray]:
    if kind == "roc":
        return r.fpr, r.tpr
    keep = r.fpr * r.n_background >= MIN_BACKGROUND
    fpr, tpr = r.fpr[keep], r.tpr[keep]
    return tpr, (1.0 / fpr if kind == "rejection" else tpr / np.sqrt(fpr))


def _decorate(ax: Axes, kind: CurveKind) -> None:
    grid_x = np.linspace(0.01, 1.0, 200)
    if kind == "roc":
        ax.plot(grid_x, grid_x, color="grey", linestyle=":", label="random")
        ax.set_xlabel(r"Background efficiency $\varepsilon_B$ (FPR)")
        ax.set_ylabel(r"Signal efficiency $\varepsilon_S$ (TPR)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.05)
    elif kind == "rejection":
        ax.plot(grid_x, 1.0 / grid_x, color="grey", linestyle=":", label="random")
        ax.set_yscale("log")
        ax.set_xlabel(r"Signal efficiency $\varepsilon_S$ (TPR)")
        ax.set_ylabel(r"Background rejection $1/\varepsilon_B$")
        ax.set_xlim(0, 1)
    else:
        ax.plot(grid_x, np.sqrt(grid_x), color="grey", linestyle=":", label="random")
        ax.set_xlabel(r"Signal efficiency $\varepsilon_S$ (TPR)")
        ax.set_ylabel(r"SIC $\varepsilon_S/$√$\varepsilon_B$")
        ax.set_xlim(0, 1)


def roc_figure(rocs: Mapping[str, Mapping[int | None, Roc]], kind: CurveKind, analysis: str, *, chosen: str | None = None) -> Figure:
    """One panel per score, one curve per member and for the ensemble, the AUC in the legend
    (``inverted`` below 0.5: the score's low side is the signal-like one):
    ``roc`` (TPR vs FPR), ``rejection`` (1/FPR vs TPR, log scale) or ``sic`` (TPR/sqrt(FPR) vs TPR).
    1/FPR and SIC stop where fewer than MIN_BACKGROUND background events pass."""
    fig, axes = grid(len(rocs), ncols=min(len(rocs), 3))
    for ax, (name, by_member) in zip(axes, rocs.items()):
        for member, r in by_member.items():
            x, y = _curve(r, kind)
            style = {"color": ENSEMBLE, "linewidth": 3} if member is None else {"color": member_color(member), "linewidth": 1.8}
            inverted = ", inverted" if r.auc is not None and r.auc < 0.5 else ""
            ax.plot(x, y, label=f"{curve_label(member)} (AUC = {r.auc:.3f}{inverted})", **style)  # type: ignore[arg-type]
        _decorate(ax, kind)
        low, high = ax.get_ylim()
        if kind == "sic":
            ax.set_ylim(0, high * 1.6)
        elif kind == "rejection":
            ax.set_ylim(low, high * 10)
        ax.set_title(score_label(name) + ("  (used)" if name == chosen else ""), fontsize=22)
        ax.legend(loc="best", fontsize=14)
    finish_grid(fig, analysis)
    return fig
