"""The command line: exit codes, one-line errors, the commands users script against."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from lhcad import __version__
from lhcad.cli import main
from tests.conftest import write_analysis


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_version_and_stage_catalogue() -> None:
    assert __version__ in invoke("--version").output
    listing = invoke("stages").output
    assert listing.splitlines()[0].startswith("data")
    assert "preprocess" in listing


def test_validate_prints_the_resolved_config(tmp_path: Path) -> None:
    path = write_analysis(tmp_path, "name: demo\npipeline: [data, preprocess]\n")
    result = invoke("validate", str(path), "--set", "data.max_events=100")
    assert result.exit_code == 0
    assert "max_events: 100" in result.output


def test_bad_config_is_one_line_on_stderr_with_exit_2(tmp_path: Path) -> None:
    path = write_analysis(tmp_path, "name: demo\nselect:\n  top_n: [500]\n  effs: [0.1]\n")
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{path}: select.effs: unknown key" in lines[0]
    assert "Traceback" not in result.output


def test_missing_analysis_file_exits_2(tmp_path: Path) -> None:
    result = invoke("run", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2 and "file not found" in result.stderr


def test_debug_before_or_after_the_command_shows_the_traceback(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    for args in (["--debug", "run", str(path)], ["run", str(path), "--debug"]):
        result = invoke(*args)
        assert result.exit_code == 2 and "file not found" in result.stderr
        assert "Traceback" in result.stderr, args
    assert "Traceback" not in invoke("run", str(path)).stderr
    assert invoke("simulate-showers", "--debug", "--help").exit_code == 0  # every command has it


def test_inspect_reports_format_counts_and_labels(toy_parquet: Path, toy_events) -> None:
    result = invoke("inspect", str(toy_parquet))
    assert result.exit_code == 0
    info = json.loads(result.output)
    assert info["format"] == "parquet" and info["n_events"] == len(toy_events)
    assert info["labels"] == {"0": 6000, "1": 600}
    assert info["nan"] == 0


def test_run_on_missing_data_file_exits_2_naming_it(tmp_path: Path) -> None:
    path = write_analysis(tmp_path, f"pipeline: [data]\ndata:\n  path: {tmp_path / 'gone.parquet'}\n")
    result = invoke("run", str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "gone.parquet: file not found" in result.stderr


def test_validate_says_which_stages_the_scorer_adds_or_drops() -> None:
    root = Path(__file__).resolve().parents[1] / "analyses"
    result = invoke("validate", str(root / "lhco_blackbox.yaml"), "--set", "score.method=cathode")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "# score.method cathode: the train stage (VAE training) is skipped"
    assert not invoke("validate", str(root / "lhco_rnd.yaml")).output.splitlines()[-1].startswith("#")  # nothing to say
