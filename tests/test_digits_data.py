"""Digit images: the IDX round trip, clear errors on corrupt files, the default source."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from lhcad.data.digits import load_digits, read_idx, write_idx
from lhcad.errors import DataError


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_idx_round_trip_keeps_values_dtype_and_shape(tmp_path, dtype, name):
    rng = np.random.default_rng(1)
    array = (rng.uniform(-100, 100, size=(5, 3, 4))).astype(dtype)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.shape == (5, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_the_mnist_layout(tmp_path):
    write_idx(tmp_path / "x", np.zeros((2, 28, 28), np.uint8))
    raw = (tmp_path / "x").read_bytes()
    # magic 0x00000803 (unsigned byte, 3 dims), then big-endian sizes 2, 28, 28
    assert raw[:16] == bytes.fromhex("00000803000000020000001c0000001c")
    assert len(raw) == 16 + 2 * 28 * 28


def _mnist_like(tmp_path, n=6, gz=True):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels)
    return (
        tmp_path / f"train-images-idx3-ubyte{suffix}",
        tmp_path / f"train-labels-idx1-ubyte{suffix}",
    )


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_files_load_scaled_to_unit_interval(tmp_path, gz):
    images_path, labels_path = _mnist_like(tmp_path, gz=gz)
    images, labels = load_digits(images_path, labels_path)
    raw = read_idx(images_path)
    assert images.dtype == np.float32 and images.shape == (6, 28, 28)
    assert labels.dtype == np.int64 and labels.shape == (6,)
    np.testing.assert_allclose(images, raw / 255.0, rtol=1e-6)
    assert images.min() == 0.0 and images.max() == 1.0


def test_sklearn_digits_are_the_default_source():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert set(np.unique(labels)) == set(range(10))
    assert images.min() == 0.0 and images.max() == 1.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "too short"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "magic number"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "unknown IDX type"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x04\x05", "size mismatch"),
        (b"\x1f\x8bnot really gzip", "corrupt gzip"),
    ],
)
def test_corrupt_idx_files_raise_a_clear_data_error(tmp_path, content, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(path) in info.value.line()


def test_truncated_gzip_raises_a_data_error(tmp_path):
    path = tmp_path / "t.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02ab")[:-6])
    with pytest.raises(DataError, match="corrupt gzip"):
        read_idx(path)


def test_missing_or_mismatched_files_are_data_errors(tmp_path):
    images_path, labels_path = _mnist_like(tmp_path)
    with pytest.raises(DataError, match="file not found"):
        load_digits(tmp_path / "nope", labels_path)
    with pytest.raises(DataError, match="labels file"):
        load_digits(images_path)
    write_idx(tmp_path / "few-labels", np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="3 labels for 6 images"):
        load_digits(images_path, tmp_path / "few-labels")
    with pytest.raises(DataError, match=r"shape \(N, H, W\)"):
        load_digits(labels_path, labels_path)
