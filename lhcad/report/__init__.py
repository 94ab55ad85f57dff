"""The report of a run: figures and a static HTML page (``OUT/report/index.html``).

The ``report`` stage builds it at the end of ``lhcad run``; :func:`rebuild_report` (``lhcad
report OUT``) rebuilds it from the cached artifacts of the last run without recomputing any
stage, e.g. after a change to the plotting code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lhcad.errors import LhcadError
from lhcad.pipeline.artifacts import Artifact

if TYPE_CHECKING:
    from lhcad.config import AnalysisConfig

__all__ = ["rebuild_report", "report_command"]

REPORT = "report"


def run_artifacts(out: Path) -> tuple[dict[str, Artifact], dict[str, object]]:
    """The cached artifacts of the stages of the last run in ``out``, and its ``run.json``."""
    run_json = out / "run.json"
    if not run_json.exists():
        raise LhcadError("no run.json: not an lhcad output directory (run `lhcad run` first)", source=out)
    run = json.loads(run_json.read_text(encoding="utf-8"))
    artifacts: dict[str, Artifact] = {}
    for record in run.get("stages", []):
        directory = out / "cache" / record["name"] / record["key"]
        if not (directory / "manifest.json").exists():
            raise LhcadError(f"the cached artifact of stage {record['name']!r} is gone; rerun `lhcad run`", source=directory)
        artifacts[record["name"]] = Artifact(record["name"], record["key"], directory)
    return artifacts, run


def _analysis_of(artifacts: dict[str, Artifact], out: Path) -> AnalysisConfig:
    """The analysis configuration a cached stage of the run recorded."""
    from lhcad.config import AnalysisConfig

    source = next((a for a in reversed(artifacts.values()) if "analysis" in a.manifest.get("config", {})), None)
    if source is None:
        raise LhcadError("no cached stage recorded the analysis configuration", source=out / "run.json")
    return AnalysisConfig.model_validate(source.manifest["config"]["analysis"])


def _rebuild_with_stage(out: Path, kind: str, artifacts: dict[str, Artifact]) -> Path:
    """Rerun the report stage ``kind`` of another analysis family (digits, jet images, ...) on
    the cached artifacts of its inputs into a temporary directory, then swap what it publishes
    into ``out`` atomically."""
    import logging
    import tempfile

    from lhcad.pipeline.artifacts import ArtifactWriter
    from lhcad.pipeline.atomic import copy_file_atomic, replace_tree
    from lhcad.pipeline.registry import available_stages
    from lhcad.pipeline.runner import StageContext

    spec = available_stages()[kind]
    analysis = _analysis_of(artifacts, out)
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


def rebuild_report(out: Path) -> Path:
    """Rebuild ``out/report/`` from the cached artifacts of the last run (no stage reruns) and
    swap it in atomically; returns the path of ``index.html``.

    LHC anomaly searches are rebuilt by :func:`lhcad.report.build.build_report`; the other
    analyses (digits, jet images, point clouds, classification, compression) by rerunning their
    own report stage on its cached inputs.
    """
    from lhcad.pipeline.atomic import replace_tree
    from lhcad.report.build import build_report

    out = Path(out)
    artifacts, run = run_artifacts(out)
    family_reports = [kind for kind in artifacts if kind.endswith("_" + REPORT)]
    if family_reports:
        return _rebuild_with_stage(out, family_reports[-1], artifacts)
    artifacts.pop(REPORT, None)
    for needed in ("data", "extract"):
        if needed not in artifacts:
            raise LhcadError(f"the last run has no {needed!r} stage: nothing to report", source=out / "run.json")
    analysis = _analysis_of(artifacts, out)
    versions = {str(k): str(v) for k, v in dict(run.get("versions") or {}).items()}  # type: ignore[call-overload]
    replace_tree(out / REPORT, lambda tmp: build_report(artifacts, analysis, tmp, versions=versions))
    return out / REPORT / "index.html"


@click.command("report")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
def report_command(out: Path) -> None:
    """Rebuild OUT/report/ from the cached artifacts of the last run (reruns no stage)."""
    from lhcad.cli import handle_errors  # at call time: lhcad.cli may import this module

    def rebuild() -> None:
        click.echo(f"report in {rebuild_report(out)}")

    handle_errors(rebuild)()
