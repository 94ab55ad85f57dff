"""Stage ``report``: every figure (PNG and PDF) and a static HTML page of the run."""

from __future__ import annotations

from lhcad.families.lhco.config import AnalysisConfig
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext, versions


@stage(
    "report",
    summary="figures (PNG, PDF) and a static HTML page of the run: OUT/report/index.html",
    reads=("report", "analysis"),
    needs=("data", "preprocess", "score", "select", "histogram", "fit", "extract", "export"),
    optional=("train", "bumphunt"),
    publish={"report": "report"},
)
def run_report(ctx: StageContext) -> None:
    from lhcad.families.lhco.report import build_report  # matplotlib: imported only when the stage runs

    analysis: AnalysisConfig = ctx.config("analysis")
    directory = ctx.out.path("report")
    directory.mkdir()
    build_report(ctx.inputs, analysis, directory, versions=versions())
