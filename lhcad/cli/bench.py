"""``lhcad bench``: training, scoring and fitting speed (:mod:`lhcad.bench`) as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lhcad.bench import run_bench
from lhcad.cli.options import set_option
from lhcad.errors import handle_errors
from lhcad.io.atomic import write_json_atomic


@click.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--events", type=click.IntRange(min=1000), default=100_000, show_default=True, help="Events for training/scoring.")
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--members", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=1024, show_default=True)
@click.option("--no-naive", is_flag=True, help="Skip the naive reference trainer.")
@click.option("--analysis", type=click.Path(exists=True, path_type=Path), default=None, help="Also time `lhcad run` of this analysis.")
@click.option("--data", default=None, help="data.path for --analysis.")
@click.option("--raw", "raw_events", type=click.IntRange(min=1), default=None,
              help="Also time `lhcad features` on a synthetic raw file of this many events (gen extra; "
                   "16.8 kB per event of disk under $TMPDIR).")
@click.option("--raw-workers", type=click.IntRange(min=1), default=2, show_default=True, help="Workers for --raw.")
@click.option("--raw-convert", type=click.IntRange(min=1), default=None,
              help="Convert only the first N events of the --raw file (same code path; for busy machines).")
@click.option("--jet-images", type=click.IntRange(min=1), default=None,
              help="Also time one conv-VAE training epoch over this many 125x125x3 jet images (0.37 MB each in memory).")
@click.option("--compress", "compress_events", type=click.IntRange(min=1000), default=None,
              help="Also time `lhcad compress --model quant` and `decompress` on this many toy events, beside zstd parquet.")
@set_option
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None, help="Write the figures here.")
@handle_errors
def bench(
    device: str, events: int, epochs: int, members: int, batch_size: int, no_naive: bool,
    analysis: Path | None, data: str | None, raw_events: int | None, raw_workers: int, raw_convert: int | None,
    jet_images: int | None, compress_events: int | None, overrides: tuple[str, ...], json_path: Path | None,
) -> None:  # fmt: skip
    """Measure training, scoring and fitting speed (and optionally a whole run) as JSON."""
    figures = run_bench(
        device=device, events=events, epochs=epochs, members=members, batch_size=batch_size,
        naive=not no_naive, analysis=analysis, data=data, overrides=list(overrides),
        raw_events=raw_events, raw_workers=raw_workers, raw_convert=raw_convert, jet_images=jet_images,
        compress=compress_events,
    )  # fmt: skip
    if json_path is not None:
        write_json_atomic(json_path, figures)
    click.echo(json.dumps(figures, indent=2))
