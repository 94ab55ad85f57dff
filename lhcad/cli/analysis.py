"""``lhcad run``, ``validate``, ``report``, ``stages`` and ``inspect``: an analysis from its YAML
to its results, and what lhcad sees in a data file."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import yaml

from lhcad.api import load_analysis
from lhcad.api import run as run_api
from lhcad.cli.options import set_option
from lhcad.data.inspect import describe_file
from lhcad.errors import handle_errors
from lhcad.families.rebuild import rebuild_report
from lhcad.families.registry import unused_sections
from lhcad.pipeline.registry import available_stages
from lhcad.report.summary import summary_lines


@click.command()
@click.argument("analysis", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output directory [outputs/<name>/].")
@set_option
@click.option("--force", is_flag=True, help="Recompute every stage.")
@handle_errors
def run(analysis: Path, out: Path | None, overrides: tuple[str, ...], force: bool) -> None:
    """Run an analysis (stages are cached: a rerun only recomputes what changed).

    Ends with the masses (the lines of the report's banner and of results.json's ``summary``),
    then where the results and the report are.
    """
    config = load_analysis(analysis, list(overrides))
    with warnings_on_console():
        result = run_api(config, out=out, source=str(analysis), force=force, echo=click.echo)
    results = result.results or {}
    if results.get("masses"):
        click.echo("masses:")
        for line in results.get("summary") or summary_lines(results["masses"], config.extract.claim_significance):
            click.echo(f"  {line}")
    click.echo(f"outputs in {result.out}")
    if results:
        click.echo(f"results: {result.out / 'results.json'}")
    report = result.out / "report" / "index.html"
    specs = available_stages()
    if report.exists() and any("report" in specs[kind].publish.values() for kind in result.record.artifacts):
        click.echo(f"report:  {report}")


class _ConsoleWarnings(logging.Handler):
    """The run's warnings (``lhcad.log`` has them too) as ``warning: STAGE: message`` lines
    among the stage lines on stdout (stderr keeps the one-line error)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"warning: {record.name.removeprefix('lhcad.')}: {record.getMessage()}")


@contextmanager
def warnings_on_console() -> Iterator[None]:
    """Show lhcad's WARNING records on the console while the block runs (a dropped event, an
    invalid fit), not only in ``OUT/lhcad.log``."""
    handler = _ConsoleWarnings(logging.WARNING)
    logger = logging.getLogger("lhcad")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


@click.command()
@click.argument("analysis", type=click.Path(path_type=Path))
@set_option
@handle_errors
def validate(analysis: Path, overrides: tuple[str, ...]) -> None:
    """Validate an analysis and print the resolved configuration; runs nothing.

    Only the sections its run uses: those of its family (``kind``) that a stage of its pipeline
    reads; a comment names the ones left out.
    """
    config = load_analysis(analysis, list(overrides))
    unused = unused_sections(config)
    shown = {k: v for k, v in config.model_dump(mode="json").items() if k not in unused}
    click.echo(yaml.safe_dump(shown, sort_keys=False), nl=False)
    if unused:
        click.echo(f"# not shown, read by no stage of this pipeline: {', '.join(unused)}")
    _, note = config.stages_to_run()
    if note:
        click.echo(f"# {note}")


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--key", default=None, help="HDF5 key of the frame.")
@handle_errors
def inspect(file: Path, key: str | None) -> None:
    """Show what lhcad sees in a data file."""
    click.echo(json.dumps(describe_file(file, key), indent=2))


@click.command()
def stages() -> None:
    """List the available stage kinds."""
    specs = available_stages()
    width = max(map(len, specs))
    for kind, spec in specs.items():
        click.echo(f"{kind:<{width}}  {spec.summary}")


@click.command("report")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@handle_errors
def report_command(out: Path) -> None:
    """Rebuild OUT/report/ from the cached artifacts of the last run (reruns no stage)."""
    click.echo(f"report in {rebuild_report(out)}")
