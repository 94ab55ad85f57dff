"""``lhcad features``: an official LHCO raw particle file to jet features (FastJet), to parquet.

FastJet is imported only when the command runs (:func:`lhcad.gen.require_gen_extra`), so the
CLI works without the ``gen`` extra.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from lhcad.config.base import ExecutorConfig
from lhcad.data.columns import FEATURE_SETS
from lhcad.data.raw_features import DEFAULT_CHUNK_ROWS, convert_raw_file
from lhcad.data.sources import detect_format
from lhcad.errors import DataError, handle_errors
from lhcad.executors import open_executor
from lhcad.gen import require_gen_extra


@click.command("features")
@click.argument("raw", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Features parquet file to write.",
)
@click.option("--key", default=None, help="HDF5 key of the frame.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Parallel processes (or LocalCluster workers with --executor dask).",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=DEFAULT_CHUNK_ROWS,
    show_default=True,
    help="Events per block (bounds memory; the unit of parallelism and resumption).",
)
@click.option(
    "--jet-pt-min",
    type=click.FloatRange(min=0),
    default=20.0,
    show_default=True,
    help="Minimum jet pT in GeV.",
)
@click.option(
    "--masterkey",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Black-box .masterkey: its labels become the label column.",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local processes, or blocks as tasks on a Dask cluster (workers must see RAW and OUT).",
)
@click.option(
    "--address",
    default=None,
    help="Dask scheduler address (default: a LocalCluster of --workers workers).",
)
@click.option(
    "--max-events",
    type=click.IntRange(min=1),
    default=None,
    help="Convert only the first N events (a quick look at a big file).",
)
@click.option(
    "--feature-set",
    type=click.Choice(FEATURE_SETS),
    default="standard",
    show_default=True,
    help="standard: the official 14 jet columns; extended: also tau1..5 of each jet at "
    "beta = 0.5, 1, 2 (tau{N}j{J}_b05/_b1/_b2, GeV) and constituent counts (nconstj1, nconstj2).",
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def features_command(
    raw: Path, out: Path, key: str | None, workers: int, chunk_rows: int, jet_pt_min: float,
    masterkey: Path | None, executor: str, address: str | None, max_events: int | None,
    feature_set: str, progress: bool,
) -> None:  # fmt: skip
    """Cluster an official LHCO raw particle file into jet features (needs the gen extra).

    Anti-kT R = 1.0 on every event's massless particles, the two leading jets' px, py, pz, m
    and tau1..3, and mjj (with --feature-set extended also tau1..5 at three betas and the
    constituent counts): one row per event (NaN and counted when there are fewer than two
    jets). An interrupted conversion resumes from its finished blocks.
    """
    handle_errors(_features)(
        raw, out, key=key, workers=workers, chunk_rows=chunk_rows, jet_pt_min=jet_pt_min,
        masterkey=masterkey, executor=executor, address=address, max_events=max_events,
        feature_set=feature_set, progress=progress,
    )  # fmt: skip


def _features(
    raw: Path, out: Path, *, key: str | None, workers: int, chunk_rows: int, jet_pt_min: float,
    masterkey: Path | None, executor: str, address: str | None, max_events: int | None,
    feature_set: str, progress: bool,
) -> None:  # fmt: skip
    if detect_format(raw, key) != "raw_h5":
        raise DataError("not a raw LHCO particle file", source=raw)
    require_gen_extra()
    with open_executor(ExecutorConfig(kind=executor, address=address, n_workers=workers)) as runner:  # type: ignore[arg-type]
        summary = convert_raw_file(
            raw, out, key=key, chunk_rows=chunk_rows, workers=workers, jet_pt_min=jet_pt_min,
            executor=runner, progress=progress, masterkey=masterkey, max_events=max_events,
            feature_set=feature_set,
        )  # fmt: skip
    click.echo(json.dumps(summary, indent=2))
