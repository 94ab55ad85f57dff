"""Figures of the compression study: relative residuals per column, original against
reconstructed distributions, and the accuracy/size trade-off against the latent size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lhcad.families.compress.metrics import relative_residual
from lhcad.plots.style import (
    ENSEMBLE,
    axis_label,
    finish_fraction_panel,
    finish_grid,
    finite_range,
    fraction_histograms,
    fraction_label,
    grid,
    integer_epochs,
    member_color,
    nice_bins,
    unit_of,
)

N_BINS = 60
MODEL_LINESTYLES: dict[str, str] = {"ae": "-", "vae": "--"}
#: The residual axis spans at most this relative deviation either side of zero.
MAX_RESIDUAL = 1.0


def run_style(run: Mapping[str, Any], latent_dims: Sequence[int]) -> dict[str, Any]:
    """Colour by latent size, line style by model, so AE and VAE at one K read as a pair."""
    return {
        "color": member_color(list(latent_dims).index(run["latent_dim"])),
        "linestyle": MODEL_LINESTYLES[run["model"]],
    }


def run_label(run: Mapping[str, Any]) -> str:
    return f"{run['model'].upper()} K={run['latent_dim']}"


def residual_grid(
    original: Mapping[str, np.ndarray],
    restored: Mapping[str, Mapping[str, np.ndarray]],
    runs: Sequence[Mapping[str, Any]],
    analysis: str,
) -> Figure:
    """One panel per column: the distribution of ``(reconstructed - original) / original`` for
    every compressor (rows whose original is 0 left out)."""
    latent_dims = sorted({run["latent_dim"] for run in runs})
    fig, axes = grid(len(original), ncols=min(len(original), 4))
    for ax, (name, values) in zip(axes, original.items()):
        residuals = {}
        for run in runs:
            residual = relative_residual(values, restored[run["name"]][name])
            residuals[run["name"]] = residual[np.isfinite(residual)]
        lo, hi = finite_range(*residuals.values(), quantiles=(0.01, 0.99))
        reach = min(max(abs(lo), abs(hi), 1e-4), MAX_RESIDUAL)
        bins = np.linspace(-reach, reach, N_BINS + 1)
        samples = [
            (
                np.clip(residuals[run["name"]], -reach, reach),
                run_label(run),
                run_style(run, latent_dims),
            )
            for run in runs
        ]
        fraction_histograms(ax, samples, bins)
        ax.set_xlabel(f"({axis_label(name).split(' [')[0]} rec. − orig.) / orig.")
        ax.set_ylabel(fraction_label(bins))
        ax.set_yscale("log")
        ax.set_xlim(bins[0], bins[-1])
        ax.legend(loc="upper right", fontsize=11)
    finish_grid(fig, analysis)
    return fig


def distribution_grid(
    original: Mapping[str, np.ndarray],
    restored: Mapping[str, Mapping[str, np.ndarray]],
    runs: Sequence[Mapping[str, Any]],
    analysis: str,
) -> Figure:
    """One panel per observable: the original distribution against every reconstruction."""
    latent_dims = sorted({run["latent_dim"] for run in runs})
    fig, axes = grid(len(original), ncols=min(len(original), 4))
    for ax, (name, values) in zip(axes, original.items()):
        bins = nice_bins(*finite_range(values), N_BINS)
        samples = [(values, "original", {"color": ENSEMBLE, "linewidth": 3})]
        samples += [
            (restored[run["name"]][name], run_label(run), run_style(run, latent_dims))
            for run in runs
        ]
        fraction_histograms(ax, samples, bins)
        finish_fraction_panel(ax, bins, axis_label(name), unit_of(name), legend_size=11)
    finish_grid(fig, analysis)
    return fig


def tradeoff_figure(runs: Sequence[Mapping[str, Any]], analysis: str) -> Figure:
    """Three panels: the resolution (central-68% half width of the relative difference) of the
    derived observables (of the columns when the table has no jets) against K, the compression
    ratio against zstd parquet, and the validation loss per epoch of every compressor."""
    fig, axes = grid(3, ncols=3)
    models = sorted({run["model"] for run in runs})
    latent_dims = sorted({run["latent_dim"] for run in runs})
    key = "derived" if runs[0]["derived"] else "columns"
    for model in models:
        chosen = sorted((r for r in runs if r["model"] == model), key=lambda r: r["latent_dim"])
        ks = [r["latent_dim"] for r in chosen]
        for i, name in enumerate(chosen[0][key]):
            widths = [100 * (r[key][name]["half_width_68"] or 0.0) for r in chosen]
            style = {"marker": "o", "color": member_color(i), "linestyle": MODEL_LINESTYLES[model]}
            label = f"{axis_label(name).split(' [')[0]} {model.upper()}"
            axes[0].plot(ks, widths, **style, label=label)
        ratios = [r["ratio_vs_parquet_zstd"] for r in chosen]
        axes[1].plot(
            ks,
            ratios,
            marker="o",
            color=ENSEMBLE,
            linestyle=MODEL_LINESTYLES[model],
            label=model.upper(),
        )
        for r in chosen:
            epochs = [h["epoch"] for h in r["history"]]
            axes[2].plot(
                epochs,
                [h["val_loss"] for h in r["history"]],
                **run_style(r, latent_dims),
                label=run_label(r),
            )
    axes[0].set_xlabel("latent size K")
    axes[0].set_ylabel("68% half width of rel. diff. [%]")
    axes[0].legend(fontsize=10, ncols=2)
    axes[1].set_xlabel("latent size K")
    axes[1].set_ylabel("zstd parquet size / .lhcz size")
    axes[1].legend()
    axes[2].set_xlabel("epoch")
    axes[2].set_ylabel("validation loss")
    integer_epochs(axes[2])
    axes[2].legend(fontsize=10)
    for ax in axes[:2]:
        ax.set_xticks(latent_dims)
    finish_grid(fig, analysis)
    return fig
