"""Jet images: geometry on hand-made jets, the CMS HDF5 layout, the convolutional VAE, and the
jet-image analysis end to end on images the tests build (no Pythia needed)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.errors import DataError
from lhcad.families.jet_images.geometry import CENTRE, IMAGE_SIZE, PIXEL, jet_images
from lhcad.families.jet_images.hdf5 import (
    ImageFileWriter,
    JetImages,
    count_jets,
    read_image_file,
    write_image_file,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CHARGED, PHOTON, NEUTRAL = 1.0, 2.0, 3.0


def one_jet(
    rows: list[tuple[float, float, float, float]], axis: tuple[float, float] = (0.3, 3.1)
) -> tuple[np.ndarray, np.ndarray]:
    """A jet (pt, eta, phi, mass) with its particles (pt, eta, phi, category), one padding row."""
    particles = np.zeros((1, len(rows) + 1, 4), dtype=np.float32)
    particles[0, : len(rows)] = rows
    return particles, np.array([[100.0, axis[0], axis[1], 10.0]], dtype=np.float32)


def test_a_track_and_a_photon_land_in_their_pixel_and_channel() -> None:
    eta0, phi0 = 0.3, 3.1
    # a track 3 pixels up in eta and 2 pixels down in phi; a photon 10 pixels up, 5 across the
    # phi = pi boundary (phi wraps around)
    track = (12.0, eta0 + 3.2 * PIXEL, phi0 - 1.9 * PIXEL, CHARGED)
    photon_phi = phi0 + 5.0 * PIXEL - 2 * np.pi
    photon = (7.0, eta0 + 10.2 * PIXEL, photon_phi, PHOTON)
    particles, jets = one_jet([track, photon], (eta0, phi0))
    image = jet_images(particles, jets)[0]
    assert image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and image.dtype == np.float32
    assert image[CENTRE + 3, CENTRE - 2, 0] == pytest.approx(12.0)  # Tracks: pT
    photon_energy = 7.0 * np.cosh(photon[1])
    assert image[CENTRE + 10, CENTRE + 5, 1] == pytest.approx(
        photon_energy, rel=1e-6
    )  # ECAL: energy
    assert np.count_nonzero(image) == 2


def test_a_neutral_hadron_fills_its_hcal_tower_of_five_by_five_pixels() -> None:
    # 1.3 pixels below and 2.2 pixels right of the axis: the central tower (rows and columns
    # CENTRE - 2 .. CENTRE + 2); a second hadron 3 pixels up falls in the next tower
    particles, jets = one_jet(
        [
            (20.0, 0.3 - 1.3 * PIXEL, 3.1 + 2.2 * PIXEL, NEUTRAL),
            (5.0, 0.3 + 3.0 * PIXEL, 3.1, NEUTRAL),
        ]
    )
    hcal = jet_images(particles, jets)[0, ..., 2]
    energy = 20.0 * np.cosh(0.3 - 1.3 * PIXEL)
    central = hcal[CENTRE - 2 : CENTRE + 3, CENTRE - 2 : CENTRE + 3]
    np.testing.assert_allclose(central, energy / 25, rtol=1e-6)
    above = hcal[CENTRE + 3 : CENTRE + 8, CENTRE - 2 : CENTRE + 3]
    np.testing.assert_allclose(above, 5.0 * np.cosh(0.3 + 3.0 * PIXEL) / 25, rtol=1e-6)
    assert np.count_nonzero(hcal) == 50
    assert hcal.sum() == pytest.approx(energy + 5.0 * np.cosh(0.3 + 3.0 * PIXEL), rel=1e-5)


def test_particles_outside_the_window_and_padding_are_dropped() -> None:
    particles, jets = one_jet([(3.0, 0.3 + 1.2, 3.1, CHARGED), (3.0, 0.3, 3.1 - 1.2, PHOTON)])
    assert not jet_images(particles, jets).any()


def toy_images(n: int, seed: int, spread: float = 0.08, prongs: int = 1, p: int = 40) -> JetImages:
    """Images of toy jets: ``p`` particles around ``prongs`` axes, of mixed categories."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 0.15 * (prongs > 1), size=(n, prongs, 2))
    which = rng.integers(0, prongs, size=(n, p))
    offsets = np.take_along_axis(centres, which[..., None].repeat(2, -1), axis=1)
    eta = offsets[..., 0] + rng.normal(0, spread, (n, p))
    phi = offsets[..., 1] + rng.normal(0, spread, (n, p))
    pt = rng.exponential(3.0, (n, p))
    category = rng.integers(1, 4, (n, p)).astype(np.float64)
    particles = np.stack([pt, eta, phi, category], axis=-1).astype(np.float32)
    jets = np.zeros((n, 4), dtype=np.float32)
    images = jet_images(particles, jets)
    jet_type = rng.integers(0, 2, n) if prongs == 1 else np.full(n, 2)
    return JetImages(
        images, rng.uniform(10, 40, n).astype(np.float32), pt.sum(1).astype(np.float32), jet_type
    )


def test_image_files_round_trip_in_the_cms_layout(tmp_path: Path) -> None:
    first, second = toy_images(5, seed=1), toy_images(4, seed=2)
    path = tmp_path / "images.h5"
    with ImageFileWriter(path, chunk_rows=3) as writer:
        writer.append(first)
        writer.append(second)
    with h5py.File(path) as handle:
        images = handle["X_jets"]
        assert images.shape == (9, 125, 125, 3) and images.chunks == (3, 125, 125, 3)
        np.testing.assert_array_equal(handle["y"][:5], (first.jet_type == 0).astype(np.float32))
    back = read_image_file(path)
    np.testing.assert_array_equal(back.images, np.concatenate([first.images, second.images]))
    np.testing.assert_array_equal(back.jet_type, np.concatenate([first.jet_type, second.jet_type]))
    np.testing.assert_array_equal(read_image_file(path, 5, 7).pt, second.pt[:2])
    assert count_jets(path) == 9


def test_a_cms_file_without_jet_types_reads_quarks_from_y(tmp_path: Path) -> None:
    images = toy_images(4, seed=3).images
    path = tmp_path / "quark-gluon.hdf5"
    with h5py.File(path, "w") as handle:  # the CMS file's datasets only
        handle["X_jets"] = images
        handle["m0"], handle["pt"] = np.ones(4), np.full(4, 100.0)
        handle["y"] = np.array([1.0, 0.0, 0.0, 1.0])
    assert read_image_file(path).jet_type.tolist() == [0, 1, 1, 0]


def test_bad_image_files_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_image_file(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(DataError, match="not a readable HDF5"):
        read_image_file(tmp_path / "text.h5")
    with h5py.File(tmp_path / "small.h5", "w") as handle:
        handle["X_jets"] = np.zeros((2, 32, 32, 3))
        handle["m0"] = handle["pt"] = handle["y"] = np.zeros(2)
    with pytest.raises(DataError, match="X_jets must be"):
        read_image_file(tmp_path / "small.h5")
    bad = toy_images(2, seed=4)
    bad.images[1, 0, 0, 0] = np.nan
    write_image_file(tmp_path / "nan.h5", bad)
    with pytest.raises(DataError, match="NaN"):
        read_image_file(tmp_path / "nan.h5")


def test_normalisation_maps_into_the_unit_interval_and_back() -> None:
    from lhcad.families.jet_images.conv_vae import denormalise_images, normalise_images

    images = toy_images(3, seed=5).images
    args = ((1.0, 1.0, 0.2), (200.0, 200.0, 40.0), "log")
    x = normalise_images(images, *args)
    assert x.shape == (3, 3, 125, 125) and x.min() >= 0 and x.max() <= 1
    np.testing.assert_allclose(
        denormalise_images(x, *args), np.minimum(images, (200, 200, 40)), rtol=1e-4, atol=1e-5
    )


def test_conv_vae_is_small_and_keeps_the_image_shape() -> None:
    import torch

    from lhcad.families.jet_images.conv_vae import ConvVAE

    model = ConvVAE(latent_dim=8).eval()
    assert sum(p.numel() for p in model.parameters()) < 1_000_000  # the seed's dense layer: 67M
    output, mean, logvar = model(torch.zeros(2, 3, 125, 125))
    assert output.shape == (2, 3, 125, 125) and mean.shape == logvar.shape == (2, 8)
    assert torch.sigmoid(output).max() < 0.01  # starts from empty images


@pytest.mark.slow
def test_conv_vae_validation_loss_falls() -> None:
    import torch

    from lhcad.families.jet_images.conv_vae import ConvVAE, normalise_images, vae_loss
    from lhcad.models.trainer import TrainSettings, train_model

    scales = ((1.0, 1.0, 0.2), (100.0, 100.0, 20.0))
    train = normalise_images(toy_images(192, seed=6).images, *scales)
    val = normalise_images(toy_images(64, seed=7).images, *scales)
    settings = TrainSettings(epochs=4, batch_size=32, lr=5e-3, patience=None)
    torch.manual_seed(0)  # the initial weights
    result = train_model(
        ConvVAE(channels=(8, 16, 32)), vae_loss("bce", 1.0), [train], [val], settings, seed=0
    )
    losses = [h["val_loss"] for h in result.history]
    assert losses == sorted(losses, reverse=True)  # falls every epoch
    assert losses[-1] < 0.85 * losses[0]


ANALYSIS = """
name: jet_images_test
pipeline: [jet_images_data, jet_images_train, jet_images_score, jet_images_report]
jet_images:
  data:
    background: {{path: {background}, n: 160}}
    signal: {{path: {signal}, n: 40}}
    val: 0.2
    test: 0.4
  train:
    model: {{channels: [8, 16], latent_dim: 4}}
    epochs: 2
    batch_size: 32
    device: cpu
  evaluate: {{examples: 1, classifier_folds: 3}}
report:
  formats: [png]
"""


@pytest.mark.slow
def test_jet_image_analysis_reports_latent_and_anomaly_aucs(tmp_path: Path) -> None:
    write_image_file(tmp_path / "qcd.h5", toy_images(160, seed=8))
    write_image_file(tmp_path / "top.h5", toy_images(40, seed=9, prongs=3, p=80))
    analysis = tmp_path / "analysis.yaml"
    analysis.write_text(ANALYSIS.format(background=tmp_path / "qcd.h5", signal=tmp_path / "top.h5"))
    result = CliRunner().invoke(main, ["run", str(analysis), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {"analysis", "lhcad_version", "config_sha256", "created"} <= set(results)
    assert 0.0 <= results["quark_gluon"]["latent_auc"] <= 1.0
    assert results["anomaly"]["signal"] == "top"
    # three-prong toy "tops" with twice the particles, spread over the image: a model of narrow
    # one-prong jets reconstructs them worse
    assert results["anomaly"]["recon_error"]["auc"] > 0.7
    assert results["training"]["n_parameters"] < 100_000
    page = (tmp_path / "out" / "report" / "index.html").read_text()
    for figure in ("examples", "latent", "roc", "training"):
        assert (tmp_path / "out" / "report" / "figures" / f"{figure}.png").exists()
        assert f"figures/{figure}.png" in page


def test_a_missing_image_file_is_one_line_and_exit_status_two(tmp_path: Path) -> None:
    analysis = tmp_path / "analysis.yaml"
    analysis.write_text(
        ANALYSIS.format(background=tmp_path / "none.h5", signal=tmp_path / "none.h5")
    )
    result = CliRunner().invoke(main, ["run", str(analysis), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "none.h5" in result.output and "Traceback" not in result.output


def test_bench_times_a_conv_vae_epoch() -> None:
    from lhcad.families.jet_images.bench import bench_conv_vae

    figures = bench_conv_vae(96, "cpu", batch_size=32)
    assert figures["jet_images"] == 96
    assert 0 < figures["conv_vae_seconds_per_epoch"] < 60
    assert figures["conv_vae_parameters"] == 127_059
