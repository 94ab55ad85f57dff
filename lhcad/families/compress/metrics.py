"""How good a lossy round trip is, and what it saves against what a user gets for free.

- per column: the relative residual ``(reconstructed - original) / original`` (rows where the
  original is 0 have none and are counted), its mean and RMS, and robust figures (median, half
  width of the central 68%) that a few near-zero originals cannot dominate;
- derived physics recomputed from both tables with :mod:`lhcad.data.features` (mjj, both jet
  masses, both tau21): mean and median |relative difference| in %;
- sizes: the table as raw float bytes, as parquet with pyarrow's default codec (snappy), as
  zstd-compressed parquet (the baseline a user already has), and as the smallest lossless
  parquet pyarrow writes for float tables (zstd level 19, no dictionary, byte-stream split: the
  dictionary pages that pyarrow adds by default make float columns larger than raw);
- what precision dropped for free gives: the columns as float16, or as bfloat16 (float32 with
  the low 16 mantissa bits rounded away), in tuned zstd parquet.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lhcad.data import columns as col
from lhcad.data.features import add_derived_features

#: pyarrow writer options of the tuned lossless baseline.
TUNED_ZSTD: dict[str, object] = {
    "compression": "zstd",
    "compression_level": 19,
    "use_dictionary": False,
    "use_byte_stream_split": True,
}

#: Derived observables compared after the round trip.
DERIVED_OBSERVABLES: tuple[str, ...] = (
    col.MJJ,
    col.MJ_HEAVY,
    col.MJ_LIGHT,
    col.TAU21_HEAVY,
    col.TAU21_LIGHT,
)


def relative_residual(original: np.ndarray, reconstructed: np.ndarray) -> np.ndarray:
    """``(reconstructed - original) / original`` in float64, NaN where either is not finite or
    the original is 0.

    >>> relative_residual(np.array([2.0, 0.0, -4.0]), np.array([2.2, 1.0, -3.0])).round(3).tolist()
    [0.1, nan, -0.25]
    """
    original = np.asarray(original, dtype=np.float64)
    reconstructed = np.asarray(reconstructed, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (reconstructed - original) / original
    out[~np.isfinite(out) | (original == 0)] = np.nan
    return out


def residual_summary(residual: np.ndarray) -> dict[str, Any]:
    """Mean, RMS, median, central-68% half width, and mean and median |.| in % of the defined
    residuals, with the count of undefined ones."""
    defined = residual[np.isfinite(residual)]
    if len(defined) == 0:
        return {
            "mean": None,
            "rms": None,
            "median": None,
            "half_width_68": None,
            "mean_abs_percent": None,
            "median_abs_percent": None,
            "n_undefined": len(residual),
        }
    lo, hi = np.quantile(defined, [0.16, 0.84])
    return {
        "mean": float(defined.mean()),
        "rms": float(np.sqrt(np.mean(defined**2))),
        "median": float(np.median(defined)),
        "half_width_68": float((hi - lo) / 2),
        "mean_abs_percent": float(100 * np.abs(defined).mean()),
        "median_abs_percent": float(100 * np.median(np.abs(defined))),
        "n_undefined": int(len(residual) - len(defined)),
    }


def column_residuals(
    original: pd.DataFrame, reconstructed: pd.DataFrame, columns: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """:func:`residual_summary` of every column's relative residual."""
    return {
        c: residual_summary(relative_residual(original[c].to_numpy(), reconstructed[c].to_numpy()))
        for c in columns
    }


def has_jets(frame: pd.DataFrame) -> bool:
    """Whether the table holds the LHCO jet columns the derived physics needs."""
    return all(c in frame.columns for c in col.JET_COLUMNS)


def derived_tables(
    original: pd.DataFrame, reconstructed: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The derived observables of both tables (jet columns only, so a stored ``mjj`` column is
    recomputed rather than trusted)."""
    jets = list(col.JET_COLUMNS)
    return add_derived_features(original[jets]), add_derived_features(reconstructed[jets])


def derived_differences(
    original: pd.DataFrame, reconstructed: pd.DataFrame
) -> dict[str, dict[str, Any]]:
    """:func:`residual_summary` of each derived observable's relative difference after the round
    trip (empty when the tables have no jet columns)."""
    if not has_jets(original):
        return {}
    before, after = derived_tables(original, reconstructed)
    return {
        name: residual_summary(relative_residual(before[name].to_numpy(), after[name].to_numpy()))
        for name in DERIVED_OBSERVABLES
    }


def parquet_bytes(frame: pd.DataFrame, compression: str | None, **options: object) -> int:
    """Size of ``frame`` written as parquet with ``compression`` (None: uncompressed) and other
    ``pyarrow.parquet.write_table`` options."""
    sink = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, sink, compression=compression or "none", **options)
    return len(sink.getvalue())


def tuned_parquet_bytes(frame: pd.DataFrame) -> int:
    """Size of ``frame`` as the smallest lossless parquet (:data:`TUNED_ZSTD`)."""
    return parquet_bytes(frame, **TUNED_ZSTD)


def size_baselines(frame: pd.DataFrame) -> dict[str, int]:
    """Bytes of ``frame`` in memory (``raw``), as default (snappy) parquet, as zstd parquet and
    as tuned zstd parquet."""
    return {
        "raw_bytes": int(sum(frame[c].to_numpy().nbytes for c in frame.columns)),
        "parquet_bytes": parquet_bytes(frame, "snappy"),
        "parquet_zstd_bytes": parquet_bytes(frame, "zstd"),
        "parquet_zstd_tuned_bytes": tuned_parquet_bytes(frame),
    }


def compression_ratios(n_bytes: int, baselines: dict[str, int]) -> dict[str, float]:
    """How many times smaller ``n_bytes`` is than each baseline (``> 1``: smaller)."""
    return {
        "ratio_vs_raw": baselines["raw_bytes"] / n_bytes,
        "ratio_vs_parquet": baselines["parquet_bytes"] / n_bytes,
        "ratio_vs_parquet_zstd": baselines["parquet_zstd_bytes"] / n_bytes,
        "ratio_vs_parquet_zstd_tuned": baselines["parquet_zstd_tuned_bytes"] / n_bytes,
    }


def float16_baseline(table: pd.DataFrame) -> dict[str, Any]:
    """What a user gets for free by storing the columns as float16 in tuned zstd parquet: its
    size and its round-trip errors."""
    rounded = table.astype(np.float16)
    restored = rounded.astype({c: table[c].dtype for c in table.columns})
    return {
        "n_bytes": tuned_parquet_bytes(rounded),
        "columns": column_residuals(table, restored, list(table.columns)),
        "derived": derived_differences(table, restored),
    }


def to_bfloat16(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to bfloat16 (8 exponent, 7 mantissa bits; round half to even), as
    float32 whose low 16 bits are 0; NaN and infinities stay as they are.

    >>> to_bfloat16(np.array([1.0, 1.00390625, 1.01171875, np.inf], np.float32)).tolist()
    [1.0, 1.0, 1.015625, inf]
    """
    values = np.ascontiguousarray(values, dtype=np.float32)
    bits = values.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16).astype(np.uint32)
    out = rounded.view(np.float32)
    return np.where(np.isfinite(values) & np.isfinite(out), out, values)


def bfloat16_baseline(table: pd.DataFrame) -> dict[str, Any]:
    """Like :func:`float16_baseline` with bfloat16 (float16's range, 3 mantissa bits fewer):
    stored as float32 with zero low halves in tuned zstd parquet, whose byte-stream split puts
    those halves into planes that compress to nothing."""
    rounded = pd.DataFrame({c: to_bfloat16(table[c].to_numpy()) for c in table.columns})
    restored = rounded.astype({c: table[c].dtype for c in table.columns})
    return {
        "n_bytes": tuned_parquet_bytes(rounded),
        "columns": column_residuals(table, restored, list(table.columns)),
        "derived": derived_differences(table, restored),
    }
