"""``lhcad compress`` and ``lhcad decompress``: one parquet table to a self-contained ``.lhcz``
file and back (registered on the main group by :mod:`lhcad.cli`). The codec (torch) is imported
when a command runs, so ``lhcad --help`` stays quick."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pyarrow as pa
import pyarrow.parquet as pq

from lhcad.data.parquet import parquet_schema
from lhcad.errors import DataError, handle_errors
from lhcad.families.compress import CODEC_KINDS, LATENT_DTYPES
from lhcad.families.compress.quant import MAX_PRECISION, MIN_PRECISION, ZSTD_LEVEL
from lhcad.families.compress.metrics import derived_differences, size_baselines


def _int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated integers, got {text!r}", param_hint=option
        ) from None
    if any(v < 1 for v in values):
        raise click.BadParameter("widths must be positive", param_hint=option)
    return values


def read_parquet_table(path: Path) -> Any:
    """A whole parquet file as a DataFrame, with one-line errors for a missing or corrupt file."""
    parquet_schema(path)
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"corrupt parquet data ({exc})", source=path) from None


def _compress(
    input_path: Path, out: Path, columns: str | None, hidden: str, **options: Any
) -> None:
    quantised = options["model"] == "quant"
    from lhcad.families.compress.codec import CompressionSettings, compress_table, decompress_file  # torch
    from lhcad.models.trainer import TrainSettings  # torch

    frame = read_parquet_table(input_path)
    train = TrainSettings(
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        lr=options["lr"],
        patience=options["patience"],
        device=options["device"],
    )
    settings = CompressionSettings(
        kind=options["model"],
        latent_dim=options["latent_dim"] or 1,
        arch_hidden=_int_list(hidden, "--hidden"),
        beta=options["beta"],
        latent_dtype=options["latent_dtype"],
        train=train,
        seed=options["seed"],
        precision=options["precision"],
        level=options["level"],
    )
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    record = compress_table(frame, out, settings, chosen, source=str(input_path))
    zstd = size_baselines(frame)["parquet_zstd_bytes"]
    encoding = (
        f"quantised to a precision of {settings.precision:g}"
        if quantised
        else f"encoded to K={settings.latent_dim} ({settings.kind})"
    )
    click.echo(
        f"{out}: {record.n_rows:,} rows, {len(record.columns)} columns {encoding}, "
        f"{len(record.stored)} stored as they are"
    )
    input_bytes = input_path.stat().st_size
    click.echo(
        f"  {record.n_bytes:,} bytes: {input_bytes / record.n_bytes:.2f}x smaller than the input, "
        f"{zstd / record.n_bytes:.2f}x smaller than zstd parquet"
    )
    if quantised:
        click.echo(f"  compress {record.compress_seconds:.2f} s (no training)")
    else:
        click.echo(
            f"  train {record.train_seconds:.1f} s ({record.epochs} epochs, best "
            f"{record.best_epoch}), compress {record.compress_seconds:.2f} s"
        )
    differences = derived_differences(frame, decompress_file(out))
    if differences:
        parts = [
            f"{name} {stats['mean_abs_percent']:.2f}%"
            for name, stats in differences.items()
            if stats["mean_abs_percent"] is not None
        ]
        click.echo("  round trip, mean |relative difference|: " + ", ".join(parts))


@click.command("compress")
@click.argument("input_path", metavar="IN.parquet", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--model",
    type=click.Choice(CODEC_KINDS),
    default="ae",
    show_default=True,
    help="Autoencoder, VAE, or quant: the physics-aware quantising codec (no network; every "
    "jet pT, mass, tau_N, mjj and other column within --precision).",
)
@click.option(
    "--latent",
    "latent_dim",
    type=click.IntRange(min=1),
    default=None,
    help="ae, vae: latent values per row (K; required).",
)
@click.option(
    "--precision",
    type=click.FloatRange(min=MIN_PRECISION, max=MAX_PRECISION),
    default=0.01,
    show_default=True,
    help="quant: largest relative error of every stored pT, mass, tau_N, mjj and other column, "
    "and absolute one of eta and phi (the mean error is about half).",
)
@click.option(
    "--level",
    type=click.IntRange(min=1, max=22),
    default=ZSTD_LEVEL,
    show_default=True,
    help="quant: zstd level (3: 100 times faster, 2%% larger).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The .lhcz file to write.",
)
@click.option(
    "--columns",
    default=None,
    help="Comma-separated columns to encode [every floating-point column]; the others are "
    "stored losslessly.",
)
@click.option(
    "--latent-dtype",
    type=click.Choice(LATENT_DTYPES),
    default="float16",
    show_default=True,
    help="Storage of the latent values.",
)
@click.option(
    "--hidden",
    default="200,100,50",
    show_default=True,
    help="Encoder widths (the decoder mirrors them).",
)
@click.option(
    "--beta",
    type=click.FloatRange(min=0),
    default=1e-3,
    show_default=True,
    help="KL weight of the VAE.",
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=40, show_default=True, help="Maximum epochs."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=512,
    show_default=True,
    help="Mini-batch size.",
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=1e-3,
    show_default=True,
    help="Adam learning rate.",
)
@click.option(
    "--patience",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Early-stopping patience in epochs.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where to train.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Initialisation, split and shuffling seed.",
)
def compress_command(**options: Any) -> None:
    """Compress the floating-point columns of IN.parquet into one self-contained .lhcz file:
    an AE or VAE trained on them (K numbers per row and the decoder), or the quantising codec
    (each quantity within --precision, zstd). Lossy: see the printed round-trip differences."""
    if options["model"] != "quant" and options["latent_dim"] is None:
        raise click.UsageError("--latent is required with --model ae or vae")
    if options["model"] == "quant" and options["latent_dim"] is not None:
        raise click.UsageError("--model quant has no latent space: give --precision, not --latent")
    handle_errors(_compress)(**options)


def _decompress(file: Path, out: Path, device: str) -> None:
    from lhcad.families.compress.codec import decompress_to_parquet  # torch

    frame, seconds = decompress_to_parquet(file, out, device)
    click.echo(f"{out}: {len(frame):,} rows, {len(frame.columns)} columns in {seconds:.2f} s")


@click.command("decompress")
@click.argument("file", metavar="FILE.lhcz", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Parquet file to write.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="cpu",
    show_default=True,
    help="Where to decode.",
)
def decompress_command(**options: Any) -> None:
    """Restore the table of an .lhcz file (needs nothing but the file) into a parquet file."""
    handle_errors(_decompress)(**options)
