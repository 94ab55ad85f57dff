"""The synthetic raw events of ``lhcad bench --raw`` look like LHCO dijet events to FastJet."""

from __future__ import annotations

import numpy as np
import pytest

from lhcad.data.columns import RAW_MAX_PARTICLES, RAW_N_COLUMNS
from lhcad.data.raw_bench import synthetic_raw_events

pytest.importorskip("fastjet")
pytestmark = pytest.mark.gen


def test_synthetic_events_cluster_into_two_hard_back_to_back_jets() -> None:
    from lhcad.data.raw_features import features_of_block

    rows, labels = synthetic_raw_events(200, np.random.default_rng(3))
    assert rows.shape == (200, RAW_N_COLUMNS) and set(np.unique(labels)) == {0, 1}
    multiplicity = (rows[:, ::3] > 0).sum(axis=1)
    assert 150 < multiplicity.mean() < 230 and multiplicity.max() < RAW_MAX_PARTICLES
    frame = features_of_block(rows.reshape(200, -1, 3), labels)
    pt1, pt2 = np.hypot(frame["pxj1"], frame["pyj1"]), np.hypot(frame["pxj2"], frame["pyj2"])
    assert frame["pxj1"].notna().all()
    assert np.median(pt1) > 1200 and np.median(pt2) > 1000  # most of each spray's 1.2-2 TeV
    dphi = np.angle(
        np.exp(
            1j
            * (np.arctan2(frame["pyj1"], frame["pxj1"]) - np.arctan2(frame["pyj2"], frame["pxj2"]))
        )
    )
    assert np.median(np.abs(dphi)) > 3.0  # back to back
