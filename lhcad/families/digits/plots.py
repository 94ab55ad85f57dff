"""Figures of the digit studies: image mosaics (component means, samples, decoded latent grid,
reconstructions), the EM log-likelihood, the VAE's latent scatter and loss curves.

Every mosaic is one ``imshow`` of the images tiled with one-pixel gaps (drawn in the
background colour), so a 20 x 20 grid of digits costs one image, not 400 axes.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lhcad.plots.style import integer_epochs, label_figure, single
from lhcad.plots.training import model_loss_figure

DIGIT_COLORS = plt.get_cmap("tab10").colors


def tile(images: np.ndarray, gap: int = 1) -> np.ndarray:
    """Images ``(R, C, H, W)`` as one ``(R (H + gap) - gap, C (W + gap) - gap)`` mosaic, NaN in
    the gaps."""
    rows, cols, height, width = images.shape
    padded = np.full((rows, cols, height + gap, width + gap), np.nan)
    padded[:, :, :height, :width] = images
    mosaic = padded.transpose(0, 2, 1, 3).reshape(rows * (height + gap), cols * (width + gap))
    return mosaic[: mosaic.shape[0] - gap, : mosaic.shape[1] - gap]


def draw_mosaic(
    ax: Axes,
    images: np.ndarray,
    *,
    row_labels: Sequence[str] = (),
    col_labels: Sequence[str] = (),
) -> None:
    """Draw images ``(R, C, H, W)`` (values in [0, 1], ink dark) as a labelled mosaic."""
    rows, cols, height, width = images.shape
    cmap = plt.get_cmap("gray_r").with_extremes(bad="#d9dce1")
    ax.imshow(tile(images), cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_yticks(
        np.arange(rows) * (height + 1) + (height - 1) / 2, list(row_labels) or [""] * rows
    )
    ax.set_xticks(np.arange(cols) * (width + 1) + (width - 1) / 2, list(col_labels) or [""] * cols)
    ax.tick_params(length=0, which="both")
    ax.minorticks_off()


def _mosaic_figure(
    images: np.ndarray,
    analysis: str,
    rlabel: str,
    *,
    cell: float = 0.9,
    row_labels: Sequence[str] = (),
    col_labels: Sequence[str] = (),
    xlabel: str = "",
    ylabel: str = "",
) -> Figure:
    rows, cols = images.shape[:2]
    fig, ax = plt.subplots(figsize=(max(cols * cell + 2.4, 8.0), rows * cell + 2.0))
    draw_mosaic(ax, images, row_labels=row_labels, col_labels=col_labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    label_figure(fig, analysis, ax=ax, rlabel=rlabel)
    return fig


def snapshots_figure(
    snapshots: dict[int, np.ndarray], shape: tuple[int, int], final: int, analysis: str, rlabel: str
) -> Figure:
    """Component means ``mu`` ``(K, D)`` after each recorded iteration: one row per iteration,
    one column per component (the reference study's figures 1 to 3); ``final`` is the
    iteration the fit stopped at."""
    iterations = sorted(snapshots)
    images = np.stack([snapshots[i].reshape(-1, *shape) for i in iterations])
    names = [f"iteration {i}" + (" (final)" if i == final else "") for i in iterations]
    return _mosaic_figure(
        images,
        analysis,
        rlabel,
        row_labels=names,
        col_labels=[str(k) for k in range(images.shape[1])],
        xlabel="component",
    )


def samples_figure(
    mu: np.ndarray,
    samples: np.ndarray,
    shape: tuple[int, int],
    trials: int,
    names: Sequence[str],
    analysis: str,
    rlabel: str,
) -> Figure:
    """Each component's mean (first column) and images drawn from it (the other columns), pixel
    counts shown as fractions of the trials."""
    images = np.concatenate([mu[:, None, :], samples / trials], axis=1)
    images = images.reshape(len(mu), samples.shape[1] + 1, *shape)
    return _mosaic_figure(
        images,
        analysis,
        rlabel,
        row_labels=list(names),
        col_labels=["mean", *[str(s + 1) for s in range(samples.shape[1])]],
        xlabel="sample",
    )


def log_likelihood_figure(
    history: Sequence[float], n_images: int, analysis: str, rlabel: str
) -> Figure:
    """Log-likelihood per image against the EM iteration (0 = the initial parameters)."""
    fig, ax = single()
    values = np.asarray(history) / n_images
    ax.plot(np.arange(len(values)), values, marker="o", markersize=4, color="#3f90da")
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("log-likelihood per image")
    integer_epochs(ax)
    label_figure(fig, analysis, ax=ax, rlabel=rlabel)
    return fig


def latent_scatter_figure(z: np.ndarray, labels: np.ndarray, analysis: str, rlabel: str) -> Figure:
    """The images' ``z_mean`` in the 2-D latent space, coloured by digit (the study's figure 6)."""
    fig, ax = single()
    order = np.random.default_rng(0).permutation(len(z))  # no digit drawn on top of all others
    colors = np.asarray(DIGIT_COLORS)[labels[order] % 10]
    ax.scatter(z[order, 0], z[order, 1], c=colors, s=6, alpha=0.7, linewidths=0)
    for digit in np.unique(labels):
        centre = np.median(z[labels == digit], axis=0)
        ax.text(
            *centre,
            str(digit),
            fontsize=20,
            weight="bold",
            ha="center",
            va="center",
            color=DIGIT_COLORS[digit % 10],
            bbox={"facecolor": "white", "alpha": 0.7, "pad": 1, "lw": 0},
        )
    ax.set_xlabel(r"$z_0$")
    ax.set_ylabel(r"$z_1$")
    label_figure(fig, analysis, ax=ax, rlabel=rlabel)
    return fig


def decoded_grid_figure(
    images: np.ndarray, size: int, extent: float, shape: tuple[int, int], analysis: str, rlabel: str
) -> Figure:
    """Images decoded from a ``size x size`` grid over ``[-extent, extent]^2`` (the study's
    figure 7); axis ticks give z0 (columns) and z1 (rows, top = largest)."""
    mosaic = images.reshape(size, size, *shape)
    axis = np.linspace(-extent, extent, size)
    every = max(size // 5, 1)
    cols = [f"{v:.1f}" if i % every == 0 or i == size - 1 else "" for i, v in enumerate(axis)]
    rows = [f"{v:.1f}" if i % every == 0 or i == size - 1 else "" for i, v in enumerate(axis[::-1])]
    cell = max(9.0 / size, 0.45)
    return _mosaic_figure(
        mosaic,
        analysis,
        rlabel,
        cell=cell,
        row_labels=rows,
        col_labels=cols,
        xlabel=r"$z_0$",
        ylabel=r"$z_1$",
    )


def reconstructions_figure(
    originals: np.ndarray,
    reconstructed: np.ndarray,
    shape: tuple[int, int],
    analysis: str,
    rlabel: str,
) -> Figure:
    """Test images (top row) above their reconstructions (bottom row)."""
    images = np.stack([originals, reconstructed]).reshape(2, len(originals), *shape)
    return _mosaic_figure(
        images, analysis, rlabel, cell=1.1, row_labels=["original", "reconstructed"]
    )


def loss_figure(
    history: Sequence[dict], member: int, best_epoch: int, analysis: str, rlabel: str
) -> Figure:
    """One member's training and validation loss (negative ELBO per image) against the epoch."""
    return model_loss_figure(
        [entry["epoch"] for entry in history],
        [entry["loss"][member] for entry in history],
        [entry["val_loss"][member] for entry in history],
        best_epoch,
        analysis,
        ylabel="loss per image (BCE + KL)",
        rlabel=rlabel,
    )
