"""``lhcad generate --format raw`` then ``lhcad features`` gives back the generator's own jets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.data.columns import JET_COLUMNS, LABEL, MJJ, RAW_N_COLUMNS

pytest.importorskip("fastjet")
pytest.importorskip("pythia8mc")
pytestmark = [pytest.mark.gen, pytest.mark.slow]  # generates, then clusters the raw output again

GENERATE = ["generate", "--process", "rnd", "--n", "12", "--n-signal", "4", "--no-progress"]


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_raw_output_clustered_again_gives_the_generated_jets_exactly(tmp_path: Path) -> None:
    """Same seed, jet-level response off: features written directly == raw file -> FastJet."""
    direct, raw, converted = (
        tmp_path / "direct.parquet",
        tmp_path / "raw.h5",
        tmp_path / "converted.parquet",
    )
    invoke(*GENERATE, "--out", str(direct), "--no-jet-response", "--massless")
    invoke(*GENERATE, "--out", str(raw), "--no-jet-response", "--format", "raw")
    summary = json.loads(invoke("features", str(raw), "--out", str(converted)))

    expected, found = pd.read_parquet(direct), pd.read_parquet(converted)
    assert summary["n_events"] == len(expected) == 16 and summary["n_without_two_jets"] == 0
    for column in (*JET_COLUMNS, MJJ):  # both float32: equal to float32 rounding, event by event
        np.testing.assert_allclose(
            found[column], expected[column], rtol=2e-6, atol=1e-3, err_msg=column
        )
    np.testing.assert_array_equal(found[LABEL], expected[LABEL])  # shuffled identically
    assert 0 < expected[LABEL].sum() < len(expected)

    table = pd.read_hdf(raw)  # the official layout: 2100 float64 particle columns + label
    assert table.shape == (16, RAW_N_COLUMNS + 1) and (table.dtypes == np.float64).all()
    pt = table.to_numpy()[:, :RAW_N_COLUMNS:3]
    assert (np.diff(pt, axis=1) <= 0).all()  # hardest particle first, zero padding last
    provenance = json.loads(raw.with_suffix(".provenance.json").read_text())
    assert provenance["output"]["format"] == "raw"
    assert all(
        s["config"]["massless"] and not s["config"]["jet_response"] for s in provenance["samples"]
    )
