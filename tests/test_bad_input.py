"""The bad-input matrix: every mistake a user can make gives exit status 2 and one line on stderr
naming the file and the key, column or row, with no traceback and nothing half-written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.data.parquet import write_events_parquet
from lhcad.data.toy import make_toy_events

FAST = "train:\n  epochs: 1\n  members: 1\n  device: cpu\nselect:\n  top_n: [100, 200]\n"


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture()
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.parquet"
    write_events_parquet(make_toy_events(1500, 150, seed=3), path)
    return path


def analysis(tmp_path: Path, body: str, name: str = "a.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


# ---- configuration errors, caught by `lhcad validate` before anything runs --------------------

CONFIG_CASES = {
    "yaml syntax error": ("train:\n  epochs: [1,\n", ["YAML syntax error", "line"]),
    "unknown top-level key": ("trian:\n  epochs: 3\n", ["trian: unknown key"]),
    "unknown key in a section": ("select:\n  topn: [5]\n", ["select.topn: unknown key"]),
    "unknown key three levels deep": ("preprocess:\n  split:\n    sed: 1\n", ["preprocess.split.sed"]),
    "wrong type": ("train:\n  epochs: many\n", ["train.epochs"]),
    "epochs zero": ("train:\n  epochs: 0\n", ["train.epochs", "greater than 0"]),
    "latent_dim zero": ("train:\n  model:\n    latent_dim: 0\n", ["train.model.latent_dim"]),
    "unknown score name": ("score:\n  use: z_magic\n", ["score.use"]),
    "unknown stage kind": ("pipeline: [data, preprocess, magic]\n", ["pipeline[2]", "unknown stage kind 'magic'"]),
    "impossible stage order": ("pipeline: [data, train, preprocess]\n", ["pipeline[1]", "needs preprocess"]),
    "duplicate stage": ("pipeline: [data, data]\n", ["pipeline[1]", "appears twice"]),
    "split fractions": ("preprocess:\n  split: {train: 0.5, val: 0.2, test: 0.2}\n", ["preprocess.split", "must be 1"]),
    "n_signal without a signal file": ("data:\n  n_signal: 100\n", ["data", "signal_path"]),
    "binning upside down": ("histogram:\n  binning:\n    mjj: {bins: 10, lo: 5000, hi: 1000}\n", ["histogram.binning.mjj"]),
    "fit model of an observable not histogrammed": (
        "histogram:\n  observables: [mjj]\nfit:\n  models:\n    mj_light: {signal: crystal_ball}\n",
        ["fit.models.mj_light"],
    ),
    "unknown fit model": ("fit:\n  models:\n    mjj: {signal: cb3}\n", ["fit.models.mjj.signal"]),
    "negative asymmetry constraint": (
        "fit:\n  models:\n    mj_heavy: {signal: asymmetric_crystal_ball, asymmetry_constraint: -0.1}\n",
        ["fit.models.mj_heavy.asymmetry_constraint"],
    ),
    "unknown extract rule": ("extract:\n  rule: most_precisely\n", ["extract.rule"]),
    "unknown input feature": ("preprocess:\n  features: [mj_heavy, m_higgs]\n", ["preprocess.features[1]"]),
    "missing include": ("train:\n  model: {include: models/nothing.yaml}\n", ["train.model.include", "not found"]),
    "negative top_n": ("select:\n  top_n: [-5]\n", ["select.top_n[0]"]),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_config_mistakes_are_caught_before_anything_runs(tmp_path: Path, case: str) -> None:
    body, fragments = CONFIG_CASES[case]
    path = analysis(tmp_path, body)
    assert_one_line_error(cli("validate", str(path)), str(path), *fragments)


def test_set_on_a_nonexistent_key(tmp_path: Path) -> None:
    path = analysis(tmp_path, "name: x\n")
    assert_one_line_error(cli("validate", str(path), "--set", "train.epoch=3"), "train.epoch", "(from --set)")


def test_include_cycle(tmp_path: Path) -> None:
    (tmp_path / "a_block.yaml").write_text("include: b_block.yaml\n")
    (tmp_path / "b_block.yaml").write_text("include: a_block.yaml\n")
    path = analysis(tmp_path, "train:\n  model: {include: a_block.yaml}\n")
    assert_one_line_error(cli("validate", str(path)), "include cycle")


# ---- data errors, met by the data stage -----------------------------------------------------


def run_data_stage(tmp_path: Path, data_lines: str):
    path = analysis(tmp_path, f"pipeline: [data, preprocess]\ndata:\n{data_lines}")
    return cli("run", str(path), "--out", str(tmp_path / "out"))


def test_missing_data_file(tmp_path: Path) -> None:
    assert_one_line_error(run_data_stage(tmp_path, f"  path: {tmp_path}/none.parquet\n"), "none.parquet", "file not found")


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    assert_one_line_error(run_data_stage(tmp_path, f"  path: {tmp_path}\n"), str(tmp_path), "is a directory")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty file"), (b"pxj1,pyj1\n1,2\n", "unknown file format"), (b"PAR1\x00\x01garbage", "parquet")],
)
def test_empty_wrong_or_corrupt_files(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_bytes(content)
    assert_one_line_error(run_data_stage(tmp_path, f"  path: {bad}\n"), "bad.dat", message)


def test_truncated_parquet(tmp_path: Path, events_file: Path) -> None:
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(events_file.read_bytes()[: events_file.stat().st_size // 2])
    assert_one_line_error(run_data_stage(tmp_path, f"  path: {cut}\n"), "cut.parquet")


@pytest.mark.filterwarnings("ignore::Warning")
def test_official_h5_missing_a_column_and_truncated_h5(tmp_path: Path) -> None:
    pytest.importorskip("tables")
    frame = make_toy_events(200, 0, seed=1).drop(columns=["tau3j2"]).astype(np.float64)
    h5 = tmp_path / "f.h5"
    frame.to_hdf(h5, key="df")
    assert_one_line_error(run_data_stage(tmp_path, f"  path: {h5}\n"), "f.h5", "tau3j2")
    full = tmp_path / "full.h5"
    make_toy_events(2000, 0, seed=1).astype(np.float64).to_hdf(full, key="df")
    cut = tmp_path / "cut.h5"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert_one_line_error(run_data_stage(tmp_path, f"  path: {cut}\n"), "cut.h5")


def test_nan_features_with_policy_error_name_the_event(tmp_path: Path) -> None:
    frame = make_toy_events(300, 0, seed=2)
    frame.loc[17, "tau1j1"] = 0.0  # one-constituent jet: tau21 = 0/0
    frame.loc[40, "mj2"] = np.nan
    path = tmp_path / "nan.parquet"
    write_events_parquet(frame, path)
    result = run_data_stage(tmp_path, f"  path: {path}\n  nan_policy: error\n")
    assert_one_line_error(result, "nan.parquet", "2 events with NaN/inf", "event_id 17")


def test_nan_features_with_policy_drop_are_counted(tmp_path: Path) -> None:
    frame = make_toy_events(300, 0, seed=2)
    frame.loc[17, "tau1j1"] = 0.0
    path = tmp_path / "nan.parquet"
    write_events_parquet(frame, path)
    result = run_data_stage(tmp_path, f"  path: {path}\n")
    assert result.exit_code == 0
    log = (tmp_path / "out" / "lhcad.log").read_text()
    assert "dropped 1 events with NaN/inf" in log


def test_all_events_identical(tmp_path: Path) -> None:
    frame = pd.concat([make_toy_events(1, 0, seed=2)] * 200, ignore_index=True)
    path = tmp_path / "same.parquet"
    write_events_parquet(frame, path)
    assert_one_line_error(run_data_stage(tmp_path, f"  path: {path}\n"), "preprocess.features", "constant")


def test_masterkey_of_the_wrong_length(tmp_path: Path, events_file: Path) -> None:
    key = tmp_path / "bb.masterkey"
    key.write_text("0\n1\n" * 10)
    result = run_data_stage(tmp_path, f"  path: {events_file}\n  labels: {key}\n")
    assert_one_line_error(result, "bb.masterkey", "20 labels for 1650 events")


def test_more_signal_asked_than_available(tmp_path: Path, events_file: Path) -> None:
    result = run_data_stage(tmp_path, f"  path: {events_file}\n  signal_path: {events_file}\n  n_signal: 5000\n")
    assert_one_line_error(result, "events.parquet", "5000 signal events", "only 150")


def test_unwritable_output_directory(tmp_path: Path, events_file: Path) -> None:
    if os.geteuid() == 0:
        blocked = tmp_path / "file-not-dir"
        blocked.write_text("")
        out = blocked / "out"  # a path below a regular file can never be created, even by root
    else:
        out = tmp_path / "ro"
        out.mkdir(mode=0o500)
    path = analysis(tmp_path, f"pipeline: [data]\ndata:\n  path: {events_file}\n")
    assert_one_line_error(cli("run", str(path), "--out", str(out)), "out", "not writable")


# ---- errors met later in the pipeline ---------------------------------------------------------


@pytest.mark.slow
def test_top_n_larger_than_the_dataset_keeps_earlier_results_intact(tmp_path: Path, events_file: Path) -> None:
    path = analysis(tmp_path, f"data:\n  path: {events_file}\n{FAST}pipeline: [data, preprocess, train, score, select, histogram, fit, extract, export]\n")
    out = tmp_path / "out"
    assert cli("run", str(path), "--out", str(out)).exit_code == 0
    before = (out / "results.json").read_bytes()
    result = cli("run", str(path), "--out", str(out), "--set", "select.top_n=[100000]")
    assert_one_line_error(result, "select.top_n", "is larger than the", "events the data stage kept")
    assert (out / "results.json").read_bytes() == before
    leftovers = [p for p in (out / "cache").rglob("*") if p.name.startswith(".tmp")]
    assert leftovers == []


def test_cuda_requested_without_a_gpu(tmp_path: Path, events_file: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    path = analysis(tmp_path, f"data:\n  path: {events_file}\n{FAST}pipeline: [data, preprocess, train]\n")
    result = cli("run", str(path), "--out", str(tmp_path / "out"), "--set", "train.device=cuda")
    assert_one_line_error(result, "cuda")


def test_too_few_events_to_fit_is_reported_in_results_not_fatal(tmp_path: Path, events_file: Path) -> None:
    path = analysis(
        tmp_path,
        f"data:\n  path: {events_file}\n{FAST}pipeline: [data, preprocess, train, score, select, histogram, fit, extract, export]\n",
    )
    result = cli("run", str(path), "--out", str(tmp_path / "out"), "--set", "select.top_n=[3]")
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert all(not fit["valid"] and fit["reason"] for fit in results["fits"])
    assert all(mass["value"] is None and mass["valid"] is False for mass in results["masses"].values())
