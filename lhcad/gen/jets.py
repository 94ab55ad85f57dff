"""Jet clustering (anti-kT), the dijet selection and the LHCO feature columns."""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np
import pandas as pd

from lhcad.data.columns import EXTENDED_BETAS, EXTENDED_N_MAX, JET_COLUMNS, MJJ, NCONST_COLUMNS, tau_column
from lhcad.gen.detector import DetectorSettings, Particles, smear_jets
from lhcad.gen.extra import require_gen_extra
from lhcad.gen.nsubjettiness import nsubjettiness, nsubjettiness_betas

N_TAUS = 3


@dataclass(frozen=True)
class Dijets:
    """The two leading jets of the selected events.

    Attributes:
        events: Index (in the input batch) of each selected event.
        p4: ``(n, 2, 4)`` four-momenta ``px, py, pz, E`` of j1, j2 (ordered by pT).
        taus: ``(n, 2, 3)`` unnormalised tau_1..tau_3 of j1, j2 (beta = 1).
        extended: With the extended feature set, ``(n, 2, len(EXTENDED_BETAS), EXTENDED_N_MAX)``
            unnormalised tau_N of j1, j2 at each beta of ``EXTENDED_BETAS``; else ``None``.
        n_constituents: ``(n, 2)`` constituents of j1, j2.
    """

    events: np.ndarray
    p4: np.ndarray
    taus: np.ndarray
    extended: np.ndarray | None = None
    n_constituents: np.ndarray | None = None


def _momenta(particles: Particles) -> ak.Array:
    def column(values: np.ndarray) -> ak.Array:
        return ak.unflatten(np.asarray(values, dtype=np.float64), particles.counts)

    return ak.zip(
        {"px": column(particles.px), "py": column(particles.py), "pz": column(particles.pz), "E": column(particles.e)},
        with_name="Momentum4D",
    )


def select_dijets(
    particles: Particles,
    *,
    radius: float = 1.0,
    jet_pt_min: float = 20.0,
    lead_pt_min: float = 1200.0,
    extended: bool = False,
) -> Dijets:
    """Cluster anti-kT jets and keep events with two jets and a hard leading jet.

    Args:
        particles: Reconstructed particles of a batch of events.
        radius: Anti-kT radius parameter.
        jet_pt_min: Minimum pT of a jet, GeV.
        lead_pt_min: Minimum pT of the leading jet, GeV.
        extended: Also compute tau_1 .. tau_EXTENDED_N_MAX at every beta of ``EXTENDED_BETAS``
            (one FastJet pass over the jets, one fjcontrib call per beta; the beta = 1 taus
            give ``taus``, identical to the standard computation).

    Returns:
        The selected events' two leading jets with their N-subjettiness and multiplicities.
    """
    _, fastjet = require_gen_extra()
    sequence = fastjet.ClusterSequence(_momenta(particles), fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    jets = sequence.inclusive_jets(min_pt=jet_pt_min)
    constituents = sequence.constituents(min_pt=jet_pt_min)
    order = ak.argsort(np.hypot(jets.px, jets.py), axis=1, ascending=False)
    jets, constituents = jets[order], constituents[order]
    lead_pt = ak.fill_none(ak.firsts(np.hypot(jets.px, jets.py), axis=1), 0.0)
    selected = (ak.num(jets, axis=1) >= 2) & (lead_pt > lead_pt_min)
    events = np.flatnonzero(ak.to_numpy(selected))
    leading = jets[events][:, :2]
    p4 = np.stack([ak.to_numpy(leading[name]) for name in ("px", "py", "pz", "E")], axis=-1)
    jet_constituents = ak.flatten(constituents[events][:, :2], axis=1)
    n_constituents = ak.to_numpy(ak.num(jet_constituents, axis=1)).reshape(len(events), 2)
    all_taus = None
    if extended:
        all_taus = nsubjettiness_betas(jet_constituents, EXTENDED_N_MAX, EXTENDED_BETAS)
        taus = all_taus[:, EXTENDED_BETAS.index(1.0), :N_TAUS]
        all_taus = all_taus.reshape(len(events), 2, len(EXTENDED_BETAS), EXTENDED_N_MAX)
    else:
        taus = nsubjettiness(jet_constituents, n_max=N_TAUS)
    return Dijets(
        events=events,
        p4=p4.reshape(len(events), 2, 4),
        taus=taus.reshape(len(events), 2, N_TAUS),
        extended=all_taus,
        n_constituents=n_constituents,
    )


def invariant_mass(p4: np.ndarray) -> np.ndarray:
    """Mass of four-momenta ``(..., 4)`` (``px, py, pz, E``); 0 where rounding makes m^2 < 0."""
    m2 = p4[..., 3] ** 2 - p4[..., 0] ** 2 - p4[..., 1] ** 2 - p4[..., 2] ** 2
    return np.sqrt(np.maximum(m2, 0.0))


def lhco_features(
    dijets: Dijets, rng: np.random.Generator | None = None, settings: DetectorSettings | None = None
) -> pd.DataFrame:
    """The LHCO feature columns (``pxj1 .. tau3j2``, float32), ``mjj`` and, when ``dijets``
    has them, the extended columns (``EXTENDED_COLUMNS``, float32) of selected dijets.

    The jet-level response scales every tau of a jet by the jet's momentum scale factor (tau is
    linear in the constituents' pT), the extended ones included; multiplicities are unchanged.

    Args:
        dijets: The selected jets.
        rng: Random generator of the jet-level detector response; ``None``: no response.
        settings: Detector parameters of the jet-level response.

    Returns:
        One row per selected event.
    """
    p4 = dijets.p4.copy()
    mass = invariant_mass(p4)
    taus = dijets.taus.copy()
    extended = None if dijets.extended is None else dijets.extended.copy()
    if rng is not None:
        flat = p4.reshape(-1, 4)
        px, py, pz, new_mass, scale = smear_jets(flat[:, 0], flat[:, 1], flat[:, 2], mass.reshape(-1), rng, settings)
        energy = np.sqrt(px**2 + py**2 + pz**2 + new_mass**2)
        p4 = np.stack([px, py, pz, energy], axis=-1).reshape(p4.shape)
        mass = new_mass.reshape(mass.shape)
        taus = taus * scale.reshape(-1, 2, 1)
        if extended is not None:
            extended = extended * scale.reshape(-1, 2, 1, 1)
    columns: dict[str, np.ndarray] = {}
    for j in (0, 1):
        values = (p4[:, j, 0], p4[:, j, 1], p4[:, j, 2], mass[:, j], *taus[:, j].T)
        names = JET_COLUMNS[7 * j : 7 * (j + 1)]
        columns.update(dict(zip(names, values, strict=True)))
    columns[MJJ] = invariant_mass(p4.sum(axis=1))
    if extended is not None:
        for j in (0, 1):
            for b, beta in enumerate(EXTENDED_BETAS):
                for n in range(EXTENDED_N_MAX):
                    columns[tau_column(n + 1, j + 1, beta)] = extended[:, j, b, n]
        assert dijets.n_constituents is not None
        columns.update(dict(zip(NCONST_COLUMNS, dijets.n_constituents.T, strict=True)))
    return pd.DataFrame({name: np.asarray(v, dtype=np.float32) for name, v in columns.items()})
