"""The fit stage: jet masses fitted in the selection's mjj peak when asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lhcad.api import load_analysis
from lhcad.data.parquet import write_events_parquet
from lhcad.data.toy import make_toy_events
from lhcad.pipeline.runner import run_pipeline
from tests.conftest import write_analysis

pytestmark = pytest.mark.slow  # a whole pipeline up to the fit stage

# The toy's QCD mjj falls exponentially, so mjj is fitted on an exponential here.
ANALYSIS = """\
name: fit_region
pipeline: [data, preprocess, train, score, select, histogram, fit]
data:
  path: {data}
train: {{members: 2, epochs: 6, batch_size: 512}}
score: {{use: z_mean}}
select: {{top_n: [600, 1200]}}
fit:
  jet_mass_region: mjj_peak
  models:
    mjj: {{signal: double_crystal_ball, background: exponential, range: [2600.0, 6000.0], relative_width: [0.02, 0.15]}}
    mj_heavy: {{signal: double_crystal_ball, background: power_expo, free_tails: true, relative_width: [0.04, 0.15]}}
    mj_light: {{signal: double_crystal_ball, background: power_expo, free_tails: true, relative_width: [0.04, 0.15]}}
"""


def test_jet_masses_are_fitted_on_the_events_inside_the_mjj_peak(tmp_path: Path) -> None:
    data = tmp_path / "events.parquet"
    events = make_toy_events(6000, 600, seed=7)
    write_events_parquet(events, data)
    record = run_pipeline(load_analysis(write_analysis(tmp_path, ANALYSIS.format(data=data))), out=tmp_path / "out")
    fits = record.artifacts["fit"].read_json("fits.json")
    stored = record.artifacts["data"].read_table("events.parquet")
    selections = record.artifacts["select"].read_arrays("selections.npz")
    in_peak = 0
    for selection, rows in selections.items():
        mjj_fit = next(f for f in fits if f["selection"] == selection and f["observable"] == "mjj")
        for fit in (f for f in fits if f["selection"] == selection and f["observable"] != "mjj"):
            if not mjj_fit["valid"]:
                assert fit["region"] is None
                continue
            in_peak += 1
            lo, hi = mjj_fit["mean"] - 2 * mjj_fit["sigma"], mjj_fit["mean"] + 2 * mjj_fit["sigma"]
            assert fit["region"] == [lo, hi]
            chosen = stored.iloc[rows]
            inside = chosen[(chosen["mjj"] >= lo) & (chosen["mjj"] < hi)]
            expected = np.histogram(inside[fit["observable"]], fit["edges"])[0]
            np.testing.assert_array_equal(fit["counts"], expected)
            assert 0 < sum(fit["counts"]) < len(rows)
    assert in_peak > 0  # at least one selection has an mjj peak, so the region path ran
