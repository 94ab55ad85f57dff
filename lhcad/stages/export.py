"""Stage ``export``: ``results.json`` (validated against ``lhcad/schemas/results-1.json``) and the
list of anomalous events."""

from __future__ import annotations

from typing import Any

import numpy as np

from lhcad.config.models import AnalysisConfig, ExportConfig
from lhcad.data.columns import EVENT_ID, LABEL, MASS_OBSERVABLES
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.results import SCHEMA_VERSION, results_header, validate_results


def _data_block(ctx: StageContext) -> dict[str, Any]:
    data = ctx.inputs["data"]
    summary = data.read_json("summary.json")
    files = data.manifest["files"]
    return {
        "path": summary["path"],
        "sha256": files.get(summary["path"]) or next(iter(files.values()), None),
        "n_events": summary["n_events"],
        "n_signal": summary.get("n_signal"),
    }


@stage(
    "export",
    version=3,
    summary="write results.json (schema-validated) and anomalous_events.parquet",
    reads=("export", "analysis"),
    needs=("data", "score", "select", "fit", "extract"),
    optional=("train", "bumphunt"),
    publish={"results.json": "results.json", "anomalous_events.parquet": "anomalous_events.parquet"},
)
def run_export(ctx: StageContext) -> None:
    from lhcad.report.summary import summary_lines

    cfg: ExportConfig = ctx.config()
    analysis: AnalysisConfig = ctx.config("analysis")
    masses = ctx.inputs["extract"].read_json("masses.json")
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        **results_header(analysis),
        "data": _data_block(ctx),
        "summary": summary_lines(masses, analysis.extract.claim_significance),
        "masses": masses,
        "fits": ctx.inputs["fit"].read_json("fits.json"),
        "selections": ctx.inputs["select"].read_json("selections.json"),
    }
    score = ctx.inputs["score"]
    if score.exists("metrics.json"):
        results["scores"] = score.read_json("metrics.json")
    if "train" in ctx.inputs and ctx.inputs["train"].exists("auc_history.json"):
        results["auc_history"] = ctx.inputs["train"].read_json("auc_history.json")
    if "bumphunt" in ctx.inputs:
        results["bumphunt"] = ctx.inputs["bumphunt"].read_json("bumphunt.json")
    if ctx.inputs["extract"].exists("scan_evidence.json"):
        results["window_scan"] = ctx.inputs["extract"].read_json("scan_evidence.json")
    validate_results({**results, "timing": {}})
    ctx.out.write_json("results.json", results)
    if cfg.anomalous_events:
        selections = ctx.inputs["select"].read_arrays("selections.npz")
        largest = max(selections.values(), key=len)
        events = ctx.inputs["data"].read_table("events.parquet")
        scores = score.read_table("scores.parquet", columns=["score"])
        keep = [EVENT_ID, *MASS_OBSERVABLES, *([LABEL] if LABEL in events.columns else [])]
        table = events.iloc[largest][keep].assign(score=scores["score"].to_numpy()[largest])
        order = np.argsort(-table["score"].to_numpy(), kind="stable")
        ctx.out.write_table("anomalous_events.parquet", table.iloc[order].reset_index(drop=True))
