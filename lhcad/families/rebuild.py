"""``lhcad report OUT``: a finished run's report rebuilt from its cached artifacts (no stage
reruns), the way its family builds it (:attr:`lhcad.families.registry.Family.rebuild_report`)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lhcad.config import AnalysisBase
from lhcad.families.registry import FAMILIES, recorded_analysis
from lhcad.pipeline.artifacts import Artifact, ArtifactWriter
from lhcad.io.atomic import copy_file_atomic, replace_tree
from lhcad.pipeline.registry import available_stages
from lhcad.pipeline.runner import StageContext, run_artifacts

REPORT = "report"


def rebuild_report(out: Path) -> Path:
    """Rebuild ``out/report/`` from the cached artifacts of the last run (no stage reruns) and
    swap it in atomically; returns the path of ``index.html``.

    The run's recorded analysis names its family; an LHCO search is redrawn by
    :func:`lhcad.families.lhco.stages.report.rebuild_search_report`, the other families by rerunning their report
    stage on its cached inputs (:func:`rerun_report_stage`).
    """
    out = Path(out)
    artifacts, run = run_artifacts(out)
    analysis = recorded_analysis(artifacts, run)
    family = FAMILIES[analysis.kind]
    if family.rebuild_report is not None:
        return family.rebuild_report(out, artifacts, run, analysis)
    return rerun_report_stage(out, family.report, artifacts, run, analysis)


def rerun_report_stage(
    out: Path, kind: str, artifacts: dict[str, Artifact], run: Mapping[str, Any], analysis: AnalysisBase
) -> Path:
    """Rerun the report stage ``kind`` on the cached artifacts of its inputs into a temporary
    directory, then swap what it publishes into ``out`` atomically."""
    spec = available_stages()[kind]
    with tempfile.TemporaryDirectory(prefix=".report-", dir=out) as tmp:
        ctx = StageContext(
            kind=kind,
            analysis=analysis,
            inputs={k: artifacts[k] for k in (*spec.needs, *spec.optional) if k in artifacts},
            out=ArtifactWriter(Path(tmp)),
            seed=analysis.seed,
            log=logging.getLogger(f"lhcad.{kind}"),
            reads=spec.reads,
        )
        spec.run(ctx)
        for name, target in spec.publish.items():
            built = Path(tmp) / name
            if built.is_dir():
                replace_tree(out / target, lambda directory, built=built: shutil.copytree(built, directory, dirs_exist_ok=True))
            elif built.exists():
                copy_file_atomic(built, out / target)
    return out / REPORT / "index.html"
