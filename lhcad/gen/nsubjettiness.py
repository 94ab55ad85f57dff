"""N-subjettiness of jets, computed by FastJet contrib's ``Nsubjettiness``.

The ``fastjet`` package exposes fjcontrib's N-jettiness through its Awkward-array interface: it
computes tau_N of *all* input particles of each "event". Feeding each jet's constituents as one
event therefore gives the jet's N-subjettiness

    tau_N = sum_k pT_k min(Delta R_1k, ..., Delta R_Nk)^beta

(unnormalised, in GeV; Delta R in rapidity-azimuth) with one-pass-minimised exclusive-kT axes
(``OnePass_KT_Axes``), as in the LHCO 2020 datasets.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from lhcad.gen.extra import require_gen_extra

AXES = "OnePass_KT_Axes"
MEASURE = "UnnormalizedMeasure"


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
    _, fastjet = require_gen_extra()
    if len(constituents) == 0:
        return np.zeros((0, n_max))
    jets_as_events = ak.zip(
        {name: ak.values_astype(constituents[name], np.float64) for name in ("px", "py", "pz", "E")},
        with_name="Momentum4D",
    )
    # The jet definition is irrelevant: N-jettiness uses every input of the sequence.
    sequence = fastjet.ClusterSequence(jets_as_events, fastjet.JetDefinition(fastjet.kt_algorithm, 1.0))
    taus = sequence.njettiness(
        measure_definition=MEASURE,
        axes_definition=AXES,
        njets=list(range(1, n_max + 1)),
        beta=beta,
        R0=1.0,
    )
    return np.asarray(ak.to_numpy(taus), dtype=np.float64).reshape(len(constituents), n_max)
