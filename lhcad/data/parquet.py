"""Parquet event tables (lhcad's own format) via pyarrow, with a schema check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lhcad.data.columns import EXTENDED_COLUMNS, JET_COLUMNS, LABEL, event_columns
from lhcad.errors import DataError
from lhcad.io.atomic import atomic_path


def parquet_schema(path: Path) -> pa.Schema:
    """The file's schema, or a one-line DataError for a missing/corrupt file."""
    if not path.exists():
        raise DataError("file not found", source=path)
    if path.is_dir():
        raise DataError("is a directory, expected a parquet file", source=path)
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"not a readable parquet file ({exc})", source=path) from None


def check_event_schema(schema: pa.Schema, path: Path) -> None:
    """Require the LHCO jet columns as floats; extended columns (if present) and ``label`` (if
    present) as integers or floats."""
    missing = [c for c in JET_COLUMNS if c not in schema.names]
    if missing:
        raise DataError(f"missing required columns: {', '.join(missing)}", source=path)
    for name in JET_COLUMNS:
        if not pa.types.is_floating(schema.field(name).type):
            raise DataError(f"column {name} must be floating point, found {schema.field(name).type}", source=path)
    for name in [c for c in EXTENDED_COLUMNS if c in schema.names]:
        kind = schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise DataError(f"column {name} must be numeric, found {kind}", source=path)
    if LABEL in schema.names:
        kind = schema.field(LABEL).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
            raise DataError(f"column {LABEL} must be numeric, found {kind}", source=path)


def read_events_parquet(path: Path) -> pd.DataFrame:
    """Read the jet columns (the extended ones too, when the file has them, and ``label``) of an
    events parquet file."""
    schema = parquet_schema(path)
    check_event_schema(schema, path)
    columns = event_columns(schema.names)
    try:
        return pq.read_table(path, columns=columns).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"corrupt parquet data ({exc})", source=path) from None


def write_events_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write an events table (zstd) atomically."""
    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
