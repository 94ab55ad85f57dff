"""Stage ``data``: read the events, inject signal, attach labels, derive physics features; and its
output, :class:`Events`. Shared by the families whose pipelines start from an events table (the
LHCO resonance search, compression), each of which has a ``data`` section
(:class:`lhcad.config.data.DataConfig`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lhcad.config.base import AnalysisBase
from lhcad.config.data import DataConfig
from lhcad.data.columns import DERIVED_COLUMNS, EVENT_ID, JET_COLUMNS, LABEL
from lhcad.data.features import add_derived_features
from lhcad.data.inject import inject_signal
from lhcad.data.lhco import read_masterkey
from lhcad.data.sources import is_raw_source, read_events, resolve_path
from lhcad.errors import DataError
from lhcad.executors import Executor
from lhcad.pipeline.artifacts import Artifact, ArtifactWriter
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext

log = logging.getLogger("lhcad.data")


@dataclass
class Events:
    """The ``data`` stage's output: the events table (``events.parquet``: ``event_id``, the jet
    columns, derived features, ``label`` when known) and what happened on the way
    (``summary.json``: ``path``, ``labelled``, ``n_read``, ``n_nonfinite``, ``n_events``,
    ``n_signal``)."""

    table: pd.DataFrame
    summary: dict[str, Any]

    TABLE = "events.parquet"
    SUMMARY = "summary.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_table(self.TABLE, self.table)
        out.write_json(self.SUMMARY, self.summary)

    @classmethod
    def read(cls, artifact: Artifact, columns: list[str] | None = None) -> Events:
        """The events (only ``columns`` of the table, when given) and the summary."""
        return cls(artifact.read_table(cls.TABLE, columns=columns), artifact.read_json(cls.SUMMARY))

    @property
    def labels(self) -> np.ndarray | None:
        """The truth labels (1 = signal), None for unlabelled data."""
        return self.table[LABEL].to_numpy() if LABEL in self.table.columns else None


#: The columns a NaN or inf in which takes an event out of the analysis (``data.nan_policy``).
CHECKED_COLUMNS: tuple[str, ...] = (*JET_COLUMNS, *DERIVED_COLUMNS)


def nonfinite_events(events: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    """The data stage's NaN/inf rule, for a table with its derived features
    (:func:`lhcad.data.features.add_derived_features`): which events hold a NaN or inf in a jet
    column or a derived feature (``data.nan_policy: drop`` removes exactly these; ``error``
    stops at the first), and how many events each such column spoils (``lhcad inspect``)."""
    finite = np.isfinite(events[list(CHECKED_COLUMNS)].to_numpy(np.float64))
    per_column = {c: int(n) for c, n in zip(CHECKED_COLUMNS, (~finite).sum(axis=0)) if n}
    return ~finite.all(axis=1), per_column


def data_files(config: AnalysisBase) -> list[Path]:
    """The files the data stage reads (their hashes key its cache)."""
    cfg: DataConfig = getattr(config, "data")
    paths = [] if cfg.generate is not None else [resolve_path(cfg.path)]
    paths += [resolve_path(p) for p in (cfg.signal_path, cfg.labels) if p]
    for path in paths:
        if not path.exists():
            raise DataError("file not found", source=path)
        if path.is_dir():
            raise DataError("is a directory, expected a data file", source=path)
    return paths


def generate_into(cfg: DataConfig, scratch: Path, executor: Executor | None = None) -> Path:
    """Run the generator block of the data config into ``scratch``; returns the parquet file."""
    from lhcad.gen.generate import generate_to_parquet, plan_samples

    gen = cfg.generate
    assert gen is not None
    physics = dict(
        mZ=gen.mZ, mX=gen.mX, mY=gen.mY, pthat_min=gen.pthat_min, mpi=gen.mpi, detector=gen.detector,
        feature_set=gen.feature_set,
    )  # fmt: skip
    samples, shuffle = plan_samples(gen.process, gen.n, n_signal=gen.n_signal, **physics)
    out = scratch / "generated.parquet"
    generate_to_parquet(
        out, samples, seed=gen.seed, workers=gen.workers, chunk_size=gen.chunk_size, shuffle=shuffle,
        progress=True, command="data.generate", executor=executor,
    )  # fmt: skip
    return out


def load_events(
    cfg: DataConfig, scratch: Path | None = None, executor: Executor | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The events table of an analysis and counts of what happened to it on the way
    (``scratch``: where generated events or a raw particle file's jet features are built)."""
    if cfg.generate is not None:
        if scratch is None:
            raise DataError("data.generate needs a scratch directory")
        path = generate_into(cfg, scratch, executor)
    else:
        path = resolve_path(cfg.path)
    events = read_events(path, cfg.format, cfg.key, cfg.chunk_rows, scratch, cfg, executor)
    events.insert(0, EVENT_ID, np.arange(len(events), dtype=np.int64))
    if cfg.labels:
        events[LABEL] = read_masterkey(resolve_path(cfg.labels), len(events))
    if cfg.signal_path:
        signal_path = resolve_path(cfg.signal_path)
        signal = read_events(signal_path, "auto", cfg.key, cfg.chunk_rows, scratch, cfg, executor)
        signal.insert(0, EVENT_ID, np.arange(len(signal), dtype=np.int64))
        events = inject_signal(
            events,
            signal,
            n_signal=cfg.n_signal,
            signal_fraction=cfg.signal_fraction,
            seed=cfg.seed,
            signal_source=str(signal_path),
        )
    if cfg.blind:
        events = events.drop(columns=[LABEL], errors="ignore")
    counts = {"n_read": len(events)}
    if cfg.max_events is not None and cfg.max_events < len(events):
        keep = np.sort(np.random.default_rng(cfg.seed + 1).choice(len(events), cfg.max_events, replace=False))
        events = events.iloc[keep].reset_index(drop=True)
    events = add_derived_features(events)
    bad, spoiled = nonfinite_events(events)
    counts["n_nonfinite"] = int(bad.sum())
    if bad.any():
        if cfg.nan_policy == "error":
            first = int(np.flatnonzero(bad)[0])
            row = events[list(CHECKED_COLUMNS)].iloc[first].to_numpy(np.float64)
            columns = [c for c, ok in zip(CHECKED_COLUMNS, np.isfinite(row)) if not ok]
            raise DataError(
                f"{int(bad.sum())} events with NaN/inf features (first: event_id "
                f"{int(events[EVENT_ID].iloc[first])}, columns {', '.join(columns)}); "
                "set data.nan_policy: drop to skip them",
                source=path,
            )
        log.warning(
            "dropped %d events with NaN/inf features (%s; data.nan_policy: drop)",
            counts["n_nonfinite"],
            ", ".join(f"{column}: {n}" for column, n in spoiled.items()),
        )
        events = events[~bad].reset_index(drop=True)
    if len(events) == 0:
        raise DataError("no events left to analyse", source=path)
    if LABEL in events.columns:
        events[LABEL] = events[LABEL].astype(np.int8)
        counts["n_signal"] = int((events[LABEL] == 1).sum())
    counts["n_events"] = len(events)
    return events, counts


@stage(
    "data",
    summary="read events (LHCO .h5 or parquet), inject signal, attach labels, derive mjj and jet features",
    input_files=data_files,
)
def run_data(ctx: StageContext) -> None:
    cfg: DataConfig = ctx.config()
    converts = cfg.generate is not None or is_raw_source(cfg)  # only then may a Dask cluster help
    events, counts = load_events(cfg, scratch=ctx.out.dir, executor=ctx.executor if converts else None)
    source = "generated" if cfg.generate is not None else str(resolve_path(cfg.path))
    Events(events, {"path": source, "labelled": LABEL in events.columns, **counts}).write(ctx.out)
