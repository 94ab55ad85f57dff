"""The CMS e/gamma HDF5 layout: written, read back, and bad files refused with one line; the
``lhcad simulate-showers`` command writes it."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from lhcad.families.egamma import egamma_file
from lhcad.families.egamma.egamma_file import read_egamma_file, write_egamma_file
from lhcad.cli import main
from lhcad.errors import DataError


def _images(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 32, 32, 2), np.float32)
    images[:, 14:19, 14:19, 0] = rng.exponential(2.0, (n, 5, 5))
    images[:, 14:19, 14:19, 1] = rng.normal(0.0, 1.0, (n, 5, 5))
    return images


def test_round_trip_of_the_cms_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(egamma_file, "READ_CHUNK", 7)  # several read chunks, the last one short
    images, labels = _images(30), np.ones(30)
    path = write_egamma_file(tmp_path / "electrons.hdf5", images, labels)
    with h5py.File(path, "r") as handle:
        assert handle["X"].shape == (30, 32, 32, 2) and handle["X"].dtype == np.float32
        assert handle["X"].chunks is not None and handle["y"].shape == (30,)
    x, y = read_egamma_file(path)
    assert np.array_equal(x, images) and y is not None and (y == 1).all()
    energy, _ = read_egamma_file(path, channels=[0], max_events=11)
    assert energy.shape == (11, 32, 32, 1) and np.array_equal(energy[..., 0], images[:11, ..., 0])


def test_single_channel_images_without_labels(tmp_path: Path) -> None:
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as handle:
        handle["images"] = np.ones((4, 8, 8), np.float32)
    x, y = read_egamma_file(path, image_key="images")
    assert x.shape == (4, 8, 8, 1) and y is None


@pytest.mark.parametrize(
    "content, message",
    [
        ({"Z": np.zeros((2, 32, 32, 2))}, "no dataset 'X'"),
        ({"X": np.zeros((2, 32))}, "must be"),
        ({"X": np.full((2, 4, 4, 2), np.nan)}, "NaN"),
        ({"X": np.zeros((0, 4, 4, 2))}, "no images"),
    ],
)
def test_bad_files_are_data_errors(tmp_path: Path, content: dict[str, np.ndarray], message: str) -> None:
    path = tmp_path / "bad.hdf5"
    with h5py.File(path, "w") as handle:
        for key, value in content.items():
            handle[key] = value
    with pytest.raises(DataError, match=message):
        read_egamma_file(path)


def test_missing_corrupt_and_wrong_channel(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_egamma_file(tmp_path / "absent.hdf5")
    corrupt = tmp_path / "corrupt.hdf5"
    corrupt.write_bytes(b"not hdf5 at all")
    with pytest.raises(DataError, match="not a readable HDF5"):
        read_egamma_file(corrupt)
    path = write_egamma_file(tmp_path / "ok.hdf5", _images(2), np.zeros(2))
    with pytest.raises(DataError, match="channels"):
        read_egamma_file(path, channels=[2])


def test_simulate_showers_command(tmp_path: Path) -> None:
    out = tmp_path / "photons.hdf5"
    result = CliRunner().invoke(main, ["simulate-showers", "--particle", "photon", "--n", "20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    x, y = read_egamma_file(out)
    assert x.shape == (20, 32, 32, 2) and y is not None and (y == 0).all()
    again = CliRunner().invoke(main, ["simulate-showers", "--particle", "photon", "--n", "20", "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
