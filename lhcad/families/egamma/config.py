"""Config of supervised classification studies: the ``labelled`` section (which labelled images
or table rows, and their split) and the ``classify`` section (which networks, how they train).

``analyses/egamma.yaml`` classifies simulated electron and photon showers (the CMS e/gamma
layout); the same sections classify any labelled HDF5 image files or any labelled table.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from lhcad.config.base import AnalysisBase, ReportConfig
from lhcad.config.section import PositiveInt, Section

OpenFraction = Annotated[float, Field(gt=0.0, lt=1.0)]
BinaryLabel = Literal[0, 1]


def _non_empty_without_repeats(value: list[str]) -> list[str]:
    """A ``models`` list: at least one entry, none twice."""
    if not value or len(set(value)) != len(value):
        raise ValueError("models must be a non-empty list without repeats")
    return value


class LabelledFileConfig(Section):
    """One HDF5 file of images of one class (the CMS e/gamma layout: ``X`` (N, 32, 32, 2))."""

    path: str = ""
    """The HDF5 file."""
    label: BinaryLabel = 1
    """The class of every image in the file: 1 is the positive class of the ROC curve (the
    file's own ``y`` is not used)."""
    name: str | None = None
    """The class's name in the report (default: the file name without suffix)."""
    key: str = "X"
    """HDF5 dataset of the images, ``(N, H, W)`` or ``(N, H, W, C)``."""

    @field_validator("path")
    @classmethod
    def _path_given(cls, value: str) -> str:
        if not value:
            raise ValueError("a file path is needed")
        return value


class ShowerSimulationConfig(Section):
    """lhcad's parametric fast simulation of single electrons (label 1) and photons (label 0)
    in the CMS barrel ECAL (``lhcad/families/egamma/showers.py``; see the README for what it models)."""

    n: PositiveInt = 20_000
    """Showers per particle kind."""
    pt_min: Annotated[float, Field(gt=0.0)] = 50.0
    """Lowest transverse momentum of the particle gun, GeV."""
    pt_max: Annotated[float, Field(gt=0.0)] = 50.0
    """Highest transverse momentum, GeV (equal to ``pt_min``: a fixed p_T)."""
    eta_max: Annotated[float, Field(ge=0.0, le=1.479)] = 1.4
    """The gun's |eta| range (within the barrel)."""
    material_scale: Annotated[float, Field(ge=0.0)] = 1.0
    """Factor on the tracker material (0: no conversions and no bremsstrahlung)."""
    noise: bool = True
    """Crystal noise, zero suppression and time smearing."""
    resolution: bool = True
    """Stochastic and constant terms of the energy resolution."""
    seed: Annotated[int, Field(ge=0)] = 0
    """Seed of the simulation."""

    @model_validator(mode="after")
    def _pt_ordered(self) -> ShowerSimulationConfig:
        if self.pt_max < self.pt_min:
            raise ValueError(f"pt_max ({self.pt_max:g}) must not be below pt_min ({self.pt_min:g})")
        return self


class LabelledTableConfig(Section):
    """A table of labelled rows (parquet or CSV): numeric feature columns and a 0/1 label."""

    path: str = ""
    """The parquet (``.parquet``) or CSV (``.csv``) file."""
    label: str = "label"
    """The label column (0 or 1; 1 is the positive class)."""
    features: list[str] | None = None
    """Feature columns (null: every numeric column but the label)."""
    names: tuple[str, str] = ("background", "signal")
    """Names of classes 0 and 1 in the report."""


class LabelledConfig(Section):
    """Labelled events for a supervised classifier and their stratified split (stage
    ``labelled``)."""

    source: Literal["simulate", "files", "table"] = "simulate"
    """Where the events come from: lhcad's e/gamma shower simulation (``simulate``), HDF5 image
    files each of one class (``files``), or a labelled table (``table``)."""
    simulate: ShowerSimulationConfig = Field(default_factory=ShowerSimulationConfig)
    """The simulated electrons and photons (written as CMS-layout files, then read)."""
    files: list[LabelledFileConfig] = Field(default_factory=list)
    """HDF5 image files, each of one class (e.g. the CMS ``electrons.hdf5`` and
    ``photons.hdf5``)."""
    table: LabelledTableConfig | None = None
    """The labelled table."""
    channels: list[Literal["energy", "time"] | Annotated[int, Field(ge=0)]] | None = None
    """Image channels to use, by name (the e/gamma files' ``energy`` and ``time``) or index
    (null: all)."""
    max_per_class: PositiveInt | None = None
    """Seeded random subsample of at most this many events per class."""
    val: OpenFraction = 0.15
    """Fraction of each class used for validation (early stopping on the validation AUC)."""
    test: OpenFraction = 0.25
    """Fraction of each class held out for the ROC curve and the AUC."""
    seed: int = 0
    """Seed of the subsample and the split."""

    @model_validator(mode="after")
    def _source_is_complete(self) -> LabelledConfig:
        if self.source == "files" and not self.files:
            raise ValueError("source files needs the files (path and label of each)")
        if self.source == "table" and self.table is None:
            raise ValueError("source table needs the table (path, label column)")
        for name, given in (("files", bool(self.files)), ("table", self.table is not None)):
            if given and self.source != name:
                raise ValueError(f"{name} given but source is {self.source!r} (set source: {name})")
        if self.source == "files" and len({f.label for f in self.files}) != 2:
            raise ValueError("files must hold both classes (label 0 and label 1)")
        if self.val + self.test >= 1.0:
            raise ValueError(f"val + test must be below 1 (got {self.val + self.test:g})")
        return self


class CnnConfig(Section):
    """The convolutional network: residual blocks (a small ResNet) or plain blocks of 3x3
    convolution, ReLU and 2x2 max pooling, then one hidden dense layer."""

    blocks: Literal["residual", "plain"] = "residual"
    """``residual``: a 3x3 stem convolution, then per entry of ``channels`` a residual block of two
    3x3 convolutions with batch normalisation and a skip connection (every block after the first
    halves the image side); ``plain``: per entry a 3x3 convolution, ReLU and 2x2 max pooling."""
    channels: list[PositiveInt] = Field(default_factory=lambda: [16, 32, 64])
    """Output channels of each block."""
    hidden: PositiveInt = 64
    """Width of the dense layer after the convolutions."""
    shapes: bool = False
    """Also feed the dense layer the shower-shape variables of the energy channel (energy
    fractions, folded phi and eta profiles, widths: ``lhcad/families/egamma/shapes.py``),
    standardised on the training events; residual blocks and images with an ``energy``
    channel only."""
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.2
    """Dropout before the output."""


class DenseNetConfig(Section):
    """The seed study's dense network on the flattened image: ReLU layers with dropout."""

    hidden: list[PositiveInt] = Field(default_factory=lambda: [512, 512, 256, 256, 256, 256, 256])
    """Hidden-layer widths (the seed study's)."""
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.5
    """Dropout after every hidden layer (the seed study's)."""


class ClassifyConfig(Section):
    """Supervised binary classifiers trained on the ``labelled`` events (stage ``classify``)."""

    models: Annotated[list[Literal["cnn", "dense"]], AfterValidator(_non_empty_without_repeats)] = Field(default_factory=lambda: ["cnn"])
    """Networks to train and compare: ``cnn`` (images only) and ``dense`` (images, flattened,
    or tables). The first is the headline classifier."""
    cnn: CnnConfig = Field(default_factory=CnnConfig)
    """The convolutional network."""
    dense: DenseNetConfig = Field(default_factory=DenseNetConfig)
    """The dense network."""
    augment: Literal["flips", "none"] = "flips"
    """Symmetry augmentation of image inputs (tables are never augmented): ``flips`` reflects
    every training image about its central crystal in eta and in phi, each with probability 1/2
    (symmetries of the barrel and of the particle gun, up to the crystals' 3 degree
    off-pointing), and scores an image by the mean logit over its four reflections; ``none``."""
    transform: Literal["log", "none"] = "log"
    """Input scaling fitted on the training events: ``log`` maps every value v of a channel to
    sign(v) log(1 + |v| / s) (s: the channel's median non-zero |v|) before dividing by the
    channel's standard deviation; ``none`` only divides. Tables are standardised per column."""
    epochs: PositiveInt = 30
    """Maximum number of epochs."""
    batch_size: PositiveInt = 256
    """Mini-batch size."""
    lr: Annotated[float, Field(gt=0.0)] = 1e-3
    """Adam learning rate."""
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.0
    """Weight decay."""
    patience: PositiveInt | None = 5
    """Early stopping: epochs without a lower validation loss (null: never stop early). The
    weights kept are those of the epoch with the best validation AUC."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where to train: ``auto`` picks CUDA when present."""
    seed: int = 0
    """Seed of the initial weights and the shuffling."""
    bootstrap: PositiveInt = 200
    """Bootstrap resamplings of the test events for the AUC's uncertainty."""


class CeilingConfig(Section):
    """What lhcad's shower simulation allows (stage ``ceiling``; simulated showers only):
    classifiers far from the shipped networks, trained on ``factor`` times more showers of the
    same simulation, scored on the same test events. ``shapes`` (gradient-boosted trees on
    shower-shape variables of the images) measures the ceiling of image classifiers; ``truth``
    (the same trees on the generator's truth: conversion, bremsstrahlung, what reaches the ECAL)
    bounds it from above, since the images only blur that truth."""

    models: Annotated[list[Literal["shapes", "truth"]], AfterValidator(_non_empty_without_repeats)] = Field(default_factory=lambda: ["shapes", "truth"])
    """Ceiling classifiers: ``shapes`` (images: the image ceiling that the shipped classifier is
    compared with) and ``truth`` (the generator's truth: an upper bound no image reaches)."""
    factor: PositiveInt = 10
    """Showers per class the ceiling's classifiers train on, as a multiple of
    ``labelled.simulate.n``."""
    seed: Annotated[int, Field(ge=0)] = 1
    """Seed of the ceiling's showers (it must differ from ``labelled.simulate.seed``: they are
    other showers than the test events)."""
    max_iter: PositiveInt = 500
    """Most boosting iterations of the gradient-boosted trees."""
    learning_rate: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1
    """Learning rate of the gradient-boosted trees."""
    validation: OpenFraction = 0.15
    """Fraction of the ceiling's showers held out to stop the boosting early (after 20
    iterations without a lower validation loss)."""


#: Every stage of the family, in order.
EGAMMA_PIPELINE: tuple[str, ...] = ("labelled", "classify", "ceiling", "classify_report")


class EgammaAnalysis(AnalysisBase):
    """A supervised classification study (``kind: egamma``, ``analyses/egamma.yaml``)."""

    kind: Literal["egamma"] = "egamma"
    """The analysis family: supervised classification of labelled images (e/gamma showers) or
    table rows."""
    pipeline: list[str] = Field(default_factory=lambda: list(EGAMMA_PIPELINE))
    """Stages to run, in order."""
    labelled: LabelledConfig = Field(default_factory=LabelledConfig)
    """Labelled images or table rows for a supervised classifier."""
    classify: ClassifyConfig = Field(default_factory=ClassifyConfig)
    """Supervised classifiers trained on the labelled events."""
    ceiling: CeilingConfig = Field(default_factory=CeilingConfig)
    """The best AUC the simulated showers allow, for comparison with the classifiers."""
    report: ReportConfig = Field(default_factory=ReportConfig)
    """Plots and HTML page."""

    @model_validator(mode="after")
    def _ceiling_on_simulated_showers(self) -> EgammaAnalysis:
        if "ceiling" not in self.pipeline:
            return self
        labelled = self.labelled
        if labelled.source != "simulate":
            raise ValueError("stage ceiling measures lhcad's shower simulation: it needs labelled.source simulate")
        if labelled.channels is not None and not {"energy", 0} & set(labelled.channels):
            raise ValueError("stage ceiling reads the energy channel: labelled.channels must hold energy")
        if self.ceiling.seed == labelled.simulate.seed:
            raise ValueError(f"ceiling.seed must differ from labelled.simulate.seed (both {labelled.simulate.seed})")
        return self
