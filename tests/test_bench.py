"""`lhcad bench` in CI size: every figure other tools read is present and positive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.data.parquet import write_events_parquet
from lhcad.data.toy import make_toy_events

pytestmark = pytest.mark.slow  # trains, scores and fits a whole pipeline, then reruns it

KEYS = (
    "train_events_per_s", "naive_train_events_per_s", "train_speedup_vs_naive", "score_events_per_s",
    "fit_seconds_per_histogram", "peak_rss_mb", "pipeline_seconds", "cached_rerun_seconds",
)  # fmt: skip


def test_bench_writes_every_figure(tmp_path: Path) -> None:
    events = tmp_path / "events.parquet"
    write_events_parquet(make_toy_events(2000, 200, seed=1), events)
    analysis = tmp_path / "a.yaml"
    analysis.write_text(
        "pipeline: [data, preprocess, train, score, select, histogram, fit, extract, export]\n"
        "train: {epochs: 1, members: 1, device: cpu}\nselect: {top_n: [100]}\n"
    )
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        main,
        ["bench", "--events", "3000", "--epochs", "1", "--members", "2", "--device", "cpu",
         "--analysis", str(analysis), "--data", str(events), "--json", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    for key in KEYS:
        assert figures[key] > 0, key
    assert figures["machine"]["cpu_threads"] >= 1 and figures["machine"]["torch"]
    # the fresh run's seconds per stage, as its results.json says, sum to at most its wall time
    stages = figures["pipeline_stage_seconds"]
    assert set(stages) == {"data", "preprocess", "train", "score", "select", "histogram", "fit", "extract", "export"}
    assert 0 < sum(stages.values()) <= figures["pipeline_seconds"]
