"""A simple CMS-like detector response, vectorised over all particles of a batch of events.

Particles come as flat numpy arrays (all events concatenated) plus per-event counts. The
response follows ``shared/data/README.md`` (the recipe of lhcad's reference data):

* tracks (charged): 97% efficiency, sigma(pT)/pT = sqrt(0.015^2 + (3e-4 pT)^2), pT > 0.5 GeV;
* photons: sigma(E)/E = sqrt(0.007^2 + 0.07^2/E + 0.35^2/E^2), direction snapped to
  0.0174 x 0.0174 (eta, phi) cells, E > 0.5 GeV, massless;
* other neutral particles (neutral hadrons): sigma(E)/E = sqrt(0.08^2 + 1.2^2/E), direction
  snapped to 0.087 x 0.087 cells, E > 1 GeV, massless;
* |eta| < 2.5 for everything (also without a detector response);
* after clustering, a jet-level response on the two leading jets: four-momentum scaled by
  1 + 0.05 g1 and jet mass by 1 + 0.07 g2 (g1, g2 standard normal).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DETECTORS: tuple[str, ...] = ("simple", "none")


@dataclass(frozen=True)
class Particles:
    """Flat four-momenta of the particles of several events (GeV), ``counts[i]`` per event."""

    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    counts: np.ndarray

    def select(self, keep: np.ndarray) -> Particles:
        """The particles where ``keep`` is true (events keep their order, maybe emptied)."""
        event = np.repeat(np.arange(len(self.counts)), self.counts)
        counts = np.bincount(event[keep], minlength=len(self.counts))
        return Particles(self.px[keep], self.py[keep], self.pz[keep], self.e[keep], counts)


@dataclass(frozen=True)
class DetectorSettings:
    """Parameters of the simple detector response (defaults: the reference data's recipe)."""

    eta_max: float = 2.5
    track_efficiency: float = 0.97
    track_pt_min: float = 0.5
    track_resolution_const: float = 0.015
    track_resolution_pt: float = 3e-4
    photon_e_min: float = 0.5
    photon_resolution: tuple[float, float, float] = (0.007, 0.07, 0.35)
    photon_cell: float = 0.0174
    hadron_e_min: float = 1.0
    hadron_resolution: tuple[float, float] = (0.08, 1.2)
    hadron_cell: float = 0.087
    jet_scale_resolution: float = 0.05
    jet_mass_resolution: float = 0.07

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return asdict(self)


def pseudorapidity(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> np.ndarray:
    """Pseudorapidity (+-inf along the beam, NaN for a null momentum)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.arcsinh(pz / np.hypot(px, py))


def _snap(values: np.ndarray, cell: float, offset: float = 0.0) -> np.ndarray:
    """The centre of the cell of width ``cell`` (grid starting at ``offset``) holding each value."""
    return (np.floor((values - offset) / cell) + 0.5) * cell + offset


def _calorimeter(
    eta: np.ndarray, phi: np.ndarray, energy: np.ndarray, cell: float, e_min: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Massless deposits at the cell centres; the mask says which pass the energy threshold."""
    eta_c = _snap(eta, cell)
    phi_c = _snap(phi, cell, offset=-np.pi)
    keep = energy > e_min
    pt = energy / np.cosh(eta_c)
    return pt * np.cos(phi_c), pt * np.sin(phi_c), pt * np.sinh(eta_c), energy, keep


def apply_detector(
    particles: Particles,
    charge: np.ndarray,
    pid: np.ndarray,
    rng: np.random.Generator,
    detector: str = "simple",
    settings: DetectorSettings | None = None,
) -> Particles:
    """Turn visible final-state particles into reconstructed tracks and calorimeter deposits.

    Args:
        particles: Visible final-state particles of a batch of events.
        charge: Electric charge of each particle (in units of e).
        pid: PDG id of each particle (22 marks photons).
        rng: Random generator of the smearing and the track efficiency.
        detector: ``simple`` (the response above) or ``none`` (only the |eta| acceptance).
        settings: Detector parameters (default: the reference recipe).

    Returns:
        The reconstructed particles, in the input's event order.
    """
    if detector not in DETECTORS:
        raise ValueError(f"unknown detector {detector!r} (known: {', '.join(DETECTORS)})")
    s = settings or DetectorSettings()
    px, py, pz, e = particles.px, particles.py, particles.pz, particles.e
    eta = pseudorapidity(px, py, pz)
    accepted = np.abs(eta) < s.eta_max
    if detector == "none":
        return particles.select(accepted)

    n = len(px)
    gauss = rng.standard_normal(n)
    phi = np.arctan2(py, px)
    pt = np.hypot(px, py)
    track = charge != 0
    sigma_pt = np.hypot(s.track_resolution_const, s.track_resolution_pt * pt)
    scale = np.where(track, 1.0 + sigma_pt * gauss, 1.0)
    out_px, out_py, out_pz = px * scale, py * scale, pz * scale
    mass2 = np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0)
    out_e = np.where(track, np.sqrt(out_px**2 + out_py**2 + out_pz**2 + mass2), e)
    efficient = rng.random(n) < s.track_efficiency
    keep = accepted & track & efficient & (pt * scale > s.track_pt_min)

    photon = accepted & ~track & (pid == 22)
    hadron = accepted & ~track & (pid != 22)
    a, b, c = s.photon_resolution
    h_const, h_stoch = s.hadron_resolution
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma_photon = np.sqrt(a**2 + b**2 / e + c**2 / e**2)
        sigma_hadron = np.sqrt(h_const**2 + h_stoch**2 / e)
    for mask, sigma_e, cell, e_min in (
        (photon, sigma_photon, s.photon_cell, s.photon_e_min),
        (hadron, sigma_hadron, s.hadron_cell, s.hadron_e_min),
    ):
        energy = e[mask] * (1.0 + sigma_e[mask] * gauss[mask])
        cpx, cpy, cpz, ce, ckeep = _calorimeter(eta[mask], phi[mask], energy, cell, e_min)
        out_px[mask], out_py[mask], out_pz[mask], out_e[mask] = cpx, cpy, cpz, ce
        keep[mask] = ckeep
    return Particles(out_px, out_py, out_pz, out_e, particles.counts).select(keep)


def smear_jets(
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    mass: np.ndarray,
    rng: np.random.Generator,
    settings: DetectorSettings | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Jet-level response: momentum scaled by 1 + sigma_s g1, mass by (1 + sigma_s g1)(1 + sigma_m g2).

    Returns:
        The smeared ``px, py, pz, mass`` and the momentum scale factors (to rescale other
        energy-like jet observables, e.g. unnormalised N-subjettiness).
    """
    s = settings or DetectorSettings()
    scale = 1.0 + s.jet_scale_resolution * rng.standard_normal(len(px))
    mass_scale = 1.0 + s.jet_mass_resolution * rng.standard_normal(len(px))
    new_mass = np.maximum(mass * scale * mass_scale, 0.0)
    return px * scale, py * scale, pz * scale, new_mass, scale
