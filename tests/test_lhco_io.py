"""Data I/O: official LHCO HDF5 layouts read exactly with h5py, parquet round trips, raw chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lhcad.data.columns import JET_COLUMNS, LABEL, RAW_N_COLUMNS
from lhcad.data.lhco import iter_raw_chunks, read_features_h5, read_masterkey
from lhcad.data.parquet import read_events_parquet, write_events_parquet
from lhcad.data.sources import detect_format, read_events
from lhcad.errors import DataError

pytest.importorskip("tables")


def features_frame(n: int, labelled: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(100.0, 50.0, (n, len(JET_COLUMNS))), columns=list(JET_COLUMNS))
    if labelled:
        frame[LABEL] = rng.integers(0, 2, n).astype(np.float64)
    return frame


@pytest.mark.filterwarnings("ignore::Warning")
@pytest.mark.parametrize("layout", ["fixed", "table"])
@pytest.mark.parametrize("labelled", [True, False])
def test_official_features_file_written_by_pandas_reads_back_exactly(tmp_path: Path, layout: str, labelled: bool) -> None:
    frame = features_frame(1234, labelled)
    path = tmp_path / "events.features.h5"
    frame.to_hdf(path, key="df", format=layout)
    assert detect_format(path) == "features_h5"
    read = read_features_h5(path, chunk_rows=500)
    pd.testing.assert_frame_equal(read, frame, check_exact=True)


def test_parquet_round_trip_is_exact(tmp_path: Path, toy_events: pd.DataFrame) -> None:
    path = tmp_path / "e.parquet"
    write_events_parquet(toy_events, path)
    pd.testing.assert_frame_equal(read_events_parquet(path), toy_events[[*JET_COLUMNS, LABEL]], check_exact=True)


def test_parquet_schema_check_names_the_missing_column(tmp_path: Path, toy_events: pd.DataFrame) -> None:
    path = tmp_path / "e.parquet"
    write_events_parquet(toy_events.drop(columns=["tau2j2"]), path)
    with pytest.raises(DataError, match="missing required columns: tau2j2"):
        read_events(path)


@pytest.mark.filterwarnings("ignore::Warning")
def test_raw_file_with_2100_columns_is_read_in_chunks(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 250
    values = np.zeros((n, RAW_N_COLUMNS + 1))
    values[:, : 3 * 40] = rng.uniform(0.1, 100.0, (n, 3 * 40))
    values[:, -1] = rng.integers(0, 2, n)
    path = tmp_path / "raw.h5"
    pd.DataFrame(values).to_hdf(path, key="df", format="fixed")
    assert detect_format(path) == "raw_h5"
    chunks = list(iter_raw_chunks(path, chunk_rows=100))
    assert [len(p) for p, _ in chunks] == [100, 100, 50]
    particles = np.concatenate([p for p, _ in chunks])
    assert particles.shape == (n, 700, 3)
    np.testing.assert_array_equal(particles.reshape(n, -1), values[:, :RAW_N_COLUMNS])
    np.testing.assert_array_equal(np.concatenate([lab for _, lab in chunks]), values[:, -1].astype(np.int8))
    with pytest.raises(DataError, match="lhcad features"):
        read_events(path)


def test_masterkey_length_must_match_the_events(tmp_path: Path) -> None:
    path = tmp_path / "bb.masterkey"
    path.write_text("0\n1\n0\n")
    np.testing.assert_array_equal(read_masterkey(path, 3), [0, 1, 0])
    with pytest.raises(DataError, match="3 labels for 4 events"):
        read_masterkey(path, 4)


@pytest.mark.parametrize("content", [b"", b"this is not data at all", b"\x89HDF\r\n\x1a\ncorrupt"])
def test_empty_or_corrupt_files_are_one_line_data_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.h5"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_events(path)
    assert str(path) in info.value.line() and "\n" not in info.value.line()
