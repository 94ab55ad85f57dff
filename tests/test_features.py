"""Derived physics features: mjj from four-vectors, mass ordering, tau ratios, signal injection."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lhcad.data.columns import EVENT_ID, LABEL
from lhcad.data.features import add_derived_features
from lhcad.data.inject import inject_signal
from lhcad.data.toy import make_toy_events


def test_mjj_of_back_to_back_massive_jets_is_exact() -> None:
    # two jets of mass 100 GeV and |p| = 1000 GeV back to back: mjj = 2 * sqrt(1000^2 + 100^2)
    row = dict(pxj1=1000.0, pyj1=0.0, pzj1=0.0, mj1=100.0, tau1j1=10.0, tau2j1=5.0, tau3j1=2.0,
               pxj2=-1000.0, pyj2=0.0, pzj2=0.0, mj2=300.0, tau1j2=0.0, tau2j2=0.0, tau3j2=0.0)  # fmt: skip
    out = add_derived_features(pd.DataFrame([row]))
    expected = np.sqrt((np.hypot(1000, 100) + np.hypot(1000, 300)) ** 2)
    assert out["mjj"].iloc[0] == expected
    assert (out["mj_heavy"].iloc[0], out["mj_light"].iloc[0]) == (300.0, 100.0)
    assert out["tau21_light"].iloc[0] == 0.5
    assert np.isnan(out["tau21_heavy"].iloc[0])  # tau1 = 0: one-constituent jet
    assert out["delta_m"].iloc[0] == 200.0


def test_toy_signal_reconstructs_its_truth_masses() -> None:
    events = add_derived_features(make_toy_events(0, 4000, seed=2))
    assert abs(np.median(events["mjj"]) / 3500 - 1) < 0.01
    assert abs(np.median(events["mj_heavy"]) / 500 - 1) < 0.02


def test_injection_drops_existing_signal_and_adds_exactly_n(toy_events: pd.DataFrame) -> None:
    background = toy_events.assign(**{EVENT_ID: np.arange(len(toy_events))})
    signal = make_toy_events(0, 1000, seed=5).assign(**{EVENT_ID: np.arange(1000)})
    mixed = inject_signal(background, signal, n_signal=123, seed=4)
    assert (mixed[LABEL] == 1).sum() == 123
    assert len(mixed) == (toy_events[LABEL] == 0).sum() + 123
    assert mixed[EVENT_ID].is_unique
    again = inject_signal(background, signal, n_signal=123, seed=4)
    pd.testing.assert_frame_equal(mixed, again)
