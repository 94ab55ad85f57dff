"""The report of a run: figures and a static HTML page (``OUT/report/index.html``).

The ``report`` stage builds it at the end of ``lhcad run``; :func:`rebuild_report` (``lhcad
report OUT``) rebuilds it from the cached artifacts of the last run without recomputing any
stage, e.g. after a change to the plotting code.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from lhcad.errors import LhcadError
from lhcad.pipeline.artifacts import Artifact

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


def rebuild_report(out: Path) -> Path:
    """Rebuild ``out/report/`` from the cached artifacts of the last run (no stage reruns) and
    swap it in atomically; returns the path of ``index.html``."""
    from lhcad.config import AnalysisConfig
    from lhcad.pipeline.atomic import replace_tree
    from lhcad.report.build import build_report

    out = Path(out)
    artifacts, run = run_artifacts(out)
    artifacts.pop(REPORT, None)
    for needed in ("data", "extract"):
        if needed not in artifacts:
            raise LhcadError(f"the last run has no {needed!r} stage: nothing to report", source=out / "run.json")
    source = next((a for a in reversed(artifacts.values()) if "analysis" in a.manifest.get("config", {})), None)
    if source is None:
        raise LhcadError("no cached stage recorded the analysis configuration", source=out / "run.json")
    analysis = AnalysisConfig.model_validate(source.manifest["config"]["analysis"])
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
