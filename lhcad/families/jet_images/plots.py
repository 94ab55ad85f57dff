"""Figures of the jet-image studies: originals beside reconstructions, mean images, the latent
space, anomaly ROC and SIC curves, training losses and score distributions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from lhcad.families.jet_images.geometry import CHANNELS, IMAGE_SIZE, PIXEL
from lhcad.plots.style import finish_grid, grid, label_figure, single
from lhcad.plots.training import model_loss_figure

HALF_WIDTH = IMAGE_SIZE * PIXEL / 2
EXTENT = (-HALF_WIDTH, HALF_WIDTH, -HALF_WIDTH, HALF_WIDTH)
TYPE_COLORS = {"q": "#1f77b4", "g": "#d62728", "t": "#2ca02c", "w": "#9467bd", "z": "#ff7f0e"}
TYPE_NAMES = {"q": "quark", "g": "gluon", "t": "top", "w": "W", "z": "Z"}
SCORE_NAMES = {
    "recon_error": "reconstruction error",
    "recon_0": "Tracks reconstruction error",
    "recon_1": "ECAL reconstruction error",
    "recon_2": "HCAL reconstruction error",
    "kl": "KL divergence",
    "z_mean2": "|z mean|²",
}


def _panels(images: np.ndarray) -> list[np.ndarray]:
    """The channels of ``(125, 125, 3)`` images, then their sum."""
    return [images[..., c] for c in range(images.shape[-1])] + [images.sum(axis=-1)]


def _show(ax: plt.Axes, image: np.ndarray, norm: LogNorm, title: str, *, colorbar: bool) -> None:
    """A (eta, phi) image on a log colour scale, empty pixels blank."""
    masked = np.ma.masked_less_equal(image.T, norm.vmin)  # rows: phi, so eta runs along x
    mappable = ax.imshow(
        masked, origin="lower", extent=EXTENT, norm=norm, cmap="viridis", interpolation="none"
    )
    ax.set_title(title, fontsize=12)
    ax.set_xlabel("Δη", fontsize=11)
    ax.set_ylabel("Δφ", fontsize=11)
    ax.tick_params(labelsize=9)
    ax.minorticks_off()  # dozens of small panels: minor ticks cost more than they show
    if colorbar:
        cbar = ax.figure.colorbar(mappable, ax=ax, fraction=0.046, pad=0.03)
        cbar.ax.tick_params(labelsize=9)
        cbar.ax.minorticks_off()
        cbar.set_label("GeV", fontsize=10)


def examples_figure(
    originals: np.ndarray, reconstructions: np.ndarray, types: Sequence[str], analysis: str
) -> Figure:
    """One row per jet: Tracks, ECAL, HCAL and their sum, original then reconstructed (GeV; each
    original and its reconstruction share a colour scale, drawn beside the reconstruction)."""
    names = [*CHANNELS, "sum"]
    n = len(originals)
    fig, axes = plt.subplots(
        n, 2 * len(names), figsize=(2.9 * 2 * len(names), 2.6 * n + 0.6), squeeze=False
    )
    for row in range(n):
        kind = TYPE_NAMES.get(types[row], types[row])
        for col, (original, recon) in enumerate(
            zip(_panels(originals[row]), _panels(reconstructions[row]), strict=True)
        ):
            top = max(float(original.max()), float(recon.max()), 1e-3)
            norm = LogNorm(vmin=top * 1e-3, vmax=top)
            _show(axes[row, col], original, norm, f"{kind}: {names[col]}", colorbar=False)
            _show(
                axes[row, col + len(names)],
                recon,
                norm,
                f"{kind}: {names[col]} (VAE)",
                colorbar=True,
            )
    fig.subplots_adjust(
        left=0.03,
        right=0.99,
        bottom=0.05,
        top=1 - 0.6 / fig.get_size_inches()[1],
        wspace=0.5,
        hspace=0.55,
    )
    label_figure(fig, analysis)
    return fig


def mean_images_figure(means: Mapping[str, np.ndarray], analysis: str) -> Figure:
    """Average normalised image of each sample, per channel (``(3, 125, 125)`` arrays)."""
    fig, axes = grid(len(means) * len(CHANNELS), ncols=len(CHANNELS))
    for i, (name, mean) in enumerate(means.items()):
        for c, channel in enumerate(CHANNELS):
            ax = axes[i * len(CHANNELS) + c]
            top = max(float(mean[c].max()), 1e-6)
            mappable = ax.imshow(
                np.ma.masked_less_equal(mean[c].T, top * 1e-4), origin="lower", extent=EXTENT,
                norm=LogNorm(vmin=top * 1e-4, vmax=top), cmap="viridis", interpolation="none",
            )  # fmt: skip
            ax.set_title(f"{name}: {channel}", fontsize=17)
            ax.minorticks_off()
            ax.set_xlabel("Δη")
            ax.set_ylabel("Δφ")
            fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.03).set_label("mean pixel")
    finish_grid(fig, analysis)
    return fig


def latent_figure(
    z_mean: np.ndarray, types: np.ndarray, analysis: str, max_points: int = 3000
) -> Figure:
    """The latent means projected on their two principal components, coloured by jet type."""
    centred = z_mean - z_mean.mean(axis=0)
    _, _, axes_pc = np.linalg.svd(centred, full_matrices=False)
    projected = (
        centred @ axes_pc[:2].T
        if centred.shape[1] > 1
        else np.column_stack([centred, np.zeros(len(centred))])
    )
    rng = np.random.default_rng(0)
    shown = rng.permutation(len(z_mean))[:max_points]
    fig, ax = single()
    for kind in dict.fromkeys(types.tolist()):
        mine = shown[types[shown] == kind]
        ax.scatter(
            *projected[mine].T,
            s=6,
            alpha=0.5,
            color=TYPE_COLORS.get(kind),
            label=TYPE_NAMES.get(kind, kind),
        )
    ax.set_xlabel("latent principal component 1")
    ax.set_ylabel("latent principal component 2")
    ax.legend(markerscale=3)
    label_figure(fig, analysis, ax=ax)
    return fig


def roc_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    aucs: Mapping[str, float],
    signal: str,
    analysis: str,
) -> Figure:
    """Background rejection 1/FPR and SIC = TPR/sqrt(FPR) against the signal efficiency."""
    fig, (left, right) = grid(2, ncols=2)
    for name, (fpr, tpr) in curves.items():
        keep = fpr > 0
        label = f"{SCORE_NAMES.get(name, name)} (AUC {aucs[name]:.3f})"
        left.plot(tpr[keep], 1 / fpr[keep], label=label)
        right.plot(tpr[keep], tpr[keep] / np.sqrt(fpr[keep]), label=SCORE_NAMES.get(name, name))
    left.plot([0, 1], [1, 1], color="grey", ls=":")
    left.set_yscale("log")
    left.set_xlabel(f"{signal} efficiency (TPR)")
    left.set_ylabel("QCD rejection 1/FPR")
    left.legend(fontsize=12)
    right.set_xlabel(f"{signal} efficiency (TPR)")
    right.set_ylabel("SIC = TPR/√FPR")
    right.axhline(1.0, color="grey", ls=":")
    finish_grid(fig, analysis)
    return fig


def training_figure(
    history: Sequence[Mapping[str, float]], best_epoch: int, analysis: str
) -> Figure:
    """Training and validation loss per epoch."""
    return model_loss_figure(
        [h["epoch"] for h in history],
        [h["loss"] for h in history],
        [h["val_loss"] for h in history],
        best_epoch,
        analysis,
        ylabel="loss per image",
    )


def score_histograms_figure(
    scores: Mapping[str, np.ndarray], types: np.ndarray, analysis: str
) -> Figure:
    """Distribution of each anomaly score per jet type (normalised)."""
    fig, axes = grid(len(scores), ncols=3)
    for ax, (name, values) in zip(axes, scores.items(), strict=True):
        lo, hi = np.quantile(values, [0.001, 0.995])
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 50)
        for kind in dict.fromkeys(types.tolist()):
            ax.hist(
                values[types == kind], bins=bins, density=True, histtype="step", lw=2,
                color=TYPE_COLORS.get(kind), label=TYPE_NAMES.get(kind, kind),
            )  # fmt: skip
        ax.set_xlabel(SCORE_NAMES.get(name, name))
        ax.set_ylabel("density")
        ax.legend(fontsize=12)
    finish_grid(fig, analysis)
    return fig
