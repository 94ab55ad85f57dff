"""What the stages of the LHCO resonance search hand on: one small class per stage output, each
with ``write(out)`` (into the running stage's :class:`~lhcad.pipeline.artifacts.ArtifactWriter`)
and ``read(artifact)`` (from a cached :class:`~lhcad.pipeline.artifacts.Artifact`). The stages,
the report (:mod:`lhcad.families.lhco.report`) and the Python API (:class:`lhcad.api.Run`) read
every stage's files through these classes only; the file names and formats are those of every
run so far, so old runs still open.

Data flows: :class:`~lhcad.data.stage.Events` (``data``) -> :class:`ModelInputs`
(``preprocess``) -> :class:`Ensemble` (``train``, the VAE scorer only) -> :class:`Scores`
(``score``) -> :class:`Selections` (``select``) -> :class:`Histograms` (``histogram``) ->
:class:`Fits` (``fit``), :class:`BumpHunts` (``bumphunt``) -> :class:`Masses` (``extract``) ->
:class:`Results` (``export``). :class:`SearchArtifacts` reads them from a run's artifacts on
first use.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lhcad.data.stage import Events
from lhcad.histograms import (
    axis_label,
    counts_and_edges,
    counts_variances_and_edges,
    histogram_from_uhi,
    histograms_from_uhi,
    histograms_to_uhi,
)
from lhcad.pipeline.artifacts import Artifact, ArtifactWriter, StageOutputs
from lhcad.preprocessing import TEST, quantile_from_arrays

if TYPE_CHECKING:
    import hist
    from sklearn.preprocessing import QuantileTransformer

    from lhcad.fit.binned import FitResult
    from lhcad.models.vae import EnsembleVAE

#: The histograms of every event, beside those of the selections.
ALL_EVENTS = "all"


@dataclass
class ModelInputs:
    """The ``preprocess`` stage's output: the quantile-transformed inputs ``x`` and each event's
    ``split`` (``inputs.npz``), the fitted transform (``quantiles.npz``) and ``features.json``
    (``features``, ``labelled``, ``n_per_split``)."""

    x: np.ndarray
    split: np.ndarray
    quantiles: dict[str, np.ndarray]
    info: dict[str, Any]

    INPUTS = "inputs.npz"
    QUANTILES = "quantiles.npz"
    INFO = "features.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_arrays(self.INPUTS, x=self.x, split=self.split)
        out.write_arrays(self.QUANTILES, **self.quantiles)
        out.write_json(self.INFO, self.info)

    @classmethod
    def read(cls, artifact: Artifact) -> ModelInputs:
        arrays = artifact.read_arrays(cls.INPUTS)
        return cls(arrays["x"], arrays["split"], artifact.read_arrays(cls.QUANTILES), artifact.read_json(cls.INFO))

    @property
    def features(self) -> list[str]:
        return list(self.info["features"])

    @property
    def test_rows(self) -> np.ndarray:
        """Rows of the test split (every row when there is none)."""
        test = self.split == TEST
        return np.flatnonzero(test) if test.any() else np.arange(len(self.split))

    def transform(self) -> QuantileTransformer:
        """The fitted quantile transform."""
        return quantile_from_arrays(self.quantiles)


@dataclass
class Ensemble:
    """The ``train`` stage's output: the VAE ensemble's architecture and seeds (``model.json``),
    its members' weights at each checkpoint (``last.pt``, ``best_loss.pt`` and, with labels,
    ``best_auc.pt``: score name -> weights), the training history (``history.json``) and, with
    labels, every score's validation AUC per epoch and member (``auc_history.json``,
    ``auc_history.csv``; the ensemble's, ``auc_history_ensemble.json``, when one task trained
    every member)."""

    spec: dict[str, Any]
    history: dict[str, Any]
    auc: dict[str, list[list[float | None]]] | None = None
    auc_ensemble: dict[str, list[float]] | None = None
    checkpoints: dict[str, Any] = field(default_factory=dict, repr=False)
    """``last``, ``best_loss`` (per-member weights), ``best_auc`` (score -> per-member weights);
    read from the artifact on first use."""
    source: Artifact | None = field(default=None, repr=False)

    SPEC = "model.json"
    HISTORY = "history.json"
    AUC = "auc_history.json"
    AUC_CSV = "auc_history.csv"
    AUC_ENSEMBLE = "auc_history_ensemble.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_json(self.SPEC, self.spec)
        for name, states in self.checkpoints.items():
            out.write_torch(f"{name}.pt", states)
        if self.auc is not None:
            out.write_json(self.AUC, self.auc)
            if self.auc_ensemble is not None:
                out.write_json(self.AUC_ENSEMBLE, self.auc_ensemble)
            out.path(self.AUC_CSV).write_text(auc_csv(self.auc))
        out.write_json(self.HISTORY, self.history)

    @classmethod
    def read(cls, artifact: Artifact) -> Ensemble:
        optional = {name: artifact.read_json(name) if artifact.exists(name) else None for name in (cls.AUC, cls.AUC_ENSEMBLE)}
        return cls(
            artifact.read_json(cls.SPEC),
            artifact.read_json(cls.HISTORY),
            optional[cls.AUC],
            optional[cls.AUC_ENSEMBLE],
            source=artifact,
        )

    def states(self, checkpoint: str) -> Any:
        """The members' weights at a checkpoint (``last``, ``best_loss``, ``best_auc``), or None
        when the run kept no such checkpoint."""
        if checkpoint not in self.checkpoints and self.source is not None and self.source.exists(f"{checkpoint}.pt"):
            self.checkpoints[checkpoint] = self.source.read_torch(f"{checkpoint}.pt")
        return self.checkpoints.get(checkpoint)

    def model(self, checkpoint: str, score_name: str) -> tuple[EnsembleVAE, str]:
        """The trained ensemble with the requested checkpoint, and what was loaded.

        ``best`` means the best validation AUC of ``score_name`` when labels existed during
        training, the best validation loss otherwise.
        """
        from lhcad.models.vae import EnsembleVAE, VAEArchitecture

        model = EnsembleVAE(VAEArchitecture.from_dict(self.spec["architecture"]), self.spec["seeds"])
        if checkpoint == "last":
            states, used = self.states("last"), "last"
        elif (best_auc := self.states("best_auc")) is not None:
            states, used = best_auc[score_name], f"best validation AUC of {score_name}"
        else:
            states, used = self.states("best_loss"), "best validation loss"
        for k, state in enumerate(states):
            model.load_member_state(k, state)
        return model.eval(), used


def auc_csv(auc: dict[str, list[list[float | None]]]) -> str:
    """The per-epoch AUC history as CSV: epoch, score, one column per member."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    n_members = len(next(iter(auc.values()))[0]) if auc and next(iter(auc.values())) else 0
    writer.writerow(["epoch", "score", *[f"member{k}" for k in range(n_members)]])
    for name, epochs in auc.items():
        for epoch, aucs in enumerate(epochs, start=1):
            writer.writerow([epoch, name, *["" if a is None else f"{a:.6f}" for a in aucs]])
    return buffer.getvalue()


@dataclass
class Scores:
    """The ``score`` stage's output: per-event scores (``scores.parquet``: ``event_id``,
    ``score``, the one used downstream, and the scorer's other columns: every latent score of
    every member for the VAE, ``window`` and ``in_signal_region`` for a weak scorer), what the
    scorer did (``score.json``: ``use``, and ``method``, ``mjj_range``, ``best_window``,
    ``windows`` of a weak scorer), with labels, AUC and SIC (``metrics.json``), and a weak
    scorer's background reference (``reference.parquet``: ``row``, ``window``, ``weight``,
    ``score``, see :func:`lhcad.weak.scan.background_reference`)."""

    table: pd.DataFrame
    info: dict[str, Any]
    metrics: dict[str, Any] | None = None
    reference: pd.DataFrame | None = None

    TABLE = "scores.parquet"
    INFO = "score.json"
    METRICS = "metrics.json"
    REFERENCE = "reference.parquet"

    def write(self, out: ArtifactWriter) -> None:
        out.write_table(self.TABLE, self.table)
        out.write_json(self.INFO, self.info)
        if self.metrics is not None:
            out.write_json(self.METRICS, self.metrics)
        if self.reference is not None:
            out.write_table(self.REFERENCE, self.reference)

    @classmethod
    def read(cls, artifact: Artifact, columns: list[str] | None = None, reference: bool = False) -> Scores:
        """The scores (only ``columns`` of the table if given; the background reference too with
        ``reference``, when the scorer wrote one)."""
        metrics = artifact.read_json(cls.METRICS) if artifact.exists(cls.METRICS) else None
        kept = artifact.read_table(cls.REFERENCE) if reference and artifact.exists(cls.REFERENCE) else None
        return cls(artifact.read_table(cls.TABLE, columns=columns), artifact.read_json(cls.INFO), metrics, kept)

    @property
    def score(self) -> np.ndarray:
        """The score that goes downstream, one per event."""
        return self.table["score"].to_numpy(np.float64)

    @property
    def method(self) -> str:
        return str(self.info.get("method", "vae"))

    @property
    def windows(self) -> list[dict[str, Any]] | None:
        """A weak scorer's per-window diagnostics (None for the VAE)."""
        return self.info.get("windows")

    @property
    def mjj_range(self) -> list[float] | None:
        """The mjj range whose events are all scored alike (None: every event, the VAE)."""
        return self.info.get("mjj_range")


@dataclass
class Selections:
    """The ``select`` stage's output: one record per selection (``selections.json``: ``name``,
    ``kind``, ``n``, ``threshold``, ``mjj_range``, a weak scorer's tiles, with labels purity and
    efficiencies) and its events' rows (``selections.npz``: name -> row indices)."""

    records: list[dict[str, Any]]
    rows: dict[str, np.ndarray]

    RECORDS = "selections.json"
    ROWS = "selections.npz"

    def write(self, out: ArtifactWriter) -> None:
        out.write_arrays(self.ROWS, **self.rows)
        out.write_json(self.RECORDS, self.records)

    @classmethod
    def read(cls, artifact: Artifact) -> Selections:
        return cls(artifact.read_json(cls.RECORDS), artifact.read_arrays(cls.ROWS))

    @property
    def by_name(self) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in self.records}


@dataclass
class Histograms:
    """The ``histogram`` stage's output: selection (and :data:`ALL_EVENTS`) -> observable -> the
    ``hist.Hist`` of its events (Int64 storage), and for a weak scorer's selections their
    background reference (Weight storage: the reference events passing the selection's cut,
    weighted by the events each stands for, :func:`lhcad.weak.scan.background_reference`).

    Written as one UHI histograms file, ``histograms.json`` (which the stage publishes into the
    output directory), with flat keys: ``top500/mjj`` for the events, ``reference/top500/mjj``
    for a reference. Runs before the UHI file (histogram stage version 2) have selection ->
    observable -> histogram in ``histograms.json`` and ``references.json``; they still open.
    """

    hists: dict[str, dict[str, hist.Hist]]
    references: dict[str, dict[str, hist.Hist]] = field(default_factory=dict)

    FILE = "histograms.json"
    #: The key prefix of the background references in :attr:`FILE`.
    REFERENCE = "reference"
    #: Version 2's references (:attr:`FILE` held only the selections' events then).
    LEGACY_REFERENCES = "references.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_json(self.FILE, histograms_to_uhi(self.flat()))

    def flat(self) -> dict[str, hist.Hist]:
        """The UHI file's key (``top500/mjj``, ``reference/top500/mjj``) -> histogram."""
        flat = {f"{sel}/{obs}": h for sel, by_obs in self.hists.items() for obs, h in by_obs.items()}
        flat.update({f"{self.REFERENCE}/{sel}/{obs}": h for sel, by_obs in self.references.items() for obs, h in by_obs.items()})
        return flat

    @classmethod
    def read(cls, artifact: Artifact) -> Histograms:
        stored = artifact.read_json(cls.FILE)
        if not all("uhi_schema" in h for h in stored.values()):  # version 2: nested, two files
            references = artifact.read_json(cls.LEGACY_REFERENCES) if artifact.exists(cls.LEGACY_REFERENCES) else {}
            return cls(_legacy_histograms(stored), _legacy_histograms(references))
        hists: dict[str, dict[str, hist.Hist]] = {}
        references: dict[str, dict[str, hist.Hist]] = {}
        for key, h in histograms_from_uhi(stored).items():
            *prefix, sel, obs = key.split("/")
            (references if prefix == [cls.REFERENCE] else hists).setdefault(sel, {})[obs] = h
        return cls(hists, references)

    def counts_and_edges(self, selection: str, observable: str) -> tuple[np.ndarray, np.ndarray]:
        return counts_and_edges(self.hists[selection][observable])

    def reference(self, selection: str, observable: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The selection's background reference on the observable's bins: sums of weights and
        of squared weights (None without one)."""
        if observable not in self.references.get(selection, {}):
            return None
        counts, variances, _ = counts_variances_and_edges(self.references[selection][observable])
        return counts, variances

    def selections(self) -> list[str]:
        """The selections histogrammed (without :data:`ALL_EVENTS`)."""
        return [name for name in self.hists if name != ALL_EVENTS]


def _legacy_histograms(stored: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, hist.Hist]]:
    """Selection -> observable -> histogram from version 2's nested file, whose axes carried
    their name as ``{"metadata": {"name": ...}}``: named and labelled like today's."""
    out: dict[str, dict[str, hist.Hist]] = {}
    for sel, by_obs in stored.items():
        for obs, h in by_obs.items():
            axes = [{**axis, "metadata": {"name": obs, "label": axis_label(obs)}} for axis in h["axes"]]
            out.setdefault(sel, {})[obs] = histogram_from_uhi({**h, "axes": axes, "metadata": {}})
    return out


@dataclass
class Fits:
    """The ``fit`` stage's output: every fit (``fits.json``), as
    :meth:`lhcad.fit.binned.FitResult.to_dict` plus its ``selection``, ``region`` (the mjj peak
    its jet masses were fitted in, or None) and, with a region, the ``counts`` fitted."""

    fits: list[dict[str, Any]]

    FILE = "fits.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_json(self.FILE, self.fits)

    @classmethod
    def read(cls, artifact: Artifact) -> Fits:
        return cls(artifact.read_json(cls.FILE))

    def results(self) -> dict[tuple[str, str], FitResult]:
        """(selection, observable) -> the fit as a :class:`~lhcad.fit.binned.FitResult`."""
        return {(fit["selection"], fit["observable"]): fit_result(fit) for fit in self.fits}


def fit_result(stored: Mapping[str, Any]) -> FitResult:
    """A :class:`~lhcad.fit.binned.FitResult` rebuilt from its JSON form (None back to NaN)."""
    from lhcad.fit.binned import FitResult

    def nan_if_none(value: Any) -> Any:
        return math.nan if value is None else value

    values: dict[str, Any] = {}
    for spec in fields(FitResult):
        if spec.name not in stored:
            continue
        value = stored[spec.name]
        if spec.name in ("params", "errors"):
            value = {k: nan_if_none(v) for k, v in value.items()}
        elif spec.name == "fit_range":
            value = tuple(nan_if_none(v) for v in value)
        elif spec.name not in ("observable", "reason", "template", "edges"):
            value = nan_if_none(value)
        values[spec.name] = value
    return FitResult(**values)


@dataclass
class BumpHunts:
    """The ``bumphunt`` stage's output: per selection, the most significant mjj window with its
    local and global significance (``bumphunt.json``) and the scan's details (``scans.json``)."""

    summary: dict[str, Any]
    scans: dict[str, Any]

    SUMMARY = "bumphunt.json"
    SCANS = "scans.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_json(self.SUMMARY, self.summary)
        out.write_json(self.SCANS, self.scans)

    @classmethod
    def read(cls, artifact: Artifact) -> BumpHunts:
        return cls(artifact.read_json(cls.SUMMARY), artifact.read_json(cls.SCANS))


@dataclass
class Masses:
    """The ``extract`` stage's output: one mass per observable (``masses.json``), a weak scan's
    evidence (``scan_evidence.json``) and the jet-mass fits' sideband tests
    (``sideband_tests.json``) when they were made."""

    masses: dict[str, Any]
    scan_evidence: dict[str, Any] | None = None
    sideband_tests: list[dict[str, Any]] | None = None

    MASSES = "masses.json"
    SCAN = "scan_evidence.json"
    SIDEBAND = "sideband_tests.json"

    def write(self, out: ArtifactWriter) -> None:
        if self.scan_evidence is not None:
            out.write_json(self.SCAN, self.scan_evidence)
        if self.sideband_tests is not None:
            out.write_json(self.SIDEBAND, self.sideband_tests)
        out.write_json(self.MASSES, self.masses)

    @classmethod
    def read(cls, artifact: Artifact) -> Masses:
        optional = {name: artifact.read_json(name) if artifact.exists(name) else None for name in (cls.SCAN, cls.SIDEBAND)}
        return cls(artifact.read_json(cls.MASSES), optional[cls.SCAN], optional[cls.SIDEBAND])


@dataclass
class Results:
    """The ``export`` stage's output: ``results.json`` (schema ``lhcad/schemas/results-2.json``)
    and, when asked, the anomalous events (``anomalous_events.parquet``)."""

    results: dict[str, Any]
    anomalous: pd.DataFrame | None = None

    RESULTS = "results.json"
    ANOMALOUS = "anomalous_events.parquet"

    def write(self, out: ArtifactWriter) -> None:
        out.write_json(self.RESULTS, self.results)
        if self.anomalous is not None:
            out.write_table(self.ANOMALOUS, self.anomalous)

    @classmethod
    def read(cls, artifact: Artifact) -> Results:
        anomalous = artifact.read_table(cls.ANOMALOUS) if artifact.exists(cls.ANOMALOUS) else None
        return cls(artifact.read_json(cls.RESULTS), anomalous)


class SearchArtifacts(StageOutputs):
    """The outputs of a search's stages, each read through its class on first use.

    Raises:
        LhcadError: on reading the output of a stage the run did not have (:meth:`has` asks).
    """

    @cached_property
    def events(self) -> Events:
        return Events.read(self.artifact("data"))

    @cached_property
    def inputs(self) -> ModelInputs:
        return ModelInputs.read(self.artifact("preprocess"))

    @cached_property
    def ensemble(self) -> Ensemble:
        return Ensemble.read(self.artifact("train"))

    @cached_property
    def scores(self) -> Scores:
        return Scores.read(self.artifact("score"))

    @cached_property
    def selections(self) -> Selections:
        return Selections.read(self.artifact("select"))

    @cached_property
    def histograms(self) -> Histograms:
        return Histograms.read(self.artifact("histogram"))

    @cached_property
    def fits(self) -> Fits:
        return Fits.read(self.artifact("fit"))

    @cached_property
    def bumphunts(self) -> BumpHunts:
        return BumpHunts.read(self.artifact("bumphunt"))

    @cached_property
    def masses(self) -> Masses:
        return Masses.read(self.artifact("extract"))

    @cached_property
    def results(self) -> Results:
        return Results.read(self.artifact("export"))
