"""N-subjettiness (fjcontrib through ``fastjet``) against hand-computed jets."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gen

ak = pytest.importorskip("awkward")
pytest.importorskip("fastjet")

from lhcad.gen.nsubjettiness import nsubjettiness


def massless(*particles: tuple[float, float, float]) -> dict[str, list[float]]:
    """Constituents ``(pT, y, phi)`` as ``px, py, pz, E`` lists (massless: y = eta)."""
    pt, y, phi = np.array(particles, dtype=float).T
    return {"px": list(pt * np.cos(phi)), "py": list(pt * np.sin(phi)), "pz": list(pt * np.sinh(y)), "E": list(pt * np.cosh(y))}


def jets(*constituents: dict[str, list[float]]) -> ak.Array:
    return ak.zip({name: ak.Array([c[name] for c in constituents]) for name in ("px", "py", "pz", "E")})


# Two pairs, each symmetric in rapidity about y = 0: (100 GeV at y = +-0.1, phi = 0) and
# (50 GeV at y = +-0.15, phi = 0.8). Exclusive kT first merges the softer pair
# (d = 50^2 0.3^2 = 225), then the harder one (100^2 0.2^2 = 400); every other distance is larger
# (the pairs are 0.8 apart, beam distances pT^2 >= 2500). Each pair's axis is its midpoint, which
# the one-pass minimisation keeps (equal weights on both sides), so
#   tau_2 = 2 (100 x 0.1) + 2 (50 x 0.15) = 35 GeV,
#   tau_3 = 2 (50 x 0.15) = 15 GeV (the hard pair's particles are their own axes).
TWO_PAIRS = massless((100, 0.1, 0.0), (100, -0.1, 0.0), (50, 0.15, 0.8), (50, -0.15, 0.8))
# Two 80 GeV particles 0.4 apart: any axis on the segment between them gives
#   tau_1 = 80 x 0.4 = 32 GeV; tau_2 = tau_3 = 0.
TWO_PRONGS = massless((80, 0.2, 0.5), (80, -0.2, 0.5))
SINGLE = massless((300, 1.0, 1.0))


def test_hand_computed_jets() -> None:
    taus = nsubjettiness(jets(TWO_PAIRS, TWO_PRONGS, SINGLE))
    assert taus.shape == (3, 3)
    np.testing.assert_allclose(taus[0, 1:], [35.0, 15.0], rtol=1e-9)
    np.testing.assert_allclose(taus[1], [32.0, 0.0, 0.0], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(taus[2], [0.0, 0.0, 0.0])


def test_tau1_is_the_minimum_over_one_axis() -> None:
    """tau_1 of the two pairs is at most that of the jet axis (phi ~ 0.27), and above tau_2."""
    taus = nsubjettiness(jets(TWO_PAIRS))[0]
    pt = np.array([100, 100, 50, 50])
    y = np.array([0.1, -0.1, 0.15, -0.15])
    phi = np.array([0.0, 0.0, 0.8, 0.8])
    axis_phi = np.arctan2(np.sum(pt * np.sin(phi)), np.sum(pt * np.cos(phi)))
    tau1_jet_axis = np.sum(pt * np.hypot(y, phi - axis_phi))
    assert taus[1] < taus[0] <= tau1_jet_axis + 1e-9


def test_unnormalised_taus_scale_with_momentum() -> None:
    doubled = {name: [2 * v for v in values] for name, values in TWO_PAIRS.items()}
    taus = nsubjettiness(jets(TWO_PAIRS, doubled))
    np.testing.assert_allclose(taus[1], 2 * taus[0], rtol=1e-9)


def test_no_jets() -> None:
    assert nsubjettiness(jets()).shape == (0, 3)
