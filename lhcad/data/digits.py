"""Handwritten-digit images: scikit-learn's 8x8 UCI digits or MNIST IDX files.

MNIST cannot be downloaded on an offline machine, so the default source is the 1797 8x8
digits scikit-learn ships (``sklearn_digits``); users who have the MNIST files pass the path
of the images IDX file (``train-images-idx3-ubyte``, gzipped or not) and of its labels file.

The IDX format (LeCun's MNIST format): a 4-byte magic number ``0x00 0x00 TYPE NDIM``, then
``NDIM`` big-endian uint32 dimension sizes, then the values in C order, big-endian.

>>> import numpy as np
>>> images, labels = load_digits()
>>> images.shape, images.dtype, labels.dtype
((1797, 8, 8), dtype('float32'), dtype('int64'))
>>> float(images.min()), float(images.max())
(0.0, 1.0)
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from lhcad.errors import DataError
from lhcad.io.atomic import atomic_path

SKLEARN_DIGITS = "sklearn_digits"

# IDX type code -> big-endian numpy dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """The file's content, un-gzipped when it starts with the gzip magic."""
    if not path.exists():
        raise DataError("file not found", source=path)
    if path.is_dir():
        raise DataError("is a directory, expected an IDX file", source=path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"corrupt gzip file ({exc})", source=path) from exc
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into an array of its native dtype and shape."""
    path = Path(path).expanduser()
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError("too short for an IDX file (no 4-byte header)", source=path)
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(
            "not an IDX file (magic number must start with two zero bytes)", source=path
        )
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_DTYPES:
        raise DataError(f"unknown IDX type code 0x{type_code:02x}", source=path)
    if ndim == 0:
        raise DataError("IDX file declares zero dimensions", source=path)
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise DataError(f"truncated IDX header ({ndim} dimensions declared)", source=path)
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = len(raw) - header_end
    if body != expected:
        raise DataError(
            f"IDX data size mismatch: header says shape {shape} ({expected} bytes), "
            f"file holds {body} bytes",
            source=path,
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzipped when the name ends in ``.gz``), atomically."""
    path = Path(path)
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError("IDX stores arrays of 1 to 255 dimensions")
    header = bytes([0, 0, codes[native], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[codes[native]]).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)


def _scale_to_unit(images: np.ndarray, source: str | Path) -> np.ndarray:
    """Images as float32 in [0, 1]: uint8 (MNIST) divided by 255, anything else by its maximum."""
    if not np.isfinite(images).all():
        raise DataError("images contain NaN or infinite values", source=source)
    if images.min() < 0:
        raise DataError("images contain negative values", source=source)
    scale = 255.0 if images.dtype == np.uint8 else max(float(images.max()), 1.0)
    return (images.astype(np.float32) / np.float32(scale)).clip(0.0, 1.0)


def load_digits(
    source: str | Path = SKLEARN_DIGITS, labels: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Digit images ``(N, H, W)`` float32 in [0, 1] and their labels ``(N,)`` int64.

    ``source`` is ``sklearn_digits`` (scikit-learn's 8x8 digits, grey levels 0..16, shipped
    with scikit-learn, no network) or the path of an MNIST images IDX file (uint8 0..255), in
    which case ``labels`` is the path of the matching labels IDX file.
    """
    if str(source) == SKLEARN_DIGITS:
        from sklearn.datasets import load_digits as sklearn_load_digits

        bunch = sklearn_load_digits()
        images = (bunch.images / 16.0).astype(np.float32)
        return np.clip(images, 0.0, 1.0), bunch.target.astype(np.int64)
    if labels is None:
        raise DataError(
            "an MNIST images file needs its labels file (data.labels: train-labels-idx1-ubyte)",
            source=source,
        )
    images = read_idx(source)
    if images.ndim != 3:
        raise DataError(f"expected images of shape (N, H, W), got {images.shape}", source=source)
    targets = read_idx(labels)
    if targets.ndim != 1 or not np.issubdtype(targets.dtype, np.integer):
        raise DataError(
            f"expected integer labels of shape (N,), got {targets.shape}", source=labels
        )
    if len(targets) != len(images):
        raise DataError(
            f"{len(targets)} labels for {len(images)} images in {source}", source=labels
        )
    if len(images) == 0:
        raise DataError("no images in file", source=source)
    return _scale_to_unit(images, source), targets.astype(np.int64)
