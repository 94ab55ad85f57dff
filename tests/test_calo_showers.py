"""The e/gamma fast simulation reproduces the parameters it states: energy sums, resolution,
lateral containment, conversion rate, and bremsstrahlung spreading energy in phi only."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from lhcad.families.egamma import constants as C
from lhcad.families.egamma.showers import (
    ShowerSettings,
    conversion_probability,
    lateral_containment,
    material_x0,
    photons_at_ecal,
    propagate_charged,
    sample_lateral_radius,
    simulate_showers,
)  # fmt: skip

# Unconverted photons at eta = 0 without the tracker: one clean shower each.
CLEAN = {"eta_max": 0.0, "material_scale": 0.0, "noise": False}
PT = 50.0


def _energy_sums(particle: str, n: int, seed: int, **settings: object) -> tuple[np.ndarray, np.ndarray]:
    sample = simulate_showers(particle, n, seed=seed, settings=ShowerSettings(**settings))  # type: ignore[arg-type]
    return sample.images[..., 0].sum(axis=(1, 2)), sample.energy


def _expected_longitudinal_containment(energy: float) -> float:
    """1 - leakage of a photon shower with GFlash's mean profile, starting after an
    exponentially distributed mean free path (integrated numerically from the constants)."""
    log_y = np.log(energy / C.CRITICAL_ENERGY_GEV)
    t_max = log_y + C.GFLASH_LOG_T[0]
    a, b, c = C.GFLASH_LOG_ALPHA
    alpha = a + (b + c / C.EFFECTIVE_Z) * log_y
    beta = (alpha - 1) / t_max
    mfp, depth = C.PHOTON_MEAN_FREE_PATH_X0, C.CRYSTAL_DEPTH_X0
    inside, _ = integrate.quad(lambda t0: stats.expon.pdf(t0, scale=mfp) * stats.gamma.cdf(depth - t0, alpha, scale=1 / beta), 0, depth)
    return inside


def test_energy_sum_is_the_particle_energy_less_rear_leakage() -> None:
    sums, energy = _energy_sums("photon", 800, 1, resolution=False, **CLEAN)
    assert np.allclose(energy, PT)  # eta = 0
    expected = _expected_longitudinal_containment(PT) * lateral_containment(16 * C.CM_PER_CRYSTAL / C.MOLIERE_RADIUS_CM)
    assert 0.985 < expected < 0.995
    assert np.mean(sums / energy) == pytest.approx(expected, abs=0.004)


def test_resolution_terms_smear_the_energy_sum_as_stated() -> None:
    smeared, _ = _energy_sums("photon", 800, 2, resolution=True, **CLEAN)
    exact, _ = _energy_sums("photon", 800, 2, resolution=False, **CLEAN)  # same showers, unsmeared
    expected = np.hypot(C.STOCHASTIC_TERM / np.sqrt(PT), C.CONSTANT_TERM)  # 0.50%
    ratio = smeared / exact
    assert ratio.mean() == pytest.approx(1.0, abs=4 * expected / np.sqrt(len(ratio)))
    assert ratio.std() == pytest.approx(expected, rel=0.1)


def test_lateral_profile_holds_90_percent_within_one_moliere_radius() -> None:
    assert lateral_containment(1.0) == pytest.approx(0.90, abs=0.002)
    assert lateral_containment(3.5) == pytest.approx(0.99, abs=0.003)
    radii = sample_lateral_radius(np.random.default_rng(0), 200_000)
    for r in (0.25, 1.0, 2.0, 3.5):
        assert np.mean(radii < r) == pytest.approx(lateral_containment(r), abs=0.004)


def test_images_contain_the_stated_lateral_fraction_around_the_hottest_crystal() -> None:
    sample = simulate_showers("photon", 800, seed=3, settings=ShowerSettings(resolution=False, **CLEAN))
    energy = sample.images[..., 0]
    total = energy.sum(axis=(1, 2))
    assert (energy[:, 16, 16] == energy.max(axis=(1, 2))).all()
    crystal_rm = C.CM_PER_CRYSTAL / C.MOLIERE_RADIUS_CM
    for half in (1, 2):  # 3x3 and 5x5 windows: they hold the disc of radius `half` crystals
        # around any impact point inside the central crystal, and lie within 2 * half + 1 / 2
        # crystals diagonally of it
        inside = energy[:, 16 - half : 17 + half, 16 - half : 17 + half].sum(axis=(1, 2)) / total
        lo, hi = lateral_containment(half * crystal_rm), lateral_containment((half + 1) * np.sqrt(2) * crystal_rm)
        assert lo < inside.mean() < hi


def test_conversion_rate_follows_the_material_budget() -> None:
    rng = np.random.default_rng(4)
    for eta in (0.0, 0.9, 1.3):
        n = 10_000
        photons = photons_at_ecal(rng, np.full(n, PT * np.cosh(eta)), np.full(n, eta), scale=1.0)
        expected = float(conversion_probability(material_x0(np.array([eta])))[0])
        assert photons.converted.mean() == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / n))
        assert (photons.energy[photons.converted, 2:].sum(axis=1) > 0).mean() > 0.9  # the legs radiate
    assert 0.25 < conversion_probability(material_x0(np.array([0.0])))[0] < 0.28  # 1 - exp(-7/9 0.4)
    assert not simulate_showers("electron", 10, seed=4).converted.any()


def _variance_per_axis(energy: np.ndarray) -> tuple[float, float]:
    """Mean energy-weighted variance of the crystal index along eta (rows) and phi (columns)."""
    index = np.arange(energy.shape[1])
    out = []
    for axis in (2, 1):
        profile = energy.sum(axis=axis) / energy.sum(axis=(1, 2))[:, None]
        mean = profile @ index
        out.append(float(np.mean((profile * (index[None, :] - mean[:, None]) ** 2).sum(axis=1))))
    return out[0], out[1]


def test_bremsstrahlung_in_the_field_spreads_electron_energy_in_phi_only() -> None:
    settings = {"eta_max": 0.0, "noise": False}
    with_tracker = simulate_showers("electron", 600, seed=5, settings=ShowerSettings(**settings))
    no_tracker = simulate_showers("electron", 600, seed=5, settings=ShowerSettings(material_scale=0.0, **settings))
    eta_var, phi_var = _variance_per_axis(with_tracker.images[..., 0])
    assert phi_var > 1.2 * eta_var
    eta_var0, phi_var0 = _variance_per_axis(no_tracker.images[..., 0])
    assert phi_var0 == pytest.approx(eta_var0, rel=0.1)  # a lone shower is round
    assert eta_var == pytest.approx(eta_var0, rel=0.1)  # the field bends in phi only


def test_noise_threshold_and_time_channel() -> None:
    sample = simulate_showers("electron", 300, seed=6)
    energy, time = sample.images[..., 0], sample.images[..., 1]
    hit = energy > 0
    assert energy[hit].min() >= C.READOUT_THRESHOLD_GEV
    assert (time[~hit] == 0).all()
    assert np.abs(time).max() <= C.TIME_WINDOW_NS
    # the hottest crystals (tens of GeV) are timed to the constant term, soft ones far worse
    assert np.abs(time[:, 16, 16]).std() < 0.5
    soft = hit & (energy < 0.3)
    assert time[soft].std() > 3.0


def test_simulation_is_seeded() -> None:
    a = simulate_showers("photon", 50, seed=7).images
    assert np.array_equal(a, simulate_showers("photon", 50, seed=7).images)
    assert not np.array_equal(a, simulate_showers("photon", 50, seed=8).images)


def test_settings_reject_unphysical_values() -> None:
    with pytest.raises(ValueError, match="barrel"):
        ShowerSettings(eta_max=2.0)
    with pytest.raises(ValueError, match="pt_min"):
        ShowerSettings(pt_min=60.0, pt_max=50.0)
    with pytest.raises(ValueError, match="unknown particle"):
        simulate_showers("muon", 10)


def test_tracks_bend_with_the_field_radius_and_soft_ones_curl_up() -> None:
    pt = np.array([50.0, 10.0, 0.5])
    track = propagate_charged(
        np.random.default_rng(0), pt, np.ones(3), np.ones(3), np.full(3, C.TRACKER_INNER_RADIUS_M), np.zeros(3)
    )
    rho = pt[:2] / (C.GEV_PER_TESLA_METRE * C.FIELD_TESLA)  # bending radius, metres
    # the circle of radius rho leaving (r0, 0) radially, where it crosses radius R:
    # (x - r0)^2 + (y - rho)^2 = rho^2 and x^2 + y^2 = R^2, solved by fixed-point iteration
    r0, big_r = C.TRACKER_INNER_RADIUS_M, C.ECAL_RADIUS_M
    x, y = np.full(2, big_r), np.zeros(2)
    for _ in range(50):
        y = (big_r**2 + r0**2 - 2 * r0 * x) / (2 * rho)
        x = np.sqrt(big_r**2 - y**2)
    assert np.abs(track.phi[:2]) == pytest.approx(np.arctan2(y, x), rel=0.01)  # 0.0137 rad at 50 GeV
    assert track.energy.tolist()[:2] == [50.0, 10.0] and track.energy[2] == 0.0  # 0.5 GeV never arrives
    assert not track.brem_energy.any()  # no material, no bremsstrahlung
