"""Figures of the compression study: relative residuals per column, original against
reconstructed distributions, the networks' accuracy/size trade-off against the latent size, and
the Pareto front of every compressor (size against the mass differences)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

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
MODEL_LINESTYLES: dict[str, str] = {"ae": "-", "vae": "--", "quant": ":"}
#: Markers of the Pareto figure, by compressor (the baselines by name).
MODEL_MARKERS: dict[str, str] = {
    "ae": "o", "vae": "s", "quant": "D", "float16": "^", "bfloat16": "v"
}  # fmt: skip
#: The residual axis spans at most this relative deviation either side of zero.
MAX_RESIDUAL = 1.0


def run_style(run: Mapping[str, Any], latent_dims: Sequence[int]) -> dict[str, Any]:
    """Colour by latent size, line style by model, so AE and VAE at one K read as a pair; the
    quantising codec dotted, coloured after the K's."""
    if run["model"] == "quant":
        colour = member_color(len(latent_dims) + _precision_rank(run))
    else:
        colour = member_color(list(latent_dims).index(run["latent_dim"]))
    return {"color": colour, "linestyle": MODEL_LINESTYLES[run["model"]]}


def _precision_rank(run: Mapping[str, Any]) -> int:
    """Decade-ish index of a precision (0.001 -> 0, 0.003 -> 1, 0.01 -> 2, ...), for colours."""
    return max(round(2 * np.log10(run["precision"] / 1e-3)), 0)


def run_point(run: Mapping[str, Any]) -> str:
    """Where a compressor sits on its own axis: ``K=4`` for a network, ``r=1%`` for the
    quantising codec, ``–`` for a baseline.

    >>> run_point({"model": "ae", "latent_dim": 4})
    'K=4'
    >>> run_point({"model": "quant", "latent_dim": None, "precision": 0.003})
    'r=0.3%'
    """
    if run.get("precision") is not None:
        return f"r={100 * run['precision']:g}%"
    if run.get("latent_dim") is not None:
        return f"K={run['latent_dim']}"
    return "–"


def run_label(run: Mapping[str, Any]) -> str:
    return f"{run['model'].upper()} {run_point(run)}"


def network_latent_dims(runs: Sequence[Mapping[str, Any]]) -> list[int]:
    """The latent sizes of the network runs, sorted."""
    return sorted({run["latent_dim"] for run in runs if run["latent_dim"] is not None})


def residual_grid(
    original: Mapping[str, np.ndarray],
    restored: Mapping[str, Mapping[str, np.ndarray]],
    runs: Sequence[Mapping[str, Any]],
    analysis: str,
) -> Figure:
    """One panel per column: the distribution of ``(reconstructed - original) / original`` for
    every compressor (rows whose original is 0 left out)."""
    latent_dims = network_latent_dims(runs)
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
    latent_dims = network_latent_dims(runs)
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
    ratio against zstd parquet, and the validation loss per epoch of every network (the
    quantising codec has no K and no training: it is in :func:`pareto_figure`)."""
    runs = [run for run in runs if run["latent_dim"] is not None]
    fig, axes = grid(3, ncols=3)
    models = sorted({run["model"] for run in runs})
    latent_dims = network_latent_dims(runs)
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


def mass_front(points: Sequence[Mapping[str, Any]], name: str) -> list[tuple[float, float]]:
    """``(size ratio, mean |Δ| %)`` of the points that no other beats on both for mass
    ``name``, by increasing ratio.

    >>> pts = [{"ratio_vs_parquet_zstd": r, "m_mean_abs_percent": e} for r, e in
    ...        [(2, 0.1), (3, 0.5), (4, 0.2), (8, 1.0)]]
    >>> mass_front(pts, "m")
    [(2, 0.1), (4, 0.2), (8, 1.0)]
    """
    front: list[tuple[float, float]] = []
    candidates = sorted(
        ((p["ratio_vs_parquet_zstd"], p[f"{name}_mean_abs_percent"]) for p in points
         if p[f"{name}_mean_abs_percent"] is not None),
        key=lambda c: (-c[0], c[1]),
    )  # fmt: skip
    for ratio, error in candidates:
        if not front or error < front[-1][1]:
            front.append((ratio, error))
    return front[::-1]


def pareto_figure(points: Sequence[Mapping[str, Any]], analysis: str) -> Figure:
    """One panel per headline mass (mjj, heavy, light): mean (filled) and median (open)
    |relative difference| in % against the size ratio to zstd parquet, one marker per
    compressor kind, each panel's front (:func:`mass_front`) joined by a line."""
    from lhcad.data.columns import MJ_HEAVY, MJ_LIGHT, MJJ

    fig, axes = grid(3, ncols=3)
    for ax, name in zip(axes, (MJJ, MJ_HEAVY, MJ_LIGHT)):
        seen: set[str] = set()
        for i, point in enumerate(points):
            kind = point["name"].split("_")[0]
            mean = point[f"{name}_mean_abs_percent"]
            median = point[f"{name}_median_abs_percent"]
            if mean is None:
                continue
            colour = member_color(list(MODEL_MARKERS).index(kind) if kind in MODEL_MARKERS else i)
            marker = MODEL_MARKERS.get(kind, "o")
            label = kind.upper() if kind not in seen else None
            seen.add(kind)
            x = point["ratio_vs_parquet_zstd"]
            ax.plot([x], [mean], marker=marker, color=colour, linestyle="none", label=label)
            if median is not None and median > 0:
                ax.plot([x], [median], marker=marker, color=colour, linestyle="none",
                        markerfacecolor="none")  # fmt: skip
        front = mass_front(points, name)
        if front:
            ax.plot(*zip(*front), color=ENSEMBLE, linewidth=1, zorder=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())  # 3, 4, 6 rather than 3 x 10^0
        ax.xaxis.set_minor_formatter(ScalarFormatter())
        ax.set_xlabel("zstd parquet size / compressed size")
        ax.set_ylabel(f"|Δ{axis_label(name).split(' [')[0]}| / orig. [%]")
        if seen:
            ax.legend(fontsize=10)
    finish_grid(fig, analysis)
    return fig
