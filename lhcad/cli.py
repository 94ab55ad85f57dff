"""The ``lhcad`` command line: a thin layer over the Python API.

Exit status: 0 success, 2 bad input (one line ``FILE: dotted.path: message`` on stderr),
1 internal error (``--debug`` shows the traceback).
"""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from lhcad import __version__
from lhcad.errors import LhcadError

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn lhcad's errors into one stderr line and exit 2; anything else exits 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        try:
            return func(*args, **kwargs)
        except LhcadError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {exc.line()}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except click.exceptions.Exit:
            raise
        except Exception as exc:  # a bug in lhcad
            if debug:
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lhcad")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def main(debug: bool) -> None:
    """lhcad: anomaly detection for LHC data, from events to fitted resonance masses."""


set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config field, e.g. select.top_n=[500,1000]."
)


@main.command()
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
    from lhcad.api import load_analysis
    from lhcad.api import run as run_api
    from lhcad.pipeline.registry import available_stages
    from lhcad.report.summary import summary_lines

    config = load_analysis(analysis, list(overrides))
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


@main.command()
@click.argument("analysis", type=click.Path(path_type=Path))
@set_option
@handle_errors
def validate(analysis: Path, overrides: tuple[str, ...]) -> None:
    """Validate an analysis and print the resolved configuration; runs nothing."""
    import yaml

    from lhcad.api import load_analysis
    from lhcad.pipeline.runner import stages_to_run

    config = load_analysis(analysis, list(overrides))
    click.echo(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), nl=False)
    _, note = stages_to_run(config)
    if note:
        click.echo(f"# {note}")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--key", default=None, help="HDF5 key of the frame.")
@handle_errors
def inspect(file: Path, key: str | None) -> None:
    """Show what lhcad sees in a data file."""
    from lhcad.data.inspect import describe_file

    click.echo(json.dumps(describe_file(file, key), indent=2))


@main.command()
def stages() -> None:
    """List the available stage kinds."""
    from lhcad.pipeline.registry import available_stages

    specs = available_stages()
    width = max(map(len, specs))
    for kind, spec in specs.items():
        click.echo(f"{kind:<{width}}  {spec.summary}")


@main.command()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--events", type=click.IntRange(min=1000), default=100_000, show_default=True, help="Events for training/scoring.")
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--members", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=1024, show_default=True)
@click.option("--no-naive", is_flag=True, help="Skip the naive reference trainer.")
@click.option("--analysis", type=click.Path(exists=True, path_type=Path), default=None, help="Also time `lhcad run` of this analysis.")
@click.option("--data", default=None, help="data.path for --analysis.")
@click.option("--raw", "raw_events", type=click.IntRange(min=1), default=None,
              help="Also time `lhcad features` on a synthetic raw file of this many events (gen extra; "
                   "16.8 kB per event of disk under $TMPDIR).")
@click.option("--raw-workers", type=click.IntRange(min=1), default=2, show_default=True, help="Workers for --raw.")
@click.option("--raw-convert", type=click.IntRange(min=1), default=None,
              help="Convert only the first N events of the --raw file (same code path; for busy machines).")
@click.option("--jet-images", type=click.IntRange(min=1), default=None,
              help="Also time one conv-VAE training epoch over this many 125x125x3 jet images (0.37 MB each in memory).")
@set_option
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None, help="Write the figures here.")
@handle_errors
def bench(
    device: str, events: int, epochs: int, members: int, batch_size: int, no_naive: bool,
    analysis: Path | None, data: str | None, raw_events: int | None, raw_workers: int, raw_convert: int | None,
    jet_images: int | None, overrides: tuple[str, ...], json_path: Path | None,
) -> None:  # fmt: skip
    """Measure training, scoring and fitting speed (and optionally a whole run) as JSON."""
    from lhcad.bench import run_bench
    from lhcad.pipeline.atomic import write_json_atomic

    figures = run_bench(
        device=device, events=events, epochs=epochs, members=members, batch_size=batch_size,
        naive=not no_naive, analysis=analysis, data=data, overrides=list(overrides),
        raw_events=raw_events, raw_workers=raw_workers, raw_convert=raw_convert, jet_images=jet_images,
    )  # fmt: skip
    if json_path is not None:
        write_json_atomic(json_path, figures)
    click.echo(json.dumps(figures, indent=2))


@main.command("report")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@handle_errors
def report_command(out: Path) -> None:
    """Rebuild OUT/report/ from the cached artifacts of the last run (reruns no stage)."""
    from lhcad.families.rebuild import rebuild_report

    click.echo(f"report in {rebuild_report(out)}")


def _register_late_commands() -> None:
    """Commands defined next to their subsystem (they import lhcad.cli themselves)."""
    from lhcad.families.egamma.cli import simulate_showers_command
    from lhcad.families.compress.cli import compress_command, decompress_command
    from lhcad.data.raw_cli import features_command
    from lhcad.gen.cli import generate_command
    from lhcad.nullstudy import null_command

    main.add_command(features_command, "features")
    main.add_command(compress_command, "compress")
    main.add_command(decompress_command, "decompress")
    main.add_command(generate_command, "generate")
    main.add_command(null_command, "null")
    main.add_command(simulate_showers_command, "simulate-showers")


_register_late_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
