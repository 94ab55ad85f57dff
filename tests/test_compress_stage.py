"""The compression study as an analysis: data -> compress -> compress_report writes one .lhcz
per (model, K) and per quantising precision, results.json with the issue's metrics and the
Pareto front, and the report page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lhcad.data.columns import JET_COLUMNS
from lhcad.families.registry import load_analysis
from lhcad.errors import ConfigError
from lhcad.pipeline.runner import run_pipeline
from tests.conftest import write_analysis

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[1]


def study(tmp_path: Path, events: Path, columns: str = "[mj1, mj2, tau1j1, tau2j1]") -> Path:
    text = f"""
name: tiny_compress
pipeline: [data, compress, compress_report]
data: {{path: {events}, max_events: 400}}
compress:
  {{models: [ae, vae, quant], latent_dims: [1, 2], precisions: [0.01, 0.001], hidden: [8],
    epochs: 2, device: cpu, columns: {columns}}}
report: {{formats: [png]}}
"""
    return write_analysis(tmp_path, text)


@pytest.mark.slow
def test_the_study_writes_files_results_and_report(tmp_path: Path, toy_parquet: Path) -> None:
    out = tmp_path / "out"
    jets = f"[{', '.join(JET_COLUMNS)}]"
    record = run_pipeline(load_analysis(study(tmp_path, toy_parquet, jets)), out=out)
    compressed = record.artifacts["compress"]
    assert sorted(p.name for p in compressed.dir.glob("*.lhcz")) == [
        "ae_k1.lhcz",
        "ae_k2.lhcz",
        "quant_p0.001.lhcz",
        "quant_p0.01.lhcz",
        "vae_k1.lhcz",
        "vae_k2.lhcz",
    ]
    results = json.loads((out / "results.json").read_text())
    assert list(results)[:4] == ["analysis", "config_sha256", "lhcad_version", "created"]
    assert results["n_events"] == 400
    runs = {run["name"]: run for run in results["runs"]}
    assert set(runs) == {"ae_k1", "ae_k2", "vae_k1", "vae_k2", "quant_p0.01", "quant_p0.001"}
    baselines = results["baselines"]
    networks = [run for run in runs.values() if run["model"] != "quant"]
    for run in runs.values():
        assert run["ratio_vs_parquet_zstd"] == pytest.approx(
            baselines["parquet_zstd_bytes"] / run["n_bytes"]
        )
        assert run["compress_seconds"] > 0 and run["decompress_seconds"] > 0
        assert set(run["columns"]) == set(JET_COLUMNS)
    for run in networks:
        assert run["ratio_vs_parquet_zstd"] == pytest.approx(
            baselines["parquet_zstd_bytes"] / run["n_bytes"]
        )
        assert run["train_seconds"] > 0
    for name in ("quant_p0.01", "quant_p0.001"):  # every stored mass within the precision
        precision = runs[name]["precision"]
        assert runs[name]["latent_dim"] is None and runs[name]["train_seconds"] == 0
        for column in ("mj1", "mj2"):
            assert runs[name]["columns"][column]["mean_abs_percent"] / 100 < precision
            assert runs[name]["columns"][column]["median_abs_percent"] / 100 < precision
        assert runs[name]["derived"]["mjj"]["mean_abs_percent"] / 100 < precision
    assert runs["quant_p0.001"]["n_bytes"] > runs["quant_p0.01"]["n_bytes"]
    # one more latent value per event costs 2 bytes (float16) per event, nothing else
    assert runs["ae_k2"]["n_bytes"] - runs["ae_k1"]["n_bytes"] == pytest.approx(400 * 2, abs=200)
    assert results["float16_zstd"]["ratio_vs_parquet_zstd"] > 1.0
    # bfloat16 keeps 3 mantissa bits fewer than float16: smaller, less precise
    bfloat16 = results["bfloat16_zstd"]
    assert bfloat16["n_bytes"] < results["float16_zstd"]["n_bytes"]
    float16 = results["float16_zstd"]["columns"]["mj1"]["mean_abs_percent"]
    assert bfloat16["columns"]["mj1"]["mean_abs_percent"] > float16
    pareto = {point["name"]: point for point in results["pareto"]}
    assert set(pareto) == {*runs, "float16", "bfloat16"}
    assert any(point["on_front"] for point in pareto.values())
    page = (out / "report" / "index.html").read_text()
    assert "compression-summary" in page and "seed 004" in page and 'id="pareto"' in page
    assert {p.name for p in (out / "report" / "figures").glob("*.png")} == {
        "pareto.png",
        "tradeoff.png",
        "residuals.png",
        "derived.png",
        "columns.png",
    }


def test_an_unknown_column_names_the_config_path(tmp_path: Path, toy_parquet: Path) -> None:
    with pytest.raises(ConfigError, match="compress.columns: no column mass"):
        run_pipeline(load_analysis(study(tmp_path, toy_parquet, "[mass]")), out=tmp_path / "out")


def test_the_shipped_study_compares_ae_and_vae_at_k_4_6_8_with_the_quantising_codec() -> None:
    config = load_analysis(REPO / "analyses" / "compress_features.yaml")
    assert config.pipeline == ["data", "compress", "compress_report"]
    assert config.compress.models == ["ae", "vae", "quant"]
    assert config.compress.latent_dims == [4, 6, 8]
    assert config.compress.precisions == [0.0002, 0.002, 0.01, 0.02, 0.03]
    assert config.compress.hidden == [200, 100, 50]
