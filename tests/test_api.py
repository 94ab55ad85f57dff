"""The Python API is the CLI's machinery: same config, same results; typed views of artifacts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import hist
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import lhcad
from lhcad.cli import main
from lhcad.fit.binned import FitResult
from tests.conftest import toy_lhco_analysis

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# one selection, one fit start, no MINOS: the smallest run that still goes from events to masses
QUICK = ["select.top_n=[200]", "fit.n_starts=1", "fit.minos=false"]


def _analysis(tmp_path: Path, **sections: Any) -> Path:
    return toy_lhco_analysis(tmp_path, 2000, 200, 3, **sections)


def _without_run_times(results: dict) -> dict:
    return {k: v for k, v in results.items() if k not in ("created", "timing")}


@pytest.mark.slow
def test_api_and_cli_give_the_same_results_and_typed_views(tmp_path: Path) -> None:
    analysis = _analysis(tmp_path)
    config = lhcad.load_analysis(analysis, QUICK)
    run = lhcad.run(config, out=tmp_path / "api")
    cli = CliRunner().invoke(
        main, ["run", str(analysis), "--out", str(tmp_path / "cli"), *[f"--set={s}" for s in QUICK]]
    )
    assert cli.exit_code == 0, cli.output
    cli_results = json.loads((tmp_path / "cli" / "results.json").read_text())
    assert run.results is not None
    assert _without_run_times(run.results) == _without_run_times(cli_results)
    assert not any(run.cached.values())
    # the CLI's run, read back from its output directory: the same analysis and results
    opened = lhcad.open_run(tmp_path / "cli")
    assert opened.config == config
    assert opened.results == cli_results
    assert opened.scores().equals(run.scores())

    # typed views: a DataFrame per event, hist histograms of the selection, FitResult objects
    events, scores = run.events(), run.scores()
    assert isinstance(scores, pd.DataFrame)
    assert len(scores) == len(events) == run.results["data"]["n_events"] == 2200
    rows = run.selections()["top200"]
    assert len(rows) == 200
    assert (
        scores["score"].to_numpy()[rows].min() >= np.delete(scores["score"].to_numpy(), rows).max()
    )
    mjj = run.histograms()["top200"]["mjj"]
    assert isinstance(mjj, hist.Hist)
    assert mjj.axes[0].name == "mjj" and mjj.axes[0].label == "$m_{jj}$ [GeV]"
    assert mjj.sum(flow=True) == 200
    inside = (events["mjj"].to_numpy()[rows] >= 1500) & (events["mjj"].to_numpy()[rows] < 6000)
    assert mjj.sum() == inside.sum()
    fits = run.fits()
    assert set(fits) == {("top200", name) for name in ("mjj", "mj_heavy", "mj_light")}
    stored = next(f for f in run.results["fits"] if f["observable"] == "mjj")
    fit = fits["top200", "mjj"]
    assert isinstance(fit, FitResult)
    # the stage adds where the fit ran (selection, region of the jet-mass fits) to the fit's fields
    assert fit.to_dict() == {k: v for k, v in stored.items() if k not in ("selection", "region")}
    if fit.params:
        total, background = fit.expected_counts()
        assert np.all(total >= background - 1e-9)
    assert math.isnan(fit.mean) if stored["mean"] is None else fit.mean == stored["mean"]
    # beyond values and errors: HESSE's matrices of the free parameters, and the fit's Minuit
    # rebuilt from the record at the recorded minimum
    assert len(stored["covariance"]) == len(stored["correlation"]) == len(stored["free_params"]) > 0
    m = fit.minuit()
    for name in ("s", "mean", "sigma", "b"):
        assert m.values[name] == pytest.approx(stored["params"][name], abs=0.05 * stored["errors"][name])
    if m.valid:  # MINOS on a parameter the fit did not ask it for
        m.minos("sigma")
        assert m.merrors["sigma"].lower < 0 < m.merrors["sigma"].upper

    # a new selection reruns only what follows the select stage
    rerun = lhcad.run(
        lhcad.load_analysis(analysis, [*QUICK, "select.top_n=[100]"]), out=tmp_path / "api"
    )
    assert rerun.cached == {
        "data": True, "preprocess": True, "train": True, "score": True,
        "select": False, "histogram": False, "fit": False, "extract": False, "export": False,
    }  # fmt: skip
    assert [s["name"] for s in rerun.results["selections"]] == ["top100"]
    with pytest.raises(lhcad.LhcadError, match="did not run"):
        rerun.artifact("bumphunt")


def test_run_accepts_a_path_and_report_needs_the_reported_stages(tmp_path: Path) -> None:
    analysis = _analysis(tmp_path, pipeline=["data"])
    run = lhcad.run(analysis, out=tmp_path / "out")
    assert run.results is None
    assert len(run.events()) == 2200
    assert json.loads((tmp_path / "out" / "run.json").read_text())["source"] == str(analysis)
    with pytest.raises(lhcad.LhcadError, match="no 'extract' stage"):
        run.report()
    with pytest.raises(lhcad.LhcadError, match="did not run"):
        run.scores()
    opened = lhcad.open_run(tmp_path / "out")  # no stage recorded the whole analysis
    assert opened.config.data == run.config.data and opened.config.pipeline == ["data"]


def test_api_errors_are_lhcads_own_types(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {epochs: 0}\n")
    with pytest.raises(lhcad.ConfigError, match="train.epochs"):
        lhcad.load_analysis(bad)
    with pytest.raises(lhcad.ConfigError, match="not found"):
        lhcad.run(tmp_path / "missing.yaml", out=tmp_path / "out")
    good = tmp_path / "good.yaml"
    good.write_text(f"pipeline: [data]\ndata: {{path: {tmp_path / 'none.parquet'}}}\n")
    with pytest.raises(lhcad.DataError, match="file not found"):
        lhcad.run(good, out=tmp_path / "out")
    with pytest.raises(lhcad.LhcadError, match="no run.json"):
        lhcad.open_run(tmp_path)


def test_public_names_are_exported_and_typed() -> None:
    from lhcad import api

    assert set(api.__all__) <= set(dir(api))
    assert {"Results", "Run", "load_analysis", "run", "LhcadError", "ConfigError"} <= set(
        lhcad.__all__
    )
    for name in ("load_analysis", "run"):
        hints = getattr(api, name).__annotations__
        assert "return" in hints and hints["return"] != "None"
    assert (Path(lhcad.__file__).parent / "py.typed").exists()
