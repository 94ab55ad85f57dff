"""Writing the official LHCO raw particle layout, streamed with h5py.

The official raw files are pandas frames in the ``fixed`` HDF5 layout: one float64 block of
700 particles x (pT, eta, phi), zero padded (2100 columns), plus a ``label`` column for
labelled samples (also float64, so the frame stays one block and is read as fast as the
official files). pandas cannot append to the ``fixed`` layout, so this module writes the same
groups, datasets and attributes that ``DataFrame.to_hdf(format="fixed")`` writes, into a
preallocated dataset, one row block at a time: memory stays bounded by the block, whatever the
file size, and ``pandas.read_hdf`` and :mod:`lhcad.data.lhco` read the result.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

import h5py
import numpy as np

from lhcad.data.columns import LABEL, RAW_MAX_PARTICLES, RAW_N_COLUMNS, RAW_VALUES_PER_PARTICLE
from lhcad.errors import DataError
from lhcad.io.atomic import atomic_path

DEFAULT_KEY = "df"


def _attrs(node: h5py.HLObject, **values: object) -> None:
    """Set PyTables-style attributes (strings: fixed-length UTF-8, which PyTables decodes to str)."""
    for name, value in values.items():
        if isinstance(value, str):
            encoded = value.encode()
            node.attrs.create(name, encoded, dtype=h5py.string_dtype("utf-8", max(len(encoded), 1)))
        else:
            node.attrs[name] = value


def _index_dataset(group: h5py.Group, name: str, values: np.ndarray, kind: str) -> None:
    dataset = group.create_dataset(name, data=values)
    _attrs(
        dataset,
        CLASS="ARRAY",
        FLAVOR="numpy",
        VERSION="2.4",
        kind=kind,
        name="N.",
        transposed=np.uint8(1),
    )


def raw_column_names(labelled: bool) -> list[str]:
    """Column names of the raw layout: ``"0" .. "2099"`` (pT, eta, phi of each particle), ``label``."""
    return [str(i) for i in range(RAW_N_COLUMNS)] + ([LABEL] if labelled else [])


def particles_to_rows(
    pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Zero-padded raw rows ``(n_events, 2100)`` of flat particles (``counts[i]`` per event).

    Each event keeps its ``RAW_MAX_PARTICLES`` highest-pT particles, hardest first (the raw
    layout has no room for more); callers count the events that lose particles.
    """
    n_events = len(counts)
    event = np.repeat(np.arange(n_events), counts)
    # by event, then by decreasing pT: one float key in [event, event + 0.5] (lexsort is ~8x slower)
    order = np.argsort(event + 0.5 - 0.5 * pt / max(float(pt.max(initial=0.0)), 1e-300))
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(pt)) - np.repeat(offsets, counts)
    keep = slot < RAW_MAX_PARTICLES
    rows = np.zeros((n_events * RAW_MAX_PARTICLES, RAW_VALUES_PER_PARTICLE))
    order = order[keep]
    rows[event[order] * RAW_MAX_PARTICLES + slot[keep]] = np.stack(
        [pt[order], eta[order], phi[order]], axis=1
    )
    return rows.reshape(n_events, RAW_N_COLUMNS)


class RawFileWriter:
    """Write ``n_events`` rows of the official raw layout to ``path``, block by block.

    The file appears at ``path`` only when every row was written and the writer closed without
    an error (it is built under a temporary name next to it).

    >>> import tempfile, pandas as pd
    >>> path = Path(tempfile.mkdtemp()) / "raw.h5"
    >>> with RawFileWriter(path, n_events=2, labelled=True) as writer:
    ...     writer.write(0, np.ones((2, 2100)), np.array([0, 1]))
    >>> pd.read_hdf(path).shape
    (2, 2101)
    """

    def __init__(self, path: Path, n_events: int, *, labelled: bool, key: str = DEFAULT_KEY):
        self.path = Path(path)
        self.n_events = n_events
        self.labelled = labelled
        self._atomic = atomic_path(self.path)
        self._tmp = self._atomic.__enter__()
        self._handle = h5py.File(self._tmp, "w")
        self._written = 0
        # the root attributes tell PyTables (pandas.read_hdf) to decode the string attributes
        _attrs(self._handle, CLASS="GROUP", PYTABLES_FORMAT_VERSION="2.1", VERSION="1.0")
        group = self._handle.create_group(key)
        _attrs(
            group, CLASS="GROUP", VERSION="1.0", pandas_type="frame", encoding="UTF-8", errors="strict",
            ndim=np.int64(2), nblocks=np.int64(1), axis0_variety="regular", axis1_variety="regular",
            block0_items_variety="regular",
        )  # fmt: skip
        names = np.array(raw_column_names(labelled), dtype=np.bytes_)
        _index_dataset(group, "axis0", names, "string")
        _index_dataset(group, "axis1", np.arange(n_events, dtype=np.int64), "integer")
        _index_dataset(group, "block0_items", names, "string")
        self._values = group.create_dataset(
            "block0_values", shape=(n_events, len(names)), dtype=np.float64
        )
        _attrs(self._values, CLASS="ARRAY", FLAVOR="numpy", VERSION="2.4", transposed=np.uint8(1))

    def write(self, start: int, rows: np.ndarray, labels: np.ndarray | None = None) -> None:
        """Write raw rows ``(n, 2100)`` (and their labels) at rows ``start .. start + n``."""
        block = self._block(rows, labels)
        if start < 0 or start + len(block) > self.n_events:
            raise DataError(
                f"rows {start}..{start + len(block)} outside the file's {self.n_events}",
                source=self.path,
            )
        self._values[start : start + len(block)] = block
        self._written += len(block)

    def write_rows(
        self, positions: np.ndarray, rows: np.ndarray, labels: np.ndarray | None = None
    ) -> None:
        """Write raw rows at the file rows ``positions`` (distinct; any order), e.g. to shuffle."""
        block = self._block(rows, labels)
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions) != len(block) or len(np.unique(positions)) != len(positions):
            raise DataError("one distinct file row per written row is needed", source=self.path)
        if len(positions) and (positions.min() < 0 or positions.max() >= self.n_events):
            raise DataError(f"rows outside the file's {self.n_events}", source=self.path)
        order = np.argsort(positions)
        self._values[positions[order]] = block[order]  # h5py wants increasing row indices
        self._written += len(block)

    def _block(self, rows: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != RAW_N_COLUMNS:
            raise DataError(
                f"raw rows must have shape (n, {RAW_N_COLUMNS}), got {rows.shape}", source=self.path
            )
        if (labels is not None) != self.labelled:
            raise DataError(
                "labels must be given exactly when the file is labelled", source=self.path
            )
        return (
            rows
            if labels is None
            else np.column_stack([rows, np.asarray(labels, dtype=np.float64)])
        )

    def close(self, ok: bool = True) -> None:
        """Finish the file (``ok``) or discard it."""
        self._handle.close()
        if ok and self._written >= self.n_events:
            self._atomic.__exit__(None, None, None)
            return
        error = DataError(f"only {self._written} of {self.n_events} rows written", source=self.path)
        self._atomic.__exit__(DataError, error, None)  # removes the temporary file
        if ok:
            raise error

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(ok=kind is None)
