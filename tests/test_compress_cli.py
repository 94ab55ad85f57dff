"""``lhcad compress`` / ``lhcad decompress``: a parquet table to .lhcz and back; bad files exit 2
with one line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.data.toy import make_toy_events

pytestmark = pytest.mark.usefixtures("one_torch_thread")

QUICK = ["--epochs", "2", "--hidden", "16", "--device", "cpu"]


@pytest.fixture()
def events_parquet(tmp_path: Path) -> Path:
    path = tmp_path / "events.parquet"
    make_toy_events(500, 50, seed=4).to_parquet(path, index=False)
    return path


def test_compress_then_decompress_restores_the_table(tmp_path: Path, events_parquet: Path) -> None:
    runner = CliRunner()
    lhcz, restored_path = tmp_path / "events.lhcz", tmp_path / "restored.parquet"
    result = runner.invoke(
        main,
        [
            "compress",
            str(events_parquet),
            "--model",
            "vae",
            "--latent",
            "4",
            "--out",
            str(lhcz),
            *QUICK,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "K=4 (vae)" in result.output and "smaller than zstd parquet" in result.output
    assert "mjj" in result.output  # the jets' masses are recomputed after the round trip
    result = runner.invoke(main, ["decompress", str(lhcz), "--out", str(restored_path)])
    assert result.exit_code == 0, result.output
    original, restored = pd.read_parquet(events_parquet), pd.read_parquet(restored_path)
    assert list(restored.columns) == list(original.columns)
    assert list(restored.dtypes) == list(original.dtypes)
    assert restored.shape == original.shape
    assert (restored["label"] == original["label"]).all()


def test_a_truncated_or_foreign_file_exits_2_with_one_line(
    tmp_path: Path, events_parquet: Path
) -> None:
    runner = CliRunner()
    lhcz = tmp_path / "events.lhcz"
    result = runner.invoke(
        main,
        [
            "compress",
            str(events_parquet),
            "--latent",
            "2",
            "--out",
            str(lhcz),
            "--columns",
            "mj1,mj2",
            *QUICK,
        ],
    )
    assert result.exit_code == 0, result.output
    truncated = tmp_path / "truncated.lhcz"
    truncated.write_bytes(lhcz.read_bytes()[: lhcz.stat().st_size // 2])
    for bad in (truncated, events_parquet):
        result = runner.invoke(
            main, ["decompress", str(bad), "--out", str(tmp_path / "out.parquet")]
        )
        assert result.exit_code == 2
        assert result.output.startswith(f"error: {bad}: not an .lhcz file")
        assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out.parquet").exists()


def test_bad_compress_input_exits_2(tmp_path: Path, events_parquet: Path) -> None:
    runner = CliRunner()
    out = ["--latent", "2", "--out", str(tmp_path / "x.lhcz")]
    result = runner.invoke(main, ["compress", str(tmp_path / "missing.parquet"), *out])
    assert result.exit_code == 2 and "file not found" in result.output
    result = runner.invoke(main, ["compress", str(events_parquet), *out, "--columns", "label"])
    assert result.exit_code == 2 and "only floating-point columns" in result.output


def test_the_quantising_codec_needs_no_latent_size_and_prints_no_training(
    tmp_path: Path, events_parquet: Path
) -> None:
    runner = CliRunner()
    lhcz, restored_path = tmp_path / "q.lhcz", tmp_path / "restored.parquet"
    command = ["compress", str(events_parquet), "--model", "quant", "--out", str(lhcz)]
    result = runner.invoke(main, [*command, "--precision", "0.005", "--level", "3"])
    assert result.exit_code == 0, result.output
    assert "quantised to a precision of 0.005" in result.output and "no training" in result.output
    result = runner.invoke(main, ["decompress", str(lhcz), "--out", str(restored_path)])
    assert result.exit_code == 0, result.output
    original, restored = pd.read_parquet(events_parquet), pd.read_parquet(restored_path)
    assert list(restored.dtypes) == list(original.dtypes)
    ratio = (restored["mj1"] / original["mj1"] - 1).abs()
    assert ratio.max() <= 0.005 + 1e-6


def test_latent_goes_with_a_network_and_precision_with_quant(
    tmp_path: Path, events_parquet: Path
) -> None:
    runner = CliRunner()
    out = ["--out", str(tmp_path / "x.lhcz")]
    result = runner.invoke(main, ["compress", str(events_parquet), "--model", "ae", *out])
    assert result.exit_code == 2 and "--latent is required" in result.output
    result = runner.invoke(
        main, ["compress", str(events_parquet), "--model", "quant", "--latent", "4", *out]
    )
    assert result.exit_code == 2 and "no latent space" in result.output
    result = runner.invoke(
        main, ["compress", str(events_parquet), "--model", "quant", "--precision", "0.5", *out]
    )
    assert result.exit_code == 2 and "--precision" in result.output
    assert not (tmp_path / "x.lhcz").exists()
