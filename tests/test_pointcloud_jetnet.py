"""JetNet layout: relative coordinates with phi modulo 2 pi, the HDF5 writer and reader, the
generate command and JetNet's W1 metrics."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from lhcad.errors import DataError
from lhcad.families.pointcloud.jetnet import (
    JetNetJets,
    read_jetnet,
    relative_coordinates,
    to_jetnet,
    write_jetnet,
)
from lhcad.families.pointcloud.metrics import relative_jet_mass, w1_log_pt, w1m, w1p
from tests.conftest import cli_options


def _jet(phi_jet: float) -> tuple[np.ndarray, np.ndarray]:
    """One jet of three particles around ``phi_jet`` plus two padding slots (pt, eta, phi, category)."""
    offsets = np.array([[600.0, 0.05, 0.02], [300.0, -0.1, 0.15], [80.0, 0.3, -0.2]])
    particles = np.zeros((1, 5, 4))
    particles[0, :3, 0] = offsets[:, 0]
    particles[0, :3, 1] = 0.5 + offsets[:, 1]
    particles[0, :3, 2] = (
        np.mod(phi_jet + offsets[:, 2] + np.pi, 2 * np.pi) - np.pi
    )  # absolute, in [-pi, pi)
    particles[0, :3, 3] = 1
    jets = np.array([[1000.0, 0.5, np.mod(phi_jet + np.pi, 2 * np.pi) - np.pi, 120.0]])
    return particles, jets


def test_a_jet_straddling_phi_pi_has_the_relative_coordinates_of_the_same_jet_at_phi_0() -> None:
    straddling = relative_coordinates(*_jet(np.pi - 0.05))
    # its particles sit on both sides of the boundary: absolute phi near +pi and near -pi
    assert np.ptp(_jet(np.pi - 0.05)[0][0, :3, 2]) > 6.0
    at_zero = relative_coordinates(*_jet(0.0))
    np.testing.assert_allclose(straddling, at_zero, atol=1e-5)
    np.testing.assert_allclose(at_zero[0, :3, 1], [0.02, 0.15, -0.2], atol=1e-6)


def test_jetnet_layout_relative_features_mask_and_jet_features() -> None:
    particles, jets = _jet(1.0)
    features, jet_features = to_jetnet(particles, jets, n_particles=4)
    assert features.shape == (1, 4, 4) and jet_features.shape == (1, 4)
    np.testing.assert_array_equal(features[0, :, 3], [1, 1, 1, 0])
    np.testing.assert_array_equal(features[0, 3], np.zeros(4))  # padding stays zero
    np.testing.assert_allclose(features[0, :3, 2], [0.6, 0.3, 0.08], rtol=1e-6)
    np.testing.assert_allclose(features[0, :3, 0], [0.05, -0.1, 0.3], atol=1e-6)
    np.testing.assert_allclose(jet_features[0], [1000.0, 0.5, 120.0, 3.0])
    # asking for fewer slots keeps the hardest particles
    fewer, counts = to_jetnet(particles, jets, n_particles=2)
    np.testing.assert_allclose(fewer[0, :, 2], [0.6, 0.3], rtol=1e-6)
    assert counts[0, 3] == 2


def test_write_and_read_round_trip(tmp_path: Path) -> None:
    features, jet_features = to_jetnet(*_jet(2.0), n_particles=5)
    path = tmp_path / "g.hdf5"
    write_jetnet(path, JetNetJets(features, jet_features, {"jet_type": "g", "seed": 3}))
    with h5py.File(path) as f:  # the real JetNet files' dataset names
        assert set(f) == {"particle_features", "jet_features"}
    back = read_jetnet(path)
    np.testing.assert_array_equal(back.particle_features, features)
    np.testing.assert_array_equal(back.jet_features, jet_features)
    assert back.attrs == {"jet_type": "g", "seed": 3}
    np.testing.assert_array_equal(back.mask[0], [True, True, True, False, False])


def _write_raw(path: Path, **datasets: np.ndarray) -> Path:
    with h5py.File(path, "w") as f:
        for name, data in datasets.items():
            f.create_dataset(name, data=data)
    return path


@pytest.mark.parametrize(
    ("datasets", "message"),
    [
        ({"particle_features": np.zeros((2, 3, 4))}, "no dataset jet_features"),
        (
            {"particle_features": np.zeros((2, 3, 3)), "jet_features": np.zeros((2, 4))},
            r"shape \(N, P, 4\)",
        ),
        (
            {"particle_features": np.zeros((2, 3, 4)), "jet_features": np.zeros((3, 4))},
            "2 particle rows for 3 jets",
        ),
        (
            {"particle_features": np.full((2, 3, 4), np.nan), "jet_features": np.zeros((2, 4))},
            "NaN",
        ),
        ({"particle_features": np.full((2, 3, 4), 0.5), "jet_features": np.zeros((2, 4))}, "mask"),
        ({"particle_features": np.zeros((0, 3, 4)), "jet_features": np.zeros((0, 4))}, "no jets"),
    ],
)
def test_bad_files_raise_data_errors(tmp_path: Path, datasets: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_jetnet(_write_raw(tmp_path / "bad.hdf5", **datasets))


def test_missing_and_non_hdf5_files_raise_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_jetnet(tmp_path / "nope.hdf5")
    text = tmp_path / "text.hdf5"
    text.write_text("not hdf5")
    with pytest.raises(DataError, match="cannot read as HDF5"):
        read_jetnet(text)


def test_relative_mass_of_two_massless_particles() -> None:
    # m^2 = 2 pt1 pt2 (cosh(d_eta) - cos(d_phi)) for massless particles
    points = np.array([[[0.1, 0.05, 0.7], [-0.2, -0.1, 0.3], [9.0, 9.0, 0.0]]])
    mask = np.array([[True, True, False]])
    expected = np.sqrt(2 * 0.7 * 0.3 * (np.cosh(0.3) - np.cos(0.15)))
    assert relative_jet_mass(points, mask)[0] == pytest.approx(expected, rel=1e-9)


def test_w1_metrics_vanish_for_identical_samples_and_measure_a_shift() -> None:
    rng = np.random.default_rng(0)
    points = np.stack(
        [
            rng.normal(0, 0.1, (500, 10)),
            rng.normal(0, 0.1, (500, 10)),
            rng.exponential(0.1, (500, 10)),
        ],
        -1,
    )
    mask = rng.random((500, 10)) < 0.8
    assert w1m((points, mask), (points, mask)) == 0.0
    shifted = points + np.array([0.03, 0.0, 0.0])
    distances = w1p((points, mask), (shifted, mask))
    assert distances["eta_rel"] == pytest.approx(0.03)
    assert distances["phi_rel"] == 0.0 and distances["pt_rel"] == 0.0
    assert distances["mean"] == pytest.approx(0.01)
    # halving every pT moves log10 pT_rel by log10 2, whatever the particle's pT
    softer = points * np.array([1.0, 1.0, 0.5])
    assert w1_log_pt((points, mask), (softer, mask)) == pytest.approx(np.log10(2.0))


def test_generate_jetnet_needs_a_jet_type(tmp_path: Path) -> None:
    from lhcad.cli import main

    args = cli_options(process="jetnet", n=5, out=tmp_path / "g.hdf5")
    result = CliRunner().invoke(main, ["generate", *args])
    assert result.exit_code == 2
    assert "--jet-type" in result.output


@pytest.mark.slow
@pytest.mark.gen
def test_generate_jetnet_writes_gluon_jets_near_1_tev(tmp_path: Path) -> None:
    from lhcad.cli import main

    out = tmp_path / "g.hdf5"
    args = cli_options(process="jetnet", jet_type="g", n=10, n_particles=30, out=out)
    result = CliRunner().invoke(main, ["generate", *args])
    assert result.exit_code == 0, result.output
    jets = read_jetnet(out)
    assert jets.particle_features.shape == (10, 30, 4) and jets.attrs["jet_type"] == "g"
    assert ((jets.jet_features[:, 0] > 900) & (jets.jet_features[:, 0] < 1100)).all()
    assert (
        np.abs(jets.points[..., 1][jets.mask]) < 0.8 + 1e-3
    ).all()  # phi_rel inside the jet radius
    assert (jets.points[..., 2].sum(1) <= 1.0 + 1e-4).all()
