"""Typed models of the LHCO resonance search's analysis YAML (``kind: lhco``): one section per
stage, validated before anything runs. The other families' models are in
``lhcad/families/<family>/config.py``; what every analysis shares is in :mod:`lhcad.config.base`.

Every model forbids unknown keys, so a misspelled option anywhere is reported with its dotted
path. Every field has a default and a docstring (the docstrings become the JSON schema's
descriptions and the YAML reference). The sections the search shares with other families are in
:mod:`lhcad.config` (``data``: :mod:`lhcad.config.data`; ``train``: :mod:`lhcad.config.vae`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from lhcad.config.base import AnalysisBase, ExecutorConfig, ReportConfig
from lhcad.config.data import DataConfig
from lhcad.config.section import Binning, Fraction, PositiveInt, Section
from lhcad.config.vae import TrainConfig
from lhcad.errors import ConfigError
from lhcad.data.columns import DEFAULT_INPUTS, DERIVED_COLUMNS, JET_COLUMNS, MASS_OBSERVABLES, MJ_HEAVY, MJ_LIGHT, MJJ

#: Columns of the events table an LHCO analysis may name (features, observables).
KNOWN_COLUMNS: frozenset[str] = frozenset((*JET_COLUMNS, *DERIVED_COLUMNS))


class SplitConfig(Section):
    """Seeded train/validation/test split of the events."""

    train: Fraction = 0.6
    """Fraction of events the models are trained on."""
    val: Fraction = 0.2
    """Fraction used for early stopping, checkpoint choice and per-epoch AUC."""
    test: Fraction = 0.2
    """Fraction held out for the final AUC/SIC."""
    seed: int = 1
    """Seed of the split."""
    unlabelled: Literal["all", "split"] = "all"
    """Unlabelled data: ``all`` trains on every event not used for validation (nothing to test
    against), ``split`` keeps the same three-way split as labelled data."""

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> SplitConfig:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"train + val + test must be 1 (got {total:g})")
        if self.train <= 0 or self.val <= 0:
            raise ValueError("train and val fractions must be positive")
        return self


class PreprocessConfig(Section):
    """Input features and their quantile transform (stage ``preprocess``)."""

    features: list[str] = Field(default_factory=lambda: list(DEFAULT_INPUTS))
    """Model inputs (columns of the events table). ``mjj`` is the bump-hunt variable and is not
    an input by default."""
    output_distribution: Literal["normal", "uniform"] = "normal"
    """Target distribution of scikit-learn's QuantileTransformer."""
    n_quantiles: PositiveInt = 1000
    """Number of quantiles of the transform."""
    subsample: PositiveInt = 200_000
    """Events used to estimate the quantiles."""
    split: SplitConfig = Field(default_factory=SplitConfig)
    """Train/validation/test split."""

    @field_validator("features")
    @classmethod
    def _features_unique_nonempty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one input feature is needed")
        if len(set(value)) != len(value):
            raise ValueError("features must not repeat")
        return value


ScoreName = Literal["z_mean", "z_logvar", "z_mean2", "recon_error", "kl"]


class WindowConfig(Section):
    """Sliding signal regions in mjj with a sideband on either side (weak scorers)."""

    start: Annotated[float, Field(gt=0.0)] | None = None
    """Centre of the first signal region in GeV (null: the lowest centre whose lower sideband
    starts above ``min_mjj``)."""
    stop: Annotated[float, Field(gt=0.0)] | None = None
    """Centre of the last signal region in GeV (null: the highest centre whose upper sideband
    ends below the mjj quantile ``1 - edge_quantile``)."""
    width: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1
    """Full width of a signal region relative to its centre (0.1: centre +- 5%, about the mjj
    resolution of a dijet resonance)."""
    step: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    """Step between neighbouring centres, in signal-region widths."""
    sideband: Annotated[float, Field(gt=0.0)] = 1.0
    """Width of each sideband in signal-region widths (CWoLa's background-like sample)."""
    min_mjj: Annotated[float, Field(gt=0.0)] | None = None
    """Lowest mjj (GeV) of any sideband event, CATHODE's flow training included (null: the
    peak of the mjj spectrum, where the trigger turn-on ends: the features change quickly
    inside the turn-on, and no smooth interpolation into a signal region crosses it)."""
    edge_quantile: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.01
    """mjj quantile above 1 minus which no sideband reaches by default."""
    min_events: PositiveInt = 1000
    """Fewest events a signal region needs to be scanned."""
    efficiencies: list[Annotated[float, Field(gt=0.0, lt=1.0)]] = Field(
        default_factory=lambda: [0.005, 0.002]
    )
    """Background efficiencies at which each window's excess is measured (a diagnostic; claims
    come from the bump hunt): the cut keeps this fraction of the window's sideband events,
    scored by its classifiers, and the excess counts the signal-region events above it. The
    best window has the largest excess significance."""
    @model_validator(mode="after")
    def _ordered(self) -> WindowConfig:
        if self.start is not None and self.stop is not None and self.stop < self.start:
            raise ValueError(f"stop ({self.stop:g}) must not be below start ({self.start:g})")
        return self


class FlowConfig(Section):
    """CATHODE's conditional normalizing flow p(features | mjj) (zuko masked autoregressive flow)."""

    transforms: PositiveInt = 6
    """Number of autoregressive affine transforms."""
    hidden: list[PositiveInt] = Field(default_factory=lambda: [64, 64])
    """Hidden-layer widths of each transform's MADE network."""
    sideband: Annotated[float, Field(gt=0.0)] = 2.0
    """The flow trains on events within this many signal-region widths either side of the
    signal region (clipped to the data)."""
    max_events: PositiveInt = 150_000
    """Most sideband events the flow trains on per window (a seeded subsample beyond)."""
    epochs: PositiveInt = 20
    """Maximum number of epochs."""
    batch_size: PositiveInt = 2048
    """Mini-batch size."""
    lr: Annotated[float, Field(gt=0.0)] = 1e-3
    """Adam learning rate (cosine-annealed over ``epochs``)."""
    patience: PositiveInt = 10
    """Early stopping: epochs without validation-loss improvement."""
    val_fraction: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.2
    """Fraction of the sideband events held out for early stopping and the closure test."""
    conditional_transform: bool = True
    """Map the features to normal distributions with quantiles that are quadratic in log(mjj),
    fitted on the sidebands (invertible given mjj), rather than with the sidebands' marginal
    quantiles: the flow then only models what does not drift with mjj."""
    checkpoints: PositiveInt = 5
    """Ensemble of epochs: synthetic events are drawn in equal parts from the flows of this
    many best validation epochs."""
    mjj_sampling: Literal["kde", "fit"] = "kde"
    """mjj values of the synthetic events: a Gaussian KDE of the signal region's mjj values,
    or a fit of its spectrum (an exponential fitted to the signal region's mjj values)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where the flow trains: ``auto`` picks CUDA when present (batches stay on the device)."""


ScorerName = Literal["vae", "cwola", "cathode"]
#: The scorers that read the trained VAE ensemble (the ``train`` stage); the scorer classes
#: (:mod:`lhcad.families.lhco.scorers`) say the same with ``Scorer.trained``, and a test checks it.
TRAINED_SCORERS: tuple[str, ...] = ("vae",)


class ScoreConfig(Section):
    """Per-event anomaly scores (stage ``score``)."""

    method: ScorerName = "vae"
    """Scorer: the VAE ensemble's latent space (``vae``), or a weakly supervised classifier per
    sliding mjj window: signal region against sidebands (``cwola``), or against synthetic
    background from a flow trained on the sidebands (``cathode``)."""
    use: ScoreName = "z_logvar"
    """The score that goes downstream (the reference study's best was z_logvar)."""
    checkpoint: Literal["best", "last"] = "best"
    """Members' weights: ``best`` (best validation AUC with labels, best validation loss
    without) or ``last``."""
    aggregate: Literal["sum", "max"] = "sum"
    """How per-latent-dimension scores combine into one per member."""
    combine: Literal["mean_standardized", "rank_mean"] = "mean_standardized"
    """How members combine: mean of standardized scores, or mean of normalised ranks."""
    batch_size: PositiveInt = 262_144
    """Events per scoring chunk: per forward pass on a GPU (a CPU scores them in cache-sized
    passes of 8192, ``lhcad.models.scoring.CPU_CHUNK``); on Dask, the events of one task."""
    windows: WindowConfig = Field(default_factory=WindowConfig)
    """Weak scorers: the sliding signal regions and sidebands in mjj."""
    folds: Annotated[int, Field(ge=2)] = 5
    """Weak scorers: k-fold cross-training per window, so no event is scored by a classifier
    that saw it."""
    classifier: Literal["hgb", "mlp"] = "hgb"
    """Weak scorers' classifier: scikit-learn HistGradientBoosting (strongest at low signal
    fractions, arXiv:2309.13111) or a small torch MLP."""
    ensemble: PositiveInt = 3
    """Weak scorers: classifiers per fold (differing in seed and early-stopping split); their
    mean log-odds is the score."""
    feature_set: Literal["standard", "extended"] = "standard"
    """Weak scorers' inputs by name: ``standard``, the CATHODE paper's four (mj_light, delta_m,
    tau21 of both jets); ``extended``, those plus tau_{N+1}/tau_N of both jets up to N = 4 at
    beta = 0.5, 1, 2 and both constituent multiplicities (28 inputs; needs events made with
    ``--feature-set extended``). ``weak_features`` replaces it with a list of your own."""
    weak_features: list[str] | None = None
    """Weak scorers' inputs as a list of columns of the events table (never mjj), instead of
    ``feature_set``. null: the ``feature_set``."""
    oversample: PositiveInt = 4
    """CATHODE: synthetic background events per signal-region event."""
    flow: FlowConfig = Field(default_factory=FlowConfig)
    """CATHODE's conditional normalizing flow."""
    template_path: str | None = None
    """Optional separate background-only events file: on the best window, the classifier of
    signal-region data against this sample's signal-region events is the idealised detector
    (the upper bound to compare a weak scorer with)."""
    seed: int = 0
    """Weak scorers: seed of the folds, classifiers, flows and synthetic samples."""
    threads: PositiveInt | None = 1
    """Weak scorers: CPU threads of each task (torch and the classifiers' OpenMP; null: the
    libraries' defaults). One thread per task is fastest for these small models, and a Dask
    executor runs one task per worker."""

    @field_validator("weak_features")
    @classmethod
    def _weak_features_valid(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("at least one input feature is needed")
        if len(set(value)) != len(value):
            raise ValueError("weak_features must not repeat")
        if MJJ in value:
            raise ValueError("mjj is the bump-hunt variable and cannot be a weak scorer's input")
        return value

    @model_validator(mode="after")
    def _one_choice_of_weak_inputs(self) -> ScoreConfig:
        if self.weak_features is not None and "feature_set" in self.model_fields_set:
            raise ValueError("give feature_set or weak_features, not both")
        return self


class SelectConfig(Section):
    """Most anomalous events (stage ``select``)."""

    top_n: list[PositiveInt] = Field(default_factory=lambda: [500, 1000, 2000])
    """Select the N highest-scoring events, for each N."""
    efficiencies: list[Annotated[float, Field(gt=0.0, lt=1.0)]] = Field(default_factory=list)
    """Also select events above the score threshold that keeps this fraction of all events."""

    @field_validator("top_n")
    @classmethod
    def _top_n_nonempty(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("top_n values must not repeat")
        return sorted(value)


def _default_binning() -> dict[str, Binning]:
    return {
        MJJ: Binning(bins=45, lo=1500.0, hi=6000.0),
        MJ_HEAVY: Binning(bins=50, lo=0.0, hi=1000.0),
        MJ_LIGHT: Binning(bins=60, lo=0.0, hi=300.0),
    }


class HistogramConfig(Section):
    """Mass histograms of every selection and of the whole dataset (stage ``histogram``)."""

    observables: list[str] = Field(default_factory=lambda: list(MASS_OBSERVABLES))
    """Observables to histogram (each needs a binning)."""
    binning: dict[str, Binning] = Field(default_factory=_default_binning)
    """Binning per observable (presets in ``configs/binning/``)."""

    @model_validator(mode="after")
    def _every_observable_binned(self) -> HistogramConfig:
        missing = [o for o in self.observables if o not in self.binning]
        if missing:
            raise ValueError(f"no binning for {', '.join(missing)}")
        return self


class PeakModel(Section):
    """Signal + background model for one observable."""

    signal: Literal["crystal_ball", "double_crystal_ball", "asymmetric_crystal_ball"] = "crystal_ball"
    """Signal shape: a Crystal Ball with a low-side tail, a double-sided one (one core width), or
    ``asymmetric_crystal_ball`` (a core width per side, its ``asymmetry`` fitted with the tails
    under ``asymmetry_constraint``: the mode of a skewed peak, where a symmetric core finds the
    centre of its top)."""
    background: Literal["dijet", "exponential", "expo_poly", "power_expo", "template", "none"] = "power_expo"
    """Background shape: the dijet function (mjj), a falling exponential family, a power-law
    rise times one (``power_expo``, the Sudakov shape of QCD jet masses), or the
    full-dataset histogram shape scaled by a free yield (``template``)."""
    range: tuple[float, float] | None = None
    """Fit range in GeV (null: the histogram's range)."""
    free_tails: bool = False
    """Fit the Crystal Ball tail parameters too (they need a few hundred signal events);
    otherwise they stay at generic values."""
    relative_width: tuple[Fraction, Fraction] | None = None
    """Bounds ``[lo, hi]`` of the peak's ``sigma / mean`` (its relative resolution); a minimum at
    a bound is not a measured peak (null: no bounds)."""
    asymmetry_constraint: Annotated[float, Field(gt=0.0)] | None = 0.1
    """Width of a Gaussian constraint on the core asymmetry of ``asymmetric_crystal_ball`` (null:
    unconstrained). The mode of a flat-topped peak trades off against its asymmetry; with 0.1
    the two half-widths differ by more than ~20% only where the data insist."""

    @model_validator(mode="after")
    def _ordered_width(self) -> PeakModel:
        if self.relative_width is not None and not self.relative_width[0] < self.relative_width[1]:
            raise ValueError(f"relative_width {list(self.relative_width)} must be [lo, hi] with lo < hi")
        return self


def _default_peak_models() -> dict[str, PeakModel]:
    return {
        MJJ: PeakModel(signal="double_crystal_ball", background="dijet", range=(2600.0, 6000.0), relative_width=(0.02, 0.15)),
        MJ_HEAVY: PeakModel(signal="asymmetric_crystal_ball", background="power_expo", free_tails=True, relative_width=(0.04, 0.15)),
        MJ_LIGHT: PeakModel(signal="asymmetric_crystal_ball", background="power_expo", free_tails=True, relative_width=(0.04, 0.15)),
    }


class FitConfig(Section):
    """Binned signal+background fits with iminuit (stage ``fit``)."""

    models: dict[str, PeakModel] = Field(default_factory=_default_peak_models)
    """Peak model per observable (presets in ``configs/fits/``)."""
    n_starts: PositiveInt = 5
    """Starting points tried per fit (derived from the data); the best valid minimum is kept."""
    minos: bool = True
    """Run MINOS for the mean's asymmetric errors."""
    jet_mass_region: Literal["selection", "mjj_peak"] = "selection"
    """Events whose jet masses are fitted: ``selection``, all the selection's events;
    ``mjj_peak``, those inside its fitted mjj peak, when that fit is valid (the resonance's
    daughters live there, the selected QCD spreads over all mjj; but with fewer events the fits
    of signal-dominated selections are less stable, so the default is ``selection``)."""
    mjj_peak_sigmas: Annotated[float, Field(gt=0.0)] = 2.0
    """Half-width of the mjj peak region, in fitted mjj peak widths."""
    jet_mass_background: Literal["reference", "model"] = "reference"
    """Background of the jet-mass fits of a weak scorer's selections: ``reference``, the
    selection's background reference as a template with its statistical uncertainty (the
    windows' sideband events that pass the same cut, each standing for its tile's share: the
    cut's sculpting of the QCD jet masses included, which no smooth shape follows); ``model``,
    the backgrounds of ``models``. Selections without a reference (the VAE scores every event
    alike) and fits inside the mjj peak region use ``models``."""


class BumpHuntConfig(Section):
    """BumpHunter scan of every selection's mjj spectrum with a global significance (stage
    ``bumphunt``)."""

    range: tuple[float, float] = (2600.0, 6000.0)
    """mjj range scanned, in GeV (above the trigger turn-on)."""
    widths_in_bins: list[PositiveInt] = Field(default_factory=lambda: [2, 3, 4, 6])
    """Window widths in histogram bins (with 100 GeV bins: one to several mjj resolutions)."""
    n_toys: PositiveInt = 2000
    """Background-only pseudo-experiments for the global p-value."""
    seed: int = 0
    """Seed of the pseudo-experiments."""
    background: Literal["auto", "dijet", "template"] = "auto"
    """Background expected under each window: ``dijet``, the dijet function fitted to the
    selection's spectrum; ``template``, the whole dataset's mjj spectrum scaled to it (only
    where the score keeps the same background fraction at every mjj); ``auto``, ``template`` for
    a weak scorer's selections (each window's cut is calibrated to one background efficiency),
    else ``dijet`` (the VAE's score correlates with mjj)."""


class ExtractConfig(Section):
    """Choice of the final masses among the fits of the selections (stage ``extract``)."""

    rule: Literal["smallest_significant", "most_precise", "most_significant"] = "smallest_significant"
    """``smallest_significant``: the fit of the smallest selection that is valid and reaches
    ``min_significance``; else the most significant valid fit. ``most_precise``: among the same
    fits, the one with the smallest total error on the mass, statistical and selection
    systematic in quadrature (the selection that measures the peak best and agrees with the
    others: in a strong signal a looser one, whose signal is less sculpted by the score); else
    the most significant valid fit. ``most_significant``: the valid fit with the largest local
    significance."""
    min_significance: Annotated[float, Field(ge=0.0)] = 3.0
    """Local significance a fit needs to be chosen by ``smallest_significant`` or ``most_precise``."""
    claim_significance: Annotated[float, Field(ge=0.0)] = 3.0
    """A resonance is claimed only when the bump hunt of the mass's selection reaches this
    global significance (without a ``bumphunt`` stage: the fit's local significance)."""
    jet_mass_evidence: Annotated[float, Field(ge=0.0)] = 3.0
    """A jet mass is claimed only when its peak's events concentrate in the mjj signal region
    at this significance (Fisher's exact test of signal region vs sidebands, in vs out of the
    jet-mass peak): a selection sculpts QCD jet-mass peaks that are not the resonance's."""
    peak_sigmas: Annotated[float, Field(gt=0.0)] = 2.0
    """Half-width, in fitted peak widths, of the mjj signal region and the jet-mass window of
    the sideband test."""
    sideband_width: Annotated[float, Field(gt=0.0)] = 1.0
    """Width of each mjj sideband of the sideband test, in signal-region widths."""


class ExportConfig(Section):
    """``results.json`` and the list of anomalous events (stage ``export``)."""

    anomalous_events: bool = True
    """Also write ``anomalous_events.parquet``: the events of the largest top-N selection with
    their scores."""


STANDARD_PIPELINE: tuple[str, ...] = (
    "data", "preprocess", "train", "score", "select", "histogram", "fit", "bumphunt", "extract",
    "export", "report",
)  # fmt: skip


class AnalysisConfig(AnalysisBase):
    """The LHCO resonance search (``kind: lhco``): its name, the stage order, and one section per
    stage."""

    kind: Literal["lhco"] = "lhco"
    """The analysis family: the LHCO resonance search."""
    pipeline: list[str] = Field(default_factory=lambda: list(STANDARD_PIPELINE))
    """Stages to run, in order."""
    data: DataConfig = Field(default_factory=DataConfig)
    """Where the events come from."""
    preprocess: PreprocessConfig = Field(default_factory=PreprocessConfig)
    """Input features, split and quantile transform."""
    train: TrainConfig = Field(default_factory=TrainConfig)
    """VAE ensemble training."""
    score: ScoreConfig = Field(default_factory=ScoreConfig)
    """Per-event anomaly scores."""
    select: SelectConfig = Field(default_factory=SelectConfig)
    """Selections of the most anomalous events."""
    histogram: HistogramConfig = Field(default_factory=HistogramConfig)
    """Mass histograms."""
    fit: FitConfig = Field(default_factory=FitConfig)
    """Signal+background fits."""
    bumphunt: BumpHuntConfig = Field(default_factory=BumpHuntConfig)
    """Bump hunt with a look-elsewhere correction."""
    extract: ExtractConfig = Field(default_factory=ExtractConfig)
    """Choice of the final masses."""
    export: ExportConfig = Field(default_factory=ExportConfig)
    """results.json and anomalous events."""
    report: ReportConfig = Field(default_factory=ReportConfig)
    """Plots and HTML page."""
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    """Where the work runs (the stages' independent tasks: ensemble members, scoring chunks,
    weak-scorer windows, data conversion)."""

    def executor_settings(self) -> ExecutorConfig:
        return self.executor

    def stages_to_run(self) -> tuple[list[str], str | None]:
        """Only a scorer that reads the trained VAE ensemble (``vae``, :data:`TRAINED_SCORERS`)
        needs the ``train`` stage: with a weak scorer (``cwola``, ``cathode``) it is dropped,
        with ``vae`` it is added just before ``score`` when the pipeline lacks it. So one
        analysis file serves every scorer (``--set score.method=cathode`` on a VAE analysis,
        ``--set score.method=vae`` on a weak one).

        Examples:
            >>> AnalysisConfig(pipeline=["data", "preprocess", "train", "score"], score={"method": "cwola"}).stages_to_run()
            (['data', 'preprocess', 'score'], 'score.method cwola: the train stage (VAE training) is skipped')
            >>> AnalysisConfig(pipeline=["data", "preprocess", "score"]).stages_to_run()[0]
            ['data', 'preprocess', 'train', 'score']
        """
        stages = list(self.pipeline)
        if "score" not in stages:
            return stages, None
        method = self.score.method
        if method not in TRAINED_SCORERS and "train" in stages:
            stages.remove("train")
            return stages, f"score.method {method}: the train stage (VAE training) is skipped"
        if method in TRAINED_SCORERS and "train" not in stages:
            stages.insert(stages.index("score"), "train")
            return stages, f"score.method {method}: the train stage (VAE training) is added before score"
        return stages, None


def check_columns(config: AnalysisConfig, source: str) -> None:
    """The features and observables an analysis names are columns of the events table, and
    every fitted observable is histogrammed.

    Raises:
        ConfigError: naming the dotted path of the first unknown name.
    """
    for i, name in enumerate(config.preprocess.features):
        if name not in KNOWN_COLUMNS:
            raise ConfigError(
                f"unknown feature {name!r} (choose from: {', '.join(sorted(KNOWN_COLUMNS))})",
                source=source,
                where=f"preprocess.features[{i}]",
            )
    for i, name in enumerate(config.histogram.observables):
        if name not in KNOWN_COLUMNS:
            raise ConfigError(f"unknown observable {name!r}", source=source, where=f"histogram.observables[{i}]")
    for name in config.fit.models:
        if name not in config.histogram.observables:
            raise ConfigError(
                f"fit model for {name!r}, which is not histogrammed (histogram.observables)",
                source=source,
                where=f"fit.models.{name}",
            )
