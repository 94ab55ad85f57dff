"""Jet-image files in the HDF5 layout of the CMS quark-gluon open-data set
(``quark-gluon_data-set_n139306.hdf5``), written and read in chunks with h5py.

Datasets (one row per jet):

* ``X_jets``: ``(N, 125, 125, 3)`` float32 images (Tracks, ECAL, HCAL; :mod:`.geometry`);
* ``m0``: jet mass (GeV); ``pt``: jet pT (GeV);
* ``y``: 1 for quark jets, 0 for everything else (gluon, and in lhcad's files top, W, Z);
* ``jet_type`` (lhcad's files only): index in :data:`lhcad.gen.single_jets.JET_TYPES`. A CMS
  file has none; the reader then derives it from ``y`` (1 -> ``q``, 0 -> ``g``).

Images are stored gzip-compressed in chunks of ``chunk_rows`` jets, so reading a slice
decompresses only the chunks it touches, and a file larger than memory is read chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np

from lhcad.errors import DataError
from lhcad.families.jet_images.geometry import CHANNELS, IMAGE_SIZE

IMAGES = "X_jets"
SCALARS: tuple[str, ...] = ("m0", "pt", "y")
JET_TYPE = "jet_type"
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, len(CHANNELS))
QUARK, GLUON = 0, 1  # indices in JET_TYPES


@dataclass
class JetImages:
    """Images and per-jet values, as read from (or to be written to) an image file."""

    images: np.ndarray  # (N, 125, 125, 3) float32
    m0: np.ndarray
    pt: np.ndarray
    jet_type: np.ndarray  # int64 index in JET_TYPES

    def __len__(self) -> int:
        return len(self.images)

    @property
    def y(self) -> np.ndarray:
        """The CMS label: 1 for quark jets, else 0."""
        return (self.jet_type == QUARK).astype(np.float32)

    def take(self, index: np.ndarray) -> JetImages:
        """The jets at ``index``."""
        return JetImages(self.images[index], self.m0[index], self.pt[index], self.jet_type[index])


class ImageFileWriter:
    """Appends jets to a new image file (context manager): ``writer.append(batch)``."""

    def __init__(self, path: str | Path, *, chunk_rows: int = 64, compression: int = 4):
        import h5py

        self.path = Path(path)
        self._file = h5py.File(self.path, "w")
        self._file.create_dataset(
            IMAGES,
            shape=(0, *IMAGE_SHAPE),
            maxshape=(None, *IMAGE_SHAPE),
            dtype="float32",
            chunks=(chunk_rows, *IMAGE_SHAPE),
            compression="gzip",
            compression_opts=compression,
        )
        for name, dtype in (
            ("m0", "float32"),
            ("pt", "float32"),
            ("y", "float32"),
            (JET_TYPE, "int64"),
        ):
            self._file.create_dataset(
                name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(max(chunk_rows, 1024),)
            )

    def append(self, jets: JetImages) -> None:
        """Write ``jets`` after the rows already in the file."""
        if jets.images.shape[1:] != IMAGE_SHAPE:
            raise DataError(
                f"images must be {IMAGE_SHAPE}, got {jets.images.shape[1:]}", source=self.path
            )
        start, n = len(self._file[IMAGES]), len(jets)
        values = {
            IMAGES: jets.images,
            "m0": jets.m0,
            "pt": jets.pt,
            "y": jets.y,
            JET_TYPE: jets.jet_type,
        }
        for name, array in values.items():
            dataset = self._file[name]
            dataset.resize(start + n, axis=0)
            dataset[start:] = array

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def write_image_file(path: str | Path, jets: JetImages, *, chunk_rows: int = 64) -> None:
    """Write ``jets`` to a new image file (use :mod:`lhcad.io.atomic` for atomicity)."""
    with ImageFileWriter(path, chunk_rows=chunk_rows) as writer:
        writer.append(jets)


def _open(path: Path):
    import h5py

    if not path.exists():
        raise DataError("no such file", source=path)
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise DataError(f"not a readable HDF5 file ({error})", source=path) from None
    missing = [name for name in (IMAGES, *SCALARS) if name not in handle]
    if missing:
        handle.close()
        raise DataError(
            f"not a jet-image file: no dataset {', '.join(missing)} (CMS layout)", source=path
        )
    shape = handle[IMAGES].shape
    if len(shape) != 4 or shape[1:] != IMAGE_SHAPE:
        handle.close()
        raise DataError(
            f"X_jets must be (N, {', '.join(map(str, IMAGE_SHAPE))}), got {shape}", source=path
        )
    return handle


def count_jets(path: str | Path) -> int:
    """Number of jets in an image file."""
    with _open(Path(path)) as handle:
        return len(handle[IMAGES])


def read_image_file(path: str | Path, start: int = 0, stop: int | None = None) -> JetImages:
    """Jets ``start .. stop`` of an image file (lhcad's or the CMS open-data one).

    Raises:
        DataError: A missing or unreadable file, a different layout, or NaN/infinite values.
    """
    path = Path(path)
    with _open(path) as handle:
        n = len(handle[IMAGES])
        stop = n if stop is None else min(stop, n)
        rows = slice(start, stop)
        images = handle[IMAGES][rows].astype(np.float32, copy=False)
        m0, pt, y = (handle[name][rows].astype(np.float32) for name in SCALARS)
        jet_type = (
            handle[JET_TYPE][rows].astype(np.int64)
            if JET_TYPE in handle
            else np.where(y > 0.5, QUARK, GLUON).astype(np.int64)
        )
    if not (np.isfinite(images).all() and np.isfinite(m0).all() and np.isfinite(pt).all()):
        raise DataError(f"rows {start}..{stop} hold NaN or infinite values", source=path)
    return JetImages(images, m0, pt, jet_type)


def iter_image_file(path: str | Path, rows: int = 4096) -> Iterator[JetImages]:
    """The jets of an image file, ``rows`` at a time (bounded memory)."""
    n = count_jets(path)
    for start in range(0, n, rows):
        yield read_image_file(path, start, start + rows)
