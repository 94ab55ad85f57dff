"""``lhcad null``: an analysis run unchanged on background-only pseudo-experiments."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.data.parquet import write_events_parquet
from lhcad.data.toy import make_toy_events
from lhcad.nullstudy import run_significance, sample_rows, summarise

ROOT = Path(__file__).resolve().parents[1]


def test_samples_are_disjoint_blocks_then_seeded_draws() -> None:
    rows = sample_rows(1000, 300, 5, seed=1)
    assert [len(r) for r in rows] == [300] * 5
    blocks = np.concatenate(rows[:3])
    assert np.array_equal(blocks, np.arange(900))  # three disjoint blocks fit in 1000 events
    assert all(len(np.unique(r)) == 300 and r.max() < 1000 for r in rows[3:])  # draws without replacement
    assert not np.array_equal(rows[3], rows[4])
    assert all(np.array_equal(a, b) for a, b in zip(rows, sample_rows(1000, 300, 5, seed=1)))


def test_a_sample_counts_its_most_significant_mass_and_its_claims() -> None:
    masses = {"mjj": {"global_significance": 1.2, "claimed": False}, "mj_heavy": {"global_significance": 3.4, "claimed": True},
              "mj_light": {"global_significance": None, "claimed": False}}  # fmt: skip
    assert run_significance({"masses": masses}) == (3.4, ["mj_heavy"])
    assert run_significance({}) == (0.0, [])
    # without a valid fit, the procedure's evidence still counts: the best of 5 selections' bump
    # hunts (p 0.002, times 5) and a window scan (p 0.02), the smaller doubled: p = 0.02
    hunts = {f"s{k}": {"global_p": p} for k, p in enumerate([0.002, 0.3, 0.5, 0.9, 1.0])}
    z, _ = run_significance({"masses": {}, "bumphunt": hunts, "window_scan": {"global_p": 0.02}})
    assert np.isclose(z, 2.054, atol=1e-3)
    summary = summarise([0.0, 0.5, 1.5, 2.5], [[], [], [], ["mjj"]])
    assert summary["samples_with_a_claim"] == 1
    assert summary["fraction_at_or_above"]["1"]["observed"] == 0.5
    assert np.isclose(summary["fraction_at_or_above"]["2"]["expected"], 0.02275, atol=1e-5)


@pytest.mark.slow
def test_the_shipped_analysis_on_background_alone_claims_nothing(tmp_path: Path) -> None:
    background = tmp_path / "qcd.parquet"
    write_events_parquet(make_toy_events(9000, 0, seed=5), background)
    fast = ["train.members=1", "train.epochs=1", "select.top_n=[200]", "select.efficiencies=[]",
            "fit.n_starts=1", "fit.minos=false", "bumphunt.n_toys=50", "report.formats=[png]"]  # fmt: skip
    out = tmp_path / "null"
    args = ["null", str(ROOT / "analyses" / "lhco_rnd.yaml"), "--background", str(background), "--samples", "3",
            "--size", "4000", "--out", str(out), *[a for s in fast for a in ("--set", s)]]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    (study,) = json.loads((out / "null.json").read_text())["studies"]
    assert [s["kind"] for s in study["samples"]] == ["block", "block", "random draw"]
    assert study["summary"]["samples_with_a_claim"] == 0
    assert all(0.0 <= s["global_significance"] < 3.0 for s in study["samples"])
    assert (out / "null.png").stat().st_size > 0 and (out / "lhco_rnd" / "runs" / "2" / "results.json").exists()


def test_a_background_file_with_signal_is_refused(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.parquet"
    write_events_parquet(make_toy_events(500, 50, seed=5), mixed)
    args = ["null", str(ROOT / "analyses" / "lhco_rnd.yaml"), "--background", str(mixed), "--size", "200", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "signal-labelled" in result.output
