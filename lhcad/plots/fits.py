"""Mass histograms of a selection with the fitted signal+background model, its background
component and the pulls of the data around the fit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import mplhep
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lhcad.plots.style import FIT, FIT_BACKGROUND, SIGNAL, axis_label, label_figure, step

PULL_LIMIT = 4.0


@dataclass(frozen=True)
class FitCurves:
    """The fitted model as expected counts per bin."""

    total: np.ndarray
    """Signal + background."""
    background: np.ndarray
    in_range: np.ndarray
    """Bins inside the fit range (boolean)."""


def pulls(counts: np.ndarray, expected: np.ndarray, in_range: np.ndarray) -> np.ndarray:
    """(data − fit)/√fit per bin; NaN outside the fit range or where the fit expects nothing."""
    ok = in_range & (expected > 0)
    out = np.full(len(counts), np.nan)
    out[ok] = (counts[ok] - expected[ok]) / np.sqrt(expected[ok])
    return out


def mean_text(mean: float | None, low: float | None = None, high: float | None = None, error: float | None = None) -> str:
    """``3465 ± 12 GeV``, or ``101.4 +1.2/−0.9 GeV`` with asymmetric (MINOS) errors; the error
    has two significant digits and the mean as many decimals."""
    if mean is None:
        return "no fitted mean"
    errors = [abs(e) for e in (low, high, error) if e is not None and e != 0]
    digits = int(np.clip(1 - np.floor(np.log10(min(errors))), 0, 3)) if errors else 0
    if low is not None and high is not None:
        down, up = f"{abs(low):.{digits}f}", f"{abs(high):.{digits}f}"
        if down != up:
            return rf"${mean:.{digits}f}^{{+{up}}}_{{-{down}}}$ GeV"
        error = abs(high)
    return f"{mean:.{digits}f} ± {error:.{digits}f} GeV" if error is not None else f"{mean:.{digits}f} GeV"


def fit_legend_title(fit: Mapping[str, Any]) -> str:
    """The fitted numbers a reader wants next to the curve."""
    if not fit.get("valid"):
        return f"fit not valid{': ' + str(fit['reason']) if fit.get('reason') else ''}"
    lines = ["mean = " + mean_text(fit.get("mean"), fit.get("mean_error_low"), fit.get("mean_error_high"), fit.get("mean_error"))]
    if fit.get("sigma") is not None:
        lines.append(rf"$\sigma$ = {fit['sigma']:.0f} GeV")
    if fit.get("significance") is not None:
        lines.append(f"local significance {fit['significance']:.1f}σ")
    if fit.get("chi2_ndf") is not None:
        lines.append(rf"$\chi^2$/ndf = {fit['chi2_ndf']:.2f}")
    return "\n".join(lines)


def mass_fit(
    edges: np.ndarray,
    counts: np.ndarray,
    fit: Mapping[str, Any],
    curves: FitCurves | None,
    *,
    analysis: str,
    selection: str,
    observable: str,
    signal_counts: np.ndarray | None = None,
    truth: float | None = None,
    generated: float | None = None,
) -> Figure:
    """Data (Poisson errors), the fitted signal+background and background expectations per bin,
    the labelled signal when labels exist, a pull panel; the fitted mean ± error in the legend.

    ``truth`` is the reconstructed peak of the labelled signal (dotted line), ``generated`` the
    mass the signal was generated with (dash-dotted line): detector response and clustering put
    the first a few percent below the second."""
    edges = np.asarray(edges, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    fig, (ax, pull_ax) = plt.subplots(
        2, 1, figsize=(9.0, 9.5), sharex=True, gridspec_kw={"height_ratios": [3.2, 1], "hspace": 0.05}
    )
    if signal_counts is not None:
        signal = np.asarray(signal_counts, dtype=np.float64)
        mplhep.histplot(signal, edges, ax=ax, histtype="fill", color=SIGNAL, alpha=0.3, label="labelled signal", flow="none")
    data_label = f"data, {selection} ({int(counts.sum()):,} events)"
    mplhep.histplot(counts, edges, ax=ax, histtype="errorbar", yerr=True, color="black", label=data_label, flow="none")
    if curves is not None:
        _draw_fit(ax, pull_ax, edges, counts, curves, valid=bool(fit.get("valid")))
    if truth is not None:
        ax.axvline(truth, color=SIGNAL, linestyle=":", linewidth=2, label=f"reconstructed peak of the labelled signal: {truth:.0f} GeV")
    if generated is not None:
        ax.axvline(generated, color="grey", linestyle="-.", linewidth=1.5, label=f"generated mass: {generated:.0f} GeV")
    width = float(np.diff(edges).mean())
    ax.set_ylabel(f"Events / {width:g} GeV")
    top = float((counts + np.sqrt(counts)).max(initial=0.0))
    if curves is not None and np.isfinite(curves.total).any():
        top = max(top, float(np.nanmax(curves.total)))
    ax.set_ylim(0, max(top, 1.0) * 2.1)  # room for the legend above the data
    ax.legend(loc="upper right", title=fit_legend_title(fit), fontsize=14, title_fontsize=14, alignment="left")
    pull_ax.axhline(0, color="black", linewidth=1)
    for level in (-2, 2):
        pull_ax.axhline(level, color="grey", linestyle="--", linewidth=1)
    pull_ax.set_ylim(-PULL_LIMIT - 0.5, PULL_LIMIT + 0.5)
    pull_ax.set_yticks([-4, -2, 0, 2, 4])
    pull_ax.set_ylabel("Pull")
    pull_ax.set_xlabel(axis_label(observable))
    pull_ax.set_xlim(edges[0], edges[-1])
    label_figure(fig, analysis, ax=ax)
    fig.subplots_adjust(left=0.15, right=0.96, top=0.94, bottom=0.1)
    return fig


def _draw_fit(ax: Axes, pull_ax: Axes, edges: np.ndarray, counts: np.ndarray, curves: FitCurves, *, valid: bool) -> None:
    """The fitted expectations (faded when the fit is not valid), the pulls, and grey bands
    outside the fit range."""
    name = "fit" if valid else "fit (not valid)"
    style: dict[str, Any] = {"linewidth": 2.2, "edges": False, "alpha": 1.0 if valid else 0.6}
    total = np.where(curves.in_range, curves.total, np.nan)
    background = np.where(curves.in_range, curves.background, np.nan)
    step(ax, total, edges, color=FIT, label=f"{name}: signal + background", **style)
    step(ax, background, edges, color=FIT_BACKGROUND, linestyle="--", label=f"{name}: background", **style)
    residual = np.clip(pulls(counts, curves.total, curves.in_range), -PULL_LIMIT, PULL_LIMIT)
    centers = 0.5 * (edges[1:] + edges[:-1])
    pull_ax.bar(centers, residual, width=np.diff(edges), color="grey", edgecolor="black", linewidth=0.5)
    for lo, hi in _outside(edges, curves.in_range):
        for a in (ax, pull_ax):
            a.axvspan(lo, hi, color="grey", alpha=0.12, linewidth=0)


def _outside(edges: np.ndarray, in_range: np.ndarray) -> list[tuple[float, float]]:
    """The x intervals outside the fit range (to shade)."""
    spans: list[tuple[float, float]] = []
    for i, inside in enumerate(in_range):
        if inside:
            continue
        if spans and spans[-1][1] == edges[i]:
            spans[-1] = (spans[-1][0], edges[i + 1])
        else:
            spans.append((edges[i], edges[i + 1]))
    return spans
