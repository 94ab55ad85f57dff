"""Stage ``export``: ``results.json`` (validated against ``lhcad/schemas/results-2.json``) and the
list of anomalous events."""

from __future__ import annotations

from typing import Any

import numpy as np

from lhcad.data.columns import EVENT_ID, LABEL, MASS_OBSERVABLES
from lhcad.data.stage import Events
from lhcad.families.lhco.artifacts import SearchArtifacts
from lhcad.families.lhco.artifacts import Results as ResultsArtifact
from lhcad.families.lhco.config import AnalysisConfig, ExportConfig
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.report.summary import summary_lines
from lhcad.results import SCHEMA_VERSION, results_header, validate_results


def _data_block(data: Events, files: dict[str, str]) -> dict[str, Any]:
    summary = data.summary
    return {
        "path": summary["path"],
        "sha256": files.get(summary["path"]) or next(iter(files.values()), None),
        "n_events": summary["n_events"],
        "n_signal": summary.get("n_signal"),
    }


@stage(
    "export",
    version=4,
    summary="write results.json (schema-validated) and anomalous_events.parquet",
    reads=("export", "analysis"),
    needs=("data", "score", "select", "fit", "extract"),
    optional=("train", "bumphunt"),
    publish={"results.json": "results.json", "anomalous_events.parquet": "anomalous_events.parquet"},
)
def run_export(ctx: StageContext) -> None:
    cfg: ExportConfig = ctx.config()
    analysis: AnalysisConfig = ctx.config("analysis")
    run = SearchArtifacts(ctx.inputs)
    masses = run.masses
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        **results_header(analysis),
        "data": _data_block(run.events, ctx.inputs["data"].manifest["files"]),
        "summary": summary_lines(masses.masses, analysis.extract.claim_significance),
        "masses": masses.masses,
        "fits": run.fits.fits,
        "selections": run.selections.records,
    }
    if run.scores.metrics is not None:
        results["scores"] = run.scores.metrics
    if run.has("train") and run.ensemble.auc is not None:
        results["auc_history"] = run.ensemble.auc
    if run.has("bumphunt"):
        results["bumphunt"] = run.bumphunts.summary
    if masses.scan_evidence is not None:
        results["window_scan"] = masses.scan_evidence
    validate_results({**results, "timing": {}})
    anomalous = None
    if cfg.anomalous_events:
        largest = max(run.selections.rows.values(), key=len)
        events = run.events.table
        keep = [EVENT_ID, *MASS_OBSERVABLES, *([LABEL] if LABEL in events.columns else [])]
        table = events.iloc[largest][keep].assign(score=run.scores.table["score"].to_numpy()[largest])
        order = np.argsort(-table["score"].to_numpy(), kind="stable")
        anomalous = table.iloc[order].reset_index(drop=True)
    ResultsArtifact(results, anomalous).write(ctx.out)
