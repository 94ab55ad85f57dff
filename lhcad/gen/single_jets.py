"""Single labelled jets from Pythia 8 + FastJet: light-quark, gluon, top, W and Z jets.

Each jet type has its own hard process (13 TeV pp, multiple parton interactions off,
hadronisation on, as in :mod:`lhcad.gen.pythia`):

* ``q``, ``g``: QCD 2 -> 2 (``HardQCD:all``); a jet is labelled by the outgoing hard-process
  parton closest to it in (eta, phi) within the jet radius: ``q`` for u, d, s quarks,
  ``g`` for gluons (jets matched to c or b quarks, or to nothing, are dropped);
* ``t``: t tbar production with the W forced to quarks (both tops decay hadronically);
* ``w``, ``z``: a W or Z (no photon) recoiling against a parton (``WeakBosonAndParton``) and
  forced to quarks.

For ``t``, ``w`` and ``z`` the jet closest to the resonance within the jet radius is kept. A
fully contained decay is *not* required: at low pT part of a top's decay products can fall
outside the jet (at pT > 2 m / R, e.g. 430 GeV for tops with R = 0.8, most are contained).

Jets are anti-kT with radius ``jet_radius`` (0.8 by default) clustered from the visible
final-state particles with |eta| < 2.5 at particle level (no detector response: the jet images
and point clouds made from them apply their own granularity), and selected with jet pT in
``pt_range`` and |eta| < 2. The hard process's pTHat is generated from 0.8 x the lower pT
edge, which leaves a negligible bias at the lower edge of the range (jets rarely have more pT
than their parton). Seeds follow the generator's convention: chunk ``k`` of a run with seed
``s`` uses Pythia seed ``1 + 10000 s + k``; every jet type (and the joint quark/gluon request)
uses its own chunk, so samples of the same seed never share events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lhcad.data.columns import SQRT_S_GEV
from lhcad.gen.detector import pseudorapidity
from lhcad.gen.extra import GeneratorError, require_gen_extra
from lhcad.gen.generate import BATCH_SIZE, MAX_EMPTY_BATCHES, _ParticleTable
from lhcad.gen.pythia import make_pythia, pythia_seed

if TYPE_CHECKING:
    import awkward as ak

JET_TYPES: tuple[str, ...] = ("q", "g", "t", "w", "z")
PARTICLE_CATEGORIES: dict[int, str] = {
    0: "padding",
    1: "charged",
    2: "photon_or_electron",
    3: "neutral_hadron",
}
PARTICLE_ETA_MAX = 2.5
JET_ETA_MAX = 2.0
#: pTHatMin of the hard process, as a fraction of the lower edge of the jet pT range.
PTHAT_FRACTION = 0.8
LIGHT_QUARKS: tuple[int, ...] = (1, 2, 3)
GLUON = 21
#: Chunk of the Pythia seed of each request: every request runs on its own events.
_CHUNKS: dict[tuple[str, ...], int] = {
    ("q", "g"): 0,
    ("q",): 1,
    ("g",): 2,
    ("t",): 3,
    ("w",): 4,
    ("z",): 5,
}
_HADRONIC_DECAYS = "onIfAny = 1 2 3 4 5"


@dataclass
class JetSample:
    """Labelled jets with their constituents.

    Attributes:
        particles: ``(N, P, 4)`` float32: pt (GeV), eta, phi (absolute, in (-pi, pi]) and
            category (:data:`PARTICLE_CATEGORIES`) of each constituent, ordered by pt
            descending; rows of zeros pad jets with fewer than P constituents.
        jets: ``(N, 4)`` float32: jet pt (GeV), eta, phi, mass (GeV).
        labels: ``(N,)`` int64: index of the jet type in :data:`JET_TYPES`.
    """

    particles: np.ndarray
    jets: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def concatenate(cls, samples: list[JetSample]) -> JetSample:
        """The jets of several samples (all with the same number of particle slots), in order."""
        return cls(
            np.concatenate([s.particles for s in samples]),
            np.concatenate([s.jets for s in samples]),
            np.concatenate([s.labels for s in samples]),
        )


def hard_process_settings(jet_type: str, pthat_min: float) -> list[str]:
    """Pythia settings (seeds excluded) of the hard process producing jets of ``jet_type``."""
    common = [
        f"Beams:eCM = {SQRT_S_GEV:g}",
        "PartonLevel:MPI = off",
        "HadronLevel:all = on",
        "Print:quiet = on",
        f"PhaseSpace:pTHatMin = {pthat_min:g}",
    ]
    if jet_type in ("q", "g"):
        return [*common, "HardQCD:all = on"]
    if jet_type == "t":
        return [
            *common,
            "Top:gg2ttbar = on",
            "Top:qqbar2ttbar = on",
            "24:onMode = off",
            f"24:{_HADRONIC_DECAYS}",
        ]
    if jet_type == "w":
        return [
            *common,
            "WeakBosonAndParton:qqbar2Wg = on",
            "WeakBosonAndParton:qg2Wq = on",
            "24:onMode = off",
            f"24:{_HADRONIC_DECAYS}",
        ]
    if jet_type == "z":
        return [
            *common,
            "WeakBosonAndParton:qqbar2gmZg = on",
            "WeakBosonAndParton:qg2gmZq = on",
            "WeakZ0:gmZmode = 2",
            "23:onMode = off",
            f"23:{_HADRONIC_DECAYS}",
        ]
    raise GeneratorError(f"unknown jet type {jet_type!r} (known: {', '.join(JET_TYPES)})")


def _parton_type(pid: np.ndarray) -> np.ndarray:
    """Index in JET_TYPES of the jet a hard-process particle initiates, -1 for other flavours."""
    apid = np.abs(pid)
    kind = np.full(len(pid), -1, dtype=np.int64)
    kind[np.isin(apid, LIGHT_QUARKS)] = JET_TYPES.index("q")
    kind[apid == GLUON] = JET_TYPES.index("g")
    kind[apid == 6] = JET_TYPES.index("t")
    kind[apid == 24] = JET_TYPES.index("w")
    kind[apid == 23] = JET_TYPES.index("z")
    return kind


def _categories(pid: np.ndarray, charge: np.ndarray) -> np.ndarray:
    """Particle categories: photons and electrons 2, other charged 1, other neutral 3."""
    apid = np.abs(pid)
    category = np.where(charge != 0, 1, 3)
    category[(apid == 11) | (apid == 22)] = 2
    return category.astype(np.float32)


def _wrap(phi: np.ndarray) -> np.ndarray:
    """Angles mapped into (-pi, pi]."""
    wrapped = np.arctan2(np.sin(phi), np.cos(phi))
    return np.where(wrapped <= -np.pi, np.pi, wrapped)


def _kinematics(
    px: np.ndarray, py: np.ndarray, pz: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.hypot(px, py), pseudorapidity(px, py, pz), _wrap(np.arctan2(py, px))


def _delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    return np.hypot(eta1 - eta2, _wrap(phi1 - phi2))


@dataclass(frozen=True)
class _Selection:
    """What a batch keeps: jet pT window, radius, accepted types, particle slots."""

    pt_range: tuple[float, float]
    radius: float
    accept: tuple[int, ...]
    targets: tuple[int, ...]  # hard-process types jets are matched against
    max_particles: int


def _batch_jets(run: ak.Array, table: _ParticleTable, selection: _Selection) -> JetSample:
    """The selected, labelled jets of one Pythia batch."""
    import awkward as ak

    _, fastjet = require_gen_extra()
    prt = run["prt"]
    # Hard-process outgoing particles (status -22 resonances, -23 partons).
    hard = prt[(np.abs(prt.status) == 22) | (np.abs(prt.status) == 23)]
    final = prt[prt.status > 0]
    flat = ak.flatten(final, axis=1)
    pid = ak.to_numpy(flat.id)
    charge, visible = table.lookup(pid)
    px, py, pz, e = (
        ak.to_numpy(flat.p[name]).astype(np.float64) for name in ("px", "py", "pz", "e")
    )
    pt, eta, phi = _kinematics(px, py, pz)
    keep = visible & (np.abs(eta) < PARTICLE_ETA_MAX)
    counts = ak.to_numpy(ak.num(final, axis=1))
    event_of = np.repeat(np.arange(len(counts)), counts)
    kept_counts = np.bincount(event_of[keep], minlength=len(counts))
    category = _categories(pid[keep], charge[keep])
    columns = {"px": px[keep], "py": py[keep], "pz": pz[keep], "E": e[keep]}
    momenta = ak.zip(
        {k: ak.unflatten(v, kept_counts) for k, v in columns.items()}, with_name="Momentum4D"
    )
    sequence = fastjet.ClusterSequence(
        momenta, fastjet.JetDefinition(fastjet.antikt_algorithm, selection.radius)
    )
    min_pt = 0.5 * selection.pt_range[0]
    jets = sequence.inclusive_jets(min_pt=min_pt)
    members = sequence.constituent_index(min_pt=min_pt)

    starts = np.concatenate([[0], np.cumsum(kept_counts)[:-1]])
    p_pt, p_eta, p_phi = pt[keep], eta[keep], phi[keep]
    hard_type = _parton_type(ak.to_numpy(ak.flatten(hard.id)))
    h_pt, h_eta, h_phi = _kinematics(
        *(ak.to_numpy(ak.flatten(hard.p[k])) for k in ("px", "py", "pz"))
    )
    h_counts = ak.to_numpy(ak.num(hard, axis=1))
    h_starts = np.concatenate([[0], np.cumsum(h_counts)[:-1]])
    jet_counts = ak.to_numpy(ak.num(jets, axis=1))
    j_px, j_py, j_pz, j_e = (ak.to_numpy(ak.flatten(jets[k])) for k in ("px", "py", "pz", "E"))
    j_pt, j_eta, j_phi = _kinematics(j_px, j_py, j_pz)
    j_mass = np.sqrt(np.maximum(j_e**2 - j_px**2 - j_py**2 - j_pz**2, 0.0))
    j_starts = np.concatenate([[0], np.cumsum(jet_counts)[:-1]])

    low, high = selection.pt_range
    rows: list[np.ndarray] = []
    kinematics: list[list[float]] = []
    labels: list[int] = []
    for event in range(len(counts)):
        n_jets = int(jet_counts[event])
        h = slice(int(h_starts[event]), int(h_starts[event] + h_counts[event]))
        matchable = np.isin(hard_type[h], selection.targets) & (h_pt[h] > 0)
        if n_jets == 0 or not matchable.any():
            continue
        j = slice(int(j_starts[event]), int(j_starts[event]) + n_jets)
        types, eta_h, phi_h = hard_type[h][matchable], h_eta[h][matchable], h_phi[h][matchable]
        # distance of every jet (rows) to every target parton (columns)
        distance = _delta_r(j_eta[j][:, None], j_phi[j][:, None], eta_h[None, :], phi_h[None, :])
        for target in range(len(types)):
            jet = int(np.argmin(distance[:, target]))
            # the jet must be this parton's closest jet, and the parton the jet's closest one
            if distance[jet, target] >= selection.radius or int(np.argmin(distance[jet])) != target:
                continue
            if types[target] not in selection.accept:
                continue
            k = int(j_starts[event]) + jet
            if not (low <= j_pt[k] < high and abs(j_eta[k]) < JET_ETA_MAX):
                continue
            index = int(starts[event]) + np.asarray(members[event][jet], dtype=np.int64)
            order = np.argsort(-p_pt[index], kind="stable")[: selection.max_particles]
            index = index[order]
            row = np.zeros((selection.max_particles, 4), dtype=np.float32)
            row[: len(index)] = np.stack(
                [p_pt[index], p_eta[index], p_phi[index], category[index]], axis=1
            )
            rows.append(row)
            kinematics.append([j_pt[k], j_eta[k], j_phi[k], j_mass[k]])
            labels.append(int(types[target]))
    return JetSample(
        np.asarray(rows, dtype=np.float32).reshape(-1, selection.max_particles, 4),
        np.asarray(kinematics, dtype=np.float32).reshape(-1, 4),
        np.asarray(labels, dtype=np.int64),
    )


def _check(n: int, pt_range: tuple[float, float], max_particles: int, jet_radius: float) -> None:
    low, high = pt_range
    if n <= 0:
        raise GeneratorError(f"the number of jets must be positive, got {n}")
    if not 0 < low < high:
        raise GeneratorError(f"the jet pT range must satisfy 0 < low < high, got {pt_range}")
    if max_particles < 1:
        raise GeneratorError(f"max_particles must be positive, got {max_particles}")
    if not 0 < jet_radius <= 1.5:
        raise GeneratorError(f"jet_radius must be in (0, 1.5], got {jet_radius:g}")


def generate_jets(
    jet_types: tuple[str, ...],
    n_per_type: int,
    pt_range: tuple[float, float],
    *,
    seed: int = 0,
    max_particles: int = 150,
    jet_radius: float = 0.8,
) -> JetSample:
    """``n_per_type`` jets of each of ``jet_types``, all from one hard process.

    ``("q", "g")`` generates quark and gluon jets from the same QCD events (a balanced
    quark/gluon sample at the cost of one run); other types must be asked for one at a time.

    Returns:
        The jets, grouped by type in the order of ``jet_types``.

    Raises:
        GeneratorError: Without the gen extra, or for a bad type, range or count.
    """
    require_gen_extra()
    _check(n_per_type, pt_range, max_particles, jet_radius)
    unknown = [t for t in jet_types if t not in JET_TYPES]
    if unknown or not jet_types:
        raise GeneratorError(f"unknown jet types {unknown} (known: {', '.join(JET_TYPES)})")
    qcd = set(jet_types) <= {"q", "g"}
    if not qcd and len(set(jet_types)) > 1:
        raise GeneratorError(f"only q and g can be generated together, got {', '.join(jet_types)}")
    accept = tuple(JET_TYPES.index(t) for t in jet_types)
    targets = (JET_TYPES.index("q"), JET_TYPES.index("g")) if qcd else accept
    chunk = _CHUNKS.get(tuple(sorted(set(jet_types), key=JET_TYPES.index)), 0)
    selection = _Selection(pt_range, jet_radius, accept, targets, max_particles)
    pythia = make_pythia(
        hard_process_settings(jet_types[0], PTHAT_FRACTION * pt_range[0]), pythia_seed(seed, chunk)
    )
    table = _ParticleTable(pythia.particleData)
    found: dict[int, list[JetSample]] = {t: [] for t in accept}
    have = dict.fromkeys(accept, 0)
    empty_batches = 0
    while min(have.values()) < n_per_type:
        run = pythia.nextBatch(BATCH_SIZE)
        batch = _batch_jets(run, table, selection) if len(run) else None
        if batch is None or len(batch) == 0:
            empty_batches += 1
            if empty_batches >= 20 * MAX_EMPTY_BATCHES:
                raise GeneratorError(
                    f"no {'/'.join(jet_types)} jet with pT in {pt_range} GeV in "
                    f"{empty_batches} batches of {BATCH_SIZE} events"
                )
            continue
        empty_batches = 0
        for t in accept:
            mine = batch.labels == t
            take = np.flatnonzero(mine)[: n_per_type - have[t]]
            if len(take):
                found[t].append(
                    JetSample(batch.particles[take], batch.jets[take], batch.labels[take])
                )
                have[t] += len(take)
    return JetSample.concatenate([s for t in accept for s in found[t]])


def generate_single_jets(
    jet_type: str,
    n: int,
    pt_range: tuple[float, float],
    *,
    seed: int = 0,
    max_particles: int = 150,
    jet_radius: float = 0.8,
) -> JetSample:
    """``n`` jets of one type (``q``, ``g``, ``t``, ``w`` or ``z``; see the module docstring).

    Args:
        jet_type: One of :data:`JET_TYPES`.
        n: Number of jets.
        pt_range: Jet pT window ``(low, high)`` in GeV; jets also have |eta| < 2.
        seed: Run seed (0 .. 89999).
        max_particles: Constituent slots per jet (the hardest are kept, the rest padded).
        jet_radius: Anti-kT radius, also the matching radius to the hard-process parton.

    Returns:
        The jets, their constituents and labels.

    Raises:
        GeneratorError: Without the gen extra, or for an unknown type or bad settings.
    """
    if jet_type not in JET_TYPES:
        raise GeneratorError(f"unknown jet type {jet_type!r} (known: {', '.join(JET_TYPES)})")
    return generate_jets(
        (jet_type,), n, pt_range, seed=seed, max_particles=max_particles, jet_radius=jet_radius
    )
