"""The ``data`` section: where an analysis's events come from (a file, lhcad's generator, signal
injection, labels). The LHCO resonance search and the compression family both read it, with the
shared ``data`` stage (:mod:`lhcad.data.stage`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from lhcad.config.section import PositiveInt, Section
from lhcad.data.root import parse_column_map
from lhcad.errors import DataError


class GenerateConfig(Section):
    """Events made by lhcad's generator (Pythia 8 + FastJet, the ``gen`` extra) as the data."""

    process: Literal["qcd", "signal", "rnd"] = "rnd"
    """``qcd`` dijets, the Z' -> X Y ``signal``, or ``rnd``: both, shuffled."""
    n: PositiveInt = 10_000
    """Selected events (QCD events for ``rnd``)."""
    n_signal: Annotated[int, Field(ge=0)] | None = None
    """Signal events of ``rnd`` (default: n / 10)."""
    mZ: Annotated[float, Field(gt=0)] = 3500.0
    """Z' mass in GeV."""
    mX: Annotated[float, Field(gt=0)] = 500.0
    """X mass in GeV."""
    mY: Annotated[float, Field(gt=0)] = 100.0
    """Y mass in GeV."""
    pthat_min: Annotated[float, Field(gt=0)] = 1000.0
    """Minimum pT of the hard QCD scattering in GeV."""
    mpi: bool = False
    """Multiple parton interactions (off in the LHCO R&D sample)."""
    detector: Literal["simple", "none"] = "simple"
    """Detector response."""
    seed: Annotated[int, Field(ge=0)] = 0
    """Run seed."""
    workers: PositiveInt = 1
    """Worker processes (or Dask tasks with ``executor.kind: dask``)."""
    chunk_size: PositiveInt = 1000
    """Events per chunk (the unit of resumption and parallelism)."""
    feature_set: Literal["standard", "extended"] = "standard"
    """``standard``: the official 14 jet columns; ``extended``: also tau1..tau5 of each jet at
    beta = 0.5, 1, 2 and the constituent multiplicities (``lhcad.data.columns.EXTENDED_COLUMNS``),
    kept in the events table next to the standard ones."""


class RawConversionConfig(Section):
    """How an official raw particle file in ``data.path`` becomes jet features (FastJet, the
    ``gen`` extra): what ``lhcad features`` does, as a cached step."""

    jet_pt_min: Annotated[float, Field(ge=0)] = 20.0
    """Minimum pT of an anti-kT R = 1.0 jet, GeV."""
    chunk_rows: PositiveInt = 5_000
    """Events per block (bounds memory; the unit of parallelism)."""
    workers: PositiveInt = 1
    """Local worker processes (with ``executor.kind: dask`` the blocks are Dask tasks)."""


class DataConfig(Section):
    """Where the events come from (stage ``data``)."""

    path: str = "embedded:rnd_default"
    """Events file: official LHCO features ``.h5``, official raw ``.h5``, parquet or a ROOT
    tree. ``embedded:rnd_default`` is the R&D-like sample shipped with lhcad."""
    generate: GenerateConfig | None = None
    """Generate the events with lhcad's generator instead of reading ``path`` (cached like
    any stage: the same block never runs twice)."""
    format: Literal["auto", "features_h5", "raw_h5", "parquet", "root"] = "auto"
    """File format; ``auto`` detects it from the file's content."""
    key: str | None = None
    """HDF5 key of the pandas frame (``None``: the only frame in the file)."""
    raw: RawConversionConfig = Field(default_factory=RawConversionConfig)
    """Jet clustering of a raw particle file."""
    tree: str | None = None
    """TTree of a ROOT file (``None``: the only tree in the file)."""
    columns: str | dict[str, str] = "lhco"
    """Where the LHCO columns of a ROOT tree come from: ``{pxj1: "FatJet_px[0]", ...}`` (a
    branch, or element ``i`` of a jagged branch; ``ptj1/etaj1/phij1`` may replace
    ``pxj1/pyj1/pzj1``; ``label`` optional), or a ready-made map: ``lhco`` (branches named like
    the LHCO columns) or ``nanoaod`` (``FatJet_pt/eta/phi/mass/tau1..3``, jets 0 and 1)."""
    signal_path: str | None = None
    """Optional file of signal events to inject into the background of ``path``
    (signal already in ``path`` is dropped first)."""
    n_signal: Annotated[int, Field(ge=0)] | None = None
    """Number of signal events to inject (needs ``signal_path``)."""
    signal_fraction: Annotated[float, Field(ge=0.0)] | None = None
    """Signal to inject as a fraction of the background count (alternative to ``n_signal``)."""
    labels: str | None = None
    """Optional LHCO ``.masterkey`` file: one 0/1 label per line, for black boxes."""
    blind: bool = False
    """Drop every label after reading (a blind black-box analysis of a labelled file)."""
    max_events: PositiveInt | None = None
    """Seeded random subsample of at most this many events (for quick runs)."""
    seed: int = 0
    """Seed of signal injection and subsampling."""
    nan_policy: Literal["drop", "error"] = "drop"
    """What to do with events holding NaN/inf features (e.g. tau21 of a one-constituent jet):
    ``drop`` them with a counted warning, or stop with an error."""
    chunk_rows: PositiveInt = 200_000
    """Rows per read block for large HDF5 files (bounds memory)."""

    @field_validator("columns")
    @classmethod
    def _column_map_is_complete(cls, columns: str | dict[str, str]) -> str | dict[str, str]:
        try:
            parse_column_map(columns)
        except DataError as exc:
            raise ValueError(exc.message) from None
        return columns

    @model_validator(mode="after")
    def _injection_is_consistent(self) -> DataConfig:
        if self.n_signal is not None and self.signal_fraction is not None:
            raise ValueError("give n_signal or signal_fraction, not both")
        if (self.n_signal is not None or self.signal_fraction is not None) and not self.signal_path:
            raise ValueError("n_signal/signal_fraction need data.signal_path")
        return self
