"""The CLI papercuts of #31: every bad input is one line on stderr naming the culprit, exit
status 2, no traceback and nothing half-written; and what the commands show is what the run does.

- ``include:`` resolves against the analysis's directory, then the current directory, then the
  presets lhcad ships (tests/test_install_wheel.py checks the installed wheel);
- an unknown key (in the YAML or a ``--set``) says "did you mean" when a known key is close;
- a missing data file names the YAML key that holds it, before the output directory exists;
- an empty analysis file is an error, not the default analysis;
- ``select.top_n`` above the events the data stage keeps fails right after the data stage;
- ``lhcad inspect`` counts the events the data stage drops (its own rule), and the data stage's
  drop warning reaches the console;
- ``lhcad validate`` shows only the sections the run uses.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from lhcad.api import load_analysis
from lhcad.cli import main
from lhcad.data.parquet import write_events_parquet
from lhcad.data.toy import make_toy_events

REPO = Path(__file__).resolve().parents[1]


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


# ---- include: the analysis's directory, the current directory, the shipped presets -------------


def test_an_analysis_outside_the_checkout_finds_the_shipped_presets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine, elsewhere = tmp_path / "study", tmp_path / "elsewhere"
    mine.mkdir()
    elsewhere.mkdir()
    shutil.copy(REPO / "analyses" / "lhco_rnd.yaml", mine)
    monkeypatch.chdir(elsewhere)
    config = load_analysis(mine / "lhco_rnd.yaml")
    assert config.train.members == 3 and config.train.model.latent_dim > 0  # analyses/lhco_study.yaml, models/
    assert config.extract.rule == "most_precise"


def test_include_prefers_the_analysis_directory_then_the_current_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(REPO / "analyses" / "lhco_rnd.yaml", tmp_path)
    here = tmp_path / "cwd"
    (here / "configs" / "models").mkdir(parents=True)
    (here / "configs" / "models" / "vae_default.yaml").write_text("hidden: [8]\nlatent_dim: 5\n")
    monkeypatch.chdir(here)
    assert load_analysis(tmp_path / "lhco_rnd.yaml").train.model.latent_dim == 5  # the current directory's
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "vae_default.yaml").write_text("hidden: [8]\nlatent_dim: 7\n")
    assert load_analysis(tmp_path / "lhco_rnd.yaml").train.model.latent_dim == 7  # beside the analysis


# ---- did you mean ------------------------------------------------------------------------------


def test_unknown_set_key_suggests_the_close_one() -> None:
    line = one_line_error(cli("validate", str(REPO / "analyses" / "lhco_rnd.yaml"), "--set", "train.epoch=3"))
    assert "train.epoch: unknown key 'epoch'" in line
    assert "did you mean train.epochs?" in line and line.endswith("(from --set)")


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("trian:\n  epochs: 3\n", ["trian: unknown key 'trian'", "did you mean train?"]),
        ("data:\n  singal_path: s.parquet\n", ["data.singal_path", "did you mean data.signal_path?"]),
        ("kind: lhc\n", ["kind: unknown analysis kind 'lhc'", "did you mean lhco?"]),
        ("pipeline: [data, preprocss]\n", ["pipeline[1]: unknown stage kind 'preprocss'", "did you mean preprocess?"]),
    ],
)
def test_unknown_yaml_names_suggest_the_close_one(tmp_path: Path, body: str, fragments: list[str]) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(body)
    line = one_line_error(cli("validate", str(path)))
    assert line.startswith(f"error: {path}: ")
    for fragment in fragments:
        assert fragment in line, line


def test_no_suggestion_when_nothing_is_close(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("kind: digits\nselect: {top_n: [5]}\n")
    assert "did you mean" not in one_line_error(cli("validate", str(path)))


# ---- a missing data file names its key, before anything is written ---------------------------


@pytest.fixture()
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.parquet"
    events = make_toy_events(1500, 150, seed=3)
    events.loc[[3, 17], "tau1j1"] = 0.0  # tau21 of jet 1 undefined
    events.loc[40, "tau2j2"] = np.nan
    write_events_parquet(events, path)
    return path


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("data.path=nothere.h5", "data.path"),
        ("data.signal_path=nothere.h5", "data.signal_path"),
        ("data.labels=nothere.h5", "data.labels"),
        ("score.template_path=nothere.h5", "score.template_path"),
    ],
)
def test_missing_file_names_the_key(tmp_path: Path, events_file: Path, override: str, key: str) -> None:
    analysis = tmp_path / "a.yaml"
    analysis.write_text(f"data: {{path: {events_file}}}\n")
    extra = ["--set", "score.method=cwola"] if key.startswith("score.") else []
    out = tmp_path / "out"
    line = one_line_error(cli("run", str(analysis), "--set", override, *extra, "--out", str(out)))
    assert line == f"error: {analysis}: {key}: nothere.h5: file not found"
    assert not out.exists()


def test_a_directory_as_data_file_names_the_key(tmp_path: Path) -> None:
    analysis = tmp_path / "a.yaml"
    analysis.write_text(f"data: {{path: {tmp_path}}}\n")
    line = one_line_error(cli("run", str(analysis), "--out", str(tmp_path / "out")))
    assert line == f"error: {analysis}: data.path: {tmp_path}: is a directory, expected a data file"


# ---- an empty analysis ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "null\n", "~\n", "{}\n"])
def test_an_empty_analysis_is_an_error_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    assert one_line_error(cli("validate", str(path))).startswith(f"error: {path}: the analysis is empty")
    out = tmp_path / "out"
    assert one_line_error(cli("run", str(path), "--out", str(out))).startswith(f"error: {path}: the analysis is empty")
    assert not out.exists()


# ---- select.top_n against the events the data stage keeps -----------------------------------------


def test_top_n_above_the_kept_events_fails_right_after_the_data_stage(tmp_path: Path, events_file: Path) -> None:
    analysis = tmp_path / "a.yaml"
    analysis.write_text(f"data: {{path: {events_file}}}\nselect: {{top_n: [100, 1648]}}\n")
    out = tmp_path / "out"
    result = cli("run", str(analysis), "--out", str(out))
    line = one_line_error(result)
    assert line == (
        f"error: {analysis}: select.top_n: top_n 1648 is larger than the 1647 events the data stage kept "
        "(1650 read, 3 dropped for NaN/inf features): lower it"
    )
    assert sorted(p.name for p in (out / "cache").iterdir() if p.is_dir()) == ["data"]  # nothing trained
    assert json.loads((out / "run.json").read_text())["status"] == "failed"


def test_top_n_above_max_events_fails_on_validate(tmp_path: Path) -> None:
    line = one_line_error(cli("validate", str(REPO / "analyses" / "lhco_rnd.yaml"), "--set", "data.max_events=800"))
    assert "select.top_n: top_n 1000 is larger than data.max_events (800)" in line
    pipeline = "pipeline=[data,preprocess]"  # no selection: nothing to check
    assert cli("validate", str(REPO / "analyses" / "lhco_rnd.yaml"), "--set", "data.max_events=800", "--set", pipeline).exit_code == 0


# ---- lhcad inspect and the data stage drop the same events ----------------------------------------


def test_inspect_counts_the_events_the_data_stage_drops(tmp_path: Path, events_file: Path) -> None:
    inspected = cli("inspect", str(events_file))
    assert inspected.exit_code == 0, inspected.output
    dropped = json.loads(inspected.output)["dropped_by_run"]
    assert dropped["events"] == 3 and dropped["of"] == 1650
    assert dropped["columns"]["tau2j2"] == {"events": 1, "why": "NaN/inf in the file"}
    heavy_or_light = {c for c in dropped["columns"] if c.startswith("tau21_")}
    assert heavy_or_light and all("tau1 = 0" in dropped["columns"][c]["why"] for c in heavy_or_light)

    analysis = tmp_path / "a.yaml"
    analysis.write_text(yaml.safe_dump({"pipeline": ["data"], "data": {"path": str(events_file)}}))
    out = tmp_path / "out"
    ran = cli("run", str(analysis), "--out", str(out))
    assert ran.exit_code == 0, ran.output
    (summary,) = (out / "cache" / "data").glob("*/summary.json")
    assert json.loads(summary.read_text())["n_nonfinite"] == dropped["events"]
    warnings = [line for line in ran.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and warnings[0].startswith("warning: data: dropped 3 events with NaN/inf features (")
    assert "tau2j2: 1" in warnings[0]
    assert "dropped 3 events" in (out / "lhcad.log").read_text()


# ---- lhcad validate shows the sections the run uses -----------------------------------------------


def test_validate_shows_only_the_sections_the_run_reads() -> None:
    def top_level(*args: str) -> tuple[set[str], list[str]]:
        result = cli("validate", *args)
        assert result.exit_code == 0, result.output
        comments = [line for line in result.output.splitlines() if line.startswith("#")]
        return set(yaml.safe_load(result.output)), comments

    keys, comments = top_level(str(REPO / "analyses" / "digits_bmm.yaml"))
    assert keys == {"kind", "name", "description", "seed", "pipeline", "digits", "report"}
    assert comments == ["# not shown, read by no stage of this pipeline: train"]
    keys, _ = top_level(str(REPO / "analyses" / "digits_vae.yaml"))
    assert "train" in keys
    keys, comments = top_level(str(REPO / "analyses" / "lhco_rnd_cwola.yaml"))
    assert "train" not in keys and {"data", "score", "select", "fit", "executor"} <= keys
    keys, comments = top_level(str(REPO / "analyses" / "lhco_rnd.yaml"))
    assert {"train", "score", "bumphunt"} <= keys and comments == []
    keys, _ = top_level(str(REPO / "analyses" / "egamma.yaml"))
    assert not keys & {"data", "train", "select", "digits"}  # another family's sections never appear
