"""A parametric fast simulation of single electrons and photons in the CMS barrel ECAL, written
as 32 x 32 crystal images of energy and time (the CMS e/gamma open-data layout).

What it models, in the order a particle meets it (every number is a named constant of
:mod:`lhcad.families.egamma.constants`, with its origin):

1. A particle gun: p_T uniform in ``[pt_min, pt_max]``, eta uniform in ``[-eta_max, eta_max]``,
   from the nominal vertex; the image is centred on the shower, so the gun's phi is 0.
2. The tracker: ``t(eta)`` radiation lengths of material, spread uniformly in radius between
   the first pixel layer and the tracker's outer radius. A photon converts with probability
   ``1 - exp(-7/9 t)``, at a depth drawn from the same exponential law, into an e+e- pair
   sharing its energy by the high-energy Bethe-Heitler spectrum ``1 - 4/3 x (1 - x)``.
   Electrons (and conversion legs) radiate: over each of :data:`MATERIAL_STEPS` radial steps
   the fraction of energy they keep is ``z = exp(-g)`` with ``g ~ Gamma(dt / ln 2)`` (the
   Bethe-Heitler energy-loss distribution, exact for any thickness), and the energy lost
   leaves as one photon along the track's direction there. Charged tracks bend in phi in the
   3.8 T field (their curvature grows as they lose energy); a track that curls up before the
   ECAL deposits nothing. Bremsstrahlung photons fly straight to the ECAL.
3. The ECAL: every particle reaching it showers. Depths follow GFlash's Gamma profile with
   its correlated shower-to-shower fluctuations (photon showers start one mean free path
   later); the energy beyond the crystal length leaks out of the back. The lateral profile is GFlash's
   two-component radial form (depth-averaged), in Molière radii; a shower's depth shifts its
   energy sideways through the crystals' 3 degree off-pointing. Each shower is sampled as
   energy spots binned into 0.0174 x 0.0174 crystals.
4. The response: stochastic and constant resolution terms per shower, Gaussian noise per
   crystal, a zero-suppression threshold, and a time per crystal read out, smeared by the
   CMS time resolution (true times are 0: a 50 GeV particle's path differs from light's by
   far less than the resolution).

What it does not model: pile-up and the underlying event, multiple scattering, delta rays,
secondary conversions of bremsstrahlung photons, the tracker's layered structure, the gaps and
cracks between modules, the depth dependence of the lateral profile, electronic cross-talk, the
photostatistics of individual crystals, and anything in the endcaps. The images are therefore
only qualitatively like the CMS ones, and a classifier's AUC on them is not the CMS number.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from lhcad.families.egamma import constants as C

PARTICLES: tuple[str, ...] = tuple(C.LABELS)

#: Showers simulated per chunk (bounds memory: about 1 kB per energy spot in flight).
CHUNK_SIZE = 2000


@dataclass(frozen=True)
class ShowerSettings:
    """What the particle gun shoots and which parts of the response are on.

    Attributes:
        pt_min: lowest transverse momentum, GeV.
        pt_max: highest transverse momentum, GeV (equal to ``pt_min``: a fixed p_T).
        eta_max: the gun's |eta| range (the barrel ends at 1.479).
        material_scale: factor on the tracker material (0: no conversions, no bremsstrahlung).
        noise: crystal noise, zero suppression and time smearing.
        resolution: the stochastic and constant terms of the energy resolution.
    """

    pt_min: float = 50.0
    pt_max: float = 50.0
    eta_max: float = 1.4
    material_scale: float = 1.0
    noise: bool = True
    resolution: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.pt_min <= self.pt_max:
            raise ValueError(f"need 0 < pt_min <= pt_max (got {self.pt_min:g}, {self.pt_max:g})")
        if not 0 <= self.eta_max <= 1.479:
            raise ValueError(f"eta_max must lie in the barrel, [0, 1.479] (got {self.eta_max:g})")
        if self.material_scale < 0:
            raise ValueError("material_scale must not be negative")


@dataclass
class ShowerTruth:
    """What the generator drew for each shower before the calorimeter's response: the tracker's
    effect (conversion, bremsstrahlung, curling tracks) and what reaches the ECAL. Arrays of
    one value per shower; energies are fractions of the primary's energy, phi distances in
    crystals.

    Attributes:
        converted: the photon converted in the tracker (False for electrons).
        conversion_radius: radius of the conversion, m (NaN where there was none).
        brem_fraction: energy radiated as bremsstrahlung in the tracker (by the electron or by
            the conversion legs).
        lost_fraction: energy of tracks that curled up in the field before the ECAL.
        leading_fraction: energy of the most energetic particle reaching the ECAL.
        leading_is_photon: whether that particle is a photon (its shower starts one mean free
            path deeper than an electron's).
        second_fraction: energy of the second most energetic particle reaching the ECAL.
        second_dphi: its distance in phi from the most energetic one (0 where there is none).
        phi_spread: energy-weighted standard deviation of the phi of the particles reaching the
            ECAL.
        charge: the electron's charge (0 for photons).
    """

    converted: np.ndarray
    conversion_radius: np.ndarray
    brem_fraction: np.ndarray
    lost_fraction: np.ndarray
    leading_fraction: np.ndarray
    leading_is_photon: np.ndarray
    second_fraction: np.ndarray
    second_dphi: np.ndarray
    phi_spread: np.ndarray
    charge: np.ndarray

    #: The truth a classifier may be given (every field but the charge, which names the class).
    FEATURES: ClassVar[tuple[str, ...]] = (
        "converted", "conversion_radius", "brem_fraction", "lost_fraction", "leading_fraction",
        "leading_is_photon", "second_fraction", "second_dphi", "phi_spread",
    )  # fmt: skip

    def arrays(self) -> dict[str, np.ndarray]:
        """Every field by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def features(self) -> np.ndarray:
        """``(N, F)`` float64 of :attr:`FEATURES` (NaN where a conversion radius is undefined)."""
        return np.column_stack([getattr(self, name).astype(np.float64) for name in self.FEATURES])

    @classmethod
    def concatenate(cls, parts: Sequence[ShowerTruth]) -> ShowerTruth:
        """The truth of several samples, one after the other."""
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


@dataclass
class ShowerSample:
    """Simulated showers of one particle kind.

    Attributes:
        particle: ``electron`` or ``photon``.
        images: ``(N, 32, 32, 2)`` float32: energy in GeV and time in ns per crystal; rows are
            eta, columns phi; the most energetic crystal sits at (16, 16).
        energy: the particle's energy, GeV.
        eta: its pseudorapidity.
        truth: what the generator drew for each shower before the calorimeter's response.
    """

    particle: str
    images: np.ndarray
    energy: np.ndarray
    eta: np.ndarray
    truth: ShowerTruth

    @property
    def converted(self) -> np.ndarray:
        """Photons that converted in the tracker (always False for electrons)."""
        return self.truth.converted

    @property
    def labels(self) -> np.ndarray:
        """The class label of every shower (:data:`lhcad.families.egamma.constants.LABELS`)."""
        return np.full(len(self.images), C.LABELS[self.particle], dtype=np.int64)


def material_x0(abs_eta: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Tracker material in front of the ECAL, in radiation lengths, at |eta|."""
    return scale * np.interp(abs_eta, C.MATERIAL_ETA, C.MATERIAL_X0)


def conversion_probability(material: np.ndarray) -> np.ndarray:
    """Probability that a photon converts in ``material`` radiation lengths."""
    return -np.expm1(-C.PAIR_PRODUCTION_PER_X0 * np.asarray(material, dtype=np.float64))


def lateral_containment(radius_rm: np.ndarray | float) -> np.ndarray:
    """Fraction of a shower's energy within ``radius_rm`` Molière radii of its axis (the
    integral of the two-component lateral profile)."""
    r2 = np.square(np.asarray(radius_rm, dtype=np.float64))
    core, tail = C.CORE_RADIUS_RM**2, C.TAIL_RADIUS_RM**2
    return C.CORE_FRACTION * r2 / (r2 + core) + (1 - C.CORE_FRACTION) * r2 / (r2 + tail)


def sample_lateral_radius(rng: np.random.Generator, size: int) -> np.ndarray:
    """Distances of energy spots from the shower axis, in Molière radii (inverse-CDF sampling of
    each component: ``r = R sqrt(u / (1 - u))``)."""
    radius = np.where(rng.random(size) < C.CORE_FRACTION, C.CORE_RADIUS_RM, C.TAIL_RADIUS_RM)
    u = rng.random(size)
    return radius * np.sqrt(u / (1.0 - u))


def gflash_parameters(rng: np.random.Generator, energy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per shower, the (alpha, beta) of its Gamma depth profile ``dE/dt ~ t^(alpha-1) e^(-beta t)``
    (t in X0), drawn with GFlash's correlated fluctuations of ln T and ln alpha."""
    log_y = np.maximum(np.log(np.asarray(energy, dtype=np.float64) / C.CRITICAL_ENERGY_GEV), C.GFLASH_MIN_LOG_Y)
    a, b, c = C.GFLASH_LOG_ALPHA
    mean_log_t = np.log(log_y + C.GFLASH_LOG_T[0])
    mean_log_alpha = np.log(a + (b + c / C.EFFECTIVE_Z) * log_y)
    sigma_t = 1.0 / (C.GFLASH_SIGMA_LOG_T[0] + C.GFLASH_SIGMA_LOG_T[1] * log_y)
    sigma_alpha = 1.0 / (C.GFLASH_SIGMA_LOG_ALPHA[0] + C.GFLASH_SIGMA_LOG_ALPHA[1] * log_y)
    rho = C.GFLASH_CORRELATION[0] + C.GFLASH_CORRELATION[1] * log_y
    z1, z2 = rng.standard_normal((2, len(log_y)))
    t_max = np.exp(mean_log_t + sigma_t * z1)
    alpha = np.maximum(np.exp(mean_log_alpha + sigma_alpha * (rho * z1 + np.sqrt(1 - rho**2) * z2)), 1.1)
    return alpha, (alpha - 1.0) / t_max


def longitudinal_containment(alpha: np.ndarray, beta: np.ndarray, start: np.ndarray | float = 0.0) -> np.ndarray:
    """Fraction of a shower's energy deposited within the crystal length, for a Gamma depth
    profile (alpha, beta) starting at depth ``start`` (X0): the rest leaks out of the back.
    Computed exactly, so that spot sampling adds no leakage fluctuation of its own."""
    from scipy.special import gammainc

    return gammainc(alpha, beta * np.maximum(C.CRYSTAL_DEPTH_X0 - np.asarray(start), 0.0))


def _straight_phi_at_ecal(r: np.ndarray, phi: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Azimuth at the ECAL radius of a straight line leaving radius ``r`` (metres) at azimuth
    ``phi`` in direction ``psi``."""
    impact = np.clip(r * np.sin(psi - phi) / C.ECAL_RADIUS_M, -1.0, 1.0)
    return psi - np.arcsin(impact)


@dataclass
class ChargedTrack:
    """A charged particle carried to the ECAL: its energy there (0 when it curled up), its
    azimuth there, and the bremsstrahlung photons it radiated (energy and azimuth at the ECAL,
    one per material step)."""

    energy: np.ndarray
    phi: np.ndarray
    brem_energy: np.ndarray
    brem_phi: np.ndarray


def propagate_charged(
    rng: np.random.Generator,
    energy: np.ndarray,
    charge: np.ndarray,
    cosh_eta: np.ndarray,
    r_start: np.ndarray,
    material: np.ndarray,
) -> ChargedTrack:
    """Carry charged particles that start radially at ``r_start`` (metres) through ``material``
    radiation lengths (spread up to the tracker's outer radius) and the field to the ECAL."""
    n = len(energy)
    e = np.asarray(energy, dtype=np.float64).copy()
    phi, psi, r = np.zeros(n), np.zeros(n), np.asarray(r_start, dtype=np.float64).copy()
    alive = e > 0
    brem_e, brem_phi = np.zeros((n, C.MATERIAL_STEPS)), np.zeros((n, C.MATERIAL_STEPS))
    loss_shape = np.asarray(material, dtype=np.float64) / (C.MATERIAL_STEPS * math.log(2.0))

    def bend(dr: np.ndarray) -> None:
        nonlocal phi, psi, r, alive
        curvature = -charge * C.GEV_PER_TESLA_METRE * C.FIELD_TESLA * cosh_eta / np.where(e > 0, e, 1.0)
        sub = dr / C.BENDING_SUBSTEPS
        for _ in range(C.BENDING_SUBSTEPS):
            cosine = np.cos(psi - phi)
            alive = alive & (cosine > C.MIN_RADIAL_COSINE) & (e > 0)
            path = sub / np.maximum(cosine, C.MIN_RADIAL_COSINE)
            phi = phi + path * np.sin(psi + curvature * path / 2 - phi) / (r + sub / 2)  # midpoint rule
            psi = psi + curvature * path
            r = r + sub

    step = (C.TRACKER_OUTER_RADIUS_M - r) / C.MATERIAL_STEPS
    for k in range(C.MATERIAL_STEPS):
        kept = np.exp(-rng.gamma(loss_shape))
        brem_e[:, k] = np.where(alive, e * (1.0 - kept), 0.0)
        brem_phi[:, k] = _straight_phi_at_ecal(r, phi, psi)
        e = e * kept
        bend(step)
    free = np.full(n, (C.ECAL_RADIUS_M - C.TRACKER_OUTER_RADIUS_M) / C.FREE_FLIGHT_STEPS)
    for _ in range(C.FREE_FLIGHT_STEPS):
        bend(free)
    return ChargedTrack(np.where(alive, e, 0.0), phi, brem_e, brem_phi)


def sample_pair_fraction(rng: np.random.Generator, size: int) -> np.ndarray:
    """Energy fraction of one conversion leg: the high-energy Bethe-Heitler spectrum
    ``1 - 4/3 x (1 - x)`` on [0, 1], by rejection."""
    x = rng.random(size)
    pending = rng.random(size) >= 1 - 4.0 / 3.0 * x * (1 - x)
    while pending.any():
        x[pending] = rng.random(int(pending.sum()))
        pending[pending] = rng.random(int(pending.sum())) >= 1 - 4.0 / 3.0 * x[pending] * (1 - x[pending])
    return x


@dataclass
class Particles:
    """What reaches the ECAL per event: ``(N, S)`` energies, azimuths (radians, from the gun's
    direction) and whether each is a photon (its shower starts later); and per event whether
    the photon converted and where (radius in m, NaN: not converted), the energy radiated as
    bremsstrahlung, the energy of tracks that curled up, and the electron's charge (0:
    photon)."""

    energy: np.ndarray
    phi: np.ndarray
    photon: np.ndarray
    converted: np.ndarray
    conversion_radius: np.ndarray
    brem: np.ndarray
    lost: np.ndarray
    charge: np.ndarray


def _lost_energy(start: np.ndarray, track: ChargedTrack) -> np.ndarray:
    """Energy of a charged track that never reached the ECAL (its own and what it did not
    radiate before it curled up)."""
    return np.maximum(start - track.brem_energy.sum(axis=1) - track.energy, 0.0)


def electrons_at_ecal(rng: np.random.Generator, energy: np.ndarray, eta: np.ndarray, scale: float) -> Particles:
    """Electrons of either charge from the vertex, with their bremsstrahlung photons."""
    n = len(energy)
    charge = rng.choice([-1.0, 1.0], size=n)
    track = propagate_charged(
        rng, energy, charge, np.cosh(eta), np.full(n, C.TRACKER_INNER_RADIUS_M), material_x0(np.abs(eta), scale)
    )
    photon = np.ones((n, 1 + C.MATERIAL_STEPS), dtype=bool)
    photon[:, 0] = False
    return Particles(
        energy=np.column_stack([track.energy, track.brem_energy]),
        phi=np.column_stack([track.phi, track.brem_phi]),
        photon=photon,
        converted=np.zeros(n, dtype=bool),
        conversion_radius=np.full(n, np.nan),
        brem=track.brem_energy.sum(axis=1),
        lost=_lost_energy(np.asarray(energy, dtype=np.float64), track),
        charge=charge,
    )


def photons_at_ecal(rng: np.random.Generator, energy: np.ndarray, eta: np.ndarray, scale: float) -> Particles:
    """Photons, converted in the tracker (two bending legs and their bremsstrahlung) or not."""
    n = len(energy)
    material = material_x0(np.abs(eta), scale)
    p_convert = conversion_probability(material)
    converted = rng.random(n) < p_convert
    rate = C.PAIR_PRODUCTION_PER_X0 * np.maximum(material, 1e-12)
    depth_fraction = np.minimum(-np.log1p(-rng.random(n) * p_convert) / rate, 1.0)
    r_conversion = C.TRACKER_INNER_RADIUS_M + depth_fraction * (C.TRACKER_OUTER_RADIUS_M - C.TRACKER_INNER_RADIUS_M)
    share = sample_pair_fraction(rng, n)
    legs = [
        propagate_charged(rng, energy * x, np.full(n, q), np.cosh(eta), r_conversion, (1 - depth_fraction) * material)
        for x, q in ((share, -1.0), (1 - share, 1.0))
    ]
    conv_energy = np.column_stack([legs[0].energy, legs[1].energy, legs[0].brem_energy, legs[1].brem_energy])
    conv_phi = np.column_stack([legs[0].phi, legs[1].phi, legs[0].brem_phi, legs[1].brem_phi])
    plain_energy = np.zeros_like(conv_energy)
    plain_energy[:, 0] = energy
    photon = np.ones_like(conv_energy, dtype=bool)
    photon[:, :2] = ~converted[:, None]
    brem = legs[0].brem_energy.sum(axis=1) + legs[1].brem_energy.sum(axis=1)
    lost = _lost_energy(energy * share, legs[0]) + _lost_energy(energy * (1 - share), legs[1])
    return Particles(
        energy=np.where(converted[:, None], conv_energy, plain_energy),
        phi=np.where(converted[:, None], conv_phi, 0.0),
        photon=photon,
        converted=converted,
        conversion_radius=np.where(converted, r_conversion, np.nan),
        brem=np.where(converted, brem, 0.0),
        lost=np.where(converted, lost, 0.0),
        charge=np.zeros(n),
    )


def shower_truth(particles: Particles, primary_energy: np.ndarray) -> ShowerTruth:
    """The generator's truth of each event (:class:`ShowerTruth`) from what reached the ECAL."""
    n = len(primary_energy)
    order = np.argsort(-particles.energy, axis=1)
    rows = np.arange(n)[:, None]
    energy, phi, photon = (a[rows, order] for a in (particles.energy, particles.phi, particles.photon))
    total = energy.sum(axis=1)
    weights = energy / np.where(total > 0, total, 1.0)[:, None]
    phi_crystals = phi / C.CRYSTAL_SIZE
    mean_phi = (weights * phi_crystals).sum(axis=1)
    spread = np.sqrt(np.maximum((weights * (phi_crystals - mean_phi[:, None]) ** 2).sum(axis=1), 0.0))
    has_second = energy[:, 1] > 0
    return ShowerTruth(
        converted=particles.converted.copy(),
        conversion_radius=particles.conversion_radius.copy(),
        brem_fraction=particles.brem / primary_energy,
        lost_fraction=particles.lost / primary_energy,
        leading_fraction=energy[:, 0] / primary_energy,
        leading_is_photon=photon[:, 0] & (energy[:, 0] > 0),
        second_fraction=energy[:, 1] / primary_energy,
        second_dphi=np.where(has_second, np.abs(phi_crystals[:, 1] - phi_crystals[:, 0]), 0.0),
        phi_spread=spread,
        charge=particles.charge.astype(np.float64),
    )


def deposit_showers(
    rng: np.random.Generator, particles: Particles, primary_energy: np.ndarray, resolution: bool
) -> np.ndarray:
    """Shower every particle into a ``(N, GRID, GRID)`` crystal grid around the gun's direction
    (the impact point's position inside its crystal is uniform)."""
    n, per_event = particles.energy.shape
    event = np.repeat(np.arange(n), per_event)
    energy, phi, photon = (a.ravel() for a in (particles.energy, particles.phi, particles.photon))
    keep = energy > 0
    event, energy, phi, photon = event[keep], energy[keep], phi[keep], photon[keep]
    spots = np.maximum(1, np.ceil(C.SPOTS_PER_SHOWER * energy / primary_energy[event])).astype(np.int64)
    alpha, beta = gflash_parameters(rng, energy)
    start = np.where(photon, rng.exponential(C.PHOTON_MEAN_FREE_PATH_X0, len(energy)), 0.0)

    contained = longitudinal_containment(alpha, beta, start)
    owner = np.repeat(np.arange(len(energy)), spots)
    depth = np.minimum(start[owner] + rng.gamma(alpha[owner], 1.0 / beta[owner]), C.CRYSTAL_DEPTH_X0)
    spot_energy = (energy * contained / spots)[owner]
    radius = sample_lateral_radius(rng, len(owner)) * C.MOLIERE_RADIUS_CM
    angle = rng.uniform(0.0, 2 * math.pi, len(owner))
    tilt = depth * C.RADIATION_LENGTH_CM * C.TAN_OFF_POINTING
    offset = rng.random((2, n))
    spot_event = event[owner]
    u_eta = offset[0, spot_event] + (radius * np.cos(angle) + tilt) / C.CM_PER_CRYSTAL
    u_phi = offset[1, spot_event] + phi[owner] / C.CRYSTAL_SIZE + (radius * np.sin(angle) + tilt) / C.CM_PER_CRYSTAL
    row = np.floor(u_eta).astype(np.int64) + C.GRID_SIZE // 2
    col = np.floor(u_phi).astype(np.int64) + C.GRID_SIZE // 2
    inside = (row >= 0) & (row < C.GRID_SIZE) & (col >= 0) & (col < C.GRID_SIZE)
    cell = (spot_event * C.GRID_SIZE + row) * C.GRID_SIZE + col
    if resolution:  # drawn last: the same seed gives the same showers with and without it
        event_constant = rng.standard_normal(n) * C.CONSTANT_TERM
        smearing = rng.standard_normal(len(energy)) * C.STOCHASTIC_TERM / np.sqrt(energy) + event_constant[event]
        spot_energy = spot_energy * np.maximum(1.0 + smearing, 0.0)[owner]
    grid = np.bincount(cell[inside], weights=spot_energy[inside], minlength=n * C.GRID_SIZE**2)
    return grid.reshape(n, C.GRID_SIZE, C.GRID_SIZE)


def centre_on_maximum(grid: np.ndarray, size: int = C.IMAGE_SIZE) -> np.ndarray:
    """``(N, size, size)`` windows of the grids with each grid's most energetic crystal at
    ``(size // 2, size // 2)`` (shifted inwards where that would leave the grid)."""
    n, side, _ = grid.shape
    peak_row, peak_col = np.unravel_index(grid.reshape(n, -1).argmax(axis=1), (side, side))
    top = np.clip(peak_row - size // 2, 0, side - size)
    left = np.clip(peak_col - size // 2, 0, side - size)
    rows = top[:, None, None] + np.arange(size)[None, :, None]
    cols = left[:, None, None] + np.arange(size)[None, None, :]
    return grid[np.arange(n)[:, None, None], rows, cols]


def read_out(rng: np.random.Generator, energy: np.ndarray, noise: bool) -> np.ndarray:
    """Energy and time channels ``(N, H, W, 2)`` float32 from deposited energies: noise, zero
    suppression and time smearing when ``noise`` is on."""
    time = np.zeros_like(energy)
    if noise:
        energy = energy + rng.normal(0.0, C.NOISE_GEV, energy.shape)
        energy = np.where(energy >= C.READOUT_THRESHOLD_GEV, energy, 0.0)
        hit = energy > 0
        sigma = np.hypot(C.TIME_NOISE_TERM_NS * C.NOISE_GEV / np.where(hit, energy, 1.0), C.TIME_CONSTANT_TERM_NS)
        time = np.where(hit, np.clip(rng.standard_normal(energy.shape) * sigma, -C.TIME_WINDOW_NS, C.TIME_WINDOW_NS), 0.0)
    return np.stack([energy, time], axis=-1).astype(np.float32)


def _simulate_chunk(rng: np.random.Generator, particle: str, n: int, settings: ShowerSettings) -> ShowerSample:
    pt = rng.uniform(settings.pt_min, settings.pt_max, n)
    eta = rng.uniform(-settings.eta_max, settings.eta_max, n)
    energy = pt * np.cosh(eta)
    at_ecal = electrons_at_ecal if particle == "electron" else photons_at_ecal
    particles = at_ecal(rng, energy, eta, settings.material_scale)
    grid = deposit_showers(rng, particles, energy, settings.resolution)
    images = read_out(rng, centre_on_maximum(grid), settings.noise)
    return ShowerSample(particle, images, energy, eta, shower_truth(particles, energy))


def iter_showers(
    particle: str, n: int, *, seed: int = 0, settings: ShowerSettings | None = None
) -> Iterator[ShowerSample]:
    """The showers of :func:`simulate_showers`, chunk by chunk (at most :data:`CHUNK_SIZE`
    showers each), so that many showers can be summarised without holding all their images."""
    if particle not in PARTICLES:
        raise ValueError(f"unknown particle {particle!r} (choose: {', '.join(PARTICLES)})")
    if n < 1:
        raise ValueError("n must be positive")
    settings = settings or ShowerSettings()
    sizes = [min(CHUNK_SIZE, n - start) for start in range(0, n, CHUNK_SIZE)]
    children = np.random.SeedSequence([seed, C.LABELS[particle]]).spawn(len(sizes))
    for child, size in zip(children, sizes):
        yield _simulate_chunk(np.random.default_rng(child), particle, size, settings)


def simulate_showers(
    particle: str, n: int, *, seed: int = 0, settings: ShowerSettings | None = None
) -> ShowerSample:
    """Simulate ``n`` single ``particle`` showers (``electron`` or ``photon``); seeded and
    reproducible (chunk k draws from the k-th child of ``SeedSequence([seed, label])``).

    >>> sample = simulate_showers("photon", 3, seed=1)
    >>> sample.images.shape, sample.images.dtype
    ((3, 32, 32, 2), dtype('float32'))
    """
    chunks = list(iter_showers(particle, n, seed=seed, settings=settings))
    return ShowerSample(
        particle,
        np.concatenate([c.images for c in chunks]),
        np.concatenate([c.energy for c in chunks]),
        np.concatenate([c.eta for c in chunks]),
        ShowerTruth.concatenate([c.truth for c in chunks]),
    )
