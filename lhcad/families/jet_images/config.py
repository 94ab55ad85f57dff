"""Config of the jet-image studies: the ``jet_images`` section and the family's analysis model,
:class:`JetImagesAnalysis`.

``analyses/jet_images_qg.yaml`` trains the convolutional VAE on quark and gluon jet images near
100 GeV (the CMS open-data set's kinematics) and measures how well its latent space separates
them; ``analyses/jet_images_top.yaml`` trains it on boosted QCD jets only and uses it to find
top jets as anomalies.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from lhcad.config.base import AnalysisBase, ReportConfig
from lhcad.config.section import PositiveInt, Section

OpenFraction = Annotated[float, Field(gt=0.0, lt=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
ChannelValues = tuple[Positive, Positive, Positive]


class ImageSampleConfig(Section):
    """One sample of jet images: generated with Pythia, or read from an HDF5 file."""

    path: str | None = None
    """HDF5 file in the CMS open-data layout (``X_jets``, ``m0``, ``pt``, ``y``), e.g.
    ``quark-gluon_data-set_n139306.hdf5`` or a file of ``lhcad generate --images``; null:
    generate the jets."""
    process: Literal["qg", "top", "w", "z"] = "qg"
    """Generated jets: ``qg`` (half quark, half gluon jets), or boosted ``top``, ``w``, ``z``."""
    n: PositiveInt = 2000
    """Jets generated, or at most read from ``path`` (the first ``n``)."""
    pt_range: tuple[Positive, Positive] | None = None
    """Jet pT window in GeV (null: 80-120 for qg, 500-700 for top, w, z)."""
    seed: int = 0
    """Generator seed (the analysis seed is added to it)."""

    @model_validator(mode="after")
    def _ordered_range(self) -> ImageSampleConfig:
        if self.pt_range is not None and self.pt_range[0] >= self.pt_range[1]:
            raise ValueError(f"pt_range must be (low, high) with low < high, got {self.pt_range}")
        return self


class JetImageDataConfig(Section):
    """The images of a study (stage ``jet_images_data``)."""

    background: ImageSampleConfig = Field(default_factory=ImageSampleConfig)
    """The QCD jets: the VAE trains on these only."""
    signal: ImageSampleConfig | None = None
    """Jets to find as anomalies (all in the test set), e.g. ``{process: top}``; null: none."""
    val: OpenFraction = 0.15
    """Fraction of the background for validation (early stopping)."""
    test: OpenFraction = 0.3
    """Fraction of the background held out for the scores and the latent classifier."""

    @model_validator(mode="after")
    def _split_leaves_training_images(self) -> JetImageDataConfig:
        if self.val + self.test >= 1.0:
            raise ValueError(f"val + test must be below 1 (got {self.val + self.test:g})")
        return self


class ConvVAEConfig(Section):
    """The convolutional VAE and its input normalisation."""

    model: Literal["conv_vae"] = "conv_vae"
    """Architecture (``conv_vae``: see ``lhcad/families/jet_images/conv_vae.py``)."""
    channels: list[PositiveInt] = Field(default_factory=lambda: [16, 32, 64], min_length=1)
    """Feature maps of the encoder layers: the first reads ``patch`` x ``patch`` pixel blocks,
    each further one halves the resolution (25 -> 13 -> 7 pixels); the decoder mirrors them."""
    patch: Literal[1, 5, 25] = 5
    """Side in pixels of the blocks the first layer reads (5: one HCAL tower)."""
    latent_dim: PositiveInt = 8
    """Latent dimension."""
    beta: Annotated[float, Field(ge=0.0)] = 1.0
    """Weight of the KL term."""
    recon_loss: Literal["bce", "mse"] = "bce"
    """Reconstruction loss, summed over the pixels of each channel: binary cross-entropy
    (Bernoulli decoder) or squared error."""
    normalisation: Literal["log", "linear"] = "log"
    """Per-channel pixel transform before the loss: ``log``: log(1 + x / scale), ``linear``:
    x / scale; either divided by its value at ``saturation`` and capped at 1."""
    scales: ChannelValues = (1.0, 1.0, 0.2)
    """GeV scale of each channel (Tracks, ECAL, HCAL) in the normalisation (HCAL pixels hold a
    tower's energy / 25)."""
    saturation: ChannelValues = (200.0, 200.0, 40.0)
    """GeV per pixel mapped to 1 in each channel (larger values are capped)."""


class JetImageTrainConfig(Section):
    """Training of the convolutional VAE (stage ``jet_images_train``)."""

    model: ConvVAEConfig = Field(default_factory=ConvVAEConfig)
    """The model."""
    epochs: PositiveInt = 20
    """Maximum number of epochs."""
    batch_size: PositiveInt = 32
    """Mini-batch size."""
    optimizer: Literal["adam", "adamw", "adadelta"] = "adam"
    """Optimizer."""
    lr: Positive = 1e-3
    """Learning rate."""
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.0
    """Weight decay."""
    patience: PositiveInt | None = 5
    """Early stopping: epochs without validation-loss improvement (null: never stop early)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where to train: ``auto`` picks CUDA when present."""
    seed: int = 0
    """Seed of the initialisation, shuffling and sampling (the analysis seed is added)."""


class JetImageEvaluateConfig(Section):
    """Scores, latent classifier and figures (stages ``jet_images_score`` and ``jet_images_report``)."""

    examples: PositiveInt = 2
    """Test jets of each type drawn beside their reconstructions."""
    classifier_folds: Annotated[int, Field(ge=2)] = 5
    """Cross-validation folds of the quark/gluon logistic regression on the latent means."""
    fpr_floor: Annotated[float, Field(gt=0.0, lt=1.0)] = 1e-3
    """Smallest background efficiency at which the SIC is evaluated (few test jets)."""


class JetImagesConfig(Section):
    """The jet-image studies: images, convolutional VAE, anomaly scores."""

    data: JetImageDataConfig = Field(default_factory=JetImageDataConfig)
    """Which images."""
    train: JetImageTrainConfig = Field(default_factory=JetImageTrainConfig)
    """The model and its training."""
    evaluate: JetImageEvaluateConfig = Field(default_factory=JetImageEvaluateConfig)
    """What is measured and drawn."""


#: Every stage of the family, in order.
JET_IMAGES_PIPELINE: tuple[str, ...] = ("jet_images_data", "jet_images_train", "jet_images_score", "jet_images_report")


class JetImagesAnalysis(AnalysisBase):
    """A jet-image study (``kind: jet_images``, ``analyses/jet_images_*.yaml``)."""

    kind: Literal["jet_images"] = "jet_images"
    """The analysis family: jet images and the convolutional VAE."""
    pipeline: list[str] = Field(default_factory=lambda: list(JET_IMAGES_PIPELINE))
    """Stages to run, in order."""
    jet_images: JetImagesConfig = Field(default_factory=JetImagesConfig)
    """Jet images and the convolutional VAE."""
    report: ReportConfig = Field(default_factory=ReportConfig)
    """Plots and HTML page."""
