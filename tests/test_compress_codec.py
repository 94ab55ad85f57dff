"""Compressing a table and restoring it from the .lhcz file alone: the table's shape, column
names, order and dtypes come back; stored columns exactly; a table with an exact K-dimensional
linear structure comes back within 1e-3 at latent size K."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lhcad.families.compress.codec import CompressionSettings, compress_table, decompress_file, split_columns
from lhcad.families.compress.container import read_lhcz
from lhcad.errors import DataError
from lhcad.models.trainer import TrainSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")

QUICK = TrainSettings(epochs=2, batch_size=64, patience=None)


def mixed_table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "event_id": np.arange(n, dtype=np.int64),
            "pt": rng.exponential(500.0, n).astype(np.float32),
            "label": rng.integers(0, 2, n).astype(np.int8),
            "eta": rng.normal(0.0, 1.5, n),
            "passed": rng.random(n) > 0.5,
            "m": rng.uniform(10.0, 300.0, n).astype(np.float32),
        }
    )


def linear_table(n: int = 1000) -> pd.DataFrame:
    """Three independent columns and three linear combinations of them: an exact 3-dimensional
    structure in six columns."""
    a, b, c = np.random.default_rng(0).uniform(1.0, 2.0, (3, n))
    columns = {"a": a, "b": b, "c": c, "a_plus_b": a + b, "d": 2 * a - c + 3, "e": 0.5 * b + c}
    return pd.DataFrame(columns).astype(np.float32)


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_round_trip_restores_shape_names_order_and_dtypes(tmp_path: Path, kind: str) -> None:
    table = mixed_table()
    settings = CompressionSettings(kind=kind, latent_dim=2, arch_hidden=(16,), train=QUICK)
    record = compress_table(table, tmp_path / "t.lhcz", settings)
    assert record.columns == ["pt", "eta", "m"] and record.stored == ["event_id", "label", "passed"]
    restored = decompress_file(tmp_path / "t.lhcz")
    assert restored.shape == table.shape
    assert list(restored.columns) == list(table.columns)
    assert list(restored.dtypes) == list(table.dtypes)
    for name in record.stored:
        np.testing.assert_array_equal(restored[name].to_numpy(), table[name].to_numpy())
    header = read_lhcz(tmp_path / "t.lhcz").header
    assert header["arrays"]["latent"]["shape"] == [len(table), 2]
    assert header["arrays"]["latent"]["dtype"] == "<f2"
    assert not any("encoder" in name or "head" in name for name in header["arrays"])  # decoder only


@pytest.mark.parametrize("latent_dtype", ["float32", "float16"])
def test_an_exact_low_dimensional_structure_comes_back_within_1e3(
    tmp_path: Path, latent_dtype: str
) -> None:
    """The linear compressor (no hidden layer) can represent the structure exactly, so whatever
    error remains comes from the codec: normalisation, latent storage, decoder weights."""
    table = linear_table()
    settings = CompressionSettings(
        latent_dim=3,
        arch_hidden=(),
        latent_dtype=latent_dtype,
        train=TrainSettings(epochs=15, batch_size=64, lr=1e-2, patience=None),
    )
    compress_table(table, tmp_path / "lin.lhcz", settings)
    restored = decompress_file(tmp_path / "lin.lhcz")
    relative = np.abs(restored.to_numpy(np.float64) / table.to_numpy(np.float64) - 1.0)
    assert relative.max() < 1e-3


def test_one_latent_value_too_few_loses_the_structure(tmp_path: Path) -> None:
    table = linear_table()
    settings = CompressionSettings(
        latent_dim=2,
        arch_hidden=(),
        train=TrainSettings(epochs=15, batch_size=64, lr=1e-2, patience=None),
    )
    compress_table(table, tmp_path / "lin2.lhcz", settings)
    restored = decompress_file(tmp_path / "lin2.lhcz")
    relative = np.abs(restored.to_numpy(np.float64) / table.to_numpy(np.float64) - 1.0)
    assert relative.max() > 1e-2


def test_column_choice_errors_are_one_line_data_errors() -> None:
    table = mixed_table(20)
    assert split_columns(table, ["m"]) == (["m"], ["event_id", "pt", "label", "eta", "passed"])
    with pytest.raises(DataError, match="no column 'mass'"):
        split_columns(table, ["mass"])
    with pytest.raises(DataError, match="only floating-point columns"):
        split_columns(table, ["label"])
    with pytest.raises(DataError, match="cannot be stored"):
        split_columns(table.assign(name="x"), None)
    with pytest.raises(DataError, match="no floating-point column"):
        split_columns(table[["event_id", "label"]], None)


def test_non_finite_values_are_refused(tmp_path: Path) -> None:
    table = mixed_table(50)
    table.loc[7, "eta"] = np.nan
    with pytest.raises(DataError, match="1 rows hold NaN"):
        compress_table(table, tmp_path / "nan.lhcz", CompressionSettings(train=QUICK))
