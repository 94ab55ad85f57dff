"""The supervised classifier: networks that learn toy two-class sets, the bootstrap AUC, the
stratified split, and the labelled -> classify -> classify_report pipeline from YAML."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lhcad.api import load_analysis, run
from lhcad.families.egamma.egamma_file import write_egamma_file
from lhcad.families.egamma.fit import bootstrap_auc, predict, rank_auc, train_classifier
from lhcad.families.egamma.samples import InputScaling, stratified_split
from lhcad.families.egamma.config import ClassifyConfig, CnnConfig, DenseNetConfig, LabelledConfig
from lhcad.errors import ConfigError, LhcadError
from lhcad.metrics import roc_auc
from lhcad.preprocessing import TEST, TRAIN, VAL
from tests.conftest import write_analysis

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIDE = 16


def toy_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 16, 16, 1) images of one Gaussian blob with noise: class 0 narrow (sigma 1 pixel),
    class 1 wide (sigma 2.5 pixels), both of unit total intensity, centred within a pixel."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n)
    sigma = np.where(labels == 1, 2.5, 1.0)[:, None, None]
    centre = SIDE / 2 + rng.uniform(-1, 1, (2, 2 * n, 1, 1))
    rows, cols = np.meshgrid(np.arange(SIDE), np.arange(SIDE), indexing="ij")
    blob = np.exp(-((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / (2 * sigma**2))
    blob /= blob.sum(axis=(1, 2), keepdims=True)
    images = blob + rng.normal(0, 0.01, blob.shape)
    return images[..., None].astype(np.float32), labels


def _split_inputs(x: np.ndarray, y: np.ndarray, images: bool) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    split = stratified_split(y, 0.2, 0.3, seed=0)
    scaling = InputScaling.fit(x[split == TRAIN], images, log=False)
    inputs = scaling.apply(x)
    return tuple((inputs[split == s], y[split == s]) for s in (TRAIN, VAL, TEST))


SMALL = ClassifyConfig(
    cnn=CnnConfig(channels=[4, 8], hidden=16, dropout=0.0), dense=DenseNetConfig(hidden=[32, 32], dropout=0.1),
    epochs=6, batch_size=64, lr=3e-3, patience=None, device="cpu",
)  # fmt: skip


@pytest.mark.slow
def test_cnn_separates_narrow_from_wide_blobs() -> None:
    train, val, test = _split_inputs(*toy_images(300, seed=1), images=True)
    assert train[0].shape[1:] == (1, SIDE, SIDE)  # channels first for the network
    trained = train_classifier("cnn", SMALL, train, val, seed=0)
    assert roc_auc(test[1], predict(trained.model, test[0])) > 0.95
    history = trained.result.history
    assert 1 <= trained.result.best_epoch <= len(history) == SMALL.epochs
    # the kept epoch is the one of the best validation AUC (the trainer's criterion)
    assert history[trained.result.best_epoch - 1]["criterion"] == max(h["criterion"] for h in history)


def test_dense_network_separates_shifted_gaussians_in_a_table() -> None:
    rng = np.random.default_rng(2)
    y = np.repeat([0, 1], 400)
    x = (rng.normal(0, 1, (800, 4)) + 2.0 * y[:, None] * np.array([1, 1, 0, 0])).astype(np.float32)
    train, val, test = _split_inputs(x, y, images=False)
    trained = train_classifier("dense", SMALL, train, val, seed=0)
    auc = roc_auc(test[1], predict(trained.model, test[0]))
    assert auc > 0.95  # the Bayes-optimal AUC is Phi(2) = 0.977


def test_cnn_refuses_table_rows() -> None:
    with pytest.raises(LhcadError, match="cnn classifies images"):
        train_classifier("cnn", SMALL, (np.zeros((4, 3), np.float32), np.array([0, 1, 0, 1])),
                         (np.zeros((2, 3), np.float32), np.array([0, 1])), seed=0)  # fmt: skip


def test_bootstrap_spread_shrinks_with_the_sample_size() -> None:
    rng = np.random.default_rng(3)
    spreads = []
    for n in (200, 3200):
        labels = np.repeat([0, 1], n)
        spreads.append(bootstrap_auc(labels, labels + rng.normal(0, 1, 2 * n), 100, seed=0).std())
    assert spreads[0] / spreads[1] == pytest.approx(4.0, rel=0.35)  # 1 / sqrt(N)


def test_rank_auc_equals_the_roc_integral_with_ties() -> None:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 500)
    scores = np.round(labels + rng.normal(0, 1, 500), 1)  # many ties
    assert rank_auc(labels, scores) == pytest.approx(roc_auc(labels, scores), abs=1e-12)


def test_split_is_stratified_and_seeded() -> None:
    y = np.repeat([0, 1], [1000, 250])
    split = stratified_split(y, 0.15, 0.25, seed=4)
    for label, n in ((0, 1000), (1, 250)):
        counts = np.bincount(split[y == label], minlength=3)
        assert counts.tolist() == [n - round(0.25 * n) - round(0.15 * n), round(0.15 * n), round(0.25 * n)]
    assert np.array_equal(split, stratified_split(y, 0.15, 0.25, seed=4))
    assert not np.array_equal(split, stratified_split(y, 0.15, 0.25, seed=5))


def test_log_scaling_keeps_empty_crystals_at_zero() -> None:
    x = np.zeros((10, 4, 4, 2), np.float32)
    x[:, 1, 1, 0] = np.linspace(1, 50, 10)
    x[:, 2, 2, 1] = np.linspace(-3, 3, 10)
    scaled = InputScaling.fit(x, images=True, log=True).apply(x)
    assert scaled.shape == (10, 2, 4, 4)
    assert (scaled[:, :, 0, 0] == 0).all()
    assert np.all(np.diff(scaled[:, 0, 1, 1]) > 0) and np.all(np.diff(scaled[:, 1, 2, 2]) > 0)


def test_labelled_config_needs_a_complete_source() -> None:
    with pytest.raises(ValueError, match="needs the files"):
        LabelledConfig(source="files")
    with pytest.raises(ValueError, match="both classes"):
        LabelledConfig(source="files", files=[{"path": "a.hdf5", "label": 1}, {"path": "b.hdf5", "label": 1}])
    with pytest.raises(ValueError, match="source is 'simulate'"):
        LabelledConfig(table={"path": "t.parquet"})


PIPELINE_YAML = """
name: toy_classify
pipeline: [labelled, classify, classify_report]
labelled:
  source: files
  files:
    - {{path: {wide}, label: 1, name: wide}}
    - {{path: {narrow}, label: 0, name: narrow}}
  val: 0.2
  test: 0.3
classify:
  models: [cnn, dense]
  cnn: {{channels: [4, 8], hidden: 16, dropout: 0.0}}
  dense: {{hidden: [32], dropout: 0.0}}
  transform: none
  epochs: 5
  batch_size: 64
  lr: 3.0e-3
  device: cpu
  bootstrap: 20
report:
  formats: [png]
"""


@pytest.mark.slow
def test_pipeline_from_yaml_writes_results_and_report(tmp_path: Path) -> None:
    x, y = toy_images(150, seed=5)
    files = {}
    for label, name in ((1, "wide"), (0, "narrow")):
        files[name] = write_egamma_file(tmp_path / f"{name}.hdf5", x[y == label], y[y == label])
    analysis = write_analysis(tmp_path, PIPELINE_YAML.format(**files))
    result = run(load_analysis(analysis), out=tmp_path / "out")
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {"analysis", "lhcad_version", "config_sha256", "created"} <= results.keys()
    assert results["classes"] == ["narrow", "wide"] and results["headline_model"] == "cnn"
    assert results["events"]["test"] == [45, 45]
    assert results["models"]["cnn"]["test_auc"] > 0.95
    interval = results["models"]["cnn"]["test_auc_interval_95"]
    assert interval[0] <= results["models"]["cnn"]["test_auc"] <= interval[1]
    page = (tmp_path / "out" / "report" / "index.html").read_text()
    for figure in ("roc", "scores", "training", "mean_images", "examples_channel_0"):
        assert (tmp_path / "out" / "report" / "figures" / f"{figure}.png").exists()
        assert f"figures/{figure}.png" in page
    assert result.out == tmp_path / "out"


def test_pipeline_on_a_table_and_its_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    label = np.repeat([0, 1], 200)
    table = pd.DataFrame({"a": rng.normal(0, 1, 400) + 3 * label, "b": rng.normal(0, 1, 400), "label": label})
    table.to_parquet(tmp_path / "rows.parquet")
    text = f"""
name: toy_table
pipeline: [labelled, classify]
labelled: {{source: table, table: {{path: {tmp_path / 'rows.parquet'}, features: [a, b]}}}}
classify: {{models: [dense], dense: {{hidden: [16], dropout: 0.0}}, epochs: 8, batch_size: 32, lr: 3.0e-3, device: cpu, bootstrap: 10}}
"""
    record = run(load_analysis(write_analysis(tmp_path, text)), out=tmp_path / "out")
    metrics = record.artifact("classify").read_json("metrics.json")
    assert metrics["models"]["dense"]["test_auc"] > 0.95
    with pytest.raises(ConfigError):
        load_analysis(write_analysis(tmp_path, text.replace("[dense]", "[cnn, cnn]"), "bad.yaml"))
    with pytest.raises(LhcadError, match="cnn classifies images"):
        run(load_analysis(write_analysis(tmp_path, text.replace("[dense]", "[cnn]"), "cnn.yaml")), out=tmp_path / "o2")
    missing = text.replace("rows.parquet", "absent.parquet")
    with pytest.raises(LhcadError, match="file not found"):
        run(load_analysis(write_analysis(tmp_path, missing, "missing.yaml")), out=tmp_path / "o3")
