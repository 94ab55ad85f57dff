"""The official raw layout written block by block with h5py: what pandas and lhcad read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lhcad.data.columns import RAW_MAX_PARTICLES, RAW_N_COLUMNS
from lhcad.data.lhco import inspect_h5, iter_raw_chunks
from lhcad.data.raw_writer import RawFileWriter, particles_to_rows
from lhcad.errors import DataError


def test_rows_hold_the_hardest_700_particles_of_each_event_hardest_first() -> None:
    rng = np.random.default_rng(0)
    counts = np.array([3, 0, 750])
    pt = rng.uniform(1, 100, counts.sum())
    eta, phi = rng.normal(size=len(pt)), rng.uniform(-np.pi, np.pi, len(pt))
    rows = particles_to_rows(pt, eta, phi, counts).reshape(3, RAW_MAX_PARTICLES, 3)
    first = np.argsort(-pt[:3])
    np.testing.assert_array_equal(rows[0, :3], np.stack([pt, eta, phi], axis=1)[first])
    assert not rows[0, 3:].any() and not rows[1].any()  # zero padding
    last = pt[3:]
    np.testing.assert_array_equal(
        rows[2, :, 0], np.sort(last)[::-1][:RAW_MAX_PARTICLES]
    )  # 50 softest lost


def test_blocks_written_in_any_order_read_back_as_the_pandas_fixed_layout(tmp_path: Path) -> None:
    pytest.importorskip("tables")
    values = np.random.default_rng(1).uniform(0, 10, (25, RAW_N_COLUMNS))
    labels = np.arange(25) % 2
    path = tmp_path / "raw.h5"
    shuffled = 10 + np.random.default_rng(2).permutation(15)  # rows 10..24, in a random order
    with RawFileWriter(path, 25, labelled=True) as writer:
        writer.write(0, values[:10], labels[:10])
        writer.write_rows(shuffled, values[shuffled], labels[shuffled])
    frame = pd.read_hdf(path)
    assert frame.shape == (25, RAW_N_COLUMNS + 1) and frame.columns[-1] == "label"
    np.testing.assert_array_equal(frame.iloc[:, :RAW_N_COLUMNS].to_numpy(), values)
    assert inspect_h5(path)[1].kind == "fixed"
    ((block, read_labels),) = list(iter_raw_chunks(path, chunk_rows=100))
    np.testing.assert_array_equal(block.reshape(25, -1), values)
    np.testing.assert_array_equal(read_labels, labels)


def test_an_incomplete_file_never_appears(tmp_path: Path) -> None:
    path = tmp_path / "raw.h5"
    with (
        pytest.raises(DataError, match="only 2 of 5 rows written"),
        RawFileWriter(path, 5, labelled=False) as writer,
    ):
        writer.write(0, np.ones((2, RAW_N_COLUMNS)))
    with pytest.raises(DataError, match="shape"), RawFileWriter(path, 5, labelled=False) as writer:
        writer.write(0, np.ones((2, 99)))
    assert list(tmp_path.iterdir()) == []
