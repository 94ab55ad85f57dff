"""Figures of a classification study: ROC curves, score distributions per class, training
histories, and example and mean images per class (or feature distributions for tables)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from lhcad.metrics import roc_curve
from lhcad.plots.style import (
    BACKGROUND,
    SIGNAL,
    finish_grid,
    finite_range,
    fraction_histograms,
    grid,
    integer_epochs,
    label_figure,
    member_color,
    single,
)  # fmt: skip

CLASS_COLORS = (BACKGROUND, SIGNAL)
"""Colours of classes 0 and 1."""
MODEL_NAMES = {"cnn": "CNN", "dense": "dense network"}
RLABEL = "supervised classification"
"""The right-hand figure label (the LHC figures' default, the collision energy, means nothing here)."""


def _finish(fig: Figure, analysis: str) -> None:
    """Lay out and label a grid like every lhcad grid, with :data:`RLABEL` on the right."""
    finish_grid(fig, analysis, rlabel=RLABEL)


def model_name(kind: str) -> str:
    """The readable name of a network kind."""
    return MODEL_NAMES.get(kind, kind)


def roc_figure(labels: np.ndarray, scores: Mapping[str, np.ndarray], aucs: Mapping[str, tuple[float, float]], analysis: str) -> Figure:
    """True- against false-positive rate of every model, with AUC ± bootstrap spread."""
    fig, ax = single()
    for k, (kind, score) in enumerate(scores.items()):
        fpr, tpr = roc_curve(labels, score)
        auc, spread = aucs[kind]
        ax.plot(fpr, tpr, color=member_color(k), lw=2, label=f"{model_name(kind)}: AUC = {auc:.4f} ± {spread:.4f}")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="random")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("False-positive rate")
    ax.set_ylabel("True-positive rate")
    ax.legend(loc="lower right", fontsize=16)
    label_figure(fig, analysis, ax=ax, rlabel=RLABEL)
    return fig


def score_figure(labels: np.ndarray, scores: Mapping[str, np.ndarray], classes: Sequence[str], analysis: str) -> Figure:
    """Distribution of each model's output probability for the test events of each class."""
    fig, axes = grid(len(scores), ncols=min(len(scores), 2))
    for ax, (kind, score) in zip(axes, scores.items()):
        probability = 1.0 / (1.0 + np.exp(-np.clip(score, -50, 50)))
        lo, hi = finite_range(probability, quantiles=(0.0, 1.0))
        bins = np.linspace(lo, hi, 41)
        samples = [(probability[labels == c], classes[c], {"color": CLASS_COLORS[c], "lw": 2}) for c in (0, 1)]
        fraction_histograms(ax, samples, bins)
        ax.set_xlabel(f"{model_name(kind)}: P({classes[1]})")
        ax.set_ylabel(f"Fraction of events / {float(np.diff(bins)[0]):.2g}")
        ax.legend(fontsize=15, title="test events")
    _finish(fig, analysis)
    return fig


def history_figure(histories: Mapping[str, Sequence[Mapping[str, Any]]], best: Mapping[str, int], analysis: str) -> Figure:
    """Training and validation loss, and validation AUC, per epoch (a marker at each model's
    kept epoch)."""
    fig, (loss_ax, auc_ax) = grid(2, ncols=2)
    for k, (kind, history) in enumerate(histories.items()):
        epochs = [h["epoch"] for h in history]
        color = member_color(k)
        loss_ax.plot(epochs, [h["loss"] for h in history], color=color, ls="--", label=f"{model_name(kind)} training")
        loss_ax.plot(epochs, [h["val_loss"] for h in history], color=color, label=f"{model_name(kind)} validation")
        auc_ax.plot(epochs, [h["criterion"] for h in history], color=color, marker="o", label=model_name(kind))
        if best[kind] > 0:
            auc_ax.plot([best[kind]], [history[best[kind] - 1]["criterion"]], marker="*", ms=18, color=color, ls="")
    loss_ax.set_ylabel("Binary cross-entropy")
    auc_ax.set_ylabel("Validation AUC (star: kept epoch)")
    for ax in (loss_ax, auc_ax):
        ax.set_xlabel("Epoch")
        integer_epochs(ax)
        ax.legend(fontsize=14)
    _finish(fig, analysis)
    return fig


def _image_panel(fig: Figure, ax: Any, image: np.ndarray, vmax: float, title: str, log: bool) -> None:
    norm = LogNorm(vmin=max(vmax * 1e-4, 1e-6), vmax=vmax) if log else None
    shown = np.where(image > 0, image, np.nan) if log else image
    mesh = ax.imshow(shown, origin="lower", cmap="viridis", norm=norm, vmin=None if log else -vmax, vmax=None if log else vmax)
    ax.set_title(title, fontsize=16)
    ax.set_xlabel(r"$i\phi$")
    ax.set_ylabel(r"$i\eta$")
    fig.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04)


def example_images_figure(
    x: np.ndarray, y: np.ndarray, classes: Sequence[str], channel: str, per_class: int, analysis: str
) -> Figure:
    """The first ``per_class`` test images of each class, one channel (log colour scale for a
    non-negative channel)."""
    chosen = [np.flatnonzero(y == c)[:per_class] for c in (0, 1)]
    fig, axes = grid(2 * per_class, ncols=per_class)
    log = bool((x >= 0).all())
    for c, indices in enumerate(chosen):
        for j, i in enumerate(indices):
            image = x[i]
            vmax = float(np.abs(image).max()) or 1.0
            _image_panel(fig, axes[c * per_class + j], image, vmax, f"{classes[c]} #{i}", log)
    _finish(fig, analysis)
    return fig


def mean_images_figure(
    means: np.ndarray, classes: Sequence[str], channels: Sequence[str], analysis: str
) -> Figure:
    """Mean image of each class (rows) in each channel (columns), then the classes' difference
    (class 1 minus class 0) per channel."""
    n_channels = means.shape[-1]
    fig, axes = grid(3 * n_channels, ncols=n_channels)
    for ch in range(n_channels):
        log = bool((means[..., ch] >= 0).all())
        vmax = float(np.abs(means[..., ch]).max()) or 1.0
        for c in (0, 1):
            _image_panel(fig, axes[c * n_channels + ch], means[c, ..., ch], vmax, f"mean {classes[c]}, {channels[ch]}", log)
        difference = means[1, ..., ch] - means[0, ..., ch]
        spread = float(np.abs(difference).max()) or 1.0
        _image_panel(fig, axes[2 * n_channels + ch], difference, spread, f"{classes[1]} − {classes[0]}, {channels[ch]}", False)
        axes[2 * n_channels + ch].images[0].set_cmap("coolwarm")
    _finish(fig, analysis)
    return fig


def feature_figure(x: np.ndarray, y: np.ndarray, classes: Sequence[str], features: Sequence[str], analysis: str) -> Figure:
    """Distribution of each table feature per class."""
    fig, axes = grid(len(features))
    for ax, (j, name) in zip(axes, enumerate(features)):
        lo, hi = finite_range(x[:, j])
        bins = np.linspace(lo, hi, 41)
        fraction_histograms(ax, [(x[y == c, j], classes[c], {"color": CLASS_COLORS[c], "lw": 2}) for c in (0, 1)], bins)
        ax.set_xlabel(name)
        ax.set_ylabel("Fraction of events")
        ax.legend(fontsize=14)
    _finish(fig, analysis)
    return fig
