"""The .lhcz container: arrays come back bit for bit, and anything lhcad did not write intact
(a foreign zip, another file type, a truncated or altered file, a newer format) is refused with
a one-line DataError."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from lhcad.families.compress.container import FORMAT_VERSION, read_lhcz, write_lhcz
from lhcad.errors import DataError


def sample_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {
        "latent": rng.normal(size=(50, 4)).astype(np.float16),
        "decoder.0.weight": rng.normal(size=(8, 4)).astype(np.float32),
        "column.0": np.arange(50, dtype=np.int64),
        "column.1": rng.integers(0, 2, 50).astype(bool),
    }


@pytest.fixture()
def lhcz(tmp_path: Path) -> Path:
    path = tmp_path / "table.lhcz"
    write_lhcz(path, {"n_rows": 50, "note": "ünïcode"}, sample_arrays())
    return path


def test_arrays_and_header_survive_the_round_trip(lhcz: Path) -> None:
    content = read_lhcz(lhcz)
    assert content.header["format"] == "lhcz"
    assert content.header["format_version"] == 1  # the default: what a network's file is
    assert content.header["n_rows"] == 50 and content.header["note"] == "ünïcode"
    for name, array in sample_arrays().items():
        restored = content.arrays[name]
        assert restored.dtype == array.dtype and restored.shape == array.shape
        np.testing.assert_array_equal(restored, array)
    assert len(content.header["arrays"]["latent"]["sha256"]) == 64


def test_object_arrays_are_never_written(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="Python objects"):
        write_lhcz(tmp_path / "x.lhcz", {}, {"names": np.array(["a", None], dtype=object)})


def test_a_truncated_file_is_refused(lhcz: Path) -> None:
    data = lhcz.read_bytes()
    for keep in (len(data) // 2, len(data) - 10, 20):
        lhcz.write_bytes(data[:keep])
        with pytest.raises(DataError, match="lhcz"):
            read_lhcz(lhcz)


def test_an_altered_array_is_refused(lhcz: Path, tmp_path: Path) -> None:
    """Rewrite one array member with other values (zip CRCs then agree): the checksum catches it."""
    tampered = tmp_path / "tampered.lhcz"
    with zipfile.ZipFile(lhcz) as source, zipfile.ZipFile(tampered, "w") as target:
        target.comment = source.comment
        member = read_lhcz(lhcz).header["arrays"]["latent"]["member"]
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == member:
                data = data[:-2] + bytes([data[-2] ^ 0xFF, data[-1]])
            target.writestr(info.filename, data)
    with pytest.raises(DataError, match="checksum mismatch in array 'latent'"):
        read_lhcz(tampered)


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    plain_zip = tmp_path / "foreign.lhcz"
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("header.json", "{}")
    with pytest.raises(DataError, match="not one lhcad wrote"):
        read_lhcz(plain_zip)
    parquet_like = tmp_path / "table.parquet.lhcz"
    parquet_like.write_bytes(b"PAR1" + bytes(100))
    with pytest.raises(DataError, match="not an .lhcz file"):
        read_lhcz(parquet_like)
    with pytest.raises(DataError, match="file not found"):
        read_lhcz(tmp_path / "missing.lhcz")


def test_a_newer_format_version_asks_for_an_upgrade(lhcz: Path) -> None:
    with zipfile.ZipFile(lhcz, "a") as archive:
        digest = archive.comment.decode().rsplit(":", 1)[1]
        archive.comment = f"lhcz:{FORMAT_VERSION + 1}:{digest}".encode()
    with pytest.raises(DataError, match="upgrade lhcad"):
        read_lhcz(lhcz)


def test_the_newest_version_is_written_and_read_and_no_newer_one_written(tmp_path: Path) -> None:
    path = tmp_path / "v.lhcz"
    write_lhcz(path, {"n_rows": 50}, sample_arrays(), version=FORMAT_VERSION)
    assert read_lhcz(path).header["format_version"] == FORMAT_VERSION
    with zipfile.ZipFile(path) as archive:
        assert archive.comment.startswith(f"lhcz:{FORMAT_VERSION}:".encode())
    with pytest.raises(ValueError, match="version"):
        write_lhcz(path, {}, sample_arrays(), version=FORMAT_VERSION + 1)
