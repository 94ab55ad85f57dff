"""Long work says what it does (#31): the runner announces every stage it computes and its end,
and one progress facility (lhcad.executors.progress) shows a bar on a terminal and stays off
the console elsewhere; executors' tasks, Dask's included, advance it one by one."""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.executors import LocalExecutor
from lhcad.executors.progress import progress, progress_mode, quiet
from tests.conftest import toy_lhco_analysis


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture()
def terminal(monkeypatch: pytest.MonkeyPatch) -> FakeTerminal:
    """stderr, as the progress facility sees it, replaced by a fake terminal."""
    stream = FakeTerminal()
    monkeypatch.setattr("lhcad.executors.progress._stderr", lambda: stream)
    return stream


def test_progress_is_a_bar_on_a_terminal() -> None:
    stream = FakeTerminal()
    with progress(4, desc="toys", unit="toy", stream=stream, leave=True) as bar:
        assert bar.mode == "bar"
        for _ in range(4):
            bar.update()
    assert "toys" in stream.getvalue() and "4/4" in stream.getvalue()


def test_progress_stays_off_a_stream_that_is_no_terminal_and_logs_a_few_lines(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    with caplog.at_level(logging.INFO, logger="lhcad.progress"), progress(100, desc="epochs", stream=stream) as bar:
        assert bar.mode == "log"
        for _ in range(100):
            bar.update()
            with progress(10, desc="inner", stream=stream) as inner:  # nested: no lines of its own
                inner.update(10)
    assert stream.getvalue() == ""
    lines = [r.getMessage() for r in caplog.records if r.name == "lhcad.progress"]
    assert [line.split(",")[0] for line in lines] == [
        "epochs: 25/100 it (25%)", "epochs: 50/100 it (50%)", "epochs: 75/100 it (75%)", "epochs: 100/100 it (100%)"
    ]  # fmt: skip


def test_quiet_and_disabled_progress_show_nothing_even_on_a_terminal() -> None:
    stream = FakeTerminal()
    with quiet():
        assert progress_mode(True, stream) == "off"
        with progress(3, stream=stream) as bar:
            bar.update(3)
    with progress(3, stream=stream, enabled=False) as bar:
        bar.update(3)
    assert stream.getvalue() == "" and progress_mode(True, stream) == "bar"


def _square(x: int, offset: int = 0) -> int:
    return x * x + offset


def test_local_executor_shows_its_tasks_and_keeps_their_order(terminal: FakeTerminal) -> None:
    assert LocalExecutor().map(_square, [3, 1, 2], offset=10, desc="squares") == [19, 11, 14]
    shown = terminal.getvalue()
    assert "squares" in shown and "/3 " in shown
    assert LocalExecutor().map(_square, [5]) == [25]
    assert terminal.getvalue() == shown  # one task: no bar


class CompletingBackwards:
    """A Dask-like executor whose tasks finish last to first."""

    kind, n_workers = "dask", 2

    def map(self, func, items, /, desc=None, on_result=None, **shared):  # type: ignore[no-untyped-def]
        results = [func(item, **shared) for item in items]
        for index in reversed(range(len(items))):
            on_result(index, results[index])
        return results


def test_executors_hand_each_result_to_on_result_as_it_finishes(terminal: FakeTerminal) -> None:
    seen: list[tuple[int, int]] = []
    assert LocalExecutor().map(_square, [3, 1, 2], on_result=lambda i, r: seen.append((i, r))) == [9, 1, 4]
    assert seen == [(0, 9), (1, 1), (2, 4)] and terminal.getvalue() == ""  # the caller shows progress


def test_raw_conversion_counts_events_as_blocks_finish_in_any_order(tmp_path: Path, terminal: FakeTerminal) -> None:
    pytest.importorskip("fastjet")
    from lhcad.data.raw_features import convert_raw_file
    from tests.test_raw_features import two_pencil_jets, write_raw

    raw = tmp_path / "raw.h5"
    write_raw(raw, two_pencil_jets(30, seed=5)[0], labelled=True)
    local = convert_raw_file(raw, tmp_path / "local.parquet", chunk_rows=10)
    assert terminal.getvalue() == ""  # no progress asked for
    backwards = convert_raw_file(raw, tmp_path / "dask.parquet", chunk_rows=10, executor=CompletingBackwards(), progress=True)  # type: ignore[arg-type]
    assert "convert raw events" in terminal.getvalue() and "30/30" in terminal.getvalue()
    assert backwards["n_events"] == local["n_events"] == 30
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "dask.parquet"))


def test_trainer_shows_its_epochs_and_progress_changes_no_number(terminal: FakeTerminal) -> None:
    import torch

    from lhcad.models.trainer import TrainSettings, train_model

    x = torch.linspace(-1, 1, 64).reshape(-1, 1)
    settings = TrainSettings(epochs=3, batch_size=16, patience=None)

    def fit() -> list[dict]:
        torch.manual_seed(0)
        model = torch.nn.Linear(1, 1)
        loss = lambda m, batch, g: ((m(batch[0]) - 2 * batch[0]) ** 2).mean(dim=1)  # noqa: E731
        return train_model(model, loss, [x], [x], settings, seed=1).history

    shown = fit()
    assert "Linear" in terminal.getvalue() and "/3 " in terminal.getvalue()
    with quiet():
        assert fit() == shown


def test_the_runner_announces_each_stage_it_computes_and_its_end(tmp_path: Path, toy_parquet: Path) -> None:
    from lhcad.families.registry import load_analysis
    from lhcad.pipeline.runner import run_pipeline
    from tests.conftest import write_analysis

    config = load_analysis(write_analysis(tmp_path, f"name: t\npipeline: [data, preprocess]\ndata:\n  path: {toy_parquet}\n"))
    lines: list[str] = []
    run_pipeline(config, out=tmp_path / "out", echo=lines.append)
    assert [line.split(" in ")[0] for line in lines] == [
        "[1/2] data: read events (LHCO .h5 or parquet), inject signal, attach labels, derive mjj and jet features ...",
        "[1/2] data        done",
        "[2/2] preprocess: choose input features, split train/val/test, fit a quantile transform on train ...",
        "[2/2] preprocess  done",
    ]  # fmt: skip
    lines.clear()
    run_pipeline(config, out=tmp_path / "out", echo=lines.append)
    assert [line.split(" (")[0] for line in lines] == ["[1/2] data        cached", "[2/2] preprocess  cached"]
    assert all("(reused; computed in " in line for line in lines)


@pytest.mark.slow
def test_the_run_prints_a_line_when_each_stage_starts_and_ends(tmp_path: Path) -> None:
    analysis = toy_lhco_analysis(tmp_path, 1500, 150, 3, pipeline=["data", "preprocess", "train"])
    out = tmp_path / "out"
    first = CliRunner().invoke(main, ["run", str(analysis), "--out", str(out)])
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0].startswith("[1/3] data: ") and lines[0].endswith(" ...")
    assert lines[1].startswith("[1/3] data") and " done in " in lines[1]
    assert lines[4] == "[3/3] train: train the vectorized VAE ensemble (per-epoch validation AUC with labels) ..."
    assert lines[5].startswith("[3/3] train       done in ")
    log = (out / "lhcad.log").read_text()
    assert "stage train started" in log and "stage train done in" in log

    second = CliRunner().invoke(main, ["run", str(analysis), "--out", str(out)])
    assert second.exit_code == 0, second.output
    assert [line.split(" (")[0] for line in second.stdout.splitlines()[:3]] == [
        "[1/3] data        cached", "[2/3] preprocess  cached", "[3/3] train       cached"
    ]  # fmt: skip
    assert "(reused; computed in " in second.stdout.splitlines()[0]


def test_a_failing_stage_says_how_long_it_ran(tmp_path: Path, toy_parquet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lhcad.families.registry import load_analysis
    from lhcad.pipeline import runner
    from tests.conftest import write_analysis

    spec = runner.available_stages()["preprocess"]

    def explode(ctx: runner.StageContext) -> None:
        raise RuntimeError("killed mid-stage")

    monkeypatch.setitem(runner.available_stages(), "preprocess", type(spec)(**{**spec.__dict__, "run": explode}))
    config = load_analysis(write_analysis(tmp_path, f"name: t\npipeline: [data, preprocess]\ndata:\n  path: {toy_parquet}\n"))
    lines: list[str] = []
    with pytest.raises(RuntimeError):
        runner.run_pipeline(config, out=tmp_path / "out", echo=lines.append)
    assert lines[-2].startswith("[2/2] preprocess: ")
    assert lines[-1].startswith("[2/2] preprocess  failed after ") and lines[-1].endswith(" s (RuntimeError)")


_first_consumed = threading.Event()


def _wait_for_the_others(x: int) -> tuple[int, bool]:
    """Item 0 finishes only once the client consumed another item's result (or 20 s passed)."""
    if x == 0:
        return x, _first_consumed.wait(20)
    return x, True


def test_dask_results_come_back_in_order_while_consumed_as_they_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    import lhcad.executors as executors

    updates: list[int] = []

    class Recorder:
        def __init__(self, n_tasks: int, desc: str):
            self.desc = desc

        def __enter__(self) -> Recorder:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def update(self, n: int = 1) -> None:
            updates.append(n)
            _first_consumed.set()

    monkeypatch.setattr(executors, "task_progress", Recorder)
    _first_consumed.clear()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, Client(cluster) as client:
        results = executors.DaskExecutor(client).map(_wait_for_the_others, [0, 1, 2, 3])
    assert results == [(0, True), (1, True), (2, True), (3, True)]  # True: item 0 saw a result consumed first
    assert updates == [1, 1, 1, 1]


def test_the_dashboard_is_announced_only_when_asked_for() -> None:
    from lhcad.config.base import ExecutorConfig
    from lhcad.executors import _announce_dashboard

    assert ExecutorConfig().dashboard_address is None
    assert ExecutorConfig(kind="dask", dashboard_address=":8787").dashboard_address == ":8787"

    class Client:
        dashboard_link = "http://127.0.0.1:8787/status"

        def __init__(self, services: dict):
            self.services = services

        def scheduler_info(self) -> dict:
            return {"services": self.services}

    lines: list[str] = []
    _announce_dashboard(Client({"dashboard": 8787}), lines.append)
    _announce_dashboard(Client({}), lines.append)
    assert lines == ["Dask dashboard: http://127.0.0.1:8787/status", "Dask dashboard: not served (it needs bokeh: pip install bokeh)"]
