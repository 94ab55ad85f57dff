"""Opening an events file of any supported format as one table of jet columns (+ label)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import pandas as pd

from lhcad.data.lhco import inspect_h5, read_features_h5
from lhcad.data.parquet import read_events_parquet
from lhcad.data.raw_features import convert_raw_file
from lhcad.data.root import read_root_events
from lhcad.errors import DataError
from lhcad.gen.extra import require_gen_extra

if TYPE_CHECKING:
    from lhcad.config.data import DataConfig
    from lhcad.executors import Executor

EMBEDDED_PREFIX = "embedded:"
EMBEDDED_DIR = Path(__file__).parent / "embedded"


def resolve_path(path: str) -> Path:
    """A data path as given in the YAML; ``embedded:NAME`` is a sample shipped with lhcad."""
    if path.startswith(EMBEDDED_PREFIX):
        name = path[len(EMBEDDED_PREFIX) :]
        candidate = EMBEDDED_DIR / f"{name}.parquet"
        if not candidate.exists():
            known = sorted(p.stem for p in EMBEDDED_DIR.glob("*.parquet"))
            raise DataError(f"no embedded dataset {name!r} (have: {', '.join(known) or 'none'})", source=path)
        return candidate
    return Path(path).expanduser()


def detect_format(path: Path, key: str | None = None) -> str:
    """``parquet``, ``features_h5``, ``raw_h5`` or ``root``, from the file's content (not its name)."""
    if not path.exists():
        raise DataError("file not found", source=path)
    if path.is_dir():
        raise DataError("is a directory, expected a data file", source=path)
    if path.stat().st_size == 0:
        raise DataError("empty file", source=path)
    with path.open("rb") as handle:
        head = handle.read(8)
    if head[:4] == b"PAR1":
        return "parquet"
    if head[:4] == b"root":
        return "root"
    if h5py.is_hdf5(path):
        return inspect_h5(path, key)[0]
    raise DataError("unknown file format (expected parquet, ROOT or an LHCO HDF5 file)", source=path)


def is_raw_source(cfg: DataConfig) -> bool:
    """Whether ``data.path`` is a raw particle file, to be clustered into jets first."""
    if cfg.generate is not None or cfg.format not in ("auto", "raw_h5"):
        return False
    return cfg.format == "raw_h5" or detect_format(resolve_path(cfg.path), cfg.key) == "raw_h5"


def read_events(
    path: Path,
    fmt: str = "auto",
    key: str | None = None,
    chunk_rows: int = 200_000,
    scratch: Path | None = None,
    config: DataConfig | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Read the LHCO jet columns (and ``label``) of an events file.

    A raw particle file is first clustered into jet features (FastJet, the ``gen`` extra) in
    ``scratch`` (settings: ``config.raw``; blocks on ``executor`` when it is Dask); without a
    scratch directory it is an error that says how to convert it. A ROOT file is read through
    ``config.tree`` and ``config.columns``.
    """
    if fmt == "auto":
        fmt = detect_format(path, key)
    if fmt == "parquet":
        return read_events_parquet(path)
    if fmt == "features_h5":
        return read_features_h5(path, key, chunk_rows)
    if fmt == "root":
        if config is None:
            return read_root_events(path, chunk_rows=chunk_rows)
        return read_root_events(path, config.tree, config.columns, chunk_rows)
    if fmt == "raw_h5" and scratch is not None:
        require_gen_extra()
        # config.raw's settings, else convert_raw_file's defaults (the same as the section's)
        raw = {} if config is None else {"chunk_rows": config.raw.chunk_rows, "workers": config.raw.workers,
                                         "jet_pt_min": config.raw.jet_pt_min}  # fmt: skip
        features = scratch / f"raw_features_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}.parquet"
        convert_raw_file(path, features, key=key, executor=executor, progress=True, **raw)
        return read_events_parquet(features)
    if fmt == "raw_h5":
        raise DataError(
            "raw particle file: convert it to jet features first with `lhcad features` "
            "(needs the gen extra: pip install 'lhcad[gen]')",
            source=path,
        )
    raise DataError(f"unsupported format {fmt!r}", source=path)
