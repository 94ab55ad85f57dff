"""Config of the point-cloud VAE studies: the ``pointcloud`` section and the family's analysis
model, :class:`PointCloudAnalysis`.

``analyses/pointcloud_digits.yaml`` reads sparse digits (the brightest pixels as ``(x, y, I)``);
``analyses/pointcloud_jetnet.yaml`` reads JetNet files (``lhcad generate --process jetnet``),
trains on QCD jets, generates jets with the VAE and with a flow-matching generator (W1M, W1P,
W1EFP beside the real-vs-real floor) and scores top, W and Z jets as anomalies.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from lhcad.config.base import AnalysisBase, ReportConfig
from lhcad.config.section import PositiveInt, Section

OpenFraction = Annotated[float, Field(gt=0.0, lt=1.0)]


class PointCloudDataConfig(Section):
    """Which point sets (stage ``pointcloud_data``)."""

    kind: Literal["digits", "jetnet"] = "digits"
    """``digits``: the brightest pixels of digit images as (x, y, I); ``jetnet``: particle jets
    as (eta_rel, phi_rel, pT_rel) from JetNet HDF5 files."""
    source: str = "sklearn_digits"
    """Digits: ``sklearn_digits`` or the path of an MNIST images IDX file."""
    labels: str | None = None
    """Digits: the MNIST labels IDX file (needed with an images path)."""
    digits: list[Annotated[int, Field(ge=0, le=9)]] | None = None
    """Digits: train on these digits only (the reference study used 8); null: all."""
    n_points: PositiveInt = 25
    """Points per set: the brightest pixels of a digit, or the hardest particles of a jet (at
    most the file's particle count)."""
    train_files: list[str] = Field(default_factory=list)
    """JetNet: files of the jets the VAE learns (e.g. gluon and light-quark jets)."""
    anomaly_files: dict[str, str] = Field(default_factory=dict)
    """JetNet: name -> file of jets scored as anomalies against the test jets (e.g. ``t``,
    ``w``, ``z``)."""
    max_sets: PositiveInt | None = None
    """Seeded random subsample of at most this many sets per file (quick runs)."""
    val: OpenFraction = 0.15
    """Fraction of the training sets used for validation (early stopping)."""
    test: OpenFraction = 0.3
    """Fraction held out for reconstructions, generative metrics and anomaly scores."""
    seed: int = 0
    """Seed of the subsample and of the split."""

    @model_validator(mode="after")
    def _consistent(self) -> PointCloudDataConfig:
        if self.val + self.test >= 1.0:
            raise ValueError(f"val + test must be below 1 (got {self.val + self.test:g})")
        if self.kind == "jetnet" and not self.train_files:
            raise ValueError("kind jetnet needs train_files (JetNet HDF5 files)")
        return self


class PointCloudModelConfig(Section):
    """The point-cloud VAE and its loss."""

    kind: Literal["pointcloud_vae"] = "pointcloud_vae"
    """The model family: a DeepSets encoder and a decoder emitting points with a mask."""
    loss: Literal["positions", "positions_nearest_intensity", "joint"] = "joint"
    """Chamfer variant (the reference study's equations): ``positions`` (eq. 1), positions plus
    the intensity of the nearest match (eq. 2), or all features (eq. 3, 4)."""
    latent_dim: PositiveInt = 16
    """Size of z."""
    hidden: PositiveInt = 256
    """Width of the set-level encoder and of the decoder."""
    point_hidden: PositiveInt = 64
    """Width of the per-point encoder MLP."""
    beta: Annotated[float, Field(ge=0.0)] = 0.5
    """Weight of the KL divergence."""
    mask_weight: Annotated[float, Field(ge=0.0)] = 1.0
    """Weight of the per-point mask cross-entropy."""
    log_pt: bool = True
    """Jets: learn log(pT_rel) (standardised), so that soft particles count; false: linear pT_rel."""


class PointCloudTrainConfig(Section):
    """Optimisation of the point-cloud VAE (stage ``pointcloud_train``)."""

    epochs: PositiveInt = 100
    """Maximum number of epochs."""
    batch_size: PositiveInt = 128
    """Sets per step."""
    lr: Annotated[float, Field(gt=0.0)] = 1e-3
    """Adam learning rate."""
    patience: PositiveInt | None = 20
    """Early stopping: epochs without validation-loss improvement (null: never)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where to train: ``auto`` picks CUDA when present."""
    seed: int = 0
    """Seed of the initial weights, shuffling and noise."""


class PointCloudGeneratorConfig(Section):
    """The set generator trained beside the VAE (stage ``pointcloud_generator``): conditional
    flow matching on the padded sets with a permutation-equivariant attention network. It sees
    every feature standardised over the valid training points, jets' pT_rel as log(pT_rel)."""

    kind: Literal["flow_matching"] = "flow_matching"
    """``flow_matching``: a velocity network over the points (self-attention over the valid
    points, time and multiplicity as conditions) carries Gaussian noise to sets along straight
    paths; sizes are drawn from the training multiplicities."""
    hidden: PositiveInt = 64
    """Width of the point embeddings (a multiple of ``heads``)."""
    layers: PositiveInt = 3
    """Attention blocks."""
    heads: PositiveInt = 4
    """Attention heads per block."""
    steps: PositiveInt = 16
    """Midpoint (second-order) ODE steps from noise to a set when sampling."""
    epochs: PositiveInt = 200
    """Training epochs (the learning rate decays to zero over them, cosine)."""
    batch_size: PositiveInt = 128
    """Sets per step."""
    lr: Annotated[float, Field(gt=0.0)] = 1e-3
    """Initial Adam learning rate."""
    patience: PositiveInt | None = None
    """Early stopping on the (noisy) validation loss: epochs without improvement (null: train
    every epoch and keep the best by validation loss)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where to train: ``auto`` picks CUDA when present."""
    seed: int = 0
    """Seed of the initial weights, shuffling and training noise (the report samples with the
    run's seed)."""

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> PointCloudGeneratorConfig:
        if self.hidden % self.heads:
            raise ValueError(
                f"hidden ({self.hidden}) must be a multiple of heads ({self.heads})"
            )
        return self


class PointCloudEvaluateConfig(Section):
    """What the report shows and measures (stage ``pointcloud_report``)."""

    n_generated: PositiveInt | None = None
    """Sets generated for the generative metrics (null: as many as test sets)."""
    latent: Literal["prior", "fitted"] = "fitted"
    """Where the generated sets shown draw z from: the prior N(0, 1), or a Gaussian fitted to the
    training sets' z_mean (closer to what the decoder learnt; the report measures both)."""
    n_shown: Annotated[int, Field(ge=1, le=24)] = 8
    """Originals shown beside their reconstructions, and generated sets shown."""
    n_bootstrap: Annotated[int, Field(ge=2)] = 5
    """Jets: batches of JetNet's bootstrap of W1M, W1P and W1EFP (their spread is the error)."""


class PointCloudConfig(Section):
    """Point-cloud VAE studies with the Chamfer loss: sparse digits and particle jets."""

    data: PointCloudDataConfig = Field(default_factory=PointCloudDataConfig)
    """Which sets."""
    model: PointCloudModelConfig = Field(default_factory=PointCloudModelConfig)
    """The VAE and its loss."""
    train: PointCloudTrainConfig = Field(default_factory=PointCloudTrainConfig)
    """Its training."""
    generator: PointCloudGeneratorConfig = Field(default_factory=PointCloudGeneratorConfig)
    """The flow-matching set generator (when the pipeline has ``pointcloud_generator``)."""
    evaluate: PointCloudEvaluateConfig = Field(default_factory=PointCloudEvaluateConfig)
    """Figures and metrics."""


#: Every stage of the family, in order.
POINTCLOUD_PIPELINE: tuple[str, ...] = (
    "pointcloud_data",
    "pointcloud_train",
    "pointcloud_generator",
    "pointcloud_report",
)
#: The stages an analysis runs by default: the VAE alone (add ``pointcloud_generator`` before
#: the report for the flow-matching generator).
DEFAULT_POINTCLOUD_PIPELINE: tuple[str, ...] = (
    "pointcloud_data",
    "pointcloud_train",
    "pointcloud_report",
)


class PointCloudAnalysis(AnalysisBase):
    """A point-cloud VAE study (``kind: pointcloud``, ``analyses/pointcloud_*.yaml``)."""

    kind: Literal["pointcloud"] = "pointcloud"
    """The analysis family: point-cloud VAEs with the Chamfer loss."""
    pipeline: list[str] = Field(default_factory=lambda: list(DEFAULT_POINTCLOUD_PIPELINE))
    """Stages to run, in order."""
    pointcloud: PointCloudConfig = Field(default_factory=PointCloudConfig)
    """Point-cloud VAE with the Chamfer loss: sparse digits and JetNet jets."""
    report: ReportConfig = Field(default_factory=ReportConfig)
    """Plots and HTML page."""
