"""Particle jets in the JetNet layout (Kansal et al., arXiv:2106.11535): relative coordinates,
the HDF5 writer and the reader of the real JetNet files.

A JetNet file (``g.hdf5``, ``t150.hdf5``, ...) holds two datasets:

* ``particle_features`` ``(N, P, 4)``: per particle ``eta_rel``, ``phi_rel``, ``pt_rel`` and the
  mask (1 for a particle, 0 for padding), ordered by pT descending, padding last;
* ``jet_features`` ``(N, 4)``: jet ``pt`` (GeV), ``eta``, ``mass`` (GeV) and the number of
  particles.

Relative coordinates are ``eta_rel = eta - eta_jet``, ``phi_rel = phi - phi_jet`` taken modulo
2 pi into [-pi, pi) (so a jet straddling phi = pi has the same relative coordinates as the
same jet at phi = 0: the seed's periodicity problem), and ``pt_rel = pt / pt_jet``.

>>> import numpy as np
>>> wrap_phi(np.array([3.0, -3.0, 2 * np.pi])).round(4)
array([ 3., -3.,  0.])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lhcad.errors import DataError
from lhcad.io.atomic import atomic_path

PARTICLE_FEATURES: tuple[str, ...] = ("etarel", "phirel", "ptrel", "mask")
JET_FEATURES: tuple[str, ...] = ("pt", "eta", "mass", "num_particles")
#: JetNet's jet types: gluon, light quark, top, W, Z.
JETNET_TYPES: tuple[str, ...] = ("g", "q", "t", "w", "z")
#: JetNet's particle counts.
N_PARTICLES: tuple[int, ...] = (30, 150)
#: Jet pT window (GeV) of the generated jets: JetNet's jets come from ~1 TeV partons.
JETNET_PT_RANGE: tuple[float, float] = (900.0, 1100.0)


@dataclass
class JetNetJets:
    """Jets in the JetNet layout.

    Attributes:
        particle_features: ``(N, P, 4)`` float32: eta_rel, phi_rel, pt_rel, mask.
        jet_features: ``(N, 4)`` float32: pt, eta, mass, number of particles.
        attrs: the file's attributes (jet type, seed, how it was made), when known.
    """

    particle_features: np.ndarray
    jet_features: np.ndarray
    attrs: dict[str, Any]

    def __len__(self) -> int:
        return len(self.jet_features)

    @property
    def points(self) -> np.ndarray:
        """``(N, P, 3)``: eta_rel, phi_rel, pt_rel."""
        return self.particle_features[..., :3]

    @property
    def mask(self) -> np.ndarray:
        """``(N, P)`` bool: which slots hold a particle."""
        return self.particle_features[..., 3] > 0.5


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Angles taken modulo 2 pi into [-pi, pi)."""
    return np.mod(np.asarray(phi) + np.pi, 2 * np.pi) - np.pi


def relative_coordinates(particles: np.ndarray, jets: np.ndarray) -> np.ndarray:
    """Absolute constituents -> JetNet particle features.

    Args:
        particles: ``(N, P, >=3)``: pt (GeV), eta, phi per slot; rows with pt = 0 are padding.
        jets: ``(N, >=3)``: jet pt, eta, phi.

    Returns:
        ``(N, P, 4)`` float32: eta_rel, phi_rel (modulo 2 pi), pt_rel, mask; padding rows are 0.
    """
    particles = np.asarray(particles, dtype=np.float64)
    jets = np.asarray(jets, dtype=np.float64)
    mask = particles[..., 0] > 0
    eta_rel = particles[..., 1] - jets[:, None, 1]
    phi_rel = wrap_phi(particles[..., 2] - jets[:, None, 2])
    pt_rel = particles[..., 0] / jets[:, None, 0]
    features = np.stack([eta_rel, phi_rel, pt_rel, mask.astype(np.float64)], axis=-1)
    return np.where(mask[..., None], features, 0.0).astype(np.float32)


def to_jetnet(
    particles: np.ndarray, jets: np.ndarray, n_particles: int
) -> tuple[np.ndarray, np.ndarray]:
    """JetNet ``particle_features`` ``(N, n_particles, 4)`` and ``jet_features`` ``(N, 4)`` of
    jets with pT-ordered absolute constituents ``(N, P, >=3)`` and jet ``(pt, eta, phi, mass)``.

    The hardest ``n_particles`` constituents are kept (fewer are zero-padded); the particle count
    is that of the kept ones, as in JetNet.
    """
    particles = np.asarray(particles)[:, :n_particles]
    if particles.shape[1] < n_particles:
        pad = np.zeros(
            (len(particles), n_particles - particles.shape[1], particles.shape[2]), particles.dtype
        )
        particles = np.concatenate([particles, pad], axis=1)
    features = relative_coordinates(particles, jets)
    jets = np.asarray(jets, dtype=np.float32)
    jet_features = np.stack([jets[:, 0], jets[:, 1], jets[:, 3], features[..., 3].sum(1)], axis=1)
    return features, jet_features.astype(np.float32)


def write_jetnet(path: str | Path, jets: JetNetJets) -> None:
    """Write ``jets`` as a JetNet HDF5 file (atomically); ``attrs`` become file attributes."""
    import h5py

    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("particle_features", data=np.asarray(jets.particle_features, np.float32))
        f.create_dataset("jet_features", data=np.asarray(jets.jet_features, np.float32))
        for key, value in jets.attrs.items():
            f.attrs[key] = value


def read_jetnet(path: str | Path) -> JetNetJets:
    """Read a JetNet HDF5 file (the real ones or those of ``lhcad generate --process jetnet``).

    Raises:
        DataError: missing or unreadable file, missing datasets, wrong shapes, non-finite values,
            a mask that is not 0/1, or no jets.
    """
    import h5py

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError("file not found", source=path)
    try:
        with h5py.File(path, "r") as f:
            missing = [name for name in ("particle_features", "jet_features") if name not in f]
            if missing:
                raise DataError(
                    f"not a JetNet file: no dataset {', '.join(missing)} (found: {', '.join(f)})",
                    source=path,
                )
            particle_features = np.asarray(f["particle_features"][...], dtype=np.float32)
            jet_features = np.asarray(f["jet_features"][...], dtype=np.float32)
            attrs = {key: _plain(value) for key, value in f.attrs.items()}
    except OSError as exc:
        raise DataError(f"cannot read as HDF5 ({exc})", source=path) from exc
    _check(particle_features, jet_features, path)
    return JetNetJets(particle_features, jet_features, attrs)


def _plain(value: Any) -> Any:
    """HDF5 attribute values as plain Python (numpy scalars and arrays unwrapped)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value.decode() if isinstance(value, bytes) else value


def _check(particle_features: np.ndarray, jet_features: np.ndarray, path: Path) -> None:
    if particle_features.ndim != 3 or particle_features.shape[2] != len(PARTICLE_FEATURES):
        raise DataError(
            f"particle_features must have shape (N, P, 4), got {particle_features.shape}",
            source=path,
        )
    if jet_features.ndim != 2 or jet_features.shape[1] < len(JET_FEATURES):
        raise DataError(
            f"jet_features must have shape (N, 4), got {jet_features.shape}", source=path
        )
    if len(particle_features) != len(jet_features):
        raise DataError(
            f"{len(particle_features)} particle rows for {len(jet_features)} jets", source=path
        )
    if len(jet_features) == 0:
        raise DataError("no jets in file", source=path)
    if not (np.isfinite(particle_features).all() and np.isfinite(jet_features).all()):
        raise DataError("NaN or infinite values", source=path)
    if not np.isin(particle_features[..., 3], (0.0, 1.0)).all():
        raise DataError(
            "the particle mask (feature 4) holds values other than 0 and 1", source=path
        )


def generate_jetnet(
    jet_type: str, n: int, n_particles: int, *, seed: int = 0, command: str = ""
) -> JetNetJets:
    """``n`` JetNet-like jets of ``jet_type`` (``g``, ``q``, ``t``, ``w``, ``z``) at pT ~ 1 TeV
    (:data:`JETNET_PT_RANGE`), from :func:`lhcad.gen.single_jets.generate_single_jets`."""
    from lhcad import __version__
    from lhcad.gen.single_jets import generate_single_jets

    sample = generate_single_jets(
        jet_type, n, JETNET_PT_RANGE, seed=seed, max_particles=n_particles
    )
    particle_features, jet_features = to_jetnet(sample.particles, sample.jets, n_particles)
    attrs = {
        "jet_type": jet_type,
        "seed": seed,
        "pt_range_gev": list(JETNET_PT_RANGE),
        "generator": f"lhcad {__version__} (Pythia 8 + FastJet, anti-kT R = 0.8, particle level)",
        "command": command,
    }
    return JetNetJets(particle_features, jet_features, attrs)
