"""Official LHC Olympics 2020 files, read with h5py (no PyTables at run time).

The official files are pandas DataFrames written with ``DataFrame.to_hdf``:

- features files (``events_anomalydetection_v2.features.h5``, black-box features): columns
  ``pxj1 ... tau3j2`` (+ ``label`` in R&D);
- raw files (``events_anomalydetection.h5``, ``events_LHCO2020_BlackBox1.h5``): 700 particles x
  (pT, eta, phi), zero padded = 2100 columns (+ ``label`` in R&D), 10+ GB, read in row blocks;
- ``.masterkey`` files: one 0/1 label per line for the black boxes.

Both of pandas' layouts are understood: ``fixed`` (``block<k>_items`` / ``block<k>_values``) and
``table`` (one compound ``table`` dataset). Column names of the ``table`` layout sit in tiny
pickles inside HDF5 attributes; they are decoded by an unpickler that refuses every global, so
no code from a file can run.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from lhcad.data.columns import JET_COLUMNS, LABEL, RAW_N_COLUMNS, event_columns
from lhcad.errors import DataError


class _NoGlobalsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _names_from_pickle(blob: bytes | np.bytes_) -> list[str]:
    """Decode a pandas/PyTables attribute holding a pickled list of column names."""
    value = _NoGlobalsUnpickler(io.BytesIO(bytes(blob))).load()
    return [str(v) for v in value]


def _decode(values: np.ndarray) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values.tolist()]


@dataclass(frozen=True)
class FrameLayout:
    """Where the columns of one pandas frame live inside an HDF5 file."""

    key: str
    columns: tuple[str, ...]
    n_rows: int
    kind: str  # "fixed" or "table"
    blocks: tuple[tuple[str, tuple[str, ...]], ...]
    """(dataset or compound field, its columns) pairs."""


def _find_frame_key(handle: h5py.File, key: str | None, path: Path) -> str:
    if key is not None:
        if key.strip("/") not in handle:
            raise DataError(f"no HDF5 key {key!r} (keys: {', '.join(handle.keys())})", source=path)
        return key.strip("/")
    frames = [name for name, obj in handle.items() if isinstance(obj, h5py.Group) and "pandas_type" in obj.attrs]
    if not frames:
        raise DataError("not a pandas HDF5 file (no group with a pandas_type attribute)", source=path)
    if len(frames) > 1:
        raise DataError(f"several frames in the file ({', '.join(frames)}): set data.key", source=path)
    return frames[0]


def frame_layout(handle: h5py.File, key: str | None, path: Path) -> FrameLayout:
    """Describe the pandas frame under ``key`` (``fixed`` or ``table`` format)."""
    key = _find_frame_key(handle, key, path)
    group = handle[key]
    pandas_type = group.attrs.get("pandas_type", b"").decode()
    try:
        if pandas_type == "frame":
            columns = _decode(group["axis0"][:])
            blocks = []
            for i in range(int(group.attrs["nblocks"])):
                blocks.append((f"block{i}_values", tuple(_decode(group[f"block{i}_items"][:]))))
            n_rows = int(group["axis1"].shape[0])
            return FrameLayout(key, tuple(columns), n_rows, "fixed", tuple(blocks))
        if pandas_type == "frame_table":
            table = group["table"]
            blocks = []
            for field in table.dtype.names or ():
                if field == "index":
                    continue
                if field.startswith("values_block_"):
                    blocks.append((field, tuple(_names_from_pickle(table.attrs[f"{field}_kind"]))))
                else:
                    blocks.append((field, (field,)))
            names = [c for _, cols in blocks for c in cols]
            return FrameLayout(key, tuple(names), int(table.shape[0]), "table", tuple(blocks))
    except (KeyError, pickle.UnpicklingError, ValueError, TypeError) as exc:
        raise DataError(f"malformed pandas HDF5 frame {key!r} ({exc})", source=path) from None
    raise DataError(f"unsupported pandas_type {pandas_type!r} under {key!r}", source=path)


def _read_rows(handle: h5py.File, layout: FrameLayout, start: int, stop: int, columns: list[str] | None) -> pd.DataFrame:
    group = handle[layout.key]
    wanted = list(layout.columns) if columns is None else columns
    data: dict[str, np.ndarray] = {}
    if layout.kind == "fixed":
        for dataset, names in layout.blocks:
            needed = [n for n in names if n in wanted]
            if not needed:
                continue
            block = group[dataset][start:stop]
            for name in needed:
                data[name] = block[:, names.index(name)]
    else:
        rows = group["table"][start:stop]
        for field, names in layout.blocks:
            values = rows[field]
            for i, name in enumerate(names):
                if name in wanted:
                    data[name] = values[:, i] if values.ndim == 2 else values
    return pd.DataFrame({name: data[name] for name in wanted if name in data})


def _open(path: Path) -> h5py.File:
    if not path.exists():
        raise DataError("file not found", source=path)
    if path.is_dir():
        raise DataError("is a directory, expected an HDF5 file", source=path)
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"not a readable HDF5 file ({exc})", source=path) from None


def inspect_h5(path: Path, key: str | None = None) -> tuple[str, FrameLayout]:
    """Detect whether an HDF5 file is an LHCO ``features`` or ``raw`` file."""
    with _open(path) as handle:
        layout = frame_layout(handle, key, path)
    if all(c in layout.columns for c in JET_COLUMNS):
        return "features_h5", layout
    n_values = len([c for c in layout.columns if c != LABEL])
    if n_values == RAW_N_COLUMNS or len(layout.columns) in (RAW_N_COLUMNS, RAW_N_COLUMNS + 1):
        return "raw_h5", layout
    missing = [c for c in JET_COLUMNS if c not in layout.columns]
    raise DataError(
        f"neither an LHCO features file (missing columns {', '.join(missing)}) nor a raw file "
        f"({RAW_N_COLUMNS} particle columns; found {len(layout.columns)})",
        source=path,
    )


def read_features_h5(path: Path, key: str | None = None, chunk_rows: int = 200_000) -> pd.DataFrame:
    """Read an official LHCO features file: the jet columns (float64 as stored), the extended
    columns if present (a file lhcad wrote with them) and ``label`` if present."""
    kind, layout = inspect_h5(path, key)
    if kind != "features_h5":
        raise DataError("a raw particle file, not a features file: convert it with `lhcad features`", source=path)
    columns = event_columns(layout.columns)
    parts = []
    try:
        with _open(path) as handle:
            for start in range(0, layout.n_rows, chunk_rows):
                parts.append(_read_rows(handle, layout, start, min(start + chunk_rows, layout.n_rows), columns))
    except OSError as exc:
        raise DataError(f"corrupt HDF5 data ({exc})", source=path) from None
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return frame


def iter_raw_chunks(
    path: Path, key: str | None = None, chunk_rows: int = 100_000
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield blocks of an official raw file: particles ``(n, 700, 3)`` as (pT, eta, phi) and labels.

    Memory stays bounded by ``chunk_rows`` whatever the file size.
    """
    kind, layout = inspect_h5(path, key)
    if kind != "raw_h5":
        raise DataError("not a raw particle file", source=path)
    has_label = len(layout.columns) == RAW_N_COLUMNS + 1
    particle_columns = list(layout.columns[:RAW_N_COLUMNS])
    try:
        with _open(path) as handle:
            group = handle[layout.key]
            for start in range(0, layout.n_rows, chunk_rows):
                stop = min(start + chunk_rows, layout.n_rows)
                if layout.kind == "fixed" and len(layout.blocks) == 1:
                    block = np.asarray(group[layout.blocks[0][0]][start:stop], dtype=np.float64)
                else:
                    block = _read_rows(handle, layout, start, stop, list(layout.columns)).to_numpy(np.float64)
                particles = block[:, : len(particle_columns)].reshape(stop - start, -1, 3)
                labels = block[:, RAW_N_COLUMNS].astype(np.int8) if has_label else None
                yield particles, labels
    except OSError as exc:
        raise DataError(f"corrupt HDF5 data ({exc})", source=path) from None


def read_masterkey(path: Path, n_events: int | None = None) -> np.ndarray:
    """Read an LHCO ``.masterkey`` file: one 0/1 label per line."""
    if not path.exists():
        raise DataError("masterkey file not found", source=path)
    labels = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        try:
            value = int(float(text))
        except ValueError:
            raise DataError(f"line {number}: expected 0 or 1, got {text!r}", source=path) from None
        if value not in (0, 1):
            raise DataError(f"line {number}: expected 0 or 1, got {text!r}", source=path)
        labels.append(value)
    array = np.asarray(labels, dtype=np.int8)
    if n_events is not None and len(array) != n_events:
        raise DataError(f"{len(array)} labels for {n_events} events", source=path)
    return array
