"""The point-cloud studies as analyses: pointcloud_data -> pointcloud_train -> pointcloud_report on
JetNet files the test writes, and on sparse digits; bad inputs are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lhcad.families.registry import load_analysis
from lhcad.errors import ConfigError, DataError
from lhcad.pipeline.runner import run_pipeline
from lhcad.families.pointcloud.jetnet import JetNetJets, to_jetnet, write_jetnet
from tests.conftest import write_analysis

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[1]


def _toy_jets(path: Path, n: int, prongs: int, seed: int, jet_type: str) -> Path:
    """Jets of 6 to 10 particles in ``prongs`` clusters around the axis, at phi near pi."""
    rng = np.random.default_rng(seed)
    particles = np.zeros((n, 12, 4))
    for i in range(n):
        k = rng.integers(6, 11)
        axes = rng.normal(0, 0.25 * (prongs > 1), (prongs, 2))
        centre = axes[rng.integers(0, prongs, k)]
        particles[i, :k, 0] = np.sort(rng.exponential(80.0, k))[::-1] + 1.0
        particles[i, :k, 1] = centre[:, 0] + rng.normal(0, 0.05, k)
        particles[i, :k, 2] = (
            np.mod(np.pi + centre[:, 1] + rng.normal(0, 0.05, k) + np.pi, 2 * np.pi) - np.pi
        )
    jets = np.stack([particles[..., 0].sum(1), np.zeros(n), np.full(n, np.pi), np.full(n, 50.0)], 1)
    write_jetnet(path, JetNetJets(*to_jetnet(particles, jets, 10), {"jet_type": jet_type}))
    return path


@pytest.mark.slow
def test_jets_study_writes_generative_metrics_anomaly_scores_and_report(tmp_path: Path) -> None:
    qcd = _toy_jets(tmp_path / "g.hdf5", 160, 1, 0, "g")
    top = _toy_jets(tmp_path / "t.hdf5", 60, 3, 1, "t")
    text = f"""
name: tiny_jets
pipeline: [pointcloud_data, pointcloud_train, pointcloud_report]
pointcloud:
  data: {{kind: jetnet, n_points: 8, train_files: [{qcd}], anomaly_files: {{t: {top}}}}}
  model: {{latent_dim: 2, hidden: 16, point_hidden: 8}}
  train: {{epochs: 2, batch_size: 32, device: cpu}}
  evaluate: {{n_shown: 2}}
report: {{formats: [png]}}
"""
    out = tmp_path / "out"
    run_pipeline(load_analysis(write_analysis(tmp_path, text)), out=out)
    results = json.loads((out / "results.json").read_text())
    assert list(results)[:4] == ["analysis", "config_sha256", "lhcad_version", "created"]
    assert results["data"]["label_names"] == ["g"] and results["data"]["anomaly_names"] == ["t"]
    assert results["n_test"] == results["data"]["n_test"] == 48  # 30% of 160
    assert set(results["generative"]) == {"prior", "fitted"} and results["latent"] == "fitted"
    generative = results["generative"]["fitted"]
    assert generative["w1m"] >= 0 and generative["w1p"] == pytest.approx(
        np.mean([generative[f"w1p_{f}"] for f in ("eta_rel", "phi_rel", "pt_rel")])
    )
    assert (
        0.0 <= results["anomaly"]["t"]["auc"] <= 1.0 and results["anomaly"]["t"]["n_signal"] == 60
    )
    assert results["training"]["epochs_run"] == 2
    page = (out / "report" / "index.html").read_text()
    assert "W1M" in page and "MPGAN" in page and "anomaly" in page
    figures = {p.name for p in (out / "report" / "figures").glob("*.png")}
    assert figures == {"gallery.png", "distributions.png", "history.png", "anomaly.png"}


@pytest.mark.slow
def test_flow_matching_generator_is_measured_beside_the_vae_and_the_real_vs_real_floor(
    tmp_path: Path,
) -> None:
    qcd = _toy_jets(tmp_path / "g.hdf5", 200, 1, 0, "g")
    text = f"""
name: tiny_flow
pipeline: [pointcloud_data, pointcloud_train, pointcloud_generator, pointcloud_report]
pointcloud:
  data: {{kind: jetnet, n_points: 8, train_files: [{qcd}]}}
  model: {{latent_dim: 2, hidden: 16, point_hidden: 8}}
  train: {{epochs: 1, batch_size: 32, device: cpu}}
  generator: {{hidden: 8, layers: 1, heads: 2, steps: 2, epochs: 2, batch_size: 32, device: cpu}}
  evaluate: {{n_shown: 2, n_bootstrap: 3}}
report: {{formats: [png]}}
"""
    out = tmp_path / "out"
    run_pipeline(load_analysis(write_analysis(tmp_path, text)), out=out)
    results = json.loads((out / "results.json").read_text())
    jetnet = results["jetnet"]
    assert set(jetnet["generators"]) == {"vae_prior", "vae_fitted", "flow_matching"}
    assert jetnet["n_eval"] == 60 and jetnet["n_batches"] == 3  # 30% of 200 test jets
    for scores in (*jetnet["generators"].values(), jetnet["real_vs_real"]):
        assert scores["w1m"] > 0 and scores["w1m_std"] >= 0 and scores["w1efp"] > 0
        assert scores["w1p"] == pytest.approx(
            np.mean([scores[f"w1p_{f}"] for f in ("eta_rel", "phi_rel", "pt_rel")])
        )
    assert results["generator_training"]["epochs_run"] == 2
    assert results["mean_points"]["flow_matching"] == pytest.approx(
        results["mean_points"]["test"], abs=1.0
    )
    page = (out / "report" / "index.html").read_text()
    assert "real vs real (the floor)" in page and "flow matching" in page and "W1EFP" in page


def test_digits_study_runs_on_scikit_learn_digits(tmp_path: Path) -> None:
    text = """
name: tiny_digits
pipeline: [pointcloud_data, pointcloud_train, pointcloud_report]
pointcloud:
  data: {kind: digits, digits: [8], n_points: 12}
  model: {loss: positions_nearest_intensity, latent_dim: 2, hidden: 16, point_hidden: 8}
  train: {epochs: 1, batch_size: 64, device: cpu}
  evaluate: {n_shown: 2}
report: {formats: [png]}
"""
    out = tmp_path / "out"
    run_pipeline(load_analysis(write_analysis(tmp_path, text)), out=out)
    results = json.loads((out / "results.json").read_text())
    assert results["kind"] == "digits" and results["loss"] == "positions_nearest_intensity"
    assert (
        results["data"]["label_counts"][8] == results["data"]["n_sets"] == 174
    )  # scikit-learn's eights
    assert results["data"]["image_shape"] == [8, 8] and "generative" not in results


def test_missing_jet_file_and_too_many_points_are_clear_errors(tmp_path: Path) -> None:
    def analysis(files: str, n_points: int) -> Path:
        text = f"""
name: bad
pipeline: [pointcloud_data]
pointcloud: {{data: {{kind: jetnet, n_points: {n_points}, train_files: {files}}}}}
"""
        return write_analysis(tmp_path, text)

    with pytest.raises(DataError, match="file not found"):
        run_pipeline(load_analysis(analysis(f"[{tmp_path / 'none.hdf5'}]", 8)), out=tmp_path / "a")
    jets = _toy_jets(tmp_path / "g.hdf5", 20, 1, 0, "g")
    with pytest.raises(ConfigError, match="n_points 30 exceeds the 10 particles"):
        run_pipeline(load_analysis(analysis(f"[{jets}]", 30)), out=tmp_path / "b")


def test_shipped_analyses_validate() -> None:
    jets = load_analysis(REPO / "analyses" / "pointcloud_jetnet.yaml")
    assert jets.pipeline == ["pointcloud_data", "pointcloud_train", "pointcloud_report"]
    assert jets.pointcloud.generator.kind == "flow_matching"
    assert jets.pointcloud.model.kind == "pointcloud_vae" and jets.pointcloud.model.log_pt
    assert set(jets.pointcloud.data.anomaly_files) == {"t", "w", "z"}
    digits = load_analysis(REPO / "analyses" / "pointcloud_digits.yaml")
    assert digits.pointcloud.data.kind == "digits"
