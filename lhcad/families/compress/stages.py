"""Stages ``compress`` and ``compress_report``: AE and VAE compression of the events table at
several latent sizes and the quantising codec at several precisions, measured against parquet,
zstd parquet and float16/bfloat16 columns (Baler's benchmark)."""

from __future__ import annotations

import time

from lhcad.families.compress.artifacts import Compressions
from lhcad.families.compress.config import CompressConfig, compressed_table
from lhcad.data.stage import Events
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.report.stage import PageBuilder, report_stage

ROUNDTRIP_SCRATCH = "roundtrip.parquet"


def run_name(kind: str, latent_dim: int) -> str:
    """The artifact stem of one network compressor, e.g. ``ae_k4``."""
    return f"{kind}_k{latent_dim}"


def quant_run_name(precision: float) -> str:
    """The artifact stem of the quantising codec at one precision, e.g. ``quant_p0.01``."""
    return f"quant_p{precision:g}"


@stage(
    "compress",
    version=3,
    summary="train AE and VAE compressors at each latent size, quantise at each precision, "
    "write .lhcz files, measure the round trip",
    needs=("data",),
)
def run_compress(ctx: StageContext) -> None:
    from lhcad.families.compress.codec import CompressionSettings, compress_table, decompress_to_parquet
    from lhcad.families.compress.metrics import (
        bfloat16_baseline,
        column_residuals,
        compression_ratios,
        derived_differences,
        float16_baseline,
        size_baselines,
    )
    from lhcad.models.trainer import TrainSettings

    cfg: CompressConfig = ctx.config()
    table = compressed_table(Events.read(ctx.inputs["data"]).table, cfg)
    baselines = size_baselines(table)
    train = TrainSettings.of(cfg)
    runs = []
    for kind in cfg.models:
        points = cfg.precisions if kind == "quant" else cfg.latent_dims
        for point in points:
            if kind == "quant":
                name, latent_dim, extra = quant_run_name(point), None, {"precision": point}
            else:
                name, latent_dim, extra = run_name(kind, int(point)), int(point), {}
            settings = CompressionSettings(
                kind=kind,
                latent_dim=latent_dim or 1,
                arch_hidden=tuple(cfg.hidden),
                activation=cfg.activation,
                beta=cfg.beta,
                latent_dtype=cfg.latent_dtype,
                train=train,
                val_fraction=cfg.val_fraction,
                seed=cfg.seed,
                precision=float(point),
                level=cfg.zstd_level,
            )
            path = Compressions.file_path(ctx.out, name)
            record = compress_table(table, path, settings, source="events")
            scratch = ctx.out.path(ROUNDTRIP_SCRATCH)
            restored, decompress_seconds = decompress_to_parquet(
                record.path, scratch, device=cfg.device
            )
            scratch.unlink()
            runs.append(
                {
                    "name": name,
                    "model": kind,
                    "latent_dim": latent_dim,
                    **extra,
                    "file": record.path.name,
                    "n_bytes": record.n_bytes,
                    **compression_ratios(record.n_bytes, baselines),
                    "train_seconds": record.train_seconds,
                    "compress_seconds": record.compress_seconds,
                    "decompress_seconds": decompress_seconds,
                    "epochs": record.epochs,
                    "best_epoch": record.best_epoch,
                    "history": record.history,
                    "columns": column_residuals(table, restored, record.columns),
                    "derived": derived_differences(table, restored),
                }
            )
            ctx.log.info(
                "compress %s: %d bytes (x%.1f vs zstd parquet), trained %.1f s",
                name,
                record.n_bytes,
                runs[-1]["ratio_vs_parquet_zstd"],
                record.train_seconds,
            )
    t0 = time.perf_counter()
    float16 = float16_baseline(table)
    float16["seconds"] = time.perf_counter() - t0
    float16 |= compression_ratios(float16["n_bytes"], baselines)
    t0 = time.perf_counter()
    bfloat16 = bfloat16_baseline(table)
    bfloat16["seconds"] = time.perf_counter() - t0
    bfloat16 |= compression_ratios(bfloat16["n_bytes"], baselines)
    Compressions(
        {
            "n_events": len(table),
            "columns": list(table.columns),
            "latent_dtype": cfg.latent_dtype,
            "baselines": baselines,
            "float16_zstd": float16,
            "bfloat16_zstd": bfloat16,
            "runs": runs,
        }
    ).write(ctx.out)


def _compress_page() -> PageBuilder:
    from lhcad.families.compress.report import compress_page  # matplotlib: only when the stage runs

    return compress_page


run_compress_report = report_stage(
    "compress_report",
    summary="figures, HTML page and results.json of the compression study",
    subject="lhcad compression study",
    reads=("compress",),
    needs=("data", "compress"),
    builder=_compress_page,
)
