"""The Python API is the CLI's machinery: same config, same results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import lhcad
from lhcad.cli import main
from lhcad.data.parquet import write_events_parquet
from lhcad.data.toy import make_toy_events


def test_api_and_cli_give_the_same_results(tmp_path: Path) -> None:
    events = tmp_path / "events.parquet"
    write_events_parquet(make_toy_events(2000, 200, seed=3), events)
    analysis = tmp_path / "a.yaml"
    analysis.write_text(
        f"pipeline: [data, preprocess, train, score, select, histogram, fit, extract, export]\ndata: {{path: {events}}}\n"
        "train: {epochs: 2, members: 2, device: cpu}\n"
    )
    config = lhcad.load_analysis(analysis, {"select.top_n": [100, 200]})
    run = lhcad.run(config, out=tmp_path / "api")
    assert CliRunner().invoke(main, ["run", str(analysis), "--out", str(tmp_path / "cli"), "--set", "select.top_n=[100,200]"]).exit_code == 0
    cli_results = json.loads((tmp_path / "cli" / "results.json").read_text())
    strip = lambda r: {k: v for k, v in r.items() if k not in ("created", "timing")}
    assert strip(run.results) == strip(cli_results)
    scores = run.artifact("score").read_table("scores.parquet")
    assert len(scores) == run.results["data"]["n_events"]
    with pytest.raises(lhcad.LhcadError, match="did not run"):
        run.artifact("report")


def test_api_errors_are_lhcads_own_types(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {epochs: 0}\n")
    with pytest.raises(lhcad.ConfigError, match="train.epochs"):
        lhcad.load_analysis(bad)
