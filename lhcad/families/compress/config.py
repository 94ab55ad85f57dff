"""The ``compress`` section: lossy AE/VAE compression of the events table, compared at several
latent sizes (stages ``compress`` and ``compress_report``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, field_validator

from lhcad.config.base import AnalysisBase, ExecutorConfig, ReportConfig
from lhcad.config.data import DataConfig
from lhcad.config.section import PositiveInt, Section
from lhcad.data.columns import JET_COLUMNS
from lhcad.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd


class CompressConfig(Section):
    """Autoencoder and VAE compression of the events table (Baler's benchmark), and the
    physics-aware quantising codec."""

    columns: list[str] = Field(default_factory=lambda: list(JET_COLUMNS))
    """Columns of the events table to compress (default: the 14 jet columns of the LHCO features;
    mjj and the other derived observables are recomputed from them after the round trip)."""
    models: list[Literal["ae", "vae", "quant"]] = Field(default_factory=lambda: ["ae", "vae"])
    """Compressors to compare: ``ae`` (autoencoder) and ``vae`` (mean and log-variance heads,
    decompressed from the means), each at every ``latent_dims``; ``quant`` (the physics-aware
    quantising codec: jet pT, eta, phi, mass, tau_N and mjj to a precision, zstd; no network) at
    every ``precisions``."""
    latent_dims: list[PositiveInt] = Field(default_factory=lambda: [4, 6, 8])
    """Latent sizes K (values stored per event) to compare."""
    precisions: list[Annotated[float, Field(ge=1e-6, le=0.25)]] = Field(
        default_factory=lambda: [0.0002, 0.002, 0.01, 0.02, 0.03]
    )
    """``quant``: precisions to compare; each is the largest relative error of every stored jet
    pT, mass, tau_N, mjj and other column, and the largest absolute error of eta and phi
    (radians). Mean errors are about half of it (a uniform rounding error)."""
    zstd_level: Annotated[int, Field(ge=1, le=22)] = 19
    """``quant``: zstd level of the quantised streams (3 is 100 times faster and 2% larger)."""
    hidden: list[PositiveInt] = Field(default_factory=lambda: [200, 100, 50])
    """Encoder widths; the decoder mirrors them (Baler: 200-100-50-K-50-100-200)."""
    activation: Literal["relu", "elu", "gelu", "silu", "tanh", "leaky_relu"] = "leaky_relu"
    """Activation between layers."""
    beta: Annotated[float, Field(ge=0.0)] = 1e-3
    """Weight of the VAE's KL term (the reconstruction term is the squared error summed over the
    standardised columns)."""
    latent_dtype: Literal["float16", "float32"] = "float16"
    """Storage type of the latent values in the ``.lhcz`` file."""
    epochs: PositiveInt = 40
    """Maximum number of epochs per model."""
    batch_size: PositiveInt = 512
    """Mini-batch size."""
    lr: Annotated[float, Field(gt=0.0)] = 1e-3
    """Adam learning rate."""
    patience: PositiveInt | None = 10
    """Early stopping: epochs without validation-loss improvement (null: never stop early)."""
    val_fraction: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1
    """Rows held out for early stopping and the choice of the best epoch (every row is
    compressed)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where to train: ``auto`` picks CUDA when present."""
    seed: int = 0
    """Seed of initialisation, split and shuffling."""

    @field_validator("columns", "models", "latent_dims", "precisions")
    @classmethod
    def _unique_nonempty(cls, value: list) -> list:
        if not value:
            raise ValueError("must not be empty")
        if len(set(value)) != len(value):
            raise ValueError("entries must not repeat")
        return value


#: Every stage of the family, in order (``data`` is the LHCO search's events stage).
COMPRESS_PIPELINE: tuple[str, ...] = ("data", "compress", "compress_report")


class CompressAnalysis(AnalysisBase):
    """A compression study (``kind: compress``, ``analyses/compress_*.yaml``)."""

    kind: Literal["compress"] = "compress"
    """The analysis family: lossy AE/VAE compression of the events table."""
    pipeline: list[str] = Field(default_factory=lambda: list(COMPRESS_PIPELINE))
    """Stages to run, in order."""
    data: DataConfig = Field(default_factory=DataConfig)
    """Where the events come from."""
    compress: CompressConfig = Field(default_factory=CompressConfig)
    """Lossy compression of the events table: AE/VAE, or the quantising codec."""
    report: ReportConfig = Field(default_factory=ReportConfig)
    """Plots and HTML page."""
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    """Where the work runs (the ``data`` stage's conversion or generation)."""

    def executor_settings(self) -> ExecutorConfig:
        return self.executor


def compressed_table(events: pd.DataFrame, cfg: CompressConfig) -> pd.DataFrame:
    """The columns of the events table that the analysis compresses."""
    missing = [c for c in cfg.columns if c not in events.columns]
    if missing:
        raise ConfigError(
            f"no column {', '.join(missing)} in the events table "
            f"(have: {', '.join(events.columns)})",
            where="compress.columns",
        )
    return events[cfg.columns].reset_index(drop=True)
