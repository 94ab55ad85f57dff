"""The CMS e/gamma open-data file layout: one HDF5 file per particle kind with datasets ``X``,
``(N, 32, 32, 2)`` float32 (channel 0: crystal energy in GeV, channel 1: time in ns; rows eta,
columns phi) and ``y``, ``(N,)`` float32 labels (electrons 1, photons 0).

Both directions are chunked: the writer stores ``X`` in gzip-compressed chunks of
:data:`WRITE_CHUNK` images (most crystals are empty, so the files are small), the reader
reads :data:`READ_CHUNK` images at a time, so memory holds the selected channels only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lhcad.errors import DataError
from lhcad.io.atomic import atomic_path

IMAGE_KEY = "X"
LABEL_KEY = "y"
CHANNELS: tuple[str, ...] = ("energy", "time")
"""Names of the channels of ``X``, in order."""
WRITE_CHUNK = 1024
"""Images per HDF5 chunk of ``X``."""
READ_CHUNK = 16_384
"""Images read at a time."""


def write_egamma_file(path: str | Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """Write images ``(N, H, W, C)`` and labels ``(N,)`` in the CMS layout, atomically.

    >>> import tempfile, numpy as np
    >>> target = Path(tempfile.mkdtemp()) / "photons.hdf5"
    >>> _ = write_egamma_file(target, np.ones((3, 32, 32, 2), np.float32), np.zeros(3))
    >>> x, y = read_egamma_file(target)
    >>> x.shape, y.tolist()
    ((3, 32, 32, 2), [0, 0, 0])
    """
    import h5py

    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.float32).ravel()
    if images.ndim != 4 or len(images) != len(labels):
        raise ValueError(f"need images (N, H, W, C) and N labels, got {images.shape} and {labels.shape}")
    target = Path(path)
    chunk = (max(1, min(WRITE_CHUNK, len(images))), *images.shape[1:])
    with atomic_path(target) as tmp, h5py.File(tmp, "w") as handle:
        handle.create_dataset(IMAGE_KEY, data=images, chunks=chunk, compression="gzip", compression_opts=4, shuffle=True)
        handle.create_dataset(LABEL_KEY, data=labels)
    return target


def _channel_index(channels: list[int] | None, n_channels: int, path: Path) -> list[int]:
    selected = list(range(n_channels)) if channels is None else list(channels)
    bad = [c for c in selected if not 0 <= c < n_channels]
    if bad or not selected:
        raise DataError(f"channels {selected} do not exist (the file has {n_channels})", source=path)
    return selected


def read_egamma_file(
    path: str | Path,
    *,
    channels: list[int] | None = None,
    max_events: int | None = None,
    image_key: str = IMAGE_KEY,
    label_key: str | None = LABEL_KEY,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Images ``(N, H, W, C)`` float32 (the selected channels) and integer labels (None when the
    file has no label dataset or ``label_key`` is None), read in chunks.

    Raises:
        DataError: a missing or unreadable file, a missing key, a wrong shape, NaN or inf values.
    """
    import h5py

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError("file not found" if not path.exists() else "not a file", source=path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"not a readable HDF5 file ({exc})", source=path) from None
    with handle:
        if image_key not in handle or not isinstance(handle[image_key], h5py.Dataset):
            raise DataError(f"no dataset {image_key!r} (found: {', '.join(handle.keys()) or 'none'})", source=path)
        dataset = handle[image_key]
        if dataset.ndim not in (3, 4):
            raise DataError(f"{image_key!r} must be (N, H, W) or (N, H, W, C), got {dataset.shape}", source=path)
        n = len(dataset) if max_events is None else min(len(dataset), max_events)
        if n == 0:
            raise DataError(f"{image_key!r} holds no images", source=path)
        n_channels = dataset.shape[3] if dataset.ndim == 4 else 1
        selected = _channel_index(channels, n_channels, path)
        images = np.empty((n, *dataset.shape[1:3], len(selected)), dtype=np.float32)
        for start in range(0, n, READ_CHUNK):
            block = np.asarray(dataset[start : min(start + READ_CHUNK, n)], dtype=np.float32)
            block = block[..., None] if dataset.ndim == 3 else block
            images[start : start + len(block)] = block[..., selected]
        labels = None
        if label_key is not None and label_key in handle:
            raw = np.asarray(handle[label_key]).reshape(-1)
            if len(raw) < n:
                raise DataError(f"{len(raw)} labels for {n} images", source=path)
            labels = raw[:n].astype(np.int64)
    if not np.isfinite(images).all():
        raise DataError(f"{image_key!r} holds NaN or infinite values", source=path)
    return images, labels
