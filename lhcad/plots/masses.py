"""The summary of the analysis: extracted resonance masses against the reconstructed peaks of the
labelled signal (and the generated masses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lhcad.plots.style import FIT, MASS_NAMES, SIGNAL, label_figure, single
from lhcad.report.summary import decimals


def mass_name(observable: str) -> str:
    """The resonance an observable measures (m_Z for mjj, ...), else the observable."""
    return MASS_NAMES.get(observable, observable.replace("_", " "))


def masses_vs_truth(
    masses: Mapping[str, Mapping[str, Any]],
    truth: Mapping[str, float],
    analysis: str,
    generated: Mapping[str, float] | None = None,
) -> Figure:
    """Extracted mass / reconstructed peak of the labelled signal (``truth``) per observable: the
    fitted mean with its statistical error (thick), its total error (statistical and selection
    systematic, thin with caps) and the fitted peak width (red); open markers for masses that
    are not claimed, a note where no fit was valid; the generated masses, when known, as grey
    crosses on the same scale. The annotation is rounded like the report's banner
    (:func:`lhcad.report.summary.mass_line`)."""
    generated = generated or {}
    observables = [o for o in masses if o in truth]
    fig, ax = single()
    x = np.arange(len(observables))
    for i, obs in enumerate(observables):
        m, true = masses[obs], truth[obs]
        if obs in generated:
            ax.plot(i, generated[obs] / true, "x", color="grey", markersize=14, markeredgewidth=2.5)
        if m.get("value") is None:
            blank = {"facecolor": "white", "edgecolor": "none"}
            ax.text(i, 1.0, "no valid fit", ha="center", va="center", fontsize=16, color="grey", bbox=blank)
            continue
        ratio = m["value"] / true
        claimed = bool(m.get("claimed"))
        if m.get("width") is not None:
            ax.errorbar(i, ratio, yerr=m["width"] / true, fmt="none", ecolor=SIGNAL, elinewidth=1.5, capsize=10, alpha=0.8)
        low, high = m.get("error_low"), m.get("error_high")
        yerr = [[abs(low) / true], [abs(high) / true]] if low is not None and high is not None else m["error"] / true
        stat, syst = float(m.get("error") or 0.0), float(m.get("error_syst") or 0.0)
        total = float(m.get("error_total") or np.hypot(stat, syst))
        if total > 0:
            ax.errorbar(i, ratio, yerr=total / true, fmt="none", ecolor=FIT, elinewidth=1.2, capsize=6)
        ax.errorbar(
            i, ratio, yerr=yerr, fmt="o", color=FIT, markersize=12, elinewidth=3.5, capsize=0,
            markerfacecolor=FIT if claimed else "white",
        )  # fmt: skip
        d = decimals(total)
        text = f"{m['value']:.{d}f} ± {total:.{d}f} GeV\n(stat {stat:.{d}f}, sel {syst:.{d}f})"
        text += f"\nsignal peak {true:.0f} GeV"
        text += f"\ngenerated {generated[obs]:.0f} GeV" if obs in generated else ""
        text += f"\n{m.get('significance') or 0:.1f}σ local"
        ax.annotate(text, (i, ratio), xytext=(14, 0), textcoords="offset points", fontsize=13, va="center",
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})  # fmt: skip
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1.5)
    ax.set_xticks(x, [mass_name(o) for o in observables])
    ax.set_xlim(-0.5, len(observables) - 0.2)
    ax.set_ylabel("Extracted mass / reconstructed signal peak")
    low, high = ax.dataLim.y0, ax.dataLim.y1
    low, high = min(low, 0.9), max(high, 1.1)
    ax.set_ylim(low - 0.15 * (high - low), high + 0.6 * (high - low))  # room for the legend
    ax.minorticks_off()
    ax.errorbar([], [], yerr=[], fmt="o", color=FIT, markersize=10, label="fitted mean ± stat. (thick), total error")
    ax.errorbar([], [], yerr=[], fmt="o", color=FIT, markerfacecolor="white", markersize=10, label="not claimed (below threshold)")
    ax.errorbar([], [], yerr=[], fmt="none", ecolor=SIGNAL, label=r"fitted peak width $\sigma$")
    if any(obs in generated for obs in observables):
        ax.plot([], [], "x", color="grey", markersize=12, markeredgewidth=2.5, label="generated mass")
    ax.legend(loc="upper right", fontsize=15)
    label_figure(fig, analysis, ax=ax)
    fig.tight_layout()
    return fig
