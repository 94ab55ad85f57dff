"""Config of the digit studies (the reference study's parts 1 and 2): the ``digits`` section
and the family's analysis model, :class:`DigitsAnalysis`.

``analyses/digits_bmm.yaml`` fits a Bernoulli (or binomial) mixture by EM, and
``analyses/digits_vae.yaml`` trains the dense VAE of the ``train`` section (``latent_dim: 2``,
``recon_loss: bce``) on the same images.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from lhcad.config.base import AnalysisBase, ReportConfig
from lhcad.config.vae import TrainConfig
from lhcad.config.section import PositiveInt, Section

OpenFraction = Annotated[float, Field(gt=0.0, lt=1.0)]


class DigitsDataConfig(Section):
    """Which digit images (stage ``digits_data``)."""

    source: str = "sklearn_digits"
    """``sklearn_digits`` (the 1797 8x8 UCI digits shipped with scikit-learn, no network) or the
    path of an MNIST images IDX file (``train-images-idx3-ubyte``, gzipped or not)."""
    labels: str | None = None
    """Path of the MNIST labels IDX file (needed with an images path)."""
    max_images: PositiveInt | None = None
    """Seeded random subsample of at most this many images (for quick runs on MNIST)."""
    val: OpenFraction = 0.15
    """Fraction of the images used for validation (the VAE's early stopping)."""
    test: OpenFraction = 0.25
    """Fraction held out for the latent kNN accuracy."""
    seed: int = 0
    """Seed of the subsample and of the (label-stratified) split."""

    @model_validator(mode="after")
    def _split_leaves_training_images(self) -> DigitsDataConfig:
        if self.val + self.test >= 1.0:
            raise ValueError(f"val + test must be below 1 (got {self.val + self.test:g})")
        return self


class BmmConfig(Section):
    """Mixture of multivariate Bernoulli (or binomial) distributions fitted by EM (stage
    ``bmm``)."""

    components: PositiveInt = 10
    """Number of mixture components K."""
    distribution: Literal["bernoulli", "binomial"] = "bernoulli"
    """``bernoulli``: pixels binarised at ``threshold``; ``binomial``: pixels quantised to
    ``0..trials`` (``trials + 1`` equal grey-level bins) and modelled as Binomial(trials, mu)."""
    threshold: OpenFraction = 0.5
    """Bernoulli: a pixel (scaled to [0, 1]) is on when above this value."""
    trials: PositiveInt = 2
    """Binomial: the number of trials n (the reference study's diverging variant had n = 2)."""
    init_range: tuple[float, float] = (0.25, 0.75)
    """The initial mu are drawn uniformly in this range."""
    dirichlet_alpha: Annotated[float, Field(gt=0.0)] = 1.0
    """Concentration of the symmetric Dirichlet the initial mixing weights pi are drawn from."""
    mu_margin: Annotated[float, Field(gt=0.0, lt=0.5)] = 1e-3
    """mu is kept in [margin, 1 - margin], so that no pixel gets probability 0 or 1 (a log of
    zero) in a component."""
    max_iterations: PositiveInt = 100
    """Most EM iterations per restart."""
    tolerance: Annotated[float, Field(gt=0.0)] = 1e-6
    """Stop when the log-likelihood changes by less than this fraction of itself."""
    restarts: PositiveInt = 5
    """Independent initialisations; the fit with the highest log-likelihood is kept."""
    snapshots: list[PositiveInt] = Field(default_factory=lambda: [1, 2, 5, 10, 20])
    """Iterations after which the component means are drawn (the study's figure)."""
    samples: PositiveInt = 8
    """Images drawn from each component."""
    seed: int = 0
    """Seed of the initialisations and of the samples."""

    @field_validator("init_range")
    @classmethod
    def _init_range_inside_unit_interval(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not 0.0 < lo < hi < 1.0:
            raise ValueError(f"need 0 < low < high < 1 (got {lo:g}, {hi:g})")
        return value

    @field_validator("snapshots")
    @classmethod
    def _snapshots_sorted_unique(cls, value: list[int]) -> list[int]:
        return sorted(set(value))


class DigitsVaeConfig(Section):
    """What is measured on the digits VAE (stage ``digits_vae``; the network and its training
    are the ``train`` section)."""

    knn_neighbours: PositiveInt = 5
    """k of the k-nearest-neighbour classifier in the 2-D latent space (trained on the training
    images' z_mean, scored on the test images')."""
    grid_size: PositiveInt = 20
    """The decoded image grid has grid_size x grid_size points."""
    grid_range: Annotated[float, Field(gt=0.0)] = 2.0
    """The grid spans z in [-grid_range, grid_range] in both latent dimensions."""
    reconstructions: PositiveInt = 12
    """Test images shown beside their reconstructions."""


class DigitsConfig(Section):
    """The digit studies: images, Bernoulli mixture, 2-D VAE."""

    data: DigitsDataConfig = Field(default_factory=DigitsDataConfig)
    """Which images."""
    bmm: BmmConfig = Field(default_factory=BmmConfig)
    """The mixture fitted by EM."""
    vae: DigitsVaeConfig = Field(default_factory=DigitsVaeConfig)
    """The latent-space measurements of the VAE."""
    threads: PositiveInt | None = 1
    """CPU threads of the EM's matrix products (BLAS) and of the VAE's training (torch); null:
    the libraries' defaults. One thread is fastest for problems this small, and many times
    faster than several on a busy machine (the 8x8 EM: 1.2 s against 32 s on a loaded 2-core
    machine)."""


#: Every stage of the family, in order.
DIGITS_PIPELINE: tuple[str, ...] = ("digits_data", "bmm", "digits_vae", "digits_report")


class DigitsAnalysis(AnalysisBase):
    """A digit study (``kind: digits``, ``analyses/digits_*.yaml``)."""

    kind: Literal["digits"] = "digits"
    """The analysis family: the digit studies."""
    pipeline: list[str] = Field(default_factory=lambda: list(DIGITS_PIPELINE))
    """Stages to run, in order."""
    digits: DigitsConfig = Field(default_factory=DigitsConfig)
    """Images, Bernoulli mixture, 2-D VAE."""
    train: TrainConfig = Field(default_factory=TrainConfig)
    """Training of the dense VAE (stage ``digits_vae``)."""
    report: ReportConfig = Field(default_factory=ReportConfig)
    """Plots and HTML page."""
