"""``lhcad generate``: Pythia 8 + FastJet events in the LHCO format, to parquet.

Also single-jet images (:mod:`lhcad.families.jet_images.sample`) and JetNet jets
(:mod:`lhcad.families.pointcloud.jetnet`). Pythia and FastJet are imported only when the command
runs, so the CLI works without the ``gen`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lhcad.config.base import ExecutorConfig
from lhcad.data.columns import FEATURE_SETS
from lhcad.errors import handle_errors
from lhcad.executors import open_executor
from lhcad.families.jet_images import IMAGE_PROCESS_NAMES
from lhcad.families.jet_images.sample import generate_jet_sample, write_jet_sample_images
from lhcad.families.pointcloud.jetnet import JETNET_TYPES, N_PARTICLES, generate_jetnet, write_jetnet
from lhcad.gen import GeneratorError
from lhcad.gen.detector import DETECTORS
from lhcad.gen.generate import OUTPUT_FORMATS, SAMPLE_KINDS, generate_to_parquet, plan_samples
from lhcad.io.atomic import atomic_path


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
@click.option("--process", type=click.Choice((*SAMPLE_KINDS, "jetnet", *IMAGE_PROCESS_NAMES)), required=True,
              help="qcd dijets, the Z' -> X Y signal, or rnd: both (--n QCD + --n-signal signal), shuffled; "
                   "jetnet: --n single jets of --jet-type in the JetNet HDF5 layout; "
                   "qg, top, w, z with --images: single-jet images (half quark, half gluon jets for qg).")
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
@click.option("--jet-response/--no-jet-response", default=True, show_default=True,
              help="Jet-level smearing after clustering (simple detector); off, the features are "
                   "exactly those of the clustered particles (what `lhcad features` finds in a raw file).")
@click.option("--massless", is_flag=True,
              help="Cluster massless particles (E = |p|), as the raw format stores them (implied by --format raw).")
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="parquet", show_default=True,
              help="parquet: LHCO features; raw: the official raw particle layout (HDF5, 700 x (pT, eta, phi) + label).")
@click.option("--feature-set", type=click.Choice(FEATURE_SETS), default="standard", show_default=True,
              help="parquet: standard writes the official 14 jet columns; extended also tau1..5 of each jet at "
                   "beta = 0.5, 1, 2 (tau{N}j{J}_b05/_b1/_b2, GeV) and constituent counts (nconstj1, nconstj2).")
@click.option("--jet-type", type=click.Choice(JETNET_TYPES), default=None,
              help="--process jetnet: gluon, light-quark, top, W or Z jets at pT ~ 1 TeV.")
@click.option("--n-particles", type=click.Choice([str(n) for n in N_PARTICLES]), default=None,
              help="--process jetnet: particles per jet, zero-padded [30].")
@click.option("--images", is_flag=True,
              help="--process qg|top|w|z: 125x125x3 jet images (Tracks, ECAL, HCAL) in the CMS open-data HDF5 "
                   "layout (X_jets, m0, pt, y).")
@click.option("--pt-range", type=(float, float), default=None,
              help="--images: jet pT window LOW HIGH in GeV [80 120 for qg, near the CMS set's jets; 500 700 "
                   "for top, w, z].")
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

    Writes OUT (parquet: pxj1 .. tau3j2, mjj, label, with --feature-set extended also the
    extended substructure columns; or with --format raw the official raw particle layout, HDF5)
    and OUT's .provenance.json.
    """
    command = _command_line(click.get_current_context())
    if options["process"] == "jetnet":
        handle_errors(_generate_jetnet)(**options, command=command)
        return
    if options["process"] in IMAGE_PROCESS_NAMES or options["images"]:
        handle_errors(_generate_images)(**options, command=command)
        return
    for jetnet_only in ("jet_type", "n_particles", "images", "pt_range"):
        options.pop(jetnet_only)
    handle_errors(_generate)(**options, command=command)


def _generate_jetnet(
    *, jet_type: str | None, n: int, n_particles: str | None, out: Path, seed: int, overwrite: bool,
    command: str, **_: Any,
) -> None:
    if jet_type is None:
        raise GeneratorError("--process jetnet needs --jet-type (g, q, t, w or z)")
    if out.exists() and not overwrite:
        raise GeneratorError(f"{out} exists (use --overwrite to replace it)")
    jets = generate_jetnet(jet_type, n, int(n_particles or 30), seed=seed, command=command)
    write_jetnet(out, jets)
    click.echo(f"wrote {len(jets)} {jet_type} jets x {jets.particle_features.shape[1]} particles to {out}")


def _generate_images(
    *, process: str, images: bool, n: int, pt_range: tuple[float, float] | None, out: Path, seed: int,
    overwrite: bool, **_: Any,
) -> None:
    if process not in IMAGE_PROCESS_NAMES or not images:
        raise GeneratorError(f"jet images need --images and --process {'|'.join(IMAGE_PROCESS_NAMES)}")
    if out.exists() and not overwrite:
        raise GeneratorError("output exists (use --overwrite to replace it)", source=out)
    sample = generate_jet_sample(process, n, pt_range, seed)
    with atomic_path(out) as tmp:
        write_jet_sample_images(tmp, sample)
    click.echo(f"wrote {len(sample)} {process} jet images (125x125x3) to {out}")


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
    jet_response: bool,
    massless: bool,
    fmt: str,
    feature_set: str,
    seed: int,
    workers: int,
    chunk_size: int,
    overwrite: bool,
    executor: str,
    address: str | None,
    progress: bool,
    command: str,
) -> None:
    samples, shuffle = plan_samples(
        process, n, n_signal=n_signal, mZ=mz, mX=mx, mY=my, pthat_min=pthat_min, mpi=mpi, detector=detector,
        jet_response=jet_response, massless=massless, feature_set=feature_set,
    )  # fmt: skip
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
            fmt=fmt,
        )
    for sample in provenance["samples"]:
        click.echo(
            f"{sample['process']:<6} {sample['n_selected']:>8} events "
            f"(selection efficiency {sample['selection_efficiency']:.3f}, sigma {sample['sigma_selected_fb']:.4g} fb)"
        )
    click.echo(f"wrote {out} in {provenance['wall_s']:.0f} s")
