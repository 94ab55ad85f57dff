"""N-subjettiness of jets, computed by FastJet contrib's ``Nsubjettiness``.

The ``fastjet`` package exposes fjcontrib's N-jettiness through its Awkward-array interface: it
computes tau_N of *all* input particles of each "event". Feeding each jet's constituents as one
event therefore gives the jet's N-subjettiness

    tau_N = sum_k pT_k min(Delta R_1k, ..., Delta R_Nk)^beta

(unnormalised, in GeV; Delta R in rapidity-azimuth) with one-pass-minimised exclusive-kT axes
(``OnePass_KT_Axes``), as in the LHCO 2020 datasets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np

from lhcad.gen.extra import require_gen_extra

AXES = "OnePass_KT_Axes"
MEASURE = "UnnormalizedMeasure"


def _jets_as_events(constituents: ak.Array) -> Any:
    """A FastJet cluster sequence whose "events" are the jets' constituents (float64)."""
    _, fastjet = require_gen_extra()
    jets_as_events = ak.zip(
        {name: ak.values_astype(constituents[name], np.float64) for name in ("px", "py", "pz", "E")},
        with_name="Momentum4D",
    )
    # The jet definition is irrelevant: N-jettiness uses every input of the sequence.
    return fastjet.ClusterSequence(jets_as_events, fastjet.JetDefinition(fastjet.kt_algorithm, 1.0))


def _taus(sequence: Any, n_jets: int, n_max: int, beta: float) -> np.ndarray:
    taus = sequence.njettiness(
        measure_definition=MEASURE,
        axes_definition=AXES,
        njets=list(range(1, n_max + 1)),
        beta=beta,
        R0=1.0,
    )
    return np.asarray(ak.to_numpy(taus), dtype=np.float64).reshape(n_jets, n_max)


def nsubjettiness(constituents: ak.Array, n_max: int = 3, beta: float = 1.0) -> np.ndarray:
    """tau_1 .. tau_n_max of each jet.

    Args:
        constituents: One list of constituents per jet, records with ``px, py, pz, E`` (GeV).
        n_max: Largest N computed.
        beta: Angular exponent of the measure.

    Returns:
        Array ``(n_jets, n_max)`` of unnormalised tau_N in GeV (0 where a jet has at most N
        constituents).
    """
    if len(constituents) == 0:
        return np.zeros((0, n_max))
    return _taus(_jets_as_events(constituents), len(constituents), n_max, beta)


def nsubjettiness_betas(constituents: ak.Array, n_max: int, betas: Sequence[float]) -> np.ndarray:
    """tau_1 .. tau_n_max of each jet at several angular exponents, in one pass over the jets.

    The constituents are handed to FastJet once; fjcontrib then computes every N of one beta in
    one call (its one-pass axes are minimised for the measure, so each beta needs its own call).
    tau_N does not depend on which other N are computed with it: ``nsubjettiness_betas(c, 5,
    [1.0])[:, 0, :3]`` equals ``nsubjettiness(c, 3, 1.0)`` bit for bit.

    Args:
        constituents: One list of constituents per jet, records with ``px, py, pz, E`` (GeV).
        n_max: Largest N computed.
        betas: Angular exponents of the measure.

    Returns:
        Array ``(n_jets, len(betas), n_max)`` of unnormalised tau_N in GeV (0 where a jet has
        at most N constituents).
    """
    if len(constituents) == 0:
        return np.zeros((0, len(betas), n_max))
    sequence = _jets_as_events(constituents)
    return np.stack([_taus(sequence, len(constituents), n_max, beta) for beta in betas], axis=1)
