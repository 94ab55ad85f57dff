"""The event generator: detector response, Pythia settings, events, parquet runs and the CLI.

Tests marked ``gen`` need the gen extra (pythia8mc, fastjet) and skip without it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lhcad.data.columns import JET_COLUMNS, LABEL, MJJ, RND_TRUTH_GEV
from lhcad.gen import GEN_EXTRA_MESSAGE, GeneratorConfig, GeneratorError
from lhcad.cli.gen import generate_command
from lhcad.gen.detector import (
    DetectorSettings,
    Particles,
    apply_detector,
    pseudorapidity,
    smear_jets,
)
from lhcad.gen.pythia import MAX_SEED, process_settings, pythia_seed

OUTPUT_COLUMNS = [*JET_COLUMNS, MJJ, LABEL]


def particles_at(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, mass: float = 0.0) -> Particles:
    """One event of particles with the given kinematics."""
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    return Particles(px, py, pz, e, counts=np.array([len(pt)]))


# --- detector (numpy only) ---------------------------------------------------------------


def test_no_detector_only_applies_the_acceptance() -> None:
    eta = np.array([0.0, 2.4, -2.6, 3.0, -1.0])
    p = particles_at(np.full(5, 10.0), eta, np.zeros(5))
    out = apply_detector(p, np.zeros(5), np.full(5, 22), np.random.default_rng(0), detector="none")
    np.testing.assert_allclose(pseudorapidity(out.px, out.py, out.pz), [0.0, 2.4, -1.0], atol=1e-12)
    np.testing.assert_array_equal(out.e, p.e[[0, 1, 4]])
    assert out.counts.tolist() == [3]


def test_calorimeter_snaps_to_cells_and_cuts_energy() -> None:
    rng = np.random.default_rng(1)
    n = 4000
    eta, phi = rng.uniform(-2.4, 2.4, n), rng.uniform(-np.pi, np.pi, n)
    pid = np.where(np.arange(n) % 2 == 0, 22, 2112)
    p = particles_at(rng.uniform(0.2, 50.0, n), eta, phi, mass=0.5)
    out = apply_detector(p, np.zeros(n), pid, rng)
    pt, out_eta, out_phi = np.hypot(out.px, out.py), pseudorapidity(out.px, out.py, out.pz), np.arctan2(out.py, out.px)
    np.testing.assert_allclose(out.e, pt * np.cosh(out_eta), rtol=1e-9)  # massless
    assert out.e.min() > DetectorSettings().photon_e_min
    cell = DetectorSettings().photon_cell
    on_fine_grid = np.abs((out_eta / cell - 0.5) - np.round(out_eta / cell - 0.5)) < 1e-6
    coarse = DetectorSettings().hadron_cell
    on_coarse_grid = np.abs((out_eta / coarse - 0.5) - np.round(out_eta / coarse - 0.5)) < 1e-6
    assert np.all(on_fine_grid | on_coarse_grid)
    assert np.all(np.abs(out_phi) <= np.pi)
    assert 0 < out.counts[0] < n


def test_tracks_efficiency_and_resolution() -> None:
    rng = np.random.default_rng(2)
    n = 20_000
    p = particles_at(np.full(n, 100.0), rng.uniform(-2, 2, n), rng.uniform(-3, 3, n), mass=0.13957)
    out = apply_detector(p, np.ones(n), np.full(n, 211), rng)
    assert out.counts[0] / n == pytest.approx(0.97, abs=0.005)
    ratio = np.hypot(out.px, out.py) / 100.0
    assert np.std(ratio) == pytest.approx(np.hypot(0.015, 3e-4 * 100.0), rel=0.05)
    mass2 = out.e**2 - out.px**2 - out.py**2 - out.pz**2
    np.testing.assert_allclose(mass2, 0.13957**2, atol=1e-6 * out.e.max() ** 2)


def test_detector_keeps_events_apart() -> None:
    rng = np.random.default_rng(3)
    one = particles_at(np.array([50.0, 60.0]), np.array([0.0, 5.0]), np.zeros(2))
    two = Particles(*(np.concatenate([v, v]) for v in (one.px, one.py, one.pz, one.e)), counts=np.array([2, 0, 2]))
    out = apply_detector(two, np.ones(4), np.full(4, 211), rng)
    assert out.counts.tolist() == [1, 0, 1]


def test_jet_smearing_without_resolution_is_the_identity() -> None:
    settings = DetectorSettings(jet_scale_resolution=0.0, jet_mass_resolution=0.0)
    px, py, pz, m = np.array([1000.0]), np.array([-50.0]), np.array([300.0]), np.array([80.0])
    out = smear_jets(px, py, pz, m, np.random.default_rng(0), settings)
    for got, want in zip(out, (px, py, pz, m, np.ones(1)), strict=True):
        np.testing.assert_allclose(got, want)


# --- settings and seeds --------------------------------------------------------------------


def test_signal_settings_use_the_masses() -> None:
    lines = process_settings("signal", mZ=3000, mX=400, mY=80)
    assert "4900023:m0 = 3000" in lines
    assert any(line.startswith("9000005:all = X void 1 0 0 400 ") for line in lines)
    assert any(line.startswith("9000006:all = Y void 1 0 0 80 ") for line in lines)
    assert "PartonLevel:MPI = off" in lines
    assert "PartonLevel:MPI = on" in process_settings("qcd", mpi=True)
    assert "PhaseSpace:pTHatMin = 800" in process_settings("qcd", pthat_min=800)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"process": "ttbar"}, "unknown process"),
        ({"process": "signal", "mX": 100, "mY": 500}, "mY <= mX"),
        ({"process": "signal", "mZ": 700}, "too heavy"),
        ({"process": "qcd", "detector": "delphes"}, "unknown detector"),
    ],
)
def test_bad_settings_are_user_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        GeneratorConfig(**kwargs)  # type: ignore[arg-type]


def test_pythia_seeds_are_distinct_and_in_range() -> None:
    seeds = {pythia_seed(s, k) for s in (0, 1, MAX_SEED) for k in (0, 1, 9999)}
    assert len(seeds) == 9
    assert min(seeds) >= 1 and max(seeds) <= 900_000_000
    with pytest.raises(GeneratorError):
        pythia_seed(MAX_SEED + 1, 0)
    with pytest.raises(GeneratorError):
        pythia_seed(0, 10_000)


def test_cli_without_the_gen_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pythia8mc", None)
    result = CliRunner().invoke(generate_command, ["--process", "qcd", "--n", "10", "--out", str(tmp_path / "x.parquet")])
    assert result.exit_code == 2
    assert GEN_EXTRA_MESSAGE in result.output
    assert not (tmp_path / "x.parquet").exists()


# --- generation (needs the gen extra) ------------------------------------------------------

gen = pytest.mark.gen


@pytest.fixture(scope="module")
def samples() -> dict[str, pd.DataFrame]:
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from lhcad.gen import generate_events

    return {
        "signal": generate_events("signal", 300, seed=5),
        "qcd": generate_events("qcd", 150, seed=5, truth=True),
    }


def heavy_light(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    heavy_first = frame.mj1 >= frame.mj2
    tau21 = np.where(heavy_first, frame.tau2j1 / frame.tau1j1, frame.tau2j2 / frame.tau1j2)
    return np.maximum(frame.mj1, frame.mj2), np.minimum(frame.mj1, frame.mj2), tau21


@pytest.mark.slow
@gen
def test_events_have_the_lhco_columns(samples: dict[str, pd.DataFrame]) -> None:
    signal, qcd = samples["signal"], samples["qcd"]
    assert list(signal.columns) == OUTPUT_COLUMNS
    assert list(qcd.columns) == [*JET_COLUMNS, MJJ, "pthat", "mhat", LABEL]
    assert all(signal[c].dtype == np.float32 for c in [*JET_COLUMNS, MJJ])
    assert signal[LABEL].dtype == np.int8
    assert set(signal[LABEL]) == {1} and set(qcd[LABEL]) == {0}
    assert len(signal) == 300 and len(qcd) == 150
    assert np.all(np.isfinite(signal[[*JET_COLUMNS, MJJ]].to_numpy()))
    assert np.all(signal.tau1j1 >= signal.tau2j1) and np.all(signal.tau2j1 >= signal.tau3j1)
    generation = qcd.attrs["generation"]
    assert generation["n_generated"] > generation["n_selected"] == 150
    assert generation["config"]["pythia_settings"][-1] == "PhaseSpace:pTHatMin = 1000"
    assert qcd["pthat"].min() >= 1000


@pytest.mark.slow
@gen
def test_dijet_selection(samples: dict[str, pd.DataFrame]) -> None:
    qcd = samples["qcd"]
    # The leading-jet cut is applied before the jet-level response (5% scale smearing).
    assert np.median(np.hypot(qcd.pxj1, qcd.pyj1)) > 1200
    assert np.hypot(qcd.pxj1, qcd.pyj1).min() > 900


@pytest.mark.slow
@gen
def test_signal_peaks_at_the_resonance_masses(samples: dict[str, pd.DataFrame]) -> None:
    signal, qcd = samples["signal"], samples["qcd"]
    heavy, light, tau21 = heavy_light(signal)
    assert np.median(signal[MJJ]) == pytest.approx(RND_TRUTH_GEV[MJJ], rel=0.05)
    assert np.median(heavy) == pytest.approx(500.0, rel=0.10)
    assert np.median(light) == pytest.approx(100.0, rel=0.10)
    assert np.median(tau21) < np.median(heavy_light(qcd)[2]) - 0.15


@pytest.mark.slow
@gen
def test_same_seed_same_events(samples: dict[str, pd.DataFrame]) -> None:
    from lhcad.gen import generate_events

    again = generate_events("signal", 50, seed=5)
    pd.testing.assert_frame_equal(again, samples["signal"].iloc[:50])
    other = generate_events("signal", 50, seed=6)
    assert not np.allclose(other[MJJ], again[MJJ])


@pytest.mark.slow
@gen
def test_resumed_parallel_run_matches_a_fresh_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from lhcad.gen import generate as generate_module
    from lhcad.gen import generate_to_parquet

    samples = [(GeneratorConfig("qcd"), 40), (GeneratorConfig("signal"), 20)]
    options = {"seed": 2, "chunk_size": 20, "shuffle": True, "progress": False}

    real_run_task = generate_module._run_task
    calls = []

    def killed_after_two(task: object) -> dict[str, object]:
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(task)
        return real_run_task(task)  # type: ignore[arg-type]

    resumed = tmp_path / "resumed.parquet"
    monkeypatch.setattr(generate_module, "_run_task", killed_after_two)
    with pytest.raises(KeyboardInterrupt):
        generate_to_parquet(resumed, samples, **options)
    assert len(list((tmp_path / "resumed.parquet.parts").glob("chunk_*.parquet"))) == 2
    monkeypatch.setattr(generate_module, "_run_task", real_run_task)
    provenance = generate_to_parquet(resumed, samples, **options)
    assert provenance["chunks_resumed"] == 2
    assert not (tmp_path / "resumed.parquet.parts").exists()

    fresh = tmp_path / "fresh.parquet"
    generate_to_parquet(fresh, samples, workers=2, **options)
    a, b = pd.read_parquet(resumed), pd.read_parquet(fresh)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == OUTPUT_COLUMNS
    assert a[LABEL].tolist() != sorted(a[LABEL].tolist())  # shuffled
    assert a[LABEL].sum() == 20

    record = json.loads((tmp_path / "resumed.provenance.json").read_text())
    assert [s["process"] for s in record["samples"]] == ["qcd", "signal"]
    chunk_seeds = [c["pythia_seed"] for s in record["samples"] for c in s["chunks"]]
    assert chunk_seeds == [20_001, 20_002, 20_003]
    assert 0 < record["samples"][0]["selection_efficiency"] < 1
    assert record["versions"]["pythia"].startswith("8.3")


@gen
def test_cli_writes_parquet_and_provenance(tmp_path: Path) -> None:
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    out = tmp_path / "sig.parquet"
    args = ["--process", "signal", "--n", "20", "--out", str(out), "--seed", "7", "--no-progress"]
    result = CliRunner().invoke(generate_command, args)
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(out)) == 20
    record = json.loads(out.with_suffix(".provenance.json").read_text())
    assert record["command"].startswith("lhcad generate --process signal --n 20 --out ")
    assert "--seed 7" in record["command"]
    again = CliRunner().invoke(generate_command, args)
    assert again.exit_code == 2
    assert "--overwrite" in again.output


@pytest.mark.slow
@pytest.mark.gen
def test_an_analysis_can_generate_its_data_and_caches_it(tmp_path: Path) -> None:
    """``data.generate``: the generator as a data source, cached like any stage."""
    from lhcad.families.registry import load_analysis
    from lhcad.pipeline.runner import run_pipeline

    analysis = tmp_path / "a.yaml"
    analysis.write_text("pipeline: [data]\ndata:\n  generate: {process: signal, n: 40, chunk_size: 20, mZ: 3000, mX: 400, mY: 80}\n")
    config = load_analysis(analysis)
    first = run_pipeline(config, out=tmp_path / "out")
    events = first.artifacts["data"].read_table("events.parquet")
    assert len(events) == 40 and set(events["label"]) == {1}
    assert abs(float(np.median(events["mjj"])) / 3000 - 1) < 0.1
    assert run_pipeline(config, out=tmp_path / "out").stages[0].cached
