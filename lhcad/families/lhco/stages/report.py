"""Stage ``report``: every figure (PNG and PDF) and a static HTML page of the run
(:mod:`lhcad.families.lhco.report`, imported only to draw: matplotlib); and the same report
rebuilt from the cached artifacts of a finished run (:func:`rebuild_search_report`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lhcad.config.base import AnalysisBase
from lhcad.errors import LhcadError
from lhcad.families.lhco.config import AnalysisConfig
from lhcad.io.atomic import replace_tree
from lhcad.pipeline.artifacts import Artifact
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext, versions

REPORT = "report"


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


def rebuild_search_report(
    out: Path, artifacts: dict[str, Artifact], run: Mapping[str, Any], analysis: AnalysisBase
) -> Path:
    """Rebuild ``out/report/`` of an LHCO search with :func:`lhcad.families.lhco.report.build_report`
    from the cached artifacts of its last run and swap it in atomically; returns the path of
    ``index.html``."""
    from lhcad.families.lhco.report import build_report  # matplotlib: only when a report is drawn

    if not isinstance(analysis, AnalysisConfig):
        raise LhcadError(f"not an LHCO search (kind: {analysis.kind})", source=out / "run.json")
    artifacts = {kind: artifact for kind, artifact in artifacts.items() if kind != REPORT}
    for needed in ("data", "extract"):
        if needed not in artifacts:
            raise LhcadError(f"the last run has no {needed!r} stage: nothing to report", source=out / "run.json")
    versions = {str(k): str(v) for k, v in dict(run.get("versions") or {}).items()}
    replace_tree(out / REPORT, lambda tmp: build_report(artifacts, analysis, tmp, versions=versions))
    return out / REPORT / "index.html"
