"""Compressing a table into an ``.lhcz`` file and restoring it.

For a network (``ae``, ``vae``), :func:`compress_table` standardises the chosen floating-point
columns (mean and standard deviation in float64), trains a
:class:`~lhcad.families.compress.model.DenseCompressor` on them with lhcad's single-model trainer,
encodes every row to its latent means and writes them (float16 or float32) with the decoder
weights, the normalisation, every column's name and dtype, and the other columns stored
losslessly. For the quantising codec (``quant``, :mod:`~lhcad.families.compress.quant`) it
writes the zstd frames of the quantised quantities and the values stored exactly instead (no
training, no weights). :func:`decompress_file` needs that file and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from lhcad import __version__
from lhcad.families.compress import LATENT_DTYPES
from lhcad.families.compress.container import read_lhcz, write_lhcz
from lhcad.families.compress.quant import ZSTD_LEVEL
from lhcad.errors import DataError

if TYPE_CHECKING:
    from lhcad.families.compress.model import CompressorArchitecture
    from lhcad.models.trainer import TrainSettings

#: Rows per encoder/decoder pass (no gradients: large chunks are cheap).
CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class CompressionSettings:
    """How to compress a table.

    Attributes:
        arch_hidden: encoder widths (the decoder mirrors them).
        kind: ``ae``, ``vae`` or ``quant`` (the quantising codec: no network; only
            ``precision`` and ``level`` matter).
        latent_dim: latent values per row ``K``.
        activation: activation between layers.
        beta: KL weight of the VAE.
        latent_dtype: ``float16`` or ``float32`` storage of the latent values.
        train: optimisation settings (None: :class:`~lhcad.models.trainer.TrainSettings` defaults).
        val_fraction: rows held out for early stopping and the choice of the best epoch.
        seed: initialisation, split and shuffling seed.
        precision: ``quant``: the largest relative error of every stored pT, mass, tau_N and
            other column, and the absolute one of eta and phi.
        level: ``quant``: zstd level.
    """

    kind: str = "ae"
    latent_dim: int = 4
    arch_hidden: tuple[int, ...] = (200, 100, 50)
    activation: str = "leaky_relu"
    beta: float = 1e-3
    latent_dtype: str = "float16"
    train: TrainSettings | None = None
    val_fraction: float = 0.1
    seed: int = 0
    precision: float = 0.01
    level: int = ZSTD_LEVEL

    def architecture(self, n_inputs: int) -> CompressorArchitecture:
        from lhcad.families.compress.model import CompressorArchitecture

        return CompressorArchitecture(
            n_inputs=n_inputs,
            latent_dim=self.latent_dim,
            hidden=self.arch_hidden,
            activation=self.activation,
            kind=self.kind,
            beta=self.beta,
        )


@dataclass
class CompressionRecord:
    """What compressing one table cost and produced.

    Attributes:
        path: the ``.lhcz`` file.
        n_bytes: its size.
        n_rows: rows compressed.
        columns: the columns encoded by the network.
        stored: the columns stored losslessly.
        train_seconds: training wall time (fit of the network).
        compress_seconds: wall time of encoding every row and writing the file.
        best_epoch: the epoch whose weights were kept.
        epochs: epochs run.
        history: the trainer's per-epoch losses.
    """

    path: Path
    n_bytes: int
    n_rows: int
    columns: list[str]
    stored: list[str]
    train_seconds: float
    compress_seconds: float
    best_epoch: int
    epochs: int
    history: list[dict[str, Any]]


@dataclass(frozen=True)
class ColumnScaler:
    """Per-column standardisation, fitted in float64 (its parameters travel in the file)."""

    shift: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> ColumnScaler:
        values = np.asarray(values, dtype=np.float64)
        scale = values.std(axis=0)
        return cls(shift=values.mean(axis=0), scale=np.where(scale > 0, scale, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((np.asarray(values, dtype=np.float64) - self.shift) / self.scale).astype(np.float32)

    def inverse(self, standardised: np.ndarray) -> np.ndarray:
        return np.asarray(standardised, dtype=np.float64) * self.scale + self.shift


def split_columns(
    frame: pd.DataFrame, columns: Sequence[str] | None, source: str | None = None
) -> tuple[list[str], list[str]]:
    """``(encoded, stored)`` column names: the requested ones (default: every floating-point
    column) are encoded, all others are stored as they are.

    Raises:
        DataError: unknown, repeated or non-floating requested columns, nothing to encode, or a
            column that cannot be stored without pickle (strings, Python objects).
    """
    if len(set(frame.columns)) != len(frame.columns):
        raise DataError("the table has repeated column names", source=source)
    if columns is None:
        encoded = [str(c) for c in frame.columns if pd.api.types.is_float_dtype(frame[c].dtype)]
    else:
        encoded = list(columns)
        unknown = [c for c in encoded if c not in frame.columns]
        if unknown:
            raise DataError(
                f"no column {', '.join(map(repr, unknown))} in the table "
                f"(have: {', '.join(map(str, frame.columns))})",
                source=source,
            )
        if len(set(encoded)) != len(encoded):
            raise DataError("columns to compress must not repeat", source=source)
        not_float = [c for c in encoded if not pd.api.types.is_float_dtype(frame[c].dtype)]
        if not_float:
            raise DataError(
                f"only floating-point columns can be compressed, not {', '.join(not_float)}",
                source=source,
            )
    if not encoded:
        raise DataError("no floating-point column to compress", source=source)
    stored = [str(c) for c in frame.columns if c not in encoded]
    for name in stored:
        dtype = frame[name].dtype
        if not isinstance(dtype, np.dtype) or dtype.hasobject:
            raise DataError(
                f"column {name} of type {dtype} cannot be stored (numeric columns only)",
                source=source,
            )
    return encoded, stored


def _split_rows(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) row indices; both non-empty."""
    if n < 2:
        raise DataError(f"a table of {n} row(s) is too small to train a compressor")
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(max(round(val_fraction * n), 1), n - 1)
    return order[n_val:], order[:n_val]


def _encode(model: Any, standardised: np.ndarray, device: Any) -> np.ndarray:
    import torch

    parts = []
    with torch.no_grad():
        for start in range(0, len(standardised), CHUNK_ROWS):
            chunk = torch.as_tensor(standardised[start : start + CHUNK_ROWS], device=device)
            parts.append(model.encode(chunk)[0].cpu().numpy())
    return np.concatenate(parts) if parts else np.zeros((0, model.arch.latent_dim), np.float32)


def compress_table(
    frame: pd.DataFrame,
    out: Path,
    settings: CompressionSettings,
    columns: Sequence[str] | None = None,
    *,
    source: str | None = None,
) -> CompressionRecord:
    """Train a compressor on ``frame``'s columns and write the ``.lhcz`` file ``out``.

    Raises:
        DataError: unusable columns, non-finite values, a table too small to train on.
    """
    if settings.kind == "quant":
        return _compress_quantised(frame, out, settings, columns, source)
    from lhcad.families.compress.model import DenseCompressor, compressor_loss
    from lhcad.models.trainer import TrainSettings, train_model

    if settings.latent_dtype not in LATENT_DTYPES:
        raise DataError(
            f"latent dtype must be one of {LATENT_DTYPES}, not {settings.latent_dtype!r}"
        )
    encoded, stored = split_columns(frame, columns, source)
    values = frame[encoded].to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        where = [c for c, b in zip(encoded, bad.any(axis=0)) if b]
        raise DataError(
            f"{int(bad.any(axis=1).sum())} rows hold NaN or infinite values "
            f"(columns {', '.join(where)})",
            source=source,
        )
    train_rows, val_rows = _split_rows(len(frame), settings.val_fraction, settings.seed)
    scaler = ColumnScaler.fit(values[train_rows])
    standardised = scaler.transform(values)
    arch = settings.architecture(len(encoded))
    result = train_model(
        DenseCompressor(arch, settings.seed),
        compressor_loss,
        [standardised[train_rows]],
        [standardised[val_rows]],
        settings.train or TrainSettings(),
        settings.seed,
    )
    model = result.model

    t0 = time.perf_counter()
    device = next(model.parameters()).device
    latent = _encode(model, standardised, device).astype(settings.latent_dtype)
    arrays: dict[str, np.ndarray] = {"latent": latent}
    arrays |= {
        f"decoder.{name}": p.detach().cpu().numpy()
        for name, p in model.decoder.state_dict().items()
    }
    arrays |= _stored_columns(frame, stored)
    header = {
        **_file_header(frame, encoded, source),
        "model": arch.to_dict(),
        "normalisation": {
            "kind": "standard",
            "shift": scaler.shift.tolist(),
            "scale": scaler.scale.tolist(),
        },
        "latent_dtype": settings.latent_dtype,
        "training": {
            "best_epoch": result.best_epoch,
            "epochs": len(result.history),
            "seed": settings.seed,
        },
    }
    n_bytes = write_lhcz(out, header, arrays)
    compress_seconds = time.perf_counter() - t0
    return CompressionRecord(
        path=out,
        n_bytes=n_bytes,
        n_rows=len(frame),
        columns=encoded,
        stored=stored,
        train_seconds=result.seconds,
        compress_seconds=compress_seconds,
        best_epoch=result.best_epoch,
        epochs=len(result.history),
        history=result.history,
    )


def _stored_columns(frame: pd.DataFrame, stored: Sequence[str]) -> dict[str, np.ndarray]:
    """The columns kept as they are (not encoded), as the file's ``column.<i>`` arrays."""
    return {f"column.{i}": frame[name].to_numpy() for i, name in enumerate(stored)}


def _file_header(frame: pd.DataFrame, encoded: Sequence[str], source: str | None) -> dict[str, Any]:
    """What every ``.lhcz`` header starts with, whatever the codec: who wrote it, from what,
    how many rows, and the column table."""
    return {
        "lhcad_version": __version__,
        "source": source,
        "n_rows": len(frame),
        "columns": _column_table(frame, encoded),
    }


def _column_table(frame: pd.DataFrame, encoded: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"name": str(c), "dtype": frame[c].dtype.str, "encoded": c in encoded}
        for c in frame.columns
    ]


def _compress_quantised(
    frame: pd.DataFrame,
    out: Path,
    settings: CompressionSettings,
    columns: Sequence[str] | None,
    source: str | None,
) -> CompressionRecord:
    """The ``quant`` branch of :func:`compress_table`: NaN and infinities are stored exactly."""
    from lhcad.families.compress.quant import QuantSettings, encode

    try:
        quant = QuantSettings(precision=settings.precision, level=settings.level)
    except ValueError as exc:
        raise DataError(str(exc), source=source) from None
    t0 = time.perf_counter()
    encoded, stored = split_columns(frame, columns, source)
    result = encode({c: frame[c].to_numpy() for c in encoded}, encoded, quant)
    arrays: dict[str, np.ndarray] = {"quant.payload": np.frombuffer(result.payload, np.uint8)}
    arrays |= result.exceptions
    arrays |= _stored_columns(frame, stored)
    header = {
        **_file_header(frame, encoded, source),
        "codec": "quant",
        "quant": result.header,
    }
    n_bytes = write_lhcz(out, header, arrays, version=2)
    return CompressionRecord(
        path=out,
        n_bytes=n_bytes,
        n_rows=len(frame),
        columns=encoded,
        stored=stored,
        train_seconds=0.0,
        compress_seconds=time.perf_counter() - t0,
        best_epoch=0,
        epochs=0,
        history=[],
    )


def _decompress_quantised(
    header: dict[str, Any], arrays: dict[str, np.ndarray], path: Path
) -> pd.DataFrame:
    """The table of a ``quant`` file."""
    from lhcad.families.compress.quant import decode

    try:
        columns = header["columns"]
        n_rows = int(header["n_rows"])
        dtypes = {c["name"]: np.dtype(c["dtype"]) for c in columns}
        encoded = [c["name"] for c in columns if c["encoded"]]
        exceptions = {k: v for k, v in arrays.items() if k.startswith("exceptions.")}
        decoded = decode(
            header["quant"],
            arrays["quant.payload"].tobytes(),
            exceptions,
            n_rows,
            {c: dtypes[c] for c in encoded},
        )
        if sorted(decoded) != sorted(encoded):
            raise ValueError("the decoded columns are not the encoded ones")
        stored = [arrays[f"column.{i}"] for i in range(len(columns) - len(encoded))]
        if any(len(values) != n_rows for values in stored):
            raise ValueError("a stored column has the wrong length")
    except (KeyError, TypeError, ValueError, IndexError, pa.ArrowException) as exc:
        raise DataError(
            f"damaged .lhcz file: inconsistent header or payload ({type(exc).__name__}: {exc})",
            source=path,
        ) from None
    data: dict[str, np.ndarray] = {}
    stored_values = iter(stored)
    for column in columns:
        name = column["name"]
        data[name] = decoded[name] if column["encoded"] else next(stored_values).astype(
            dtypes[name], copy=False
        )
    return pd.DataFrame(data)


def decompress_file(path: Path, device: str = "cpu") -> pd.DataFrame:
    """The table an ``.lhcz`` file holds: decoded columns and stored ones, in their original
    order, names and dtypes.

    Raises:
        DataError: a missing, foreign, truncated or corrupt file.
    """
    content = read_lhcz(path)
    header, arrays = content.header, content.arrays
    if header.get("codec") == "quant":
        return _decompress_quantised(header, arrays, path)  # no torch needed
    import torch

    from lhcad.families.compress.model import CompressorArchitecture, build_decoder
    from lhcad.models.trainer import resolve_device

    try:
        arch = CompressorArchitecture.from_dict(header["model"])
        columns = header["columns"]
        encoded = [c["name"] for c in columns if c["encoded"]]
        dtypes = [np.dtype(c["dtype"]) for c in columns]
        scaler = ColumnScaler(
            shift=np.asarray(header["normalisation"]["shift"], np.float64),
            scale=np.asarray(header["normalisation"]["scale"], np.float64),
        )
        decoder = build_decoder(arch)
        prefix = "decoder."
        state = {
            k[len(prefix) :]: torch.from_numpy(v.copy())
            for k, v in arrays.items()
            if k.startswith(prefix)
        }
        decoder.load_state_dict(state)
        latent = arrays["latent"]
        if latent.shape != (header["n_rows"], arch.latent_dim) or not (
            len(scaler.shift) == len(scaler.scale) == len(encoded) == arch.n_inputs
        ):
            raise ValueError("latent or normalisation shapes do not match the model")
        stored = [arrays[f"column.{i}"] for i in range(len(columns) - len(encoded))]
        if any(len(values) != header["n_rows"] for values in stored):
            raise ValueError("a stored column has the wrong length")
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise DataError(
            f"damaged .lhcz file: inconsistent header ({type(exc).__name__}: {exc})", source=path
        ) from None

    target = resolve_device(device)
    decoder = decoder.to(target).eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(latent), CHUNK_ROWS):
            z = torch.as_tensor(
                latent[start : start + CHUNK_ROWS].astype(np.float32), device=target
            )
            parts.append(decoder(z).cpu().numpy())
    standardised = np.concatenate(parts) if parts else np.zeros((0, arch.n_inputs), np.float32)
    decoded = scaler.inverse(standardised)
    data: dict[str, np.ndarray] = {}
    stored_values = iter(stored)
    for column, dtype in zip(columns, dtypes):
        if column["encoded"]:
            data[column["name"]] = decoded[:, encoded.index(column["name"])].astype(dtype)
        else:
            data[column["name"]] = next(stored_values).astype(dtype, copy=False)
    return pd.DataFrame(data)


def decompress_to_parquet(path: Path, out: Path, device: str = "cpu") -> tuple[pd.DataFrame, float]:
    """Decompress ``path`` into the parquet file ``out`` (zstd); returns the table and the wall
    time of reading, decoding and writing."""
    import torch  # noqa: F401  (loaded before the clock starts: its import is no decoding time)

    from lhcad.data.parquet import write_events_parquet

    t0 = time.perf_counter()
    frame = decompress_file(path, device)
    write_events_parquet(frame, out)
    return frame, time.perf_counter() - t0
