"""The look shared by every lhcad figure: mplhep style, labels, colours, saving."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import mplhep
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.transforms import IdentityTransform

from lhcad.data.columns import AXIS_LABELS, MJ_HEAVY, MJ_LIGHT, MJJ

SIGNAL = "#e42536"
BACKGROUND = "#3f90da"
FIT = "#000000"
FIT_BACKGROUND = "#f89c20"
MEMBER_COLORS = ("#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6", "#a96b59", "#e76300", "#b9ac70")
ENSEMBLE = "#000000"

#: The resonance whose mass each observable measures (Z -> X Y).
RESONANCES: dict[str, str] = {MJJ: "Z", MJ_HEAVY: "X", MJ_LIGHT: "Y"}
MASS_NAMES: dict[str, str] = {obs: f"$m_{name}$" for obs, name in RESONANCES.items()}

#: Readable names of the latent scores (the models' SCORE_NAMES).
SCORE_LABELS: dict[str, str] = {
    "z_mean": r"$z_\mu$",
    "z_logvar": r"$z_{\log\sigma^2}$",
    "z_mean2": r"$z_\mu^2$",
    "recon_error": "reconstruction error",
    "kl": "KL divergence",
}

PANEL = (7.0, 6.0)
"""Size in inches of one panel of a grid (the CMS style's fonts are sized for ~10-inch figures)."""

DPI = 100


def axis_label(column: str, *, transformed: bool = False) -> str:
    """The axis label of a column, with its unit when it has one (none after the quantile
    transform, which makes every feature dimensionless)."""
    label = AXIS_LABELS.get(column, column.replace("_", " "))
    return f"{label.split(' [')[0]}, quantile-transformed" if transformed else label


def score_label(name: str) -> str:
    """The readable name of a latent score."""
    return SCORE_LABELS.get(name, name.replace("_", " "))


def member_color(k: int) -> str:
    """The colour of ensemble member ``k``."""
    return MEMBER_COLORS[k % len(MEMBER_COLORS)]


@contextmanager
def plot_style(style: str = "CMS") -> Iterator[None]:
    """Apply an mplhep style (``CMS``, ``ATLAS``, ``LHCb2``, ``ALICE``) for the duration of a block."""
    with plt.style.context(getattr(mplhep.style, style)):
        yield


def grid(n_panels: int, ncols: int | None = None, *, sharex: bool = False, sharey: bool = False) -> tuple[Figure, list[Axes]]:
    """A figure with ``n_panels`` panels in rows of ``ncols``; unused panels are hidden."""
    ncols = ncols or min(n_panels, 3)
    nrows = int(np.ceil(n_panels / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(PANEL[0] * ncols, PANEL[1] * nrows + 0.6), squeeze=False, sharex=sharex, sharey=sharey
    )
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels]


def single() -> tuple[Figure, Axes]:
    """A one-panel figure."""
    fig, ax = plt.subplots(figsize=(9.0, 8.0))
    return fig, ax


def label_figure(fig: Figure, analysis: str, *, ax: Axes | None = None, rlabel: str = "√s = 13 TeV") -> None:
    """Mark a figure with **lhcad** *analysis* on the left and ``rlabel`` on the right: above
    ``ax`` for a one-panel figure, above the grid otherwise. The experiment slot says lhcad:
    the data are no experiment's. (Plain texts: mplhep's label draws the whole figure to place
    itself, which costs more than the figure.)"""
    if ax is not None:
        spot = {"transform": ax.transAxes, "va": "bottom"}
        brand = ax.text(0.0, 1.012, "lhcad", fontsize=24, weight="bold", ha="left", **spot)
        ax.text(1.0, 1.012, rlabel, fontsize=19, ha="right", **spot)
    else:
        spot = {"transform": fig.transFigure, "va": "top"}
        brand = fig.text(0.01, 0.995, "lhcad", fontsize=24, weight="bold", ha="left", **spot)
        fig.text(0.99, 0.995, rlabel, fontsize=20, ha="right", **spot)
    name = Annotation(
        analysis, xy=(1.0, 0.0), xycoords=brand, xytext=(8, 0), textcoords="offset points", fontsize=21,
        style="italic", ha="left", va="bottom", annotation_clip=False,
    )  # fmt: skip
    name.set_transform(IdentityTransform())
    (ax or fig).add_artist(name)
    name.set_clip_on(False)


#: Margins of a grid in inches: left, right, bottom, top (below the label), between columns, between rows.
GRID_MARGINS = (1.25, 0.3, 1.0, 1.05, 1.45, 1.5)


def finish_grid(fig: Figure, analysis: str, *, rlabel: str = "√s = 13 TeV") -> None:
    """Lay out a grid with fixed margins (in inches: as readable as tight_layout for these
    figures, at a fraction of its cost) and label it with the analysis (and ``rlabel`` on the
    right, see :func:`label_figure`)."""
    width, height = fig.get_size_inches()
    ncols, nrows = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()[::-1]
    left, right, bottom, top, gap_x, gap_y = GRID_MARGINS
    axis_w = (width - left - right - (ncols - 1) * gap_x) / ncols
    axis_h = (height - bottom - top - (nrows - 1) * gap_y) / nrows
    fig.subplots_adjust(
        left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
        wspace=gap_x / axis_w, hspace=gap_y / axis_h,
    )  # fmt: skip
    label_figure(fig, analysis, rlabel=rlabel)


def save_figure(fig: Figure, directory: Path, name: str, formats: Sequence[str] = ("png", "pdf")) -> dict[str, Path]:
    """Write ``directory/name.<format>`` for every format, close the figure, return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for fmt in formats:
        path = directory / f"{name}.{fmt}"
        fig.savefig(path, dpi=DPI, metadata={"CreationDate": None} if fmt == "pdf" else None)
        paths[fmt] = path
    plt.close(fig)
    return paths


def step(ax: Axes, values: np.ndarray, bins: np.ndarray, *, edges: bool = True, **kwargs: Any) -> None:
    """A step histogram of precomputed bin contents (``edges=False``: no vertical lines down to
    zero at the ends, for a curve defined on part of the axis)."""
    ax.stairs(np.asarray(values, dtype=np.float64), bins, baseline=0.0 if edges else None, fill=False, **kwargs)


def finite_range(*samples: np.ndarray, quantiles: tuple[float, float] = (0.002, 0.998)) -> tuple[float, float]:
    """A plotting range that holds all but the extreme tails of every sample (so that a small
    signal sample is not cut by the range of a large background)."""
    ranges = []
    for sample in samples:
        values = np.asarray(sample, dtype=np.float64).ravel()
        values = values[np.isfinite(values)]
        if len(values):
            ranges.append(np.quantile(values, quantiles))
    if not ranges:
        return 0.0, 1.0
    lo, hi = float(min(r[0] for r in ranges)), float(max(r[1] for r in ranges))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def nice_bins(lo: float, hi: float, target: int = 60) -> np.ndarray:
    """About ``target`` bins of a round width (1, 2, 2.5 or 5 times a power of ten) covering
    ``[lo, hi]``, so the y label reads ``/ 10 GeV`` rather than ``/ 9.7 GeV``."""
    raw = (hi - lo) / target
    scale = 10.0 ** np.floor(np.log10(raw))
    width = scale * min((m for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * scale >= raw), default=10.0)
    start, stop = np.floor(lo / width) * width, np.ceil(hi / width) * width
    return start + width * np.arange(int(round((stop - start) / width)) + 1)


def integer_epochs(ax: Axes) -> None:
    """Integer ticks on an epoch axis."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def unit_of(column: str) -> str:
    """The unit of a column's axis label (``GeV``), empty when dimensionless."""
    label = AXIS_LABELS.get(column, "")
    return label[label.rfind("[") + 1 : -1] if label.endswith("]") else ""


def fraction_label(bins: np.ndarray, unit: str = "") -> str:
    """``Fraction of events / 20 GeV``: the y label of a normalised histogram."""
    width = float(f"{float(np.diff(bins).mean()):.3g}")
    return f"Fraction of events / {width:g}{' ' + unit if unit else ''}"


def class_samples(values: np.ndarray, labels: np.ndarray | None) -> list[tuple[np.ndarray, str, dict[str, Any]]]:
    """The samples of :func:`fraction_histograms` for one quantity: background and signal when
    labelled, all events otherwise."""
    if labels is None:
        return [(values, "all events", {"color": ENSEMBLE})]
    return [
        (values[labels == 0], "background", {"color": BACKGROUND}),
        (values[labels == 1], "signal", {"color": SIGNAL, "linestyle": "--"}),
    ]


def finish_fraction_panel(
    ax: Axes, bins: np.ndarray, xlabel: str, unit: str = "", *, headroom: float = 1.35, legend_size: float | None = None
) -> None:
    """Axis labels, the x range of ``bins`` and room above the histograms for the legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(fraction_label(bins, unit))
    ax.set_xlim(bins[0], bins[-1])
    ax.set_ylim(0, ax.get_ylim()[1] * headroom)
    ax.legend(loc="upper right", fontsize=legend_size)


def fraction_histograms(ax: Axes, samples: Sequence[tuple[np.ndarray, str, dict[str, Any]]], bins: np.ndarray) -> None:
    """Overlay histograms of several samples (``(values, label, style)``), each bin holding the
    fraction of the sample's events that fall in it (so shapes of samples of any size compare)."""
    for values, label, style in samples:
        values = np.asarray(values, dtype=np.float64)
        counts, _ = np.histogram(values, bins=bins)
        step(ax, counts / max(len(values), 1), bins, label=f"{label} ({len(values):,})", **style)
