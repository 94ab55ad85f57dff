"""Scale-out on Dask: a real LocalCluster gives the same results as the local executor."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.config.base import ExecutorConfig
from lhcad.executors import open_executor, split_evenly
from tests.conftest import toy_lhco_analysis

pytest.importorskip("distributed")


def _square(x: int, offset: int = 0) -> int:
    return x * x + offset


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::Warning")
def test_local_cluster_maps_in_order_with_shared_inputs() -> None:
    with open_executor(ExecutorConfig(kind="dask", n_workers=2)) as executor:
        assert executor.kind == "dask" and executor.n_workers == 2
        assert executor.map(_square, [3, 1, 2], offset=10) == [19, 11, 14]


def test_split_evenly_covers_every_item_once() -> None:
    groups = split_evenly(list(range(7)), 3)
    assert groups == [[0, 1, 2], [3, 4], [5, 6]]
    assert split_evenly([1], 4) == [[1]]


@pytest.mark.slow
@pytest.mark.gen
@pytest.mark.filterwarnings("ignore::Warning")
def test_generate_on_dask_gives_the_same_events_as_local(tmp_path: Path) -> None:
    pytest.importorskip("pythia8mc")
    common = ["generate", "--process", "signal", "--n", "60", "--chunk-size", "30", "--no-progress", "--workers", "2"]
    runner = CliRunner()
    assert runner.invoke(main, [*common, "--out", str(tmp_path / "local.parquet")]).exit_code == 0
    result = runner.invoke(main, [*common, "--out", str(tmp_path / "dask.parquet"), "--executor", "dask"])
    assert result.exit_code == 0, result.output
    local, dask = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "dask.parquet")
    assert len(dask) == len(local) == 60
    pd.testing.assert_frame_equal(local, dask)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::Warning")
def test_analysis_on_a_local_cluster_matches_the_local_run(tmp_path: Path) -> None:
    """Member groups trained and event chunks scored as Dask tasks give the in-process run's
    ensemble and scores."""
    import json

    analysis = toy_lhco_analysis(
        tmp_path,
        3000,
        300,
        5,
        train={"epochs": 2, "members": 4, "device": "cpu"},
        score={"batch_size": 1000},
        select={"top_n": [200]},
    )
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(analysis), "--out", str(tmp_path / "local")]).exit_code == 0
    result = runner.invoke(main, ["run", str(analysis), "--out", str(tmp_path / "dask"), "--set", "executor.kind=dask"])
    assert result.exit_code == 0, result.output
    local, dask = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("local", "dask"))
    for name, score in local["scores"].items():
        assert dask["scores"][name]["auc"] == pytest.approx(score["auc"], abs=1e-5)
    for name, mass in local["masses"].items():
        if mass["value"] is not None:
            assert dask["masses"][name]["value"] == pytest.approx(mass["value"], rel=1e-4)
    history = json.loads(next((tmp_path / "dask" / "cache" / "train").glob("*/history.json")).read_text())
    assert history["tasks"] == 2
    scores = [pd.read_parquet(next((tmp_path / d / "cache" / "score").glob("*/scores.parquet"))) for d in ("local", "dask")]
    pd.testing.assert_frame_equal(scores[0], scores[1], rtol=1e-5)
    assert "in 4 chunks on dask" in (tmp_path / "dask" / "lhcad.log").read_text()
