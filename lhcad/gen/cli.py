"""``lhcad generate``: Pythia 8 + FastJet events in the LHCO format, to parquet.

The lead registers :data:`generate_command` on the main group. Pythia and FastJet are imported
only when the command runs, so the CLI works without the ``gen`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lhcad.gen.detector import DETECTORS
from lhcad.gen.generate import SAMPLE_KINDS


def _command_line(context: click.Context) -> str:
    """The canonical ``lhcad generate`` command line of the context's options (for the provenance)."""
    words = ["lhcad", "generate"]
    for param in context.command.params:
        value = context.params.get(param.name or "")
        if value is None or param.name == "progress" or not isinstance(param, click.Option):
            continue
        if param.is_flag:
            words += param.opts[:1] if value else param.secondary_opts[:1]
        else:
            words += [param.opts[0], str(value)]
    return " ".join(words)


@click.command("generate")
@click.option("--process", type=click.Choice(SAMPLE_KINDS), required=True,
              help="qcd dijets, the Z' -> X Y signal, or rnd: both (--n QCD + --n-signal signal), shuffled.")
@click.option("--n", "n", type=click.IntRange(min=1), required=True,
              help="Selected events (QCD events for --process rnd).")
@click.option("--n-signal", type=click.IntRange(min=0), default=None,
              help="Signal events of --process rnd [n/10].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output parquet file.")
@click.option("--mZ", "mz", type=click.FloatRange(min=0, min_open=True), default=3500.0, show_default=True,
              help="Z' mass, GeV.")
@click.option("--mX", "mx", type=click.FloatRange(min=0, min_open=True), default=500.0, show_default=True,
              help="Mass of X (-> qq), GeV.")
@click.option("--mY", "my", type=click.FloatRange(min=0, min_open=True), default=100.0, show_default=True,
              help="Mass of Y (-> qq), GeV.")
@click.option("--pthat-min", type=click.FloatRange(min=0, min_open=True), default=1000.0, show_default=True,
              help="Minimum pT of the hard QCD scattering, GeV. 1000 misses ~13% of the selected "
                   "events (mostly at low mjj); 800 misses ~2% but is ~3x slower.")
@click.option("--mpi/--no-mpi", default=False, show_default=True,
              help="Multiple parton interactions (underlying event); off in the LHCO R&D sample.")
@click.option("--detector", type=click.Choice(DETECTORS), default="simple", show_default=True,
              help="Simple CMS-like response, or none (particle level).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Run seed: runs with different seeds are independent and can be combined.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Events per chunk (a killed run resumes from its finished chunks).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local processes, or chunks as tasks on a Dask cluster.")
@click.option("--address", default=None, help="Dask scheduler address (default: a LocalCluster of --workers workers).")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def generate_command(**options: Any) -> None:
    """Generate LHCO-format events with Pythia 8 + FastJet (needs the gen extra).

    Writes OUT (parquet: pxj1 .. tau3j2, mjj, label) and OUT's .provenance.json.
    """
    from lhcad.cli import handle_errors

    handle_errors(_generate)(**options, command=_command_line(click.get_current_context()))


def _generate(
    *,
    process: str,
    n: int,
    n_signal: int | None,
    out: Path,
    mz: float,
    mx: float,
    my: float,
    pthat_min: float,
    mpi: bool,
    detector: str,
    seed: int,
    workers: int,
    chunk_size: int,
    overwrite: bool,
    executor: str,
    address: str | None,
    progress: bool,
    command: str,
) -> None:
    from lhcad.config.models import ExecutorConfig
    from lhcad.executors import open_executor
    from lhcad.gen.generate import generate_to_parquet, plan_samples

    samples, shuffle = plan_samples(
        process, n, n_signal=n_signal, mZ=mz, mX=mx, mY=my, pthat_min=pthat_min, mpi=mpi, detector=detector
    )
    with open_executor(ExecutorConfig(kind=executor, address=address, n_workers=workers)) as runner:  # type: ignore[arg-type]
        provenance = generate_to_parquet(
            out,
            samples,
            seed=seed,
            workers=workers,
            chunk_size=chunk_size,
            shuffle=shuffle,
            overwrite=overwrite,
            progress=progress,
            command=command,
            executor=runner,
        )
    for sample in provenance["samples"]:
        click.echo(
            f"{sample['process']:<6} {sample['n_selected']:>8} events "
            f"(selection efficiency {sample['selection_efficiency']:.3f}, sigma {sample['sigma_selected_fb']:.4g} fb)"
        )
    click.echo(f"wrote {out} in {provenance['wall_s']:.0f} s")
