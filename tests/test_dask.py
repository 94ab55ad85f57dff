"""Scale-out on Dask: a real LocalCluster gives the same results as the local executor."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.config.models import ExecutorConfig
from lhcad.executors import open_executor, split_evenly

pytest.importorskip("distributed")


def _square(x: int, offset: int = 0) -> int:
    return x * x + offset


@pytest.mark.filterwarnings("ignore::Warning")
def test_local_cluster_maps_in_order_with_shared_inputs() -> None:
    with open_executor(ExecutorConfig(kind="dask", n_workers=2)) as executor:
        assert executor.kind == "dask" and executor.n_workers == 2
        assert executor.map(_square, [3, 1, 2], offset=10) == [19, 11, 14]


def test_split_evenly_covers_every_item_once() -> None:
    groups = split_evenly(list(range(7)), 3)
    assert groups == [[0, 1, 2], [3, 4], [5, 6]]
    assert split_evenly([1], 4) == [[1]]


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
