"""The report of an LHCO resonance search: figures and a static HTML page (``OUT/report/index.html``).

The ``report`` stage builds it at the end of ``lhcad run``; :func:`rebuild_search_report` (what
``lhcad report OUT`` runs for a search, :func:`lhcad.families.rebuild.rebuild_report`) rebuilds
it from the cached artifacts of the last run without recomputing any stage, e.g. after a change
to the plotting code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lhcad.config import AnalysisBase, AnalysisConfig
from lhcad.errors import LhcadError
from lhcad.pipeline.artifacts import Artifact
from lhcad.io.atomic import replace_tree

__all__ = ["REPORT", "rebuild_search_report"]

REPORT = "report"


def rebuild_search_report(
    out: Path, artifacts: dict[str, Artifact], run: Mapping[str, Any], analysis: AnalysisBase
) -> Path:
    """Rebuild ``out/report/`` of an LHCO search with :func:`lhcad.report.build.build_report`
    from the cached artifacts of its last run and swap it in atomically; returns the path of
    ``index.html``."""
    from lhcad.report.build import build_report  # matplotlib: only when a report is drawn

    if not isinstance(analysis, AnalysisConfig):
        raise LhcadError(f"not an LHCO search (kind: {analysis.kind})", source=out / "run.json")
    artifacts = {kind: artifact for kind, artifact in artifacts.items() if kind != REPORT}
    for needed in ("data", "extract"):
        if needed not in artifacts:
            raise LhcadError(f"the last run has no {needed!r} stage: nothing to report", source=out / "run.json")
    versions = {str(k): str(v) for k, v in dict(run.get("versions") or {}).items()}
    replace_tree(out / REPORT, lambda tmp: build_report(artifacts, analysis, tmp, versions=versions))
    return out / REPORT / "index.html"
