"""The report of a compression study: results.json, figures and the HTML page.

Every reconstructed table is decompressed here from its ``.lhcz`` file alone (the files are
self-contained), and compared with the original table the compressors saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from lhcad.families.compress.artifacts import CompressArtifacts
from lhcad.families.compress.codec import decompress_file
from lhcad.families.compress.metrics import DERIVED_OBSERVABLES, derived_tables, has_jets
from lhcad.families.compress.plots import (
    distribution_grid,
    pareto_figure,
    residual_grid,
    run_point,
    tradeoff_figure,
)
from lhcad.families.compress.config import CompressAnalysis, compressed_table
from lhcad.data.columns import MJ_HEAVY, MJ_LIGHT, MJJ
from lhcad.pipeline.runner import StageContext
from lhcad.report.html import FigureRef, Paragraph, Section, Table
from lhcad.report.parts import FigureWriter, fmt
from lhcad.report.stage import ReportPage
from lhcad.results import results_header

#: Baler (GSoC 2023, seed 004): average of three runs at K = 4 on its own HEP table; times in
#: seconds (the seed gives minutes), mass difference in %.
SEED_REFERENCE: dict[str, dict[str, float]] = {
    "ae": {
        "latent_dim": 4,
        "train_seconds": 3.453 * 60,
        "compress_seconds": 0.042 * 60,
        "decompress_seconds": 0.192 * 60,
        "mass_difference_percent": 2.067,
    },
    "vae": {
        "latent_dim": 4,
        "train_seconds": 4.647 * 60,
        "compress_seconds": 0.058 * 60,
        "decompress_seconds": 0.314 * 60,
        "mass_difference_percent": 1.033,
    },
}

#: Observables of the headline table (the issue's: mjj and both jet masses).
HEADLINE: tuple[str, ...] = (MJJ, MJ_HEAVY, MJ_LIGHT)


def _percent(value: float | None, digits: int = 2) -> str:
    return fmt(None if value is None else 100 * value, digits)


def _mean_abs(run: Mapping[str, Any], name: str) -> str:
    return fmt(run["derived"].get(name, {}).get("mean_abs_percent"), 2)


def _median_abs(run: Mapping[str, Any], name: str) -> str:
    return fmt(run["derived"].get(name, {}).get("median_abs_percent"), 3)


def _baselines(metrics: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The rounded-column baselines a study holds (runs before bfloat16 have float16 only)."""
    found = [("float16 + tuned zstd parquet", metrics["float16_zstd"])]
    if "bfloat16_zstd" in metrics:
        found.append(("bfloat16 + tuned zstd parquet", metrics["bfloat16_zstd"]))
    return found


#: The size ratios of the headline table, against parquet, zstd parquet and tuned zstd parquet.
RATIOS: tuple[str, ...] = (
    "ratio_vs_parquet",
    "ratio_vs_parquet_zstd",
    "ratio_vs_parquet_zstd_tuned",
)
TIMES: tuple[str, ...] = ("train_seconds", "compress_seconds", "decompress_seconds")


def summary_table(metrics: Mapping[str, Any]) -> Table:
    """The issue's table: size ratios, mass differences and the three times per compressor,
    with the float16 baseline and the seed's numbers."""
    rows: list[list[Any]] = []
    for run in metrics["runs"]:
        sizes = [fmt(run["n_bytes"] / 1e3, 0), *(fmt(run[r], 2) for r in RATIOS)]
        masses = [_mean_abs(run, name) for name in HEADLINE]
        times = [fmt(run[t], 2) for t in TIMES]
        rows.append([run["model"].upper(), run_point(run), *sizes, *masses, *times])
    for label, baseline in _baselines(metrics):
        sizes = [fmt(baseline["n_bytes"] / 1e3, 0), *(fmt(baseline[r], 2) for r in RATIOS)]
        masses = [_mean_abs(baseline, name) for name in HEADLINE]
        rows.append([label, "–", *sizes, *masses, "–", "–", "–"])
    for model, ref in SEED_REFERENCE.items():
        mass = f"{ref['mass_difference_percent']:.2f} (its mass)"
        times = [fmt(ref[t], 2) for t in TIMES]
        name = f"seed 004 (Baler) {model.upper()}"
        rows.append([name, ref["latent_dim"], "–", "–", "–", "–", mass, "–", "–", *times])
    columns = [
        "model", "K or precision", ".lhcz [kB]", "ratio vs parquet", "ratio vs zstd parquet",
        "ratio vs tuned zstd parquet", "mjj mean |Δ| [%]", "m heavy mean |Δ| [%]",
        "m light mean |Δ| [%]", "train [s]", "compress [s]", "decompress [s]",
    ]  # fmt: skip
    caption = (
        "Compression ratio, mean |relative difference| of the masses after the round trip, "
        "and times"
    )
    return Table(columns, rows, id="compression-summary", caption=caption)


def derived_table(metrics: Mapping[str, Any]) -> Table:
    """Mean, median and central-68% half width of every derived observable's relative difference."""
    rows = []
    baselines = [
        {"model": label.split(" ")[0], "latent_dim": None, **baseline}
        for label, baseline in _baselines(metrics)
    ]
    for run in [*metrics["runs"], *baselines]:
        for name, stats in run["derived"].items():
            rows.append(
                [
                    run["model"].upper(),
                    run_point(run),
                    name,
                    fmt(stats["mean_abs_percent"], 2),
                    fmt(stats.get("median_abs_percent"), 3),
                    _percent(stats["median"]),
                    _percent(stats["half_width_68"]),
                    fmt(stats["n_undefined"]),
                ]
            )
    columns = [
        "model",
        "K or precision",
        "observable",
        "mean |Δ| [%]",
        "median |Δ| [%]",
        "median Δ [%]",
        "68% half width [%]",
        "undefined",
    ]
    return Table(
        columns,
        rows,
        id="derived",
        caption="Relative difference of the derived observables: (reconstructed − original) / "
        "original",
    )


def column_table(metrics: Mapping[str, Any]) -> Table:
    """Per column and compressor: mean and RMS of the relative residual, and its 68% half width."""
    runs = metrics["runs"]
    rows = []
    for name in metrics["columns"]:
        cells = []
        for run in runs:
            stats = run["columns"][name]
            values = (stats["mean"], stats["rms"], stats["half_width_68"])
            cells.append(" / ".join(_percent(value, 1) for value in values))
        rows.append([name, *cells])
    columns = ["column", *(f"{r['model'].upper()} {run_point(r)}" for r in runs)]
    return Table(
        columns,
        rows,
        id="columns",
        caption="Relative residual per column, in %: mean / RMS / 68% half width",
    )


def figure_blocks(
    figures: FigureWriter,
    metrics: Mapping[str, Any],
    table: pd.DataFrame,
    restored: Mapping[str, pd.DataFrame],
) -> list[FigureRef]:
    """The trade-off summary, residuals per column, and original against reconstructed
    distributions of the derived observables (when the table has jets) and of every column."""
    runs, names = metrics["runs"], metrics["columns"]
    columns = {c: table[c].to_numpy() for c in names}
    restored_columns = {
        run: {c: frame[c].to_numpy() for c in names} for run, frame in restored.items()
    }
    blocks = []
    if any(run["history"] for run in runs):
        blocks.append(
            figures.add(
                tradeoff_figure(runs, figures.analysis),
                "tradeoff",
                "Networks: resolution after the round trip and compression ratio against K; "
                "validation loss per epoch",
            )
        )
    blocks += [
        figures.add(
            residual_grid(columns, restored_columns, runs, figures.analysis),
            "residuals",
            "Relative residual of every column (log scale; rows with a zero original left out)",
        ),
    ]
    if has_jets(table):
        derived = {}
        for run, frame in restored.items():
            before, after = derived_tables(table, frame)
            derived[run] = {o: after[o].to_numpy() for o in DERIVED_OBSERVABLES}
        original = {o: before[o].to_numpy() for o in DERIVED_OBSERVABLES}
        blocks.append(
            figures.add(
                distribution_grid(original, derived, runs, figures.analysis),
                "derived",
                "Derived observables recomputed from the original and from the reconstructed jets",
            )
        )
    blocks.append(
        figures.add(
            distribution_grid(columns, restored_columns, runs, figures.analysis),
            "columns",
            "Every column, original against reconstructed",
        )
    )
    return blocks


def summary_section(metrics: Mapping[str, Any]) -> Section:
    """The headline table and what was compressed."""
    baselines = metrics["baselines"]
    rows = [
        ["events", fmt(metrics["n_events"])],
        ["columns compressed", ", ".join(metrics["columns"])],
        ["raw size [kB]", fmt(baselines["raw_bytes"] / 1e3, 0)],
        ["parquet (snappy) [kB]", fmt(baselines["parquet_bytes"] / 1e3, 0)],
        ["zstd parquet [kB]", fmt(baselines["parquet_zstd_bytes"] / 1e3, 0)],
        ["tuned zstd parquet [kB]", fmt(baselines["parquet_zstd_tuned_bytes"] / 1e3, 0)],
        ["latent storage", metrics["latent_dtype"]],
    ]
    text = (
        "Each compressor stores K latent values per event plus its decoder, the normalisation and "
        "the column names in one .lhcz file; sizes are compared with the same columns written as "
        "parquet (pyarrow's default snappy), as zstd parquet (the baseline a user already has), as "
        "tuned zstd parquet (level 19, no dictionary, byte-stream split: the smallest lossless "
        "parquet) and with float16 columns in tuned zstd parquet (precision dropped for free). "
        "Masses are recomputed from the reconstructed jets. The seed's numbers (Baler, GSoC "
        "2023) come from another table: they are a reference, not a like-for-like comparison."
    )
    caption = "The compressed table"
    return Section(
        "summary",
        "Summary",
        [Paragraph(text), summary_table(metrics), Table([], rows, caption=caption)],
    )


def pareto_points(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every compressor and rounded-column baseline as a point of the size/accuracy plane: its
    size ratio against zstd parquet, mean and median |relative difference| (%) of mjj and both
    jet masses, compress and decompress seconds, and whether it is on the Pareto front (no
    other point is as small or smaller with all three mean differences as small or smaller,
    and better in one)."""
    points = []
    baselines = [
        {"name": label.split(" + ")[0], "model": label.split(" ")[0], **baseline}
        for label, baseline in _baselines(metrics)
    ]
    for run in [*metrics["runs"], *baselines]:
        derived = run["derived"]
        point: dict[str, Any] = {
            "name": run["name"],
            "ratio_vs_parquet_zstd": run["ratio_vs_parquet_zstd"],
            "compress_seconds": run.get("compress_seconds"),
            "decompress_seconds": run.get("decompress_seconds"),
        }
        for name in HEADLINE:
            stats = derived.get(name, {})
            point[f"{name}_mean_abs_percent"] = stats.get("mean_abs_percent")
            point[f"{name}_median_abs_percent"] = stats.get("median_abs_percent")
        points.append(point)

    def errors(point: Mapping[str, Any]) -> list[float]:
        values = [point[f"{name}_mean_abs_percent"] for name in HEADLINE]
        return [np.inf if v is None else v for v in values]

    for point in points:
        point["on_front"] = not any(
            other is not point
            and other["ratio_vs_parquet_zstd"] >= point["ratio_vs_parquet_zstd"]
            and all(o <= p for o, p in zip(errors(other), errors(point)))
            and (
                other["ratio_vs_parquet_zstd"] > point["ratio_vs_parquet_zstd"]
                or errors(other) != errors(point)
            )
            for other in points
        )
    return points


def pareto_section(figures: FigureWriter, metrics: Mapping[str, Any]) -> Section:
    """The Pareto front: size against mean and median mass differences, every point in a table
    (front marked) and a figure."""
    points = pareto_points(metrics)
    rows = []
    for point in sorted(points, key=lambda p: -p["ratio_vs_parquet_zstd"]):
        cells = []
        for name in HEADLINE:
            cells += [
                fmt(point[f"{name}_mean_abs_percent"], 3),
                fmt(point[f"{name}_median_abs_percent"], 3),
            ]
        times = [fmt(point["compress_seconds"], 2), fmt(point["decompress_seconds"], 2)]
        rows.append(
            [point["name"], fmt(point["ratio_vs_parquet_zstd"], 2), *cells, *times,
             fmt(point["on_front"])]
        )  # fmt: skip
    columns = ["compressor", "ratio vs zstd parquet"]
    for label in ("mjj", "m heavy", "m light"):
        columns += [f"{label} mean |Δ| [%]", f"{label} median |Δ| [%]"]
    columns += ["compress [s]", "decompress [s]", "on the front"]
    text = (
        "Size against accuracy: each compressor and the rounded-column baselines, the size as "
        "how many times smaller than zstd parquet of the same columns, the accuracy as the mean "
        "and median |relative difference| of mjj and of both jet masses recomputed from the "
        "decompressed jets. A point is on the front when no other is as small with all three "
        "mean differences as small. quant: the quantising codec at precision r (every stored "
        "pT, mass and tau_N within a relative r, eta and phi within r; the file holds "
        "everything needed to decompress, there is no model). Times: compress (quant: the "
        "whole encoding; networks: encoding the rows once trained, see the summary for the "
        "training) and decompress to parquet, one process."
    )
    caption = "Every compressor's size and accuracy, the front marked"
    blocks: list[Any] = [Paragraph(text), Table(columns, rows, id="pareto", caption=caption)]
    if any(point[f"{MJJ}_mean_abs_percent"] is not None for point in points):  # a table with jets
        blocks.append(
            figures.add(
                pareto_figure(points, figures.analysis),
                "pareto",
                "Mean (filled) and median (open) |relative difference| of each mass against the "
                "size ratio to zstd parquet; the line joins each mass's front",
            )
        )
    return Section("pareto", "Size against accuracy: the Pareto front", blocks)


def _summary_line(metrics: Mapping[str, Any]) -> str:
    """The result in one line: the AE at the largest K (and the quantising codec at its finest
    precision) against zstd parquet and float16."""
    networks = [r for r in metrics["runs"] if r["model"] != "quant"]
    parts = []
    if networks:
        best = max(networks, key=lambda r: (r["latent_dim"], r["model"] == "ae"))
        mjj = best["derived"].get(MJJ, {}).get("mean_abs_percent")
        mjj_text = f", mjj mean |Δ| {mjj:.2f}%" if mjj is not None else ""
        parts.append(
            f"{best['model'].upper()} K={best['latent_dim']}: "
            f"{best['ratio_vs_parquet_zstd']:.1f}x smaller than zstd parquet{mjj_text}"
        )
    quant = [r for r in metrics["runs"] if r["model"] == "quant"]
    if quant:
        finest = min(quant, key=lambda r: r["precision"])
        mjj = finest["derived"].get(MJJ, {}).get("mean_abs_percent")
        mjj_text = f", mjj mean |Δ| {mjj:.3f}%" if mjj is not None else ""
        parts.append(
            f"quant r={finest['precision']:g}: {finest['ratio_vs_parquet_zstd']:.1f}x{mjj_text}"
        )
    float16 = metrics["float16_zstd"]["ratio_vs_parquet_zstd"]
    return "; ".join([*parts, f"float16 + tuned zstd parquet: {float16:.2f}x"])


def compress_page(ctx: StageContext, figures: FigureWriter) -> ReportPage:
    """The page of the ``compress_report`` stage (:func:`lhcad.report.stage.report_stage`)."""
    analysis: CompressAnalysis = ctx.config("analysis")
    artifacts = CompressArtifacts(ctx.inputs)
    table = compressed_table(artifacts.events.table, analysis.compress)
    compressed = artifacts.compressions
    metrics = compressed.metrics
    restored = {run["name"]: decompress_file(compressed.file(run)) for run in compressed.runs}
    sections = [
        summary_section(metrics),
        pareto_section(figures, metrics),
        Section("figures", "Figures", figure_blocks(figures, metrics, table, restored)),
        Section("physics", "Derived physics", [derived_table(metrics)]),
        Section("columns", "Columns", [column_table(metrics)]),
    ]
    kept = ("n_events", "columns", "latent_dtype", "baselines", "float16_zstd", "bfloat16_zstd")
    results = {
        **results_header(analysis),
        **{k: metrics[k] for k in kept if k in metrics},
        "runs": [{k: v for k, v in run.items() if k != "history"} for run in metrics["runs"]],
        "pareto": pareto_points(metrics),
        "seed_reference": SEED_REFERENCE,
    }
    return ReportPage(sections, _summary_line(metrics), results)
