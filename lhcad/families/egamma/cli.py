"""``lhcad simulate-showers``: single electron or photon showers in the CMS e/gamma file layout."""

from __future__ import annotations

from pathlib import Path

import click

from lhcad.errors import LhcadError, handle_errors
from lhcad.families.egamma.egamma_file import write_egamma_file
from lhcad.families.egamma.showers import ShowerSettings, simulate_showers


@click.command("simulate-showers")
@click.option("--particle", type=click.Choice(["electron", "photon"]), required=True, help="Particle kind.")
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Showers to simulate.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output HDF5 file (X: (N, 32, 32, 2) energy [GeV] and time [ns]; y: labels).")
@click.option("--pt-min", type=click.FloatRange(min=0, min_open=True), default=50.0, show_default=True,
              help="Lowest transverse momentum, GeV.")
@click.option("--pt-max", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Highest transverse momentum, GeV [pt-min: a fixed pT].")
@click.option("--eta-max", type=click.FloatRange(0.0, 1.479), default=1.4, show_default=True,
              help="|eta| range of the particle gun (barrel).")
@click.option("--material-scale", type=click.FloatRange(min=0.0), default=1.0, show_default=True,
              help="Factor on the tracker material (0: no conversions, no bremsstrahlung).")
@click.option("--noise/--no-noise", default=True, show_default=True,
              help="Crystal noise, zero suppression and time smearing.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def simulate_showers_command(
    particle: str, n: int, out: Path, pt_min: float, pt_max: float | None, eta_max: float,
    material_scale: float, noise: bool, seed: int, overwrite: bool,
) -> None:  # fmt: skip
    """Simulate single electron or photon showers in a PbWO4 crystal calorimeter behind a
    tracker in a 3.8 T field (lhcad's parametric fast simulation; see the README for what it
    models) and write them in the CMS e/gamma open-data layout."""
    handle_errors(_simulate)(particle, n, out, pt_min, pt_max, eta_max, material_scale, noise, seed, overwrite)


def _simulate(
    particle: str, n: int, out: Path, pt_min: float, pt_max: float | None, eta_max: float,
    material_scale: float, noise: bool, seed: int, overwrite: bool,
) -> None:  # fmt: skip
    if out.exists() and not overwrite:
        raise LhcadError("exists (use --overwrite to replace it)", source=out)
    pt_max = pt_min if pt_max is None else pt_max
    if pt_max < pt_min:
        raise LhcadError(f"--pt-max ({pt_max:g}) is below --pt-min ({pt_min:g})")
    settings = ShowerSettings(pt_min=pt_min, pt_max=pt_max, eta_max=eta_max, material_scale=material_scale, noise=noise)
    sample = simulate_showers(particle, n, seed=seed, settings=settings)
    try:
        write_egamma_file(out, sample.images, sample.labels)
    except OSError as exc:
        raise LhcadError(f"cannot write ({exc.strerror or exc})", source=out) from None
    converted = f", {sample.converted.mean():.1%} converted in the tracker" if particle == "photon" else ""
    click.echo(f"wrote {n} {particle} showers to {out}{converted}")
