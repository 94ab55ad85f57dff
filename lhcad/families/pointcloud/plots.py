"""Figures of the point-cloud studies: originals beside reconstructions and generated sets
(digits as images, jets as (eta, phi) scatters with pT as marker size), feature distributions,
training history and anomaly ROC curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lhcad.metrics import roc_curve
from lhcad.plots.style import (
    BACKGROUND,
    MEMBER_COLORS,
    SIGNAL,
    finish_grid,
    fraction_histograms,
    fraction_label,
    grid,
    integer_epochs,
    label_figure,
    nice_bins,
    single,
)
from lhcad.families.pointcloud.sets import render_image

#: One row of a gallery: a title and ``(points, mask)`` of the sets it shows.
GalleryRow = tuple[str, tuple[np.ndarray, np.ndarray]]


def digit_gallery(rows: Sequence[GalleryRow], shape: tuple[int, int], analysis: str) -> Figure:
    """Rows of digits drawn as images from their ``(x, y, I)`` points."""
    n_cols = len(rows[0][1][0])
    fig, axes = grid(len(rows) * n_cols, n_cols)
    for r, (title, (points, mask)) in enumerate(rows):
        images = render_image(points, mask, shape)
        for c, image in enumerate(images):
            ax = axes[r * n_cols + c]
            ax.imshow(image, cmap="Greys", vmin=0.0, vmax=1.0)
            ax.set_xticks([]), ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(title)
    finish_grid(fig, analysis, rlabel="sparse digits")
    return fig


def jet_gallery(rows: Sequence[GalleryRow], analysis: str, extent: float = 0.8) -> Figure:
    """Rows of jets as (eta_rel, phi_rel) scatters, marker area proportional to pT_rel."""
    n_cols = len(rows[0][1][0])
    fig, axes = grid(len(rows) * n_cols, n_cols, sharex=True, sharey=True)
    for r, (title, (points, mask)) in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r * n_cols + c]
            valid = np.asarray(mask[c], bool)
            eta, phi, pt = points[c][valid, 0], points[c][valid, 1], points[c][valid, 2]
            ax.scatter(
                eta, phi, s=2000 * np.clip(pt, 0, 1) + 4, alpha=0.6, color=MEMBER_COLORS[r % 8]
            )
            ax.set_xlim(-extent, extent), ax.set_ylim(-extent, extent)
            ax.set_title(f"{title} {c + 1}", fontsize=16)
            if r == len(rows) - 1:
                ax.set_xlabel(r"$\eta_{rel}$")
            if c == 0:
                ax.set_ylabel(r"$\phi_{rel}$")
    finish_grid(fig, analysis)
    return fig


def feature_distributions(
    names: Sequence[str],
    samples: Sequence[tuple[str, tuple[np.ndarray, np.ndarray], dict[str, Any]]],
    analysis: str,
    *,
    log_features: Sequence[int] = (),
    extra: Mapping[str, Sequence[np.ndarray]] | None = None,
) -> Figure:
    """Histograms of every point feature over the valid points of each sample (and of any
    ``extra`` per-set quantity, e.g. the jet mass), normalised to fractions."""
    extra = dict(extra or {})
    fig, axes = grid(len(names) + len(extra), min(len(names) + len(extra), 4))
    for i, name in enumerate(names):
        values = [points[..., i][np.asarray(mask, bool)] for _, (points, mask), _ in samples]
        _histograms(axes[i], name, values, samples, log=i in log_features)
    for ax, (name, per_sample) in zip(axes[len(names) :], extra.items(), strict=True):
        _histograms(ax, name, list(per_sample), samples, log=False)
    finish_grid(fig, analysis)
    return fig


def _histograms(
    ax: Any, name: str, values: list[np.ndarray], samples: Sequence[Any], *, log: bool
) -> None:
    values = [np.log10(np.maximum(v, 1e-6)) if log else v for v in values]
    reference = values[0]
    lo, hi = np.quantile(reference, [0.001, 0.999]) if len(reference) else (0.0, 1.0)
    span = max(hi - lo, 1e-6)
    bins = nice_bins(lo - 0.05 * span, hi + 0.05 * span, 50)
    fraction_histograms(
        ax, [(v, label, style) for v, (label, _, style) in zip(values, samples, strict=True)], bins
    )
    ax.set_xlabel(f"log10 {name}" if log else name)
    ax.set_ylabel(fraction_label(bins))
    ax.legend(fontsize=13)


def history_figure(history: Sequence[Mapping[str, Any]], analysis: str) -> Figure:
    """Training and validation loss per epoch."""
    fig, ax = single()
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["loss"] for h in history], label="training", color=BACKGROUND)
    ax.plot(epochs, [h["val_loss"] for h in history], label="validation", color=SIGNAL)
    ax.set_xlabel("epoch"), ax.set_ylabel("loss per set")
    integer_epochs(ax)
    ax.legend()
    label_figure(fig, analysis, ax=ax)
    return fig


def anomaly_figure(
    background: np.ndarray, anomalies: Mapping[str, np.ndarray], analysis: str
) -> Figure:
    """ROC curves (background rejection against signal efficiency) and score distributions."""
    fig, (roc_ax, score_ax) = grid(2, 2)
    for k, (name, scores) in enumerate(anomalies.items()):
        labels = np.r_[np.zeros(len(background)), np.ones(len(scores))]
        fpr, tpr = roc_curve(labels, np.r_[background, scores])
        color = MEMBER_COLORS[(k + 1) % len(MEMBER_COLORS)]
        roc_ax.plot(tpr, 1.0 / np.maximum(fpr, 1.0 / len(background)), label=name, color=color)
    roc_ax.plot(np.linspace(0.01, 1), 1 / np.linspace(0.01, 1), "k:", label="random")
    (
        roc_ax.set_yscale("log"),
        roc_ax.set_xlabel("signal efficiency"),
        roc_ax.set_ylabel("background rejection"),
    )
    roc_ax.legend(fontsize=14)
    logs = {
        name: np.log10(np.maximum(v, 1e-6))
        for name, v in {"background": background, **anomalies}.items()
    }
    lo, hi = np.quantile(np.concatenate(list(logs.values())), [0.002, 0.998])
    bins = nice_bins(lo, hi, 50)
    fraction_histograms(
        score_ax,
        [
            (v, name, {"color": MEMBER_COLORS[k % len(MEMBER_COLORS)]})
            for k, (name, v) in enumerate(logs.items())
        ],
        bins,
    )
    score_ax.set_xlabel("log10 reconstruction error"), score_ax.set_ylabel(fraction_label(bins))
    score_ax.legend(fontsize=14)
    finish_grid(fig, analysis)
    return fig
