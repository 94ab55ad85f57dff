"""The e/gamma ceiling: the generator's truth the simulation exposes, the reflections the shipped
network trains and scores with, the shower shapes, and the ceiling with its paired gap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lhcad.api import load_analysis, run
from lhcad.families.egamma import constants as C
from lhcad.families.egamma.ceiling import ceiling_gap, fit_ceiling, simulate_ceiling_inputs
from lhcad.families.egamma.fit import paired_bootstrap_aucs
from lhcad.families.egamma.config import CeilingConfig, ClassifyConfig, CnnConfig, EgammaAnalysis
from lhcad.errors import LhcadError
from lhcad.families.egamma.fit import mirror_index, predict, random_reflections, reflect, train_classifier
from lhcad.families.egamma.networks import ResidualCNN, build_network
from lhcad.families.egamma.shapes import shape_names, shower_shapes
from lhcad.families.egamma.showers import ShowerSettings, ShowerTruth, electrons_at_ecal, simulate_showers
from lhcad.metrics import roc_auc
from tests.conftest import write_analysis

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_truth_conserves_energy_and_tells_what_the_tracker_did() -> None:
    rng = np.random.default_rng(0)
    energy, eta = np.full(400, 60.0), rng.uniform(-1.4, 1.4, 400)
    particles = electrons_at_ecal(rng, energy, eta, 1.0)
    # energy is conserved: what reaches the ECAL plus what curled up is the electron's energy
    assert np.allclose(particles.energy.sum(axis=1) + particles.lost, energy)
    electrons = simulate_showers("electron", 300, seed=1).truth
    photons = simulate_showers("photon", 300, seed=1).truth
    assert (electrons.brem_fraction > 0).all() and set(np.unique(electrons.charge)) == {-1.0, 1.0}
    assert not electrons.converted.any() and np.isnan(electrons.conversion_radius).all()
    plain = ~photons.converted
    assert plain.any() and photons.converted.any()
    # an unconverted photon reaches the ECAL whole: one particle, no spread, no bremsstrahlung
    assert (photons.leading_fraction[plain] == 1).all() and (photons.leading_is_photon[plain]).all()
    assert (photons.second_fraction[plain] == 0).all() and (photons.phi_spread[plain] == 0).all()
    radius = photons.conversion_radius[photons.converted]
    assert ((radius >= C.TRACKER_INNER_RADIUS_M) & (radius <= C.TRACKER_OUTER_RADIUS_M)).all()
    assert (photons.charge == 0).all() and (electrons.leading_fraction + electrons.second_fraction <= 1 + 1e-12).all()
    assert ShowerTruth.concatenate([electrons, photons]).features().shape == (600, len(ShowerTruth.FEATURES))


def test_without_material_an_electron_reaches_the_ecal_whole() -> None:
    truth = simulate_showers("electron", 200, seed=2, settings=ShowerSettings(material_scale=0.0)).truth
    assert (truth.brem_fraction == 0).all() and (truth.leading_fraction == 1).all() and not truth.leading_is_photon.any()


def test_reflections_are_about_the_central_crystal_and_undo_themselves() -> None:
    assert mirror_index(32)[16] == 16 and mirror_index(5).tolist() == [4, 3, 2, 1, 0]
    x = torch.randn(6, 2, 8, 8)
    for rows, cols in ((True, False), (False, True), (True, True)):
        assert torch.equal(reflect(reflect(x, rows, cols), rows, cols), x)
    assert torch.equal(reflect(x, True, False)[:, :, 4, :], x[:, :, 4, :])  # the central row stays
    symmetric = x + reflect(x, True, False)
    symmetric = symmetric + reflect(symmetric, False, True)
    assert torch.allclose(random_reflections(symmetric, torch.Generator().manual_seed(0)), symmetric)


def test_symmetrized_scores_do_not_change_under_reflections() -> None:
    config = ClassifyConfig(cnn=CnnConfig(channels=[4, 8], hidden=8), device="cpu")
    model = build_network("cnn", config, (2, 16, 16), seed=0)
    assert isinstance(model, ResidualCNN)
    x = torch.randn(10, 2, 16, 16)
    x[:, :, 0, :] = 0  # the edge row and column have no mirror image
    x[:, :, :, 0] = 0
    scores = predict(model, x, symmetrize=True)
    for rows, cols in ((True, False), (False, True)):
        assert np.allclose(predict(model, reflect(x, rows, cols), symmetrize=True), scores, atol=1e-5)
    assert not np.allclose(predict(model, reflect(x, True, False)), predict(model, x), atol=1e-5)


def test_shower_shapes_see_energy_spread_in_phi_and_are_symmetric() -> None:
    image = np.zeros((2, 9, 9))
    image[:, 4, 4] = 10.0
    image[1, 4, 7] = 2.0  # a bremsstrahlung photon three crystals away in phi
    shapes = dict(zip(shape_names(), shower_shapes(image).T))
    assert shapes["e1"].tolist() == [1.0, pytest.approx(10 / 12)]
    assert shapes["phi_max_3"].tolist() == [0.0, pytest.approx(2 / 12)] and (shapes["eta_3"] == 0).all()
    assert shapes["sigma_phi"][0] == 0 and shapes["sigma_phi"][1] > 1
    rng = np.random.default_rng(3)
    images = rng.exponential(1.0, (5, 9, 9))
    images[:, 0, :] = images[:, :, 0] = 0  # no mirror image
    mirrored = images[:, mirror_index(9).numpy()][:, :, mirror_index(9).numpy()]
    assert np.allclose(shower_shapes(mirrored), shower_shapes(images))


def test_truth_bounds_the_image_ceiling_from_above() -> None:
    cfg = CeilingConfig(max_iter=100)
    settings = ShowerSettings(eta_max=1.4)
    train, test = simulate_ceiling_inputs(settings, 1500, seed=5), simulate_ceiling_inputs(settings, 500, seed=6)
    assert train.shapes.shape == (3000, len(shape_names())) and train.truth.shape == (3000, len(ShowerTruth.FEATURES))
    aucs = {kind: roc_auc(test.y, fit_ceiling(kind, train, test, cfg, 0)[0]) for kind in ("shapes", "truth")}
    assert 0.6 < aucs["shapes"] < aucs["truth"] - 0.1  # the images hide much of what the generator did
    assert aucs["truth"] > 0.9


def test_paired_gap_of_a_classifier_to_itself_is_exactly_zero() -> None:
    rng = np.random.default_rng(4)
    labels = np.repeat([0, 1], 300)
    good, poor = labels + rng.normal(0, 1, 600), labels + rng.normal(0, 3, 600)
    same = ceiling_gap(labels, {"shapes": good, "truth": labels.astype(float)}, good, 100, 0)
    assert same is not None and same["ceiling_model"] == "shapes"  # truth is no image ceiling
    assert same["gap"] == 0 and same["gap_interval_95"] == [0.0, 0.0]
    worse = ceiling_gap(labels, {"shapes": good}, poor, 200, 0)
    assert worse is not None and worse["gap_interval_95"][0] > 0 < worse["gap"]
    assert ceiling_gap(labels, {"truth": good}, poor, 10, 0) is None
    aucs = paired_bootstrap_aucs(labels, {"a": good, "b": poor}, 50, 1)
    assert len(aucs["a"]) == len(aucs["b"]) == 50


def test_ceiling_needs_simulated_showers_with_their_energy_and_another_seed() -> None:
    simulated = {"pipeline": ["labelled", "classify", "ceiling"]}
    files = {"source": "files", "files": [{"path": "e.h5", "label": 1}, {"path": "p.h5", "label": 0}]}
    with pytest.raises(ValueError, match="needs labelled.source simulate"):
        EgammaAnalysis(name="x", **simulated, labelled=files)
    with pytest.raises(ValueError, match="must hold energy"):
        EgammaAnalysis(name="x", **simulated, labelled={"channels": ["time"]})
    with pytest.raises(ValueError, match="must differ"):
        EgammaAnalysis(name="x", **simulated, ceiling={"seed": 0})
    EgammaAnalysis(name="x", pipeline=["labelled", "classify"], labelled=files)  # no ceiling: any source


@pytest.mark.slow
def test_pipeline_reports_the_ceiling_and_the_gap(tmp_path: Path) -> None:
    text = """
kind: egamma
name: tiny_egamma
pipeline: [labelled, classify, ceiling, classify_report]
labelled: {simulate: {n: 80}, val: 0.25, test: 0.25}
classify: {models: [cnn], cnn: {channels: [4, 8], hidden: 8}, epochs: 1, batch_size: 32, device: cpu, bootstrap: 20}
ceiling: {factor: 3, max_iter: 30}
report: {formats: [png]}
"""
    run(load_analysis(write_analysis(tmp_path, text)), out=tmp_path / "out")
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    ceiling = results["ceiling"]
    assert ceiling["showers_per_class"] == 240 and set(ceiling["models"]) == {"shapes", "truth"}
    gap = ceiling["gaps"]["cnn"]
    assert gap["ceiling_auc"] == ceiling["models"]["shapes"]["test_auc"]
    assert gap["classifier_auc"] == pytest.approx(results["models"]["cnn"]["test_auc"], abs=1e-12)
    assert gap["gap"] == pytest.approx(gap["ceiling_auc"] - gap["classifier_auc"])
    assert 'id="ceiling"' in (tmp_path / "out" / "report" / "index.html").read_text()


def test_cnn_with_shower_shapes_learns_from_the_shapes_alone() -> None:
    # the same image for every event: the class sits only in one shower-shape column
    rng = np.random.default_rng(8)
    y = np.repeat([0, 1], 150)
    x = np.ones((300, 1, 8, 8), np.float32)
    shapes = np.column_stack([y + rng.normal(0, 0.3, 300), rng.normal(0, 1, 300)]).astype(np.float32)
    config = ClassifyConfig(cnn=CnnConfig(channels=[4], hidden=16, dropout=0.0, shapes=True), epochs=10, lr=3e-3,
                            batch_size=32, patience=None, device="cpu")  # fmt: skip
    train, val = slice(0, 300, 2), slice(1, 300, 2)
    trained = train_classifier("cnn", config, (x[train], y[train]), (x[val], y[val]), 0, shapes=(shapes[train], shapes[val]))
    assert roc_auc(y[val], predict(trained.model, x[val], symmetrize=True, shapes=shapes[val])) > 0.95
    with pytest.raises(LhcadError, match="only the residual cnn"):
        build_network("cnn", ClassifyConfig(cnn=CnnConfig(blocks="plain")), (1, 8, 8), 0, n_shapes=2)
