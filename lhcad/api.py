"""lhcad's Python API: the machinery of the ``lhcad`` command line, for notebooks and scripts.

The CLI is a thin layer over these functions (``lhcad run`` calls :func:`run`, ``lhcad validate``
calls :func:`load_analysis`), so a run from Python and a run from the shell share the cache and
give the same ``results.json``.

Examples:
    >>> import lhcad                                                      # doctest: +SKIP
    >>> config = lhcad.load_analysis("analyses/lhco_rnd.yaml", {"train.epochs": 5})
    >>> run = lhcad.run(config, out="outputs/quick")
    >>> run.results["masses"]["mjj"]["value"]              # the fitted m_Z in GeV
    >>> run.scores()                                       # pandas DataFrame, one row per event
    >>> run.histograms()["top500"]["mjj"]                  # hist.Hist, axis named "mjj"
    >>> run.fits()["top500", "mjj"].significance           # lhcad.fit.binned.FitResult
    >>> run.fits()["top500", "mjj"].minuit().minos("sigma")  # its iminuit.Minuit, rebuilt
    >>> run.report()                                       # Path of report/index.html

Errors:
    Every mistake in the input raises a subclass of [lhcad.errors.LhcadError][] (the errors the
    CLI prints as one line and exits with status 2): [lhcad.errors.ConfigError][] for the analysis
    YAML and overrides, [lhcad.errors.DataError][] for data files, [lhcad.errors.StageError][] for
    data a stage cannot work with. Anything else is a bug in lhcad.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

from lhcad.config import AnalysisBase
from lhcad.errors import LhcadError
from lhcad.families import registry
from lhcad.families.lhco.artifacts import SearchArtifacts
from lhcad.families.rebuild import rebuild_report
from lhcad.pipeline.artifacts import Artifact
from lhcad.pipeline.registry import available_stages
from lhcad.pipeline.runner import RunRecord, StageRecord, run_artifacts, run_pipeline

if TYPE_CHECKING:
    import hist
    import numpy as np
    import pandas as pd

    from lhcad.fit.binned import FitResult

__all__ = [
    "DataSummary",
    "MassResult",
    "Results",
    "Run",
    "default_output",
    "load_analysis",
    "open_run",
    "run",
]

RESULTS_FILE = "results.json"
REPORT_DIR = "report"


class DataSummary(TypedDict):
    """``results["data"]``: the events the run analysed."""

    path: str
    sha256: str | None
    n_events: int
    n_signal: int | None
    """None when the data are unlabelled."""


class MassResult(TypedDict, total=False):
    """``results["masses"][observable]``: one measured resonance mass (GeV)."""

    value: float | None
    error: float | None
    width: float | None
    significance: float | None
    """Local significance of the chosen fit."""
    valid: bool
    n: int | None
    claimed: bool
    """True when the bump hunt's global significance reaches ``extract.claim_significance`` (a
    jet mass also needs its sideband test to reach ``extract.jet_mass_evidence``)."""
    error_syst: float | None
    """Selection systematic: the largest shift of the peak among the selections that find it."""
    error_total: float | None
    """``error`` and ``error_syst`` in quadrature."""
    claim_veto: str
    """Why a jet mass that a valid fit found is not claimed: its peak fails the sideband test."""
    selection: str | None
    """The selection whose fit gives the mass (``top1000``, ``eff0.01``, ...)."""
    global_significance: float | None
    """The bump hunt's look-elsewhere-corrected significance of that selection."""
    sideband: dict[str, Any] | None
    """Jet masses: the sideband test (:class:`lhcad.fit.sideband.SidebandTest` fields)."""


class Results(TypedDict, total=False):
    """The content of ``results.json`` (schema: ``lhcad/schemas/results-2.json``).

    Every analysis has ``analysis``, ``lhcad_version``, ``config_sha256`` and ``created``; the LHC
    resonance search (the ``export`` stage) has the other keys. At run time it is a plain dict.
    """

    schema_version: int
    analysis: str
    config_sha256: str
    lhcad_version: str
    created: str
    data: DataSummary
    summary: list[str]
    """One line per mass: value ± total error (stat, sel), selection, significances, claim; the
    lines ``lhcad run`` prints and the report's banner shows (:func:`lhcad.report.summary.mass_line`)."""
    masses: dict[str, MassResult]
    """One entry per observable: ``mjj`` gives m_Z, ``mj_heavy`` m_X, ``mj_light`` m_Y."""
    fits: list[dict[str, Any]]
    """Every fit, as :meth:`lhcad.fit.binned.FitResult.to_dict` plus its ``selection``: values
    and errors, HESSE's ``covariance`` and ``correlation`` of ``free_params``, the counts fitted
    and the fit's settings (enough to rebuild its ``Minuit``)."""
    selections: list[dict[str, Any]]
    scores: dict[str, dict[str, float | None]]
    """AUC and maximal SIC per score (labelled data only)."""
    auc_history: dict[str, list[list[float | None]]]
    bumphunt: dict[str, Any]
    timing: dict[str, float]
    """Seconds each stage took when it was computed."""


def load_analysis(
    path: str | Path, overrides: Mapping[str, Any] | list[str] | None = None
) -> AnalysisBase:
    """Load and validate an analysis YAML (``includes`` resolved, overrides applied).

    Args:
        path: the analysis file, e.g. ``analyses/lhco_rnd.yaml``.
        overrides: dotted keys and values, ``{"select.top_n": [500, 1000]}``, or the CLI's
            ``["select.top_n=[500,1000]"]``.

    Returns:
        The validated configuration: its family's pydantic model (``kind`` in the YAML, or the
        family whose stages its pipeline runs), one attribute per section.

    Raises:
        lhcad.errors.ConfigError: a missing or invalid file, an unknown key, a wrong type or
            value, stages in an impossible order; the message names the dotted path.
    """
    return registry.load_analysis(path, overrides)


def _stage_publishing(kinds: list[str], target: str) -> str | None:
    """The last of ``kinds`` whose stage publishes ``target`` into the output directory."""
    specs = available_stages()
    found = [kind for kind in kinds if target in specs[kind].publish.values()]
    return found[-1] if found else None


@dataclass
class Run:
    """A finished run: its configuration, output directory, results and cached artifacts.

    Attributes:
        config: the analysis that ran.
        out: the output directory (``results.json``, ``report/``, ``cache/``, ``run.json``).
        record: which stages ran or came from the cache, with their keys and wall times.
        results: the ``results.json`` this run published, or None when its pipeline has no
            stage that writes one.
    """

    config: AnalysisBase
    out: Path
    record: RunRecord
    results: Results | None = field(default=None)

    @property
    def cached(self) -> dict[str, bool]:
        """Stage kind -> whether its artifact came from the cache (nothing recomputed)."""
        return {stage.name: stage.cached for stage in self.record.stages}

    @property
    def search(self) -> SearchArtifacts:
        """The outputs of an LHCO search's stages, typed (:mod:`lhcad.families.lhco.artifacts`:
        ``search.events``, ``search.scores``, ``search.fits``, ...), each read on first use from
        the returned object; what its report reads too."""
        return SearchArtifacts(self.record.artifacts)

    def artifact(self, stage: str) -> Artifact:
        """The cached output directory of one stage of this run.

        Its files are read with ``read_table`` (parquet -> DataFrame), ``read_arrays`` (npz),
        ``read_json`` and ``read_torch``; ``path(name)`` gives a file's path. The typed views
        :meth:`events`, :meth:`scores`, :meth:`selections`, :meth:`histograms` and :meth:`fits`
        decode the LHC pipeline's main artifacts (all of them: :attr:`search`).

        Raises:
            lhcad.errors.LhcadError: the stage is not in this run's pipeline.
        """
        return self.search.artifact(stage)

    def events(self) -> pd.DataFrame:
        """The events table of the ``data`` stage: jets, ``mjj``, derived features, labels."""
        return self.search.events.table

    def scores(self) -> pd.DataFrame:
        """Per-event anomaly scores (``score`` stage), in the row order of :meth:`events`.

        Column ``score`` is the one used downstream (``score.use``); the other columns are every
        score of every ensemble member (or weak-scorer details).
        """
        return self.search.scores.table

    def selections(self) -> dict[str, np.ndarray]:
        """Selection name (``top500``, ...) -> row indices into :meth:`events`."""
        return self.search.selections.rows

    def histograms(self) -> dict[str, dict[str, hist.Hist]]:
        """Selection name (and ``all``) -> observable -> ``hist.Hist`` of its events: one
        regular axis named after the observable's column (``mjj``) and labelled for plots, Int64
        storage. The same histograms as the UHI file ``OUT/histograms.json`` (keys
        ``top500/mjj``; a weak scorer's background references under ``reference/top500/mjj``).
        """
        return {sel: dict(by_obs) for sel, by_obs in self.search.histograms.hists.items()}

    def fits(self) -> dict[tuple[str, str], FitResult]:
        """(selection, observable) -> the iminuit fit's result: validity, parameters with
        HESSE errors, their covariance and correlation matrices (``free_params`` names the rows),
        MINOS interval of the mean, chi2, local significance; its
        :meth:`~lhcad.fit.binned.FitResult.expected_counts` rebuilds the fitted curves and
        :meth:`~lhcad.fit.binned.FitResult.minuit` iminuit's ``Minuit`` at the minimum (MINOS on
        any parameter, profiles, contours):

            m = run.fits()["top500", "mjj"].minuit()
            m.minos("sigma").merrors["sigma"]
        """
        return self.search.fits.results()

    def report(self) -> Path:
        """Path of the run's HTML report, ``OUT/report/index.html``.

        When the pipeline has no report stage, the report is built now from the cached
        artifacts (like ``lhcad report OUT``); no stage reruns.

        Raises:
            lhcad.errors.LhcadError: the run lacks the stages a report shows (``data``,
                ``extract``).
        """
        if _stage_publishing(list(self.record.artifacts), REPORT_DIR) is not None:
            return self.out / REPORT_DIR / "index.html"
        return rebuild_report(self.out)


def default_output(config: AnalysisBase) -> Path:
    """``outputs/<analysis name>/`` under the current directory."""
    return Path("outputs") / config.name


def run(
    config: AnalysisBase | str | Path,
    out: str | Path | None = None,
    *,
    source: str = "",
    force: bool = False,
    echo: Callable[[str], None] = lambda line: None,
) -> Run:
    """Run an analysis into ``out``, reusing every cached stage whose inputs did not change.

    Args:
        config: a configuration from :func:`load_analysis`, or the path of an analysis YAML.
        out: output directory (default ``outputs/<name>/``).
        source: the analysis file, for messages and ``run.json``.
        force: recompute every stage.
        echo: receives one line per stage (``train       done in 3.1 s``, ``data   cached``);
            ``print`` shows progress.

    Returns:
        The finished :class:`Run`.

    Raises:
        lhcad.errors.ConfigError: an invalid analysis (when given a path).
        lhcad.errors.DataError: a missing, unreadable or malformed data file, bad values.
        lhcad.errors.StageError: data a stage cannot work with (e.g. an empty selection).
        lhcad.errors.LhcadError: an output directory that cannot be written or is in use.
    """
    if not isinstance(config, AnalysisBase):
        source = source or str(config)
        config = load_analysis(config)
    out_dir = Path(out) if out is not None else default_output(config)
    record = run_pipeline(config, out=out_dir, source=source, force=force, echo=echo)
    return Run(config=config, out=out_dir, record=record, results=_published_results(record))


def open_run(out: str | Path) -> Run:
    """The last run in an output directory (from :func:`run` or ``lhcad run``), read back from
    its ``run.json`` and cached artifacts without running anything.

    Its configuration is the one the stages recorded in their manifests: the whole analysis
    when a stage reads it (``export``, ``report``), otherwise the sections the stages read, with
    defaults for the others.

    Raises:
        lhcad.errors.LhcadError: ``out`` holds no finished run, or its cached artifacts are gone.
    """
    out_dir = Path(out)
    artifacts, info = run_artifacts(out_dir)
    recorded = cast("list[dict[str, Any]]", info.get("stages", []))
    stages = [StageRecord(**stage) for stage in recorded]
    record = RunRecord(out=out_dir, stages=stages, artifacts=artifacts)
    config = registry.recorded_analysis(artifacts, info)
    return Run(config=config, out=out_dir, record=record, results=_published_results(record))


def _published_results(record: RunRecord) -> Results | None:
    """The ``results.json`` a run published, if one of its stages publishes one."""
    path = record.out / RESULTS_FILE
    if _stage_publishing(list(record.artifacts), RESULTS_FILE) is None or not path.exists():
        return None
    results: Results = json.loads(path.read_text(encoding="utf-8"))
    return results
