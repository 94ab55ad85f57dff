"""Extended substructure features (#30): tau1..tau5 at beta = 0.5, 1, 2 and constituent counts,
computed with real FastJet on hand-built jets and events, written and read back by lhcad."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.data import columns as col
from lhcad.data.features import add_derived_features, extended_ratio_features, has_extended_columns
from lhcad.data.parquet import read_events_parquet, write_events_parquet
from lhcad.data.sources import read_events
from lhcad.errors import DataError

BETAS = col.EXTENDED_BETAS


# --- names and ratios (no FastJet) ---------------------------------------------------------


def test_extended_column_names_are_defined_once_and_do_not_touch_the_official_ones() -> None:
    assert len(col.EXTENDED_COLUMNS) == 2 * len(BETAS) * col.EXTENDED_N_MAX + 2 == 32
    assert len(set(col.EXTENDED_COLUMNS)) == 32
    assert not set(col.EXTENDED_COLUMNS) & {*col.JET_COLUMNS, *col.DERIVED_COLUMNS}
    assert col.EXTENDED_COLUMNS[:6] == (
        "tau1j1_b05", "tau2j1_b05", "tau3j1_b05", "tau4j1_b05", "tau5j1_b05", "tau1j1_b1",
    )  # fmt: skip
    assert col.EXTENDED_COLUMNS[-2:] == ("nconstj1", "nconstj2")
    assert col.tau_ratio_column(4, "light", 0.5) == "tau54_light_b05"
    assert len(set(col.EXTENDED_DERIVED_COLUMNS)) == 2 * 3 * 4 + 2


def synthetic_extended(n: int, seed: int = 0) -> pd.DataFrame:
    """Events with the official and extended columns (taus decreasing in N, b1 = official)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.uniform(10, 500, n) for name in col.JET_COLUMNS})
    for j in (1, 2):
        for beta in BETAS:
            taus = np.sort(rng.uniform(0, 100, (n, col.EXTENDED_N_MAX)), axis=1)[:, ::-1]
            for k in range(col.EXTENDED_N_MAX):
                frame[col.tau_column(k + 1, j, beta)] = taus[:, k]
        for k in range(3):
            frame[f"tau{k + 1}j{j}"] = frame[col.tau_column(k + 1, j, 1.0)]
        frame[f"nconstj{j}"] = rng.integers(1, 120, n).astype(np.float32)
    frame = frame[[*col.JET_COLUMNS, *col.EXTENDED_COLUMNS]].astype(np.float32)
    frame["label"] = (np.arange(n) % 2).astype(np.int8)
    return frame


def test_ratios_are_mass_ordered_nan_safe_and_agree_with_tau21() -> None:
    events = synthetic_extended(50)
    events.loc[0, ["tau1j1_b2", "tau2j1_b2"]] = 0.0  # a one-constituent jet: 0/0
    events.loc[0, "mj1"], events.loc[0, "mj2"] = 300.0, 100.0  # ... and it is the heavy jet
    ratios = extended_ratio_features(events)
    assert list(ratios.columns) == list(col.EXTENDED_DERIVED_COLUMNS) and len(ratios) == 50
    assert np.isnan(ratios["tau21_heavy_b2"].iloc[0]) and np.isfinite(ratios["tau21_light_b2"].iloc[0])
    derived = add_derived_features(events)
    np.testing.assert_array_equal(ratios["tau21_heavy_b1"], derived["tau21_heavy"])
    np.testing.assert_array_equal(ratios["tau32_light_b1"], derived["tau32_light"])
    heavy_first = events["mj1"].to_numpy() >= events["mj2"].to_numpy()
    tau = events.astype(np.float64)
    expected = np.where(heavy_first, tau["tau5j1_b05"] / tau["tau4j1_b05"], tau["tau5j2_b05"] / tau["tau4j2_b05"])
    np.testing.assert_allclose(ratios["tau54_heavy_b05"], expected, rtol=1e-12)
    np.testing.assert_array_equal(ratios["nconst_light"], np.where(heavy_first, events["nconstj2"], events["nconstj1"]))


def test_ratios_of_a_standard_file_are_a_clear_error() -> None:
    standard = synthetic_extended(5)[[*col.JET_COLUMNS, "label"]]
    assert not has_extended_columns(standard)
    with pytest.raises(DataError, match="--feature-set extended"):
        extended_ratio_features(standard)


# --- reading ---------------------------------------------------------------------------------


def test_extended_parquet_round_trips_exactly_through_the_reader(tmp_path: Path) -> None:
    events = synthetic_extended(40)
    events["mjj"] = np.float32(1.0)  # written by the generator, never read (recomputed)
    path = tmp_path / "ext.parquet"
    write_events_parquet(events, path)
    back = read_events(path)
    assert list(back.columns) == [*col.JET_COLUMNS, *col.EXTENDED_COLUMNS, "label"]
    pd.testing.assert_frame_equal(back, events.drop(columns="mjj"), check_exact=True)


def test_standard_files_still_read_with_the_fourteen_columns(tmp_path: Path) -> None:
    pytest.importorskip("tables")
    official = synthetic_extended(30)[[*col.JET_COLUMNS, "label"]].astype(np.float64)
    h5 = tmp_path / "official.features.h5"
    official.to_hdf(h5, key="df")  # the official files' layout (pandas fixed, float64)
    back = read_events(h5)
    assert list(back.columns) == [*col.JET_COLUMNS, "label"]
    pd.testing.assert_frame_equal(back, official, check_exact=True)
    parquet = tmp_path / "standard.parquet"
    write_events_parquet(official.drop(columns="label"), parquet)
    assert list(read_events_parquet(parquet).columns) == list(col.JET_COLUMNS)


def test_extended_features_h5_keeps_its_columns_and_inspect_lists_them(tmp_path: Path) -> None:
    pytest.importorskip("tables")
    events = synthetic_extended(20).astype(np.float64)
    h5 = tmp_path / "ext.features.h5"
    events.to_hdf(h5, key="df")
    pd.testing.assert_frame_equal(read_events(h5), events, check_exact=True)
    result = CliRunner().invoke(main, ["inspect", str(h5)])
    assert result.exit_code == 0, result.output
    assert "tau5j2_b05" in result.output and "nconstj1" in result.output


def test_the_data_stage_keeps_the_extended_columns_through_signal_injection(tmp_path: Path) -> None:
    from lhcad.config.data import DataConfig
    from lhcad.data.stage import load_events

    background, signal = synthetic_extended(200), synthetic_extended(50, seed=1)
    background["label"], signal["label"] = np.int8(0), np.int8(1)
    write_events_parquet(background, tmp_path / "bg.parquet")
    write_events_parquet(signal, tmp_path / "sig.parquet")
    cfg = DataConfig(path=str(tmp_path / "bg.parquet"), signal_path=str(tmp_path / "sig.parquet"), n_signal=10)
    events, counts = load_events(cfg)
    assert counts["n_events"] == 210 and counts["n_signal"] == 10
    assert set(col.EXTENDED_COLUMNS) <= set(events.columns)
    assert events[list(col.EXTENDED_COLUMNS)].notna().all().all()


def test_a_non_numeric_extended_column_is_a_clear_error(tmp_path: Path) -> None:
    events = synthetic_extended(3)
    events["nconstj1"] = ["a", "b", "c"]
    path = tmp_path / "bad.parquet"
    write_events_parquet(events, path)
    with pytest.raises(DataError, match="nconstj1 must be numeric"):
        read_events_parquet(path)


# --- FastJet -----------------------------------------------------------------------------------

fastjet_needed = pytest.mark.gen


def massless(pt: np.ndarray, y: np.ndarray, phi: np.ndarray) -> dict[str, list[float]]:
    return {"px": list(pt * np.cos(phi)), "py": list(pt * np.sin(phi)), "pz": list(pt * np.sinh(y)),
            "E": list(pt * np.cosh(y))}  # fmt: skip


def as_jets(*constituents: dict[str, list[float]]):  # type: ignore[no-untyped-def]
    ak = pytest.importorskip("awkward")
    return ak.zip({name: ak.Array([c[name] for c in constituents]) for name in ("px", "py", "pz", "E")})


def spray(rng: np.random.Generator, n: int) -> dict[str, list[float]]:
    """A QCD-like jet: ``n`` particles, exponential pT, Gaussian around the axis."""
    return massless(rng.exponential(20.0, n), rng.normal(0, 0.3, n), rng.normal(0, 0.3, n))


def prongs(k: int) -> dict[str, list[float]]:
    """``k`` hard prongs 0.5 apart on a circle, each a core and two soft satellites 0.02 away."""
    angles = 2 * np.pi * np.arange(k) / k
    y0, phi0 = 0.25 * np.cos(angles) * (k > 1), 0.25 * np.sin(angles) * (k > 1)
    offsets = np.array([[0.0, 0.0], [0.02, 0.0], [0.0, -0.02]])
    pt = np.tile([300.0, 5.0, 3.0], k) * np.repeat(1 + 0.1 * np.arange(k), 3)
    y = (y0[:, None] + offsets[None, :, 0]).ravel()
    phi = (phi0[:, None] + offsets[None, :, 1]).ravel()
    return massless(pt, y, phi)


@fastjet_needed
def test_extended_beta1_taus_equal_the_standard_ones_bit_for_bit() -> None:
    pytest.importorskip("fastjet")
    from lhcad.gen.nsubjettiness import nsubjettiness, nsubjettiness_betas

    rng = np.random.default_rng(7)
    jets = as_jets(*(spray(rng, n) for n in (1, 2, 3, 5, 40, 80, 150)), *(prongs(k) for k in range(1, 6)))
    extended = nsubjettiness_betas(jets, col.EXTENDED_N_MAX, BETAS)
    assert extended.shape == (len(jets), 3, 5)
    np.testing.assert_array_equal(extended[:, BETAS.index(1.0), :3], nsubjettiness(jets, 3, 1.0))
    for b, beta in enumerate(BETAS):
        np.testing.assert_array_equal(extended[:, b], nsubjettiness(jets, 5, beta))
    assert nsubjettiness_betas(jets[:0], 5, BETAS).shape == (0, 3, 5)


@fastjet_needed
def test_taus_do_not_increase_with_n_on_multi_prong_jets() -> None:
    """Jets of 1 .. 5 prongs: tau_N falls with N at every beta, and vanishes only once every
    particle has its own axis. (fjcontrib's one-pass axes are a local minimum: on QCD-like sprays
    tau_{N+1} > tau_N happens for a few jets in a hundred, docs/data.md.)"""
    pytest.importorskip("fastjet")
    from lhcad.gen.nsubjettiness import nsubjettiness_betas

    taus = nsubjettiness_betas(as_jets(*(prongs(k) for k in range(1, 6))), col.EXTENDED_N_MAX, BETAS)
    assert (np.diff(taus, axis=2) <= 0).all()
    for k in range(1, 6):  # tau_k of a k-prong jet is the satellites' small share
        np.testing.assert_array_less(taus[k - 1, :, k - 1], 0.2 * taus[k - 1, :, 0] + (k == 1) * 1e9)


@fastjet_needed
def test_two_hard_massless_constituents_have_tau1_positive_and_tau2_zero_at_every_beta() -> None:
    pytest.importorskip("fastjet")
    from lhcad.gen.nsubjettiness import nsubjettiness_betas

    pair = massless(np.array([800.0, 300.0]), np.array([0.3, -0.2]), np.array([1.0, 1.4]))
    taus = nsubjettiness_betas(as_jets(pair), col.EXTENDED_N_MAX, BETAS)[0]
    assert (taus[:, 0] > 0).all()
    np.testing.assert_array_equal(taus[:, 1:], 0.0)
    separation = np.hypot(0.5, 0.4)
    # beta = 2: the one-pass axis is the pT-weighted centroid, tau1 = pT1 pT2 / (pT1 + pT2) dR^2
    np.testing.assert_allclose(taus[BETAS.index(2.0), 0], 800 * 300 / 1100 * separation**2, rtol=1e-6)
    # beta = 1: the minimum is on the harder particle, tau1 = pT2 dR (one pass gets within 1e-3)
    np.testing.assert_allclose(taus[BETAS.index(1.0), 0], 300 * separation, rtol=1e-3)


def two_jet_events(counts: list[tuple[int, int]], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Raw rows of events with two narrow back-to-back jets of the given particle counts."""
    rng = np.random.default_rng(seed)
    values = np.zeros((len(counts), col.RAW_N_COLUMNS))
    for i, (n1, n2) in enumerate(counts):
        rows = []
        for m, phi0, pt_total in ((n1, 0.0, 1500.0), (n2, np.pi, 1300.0)):
            pt = rng.dirichlet(np.ones(m)) * pt_total + 1.0
            eta = rng.normal(0, 0.1, m)
            phi = np.angle(np.exp(1j * (phi0 + rng.normal(0, 0.1, m))))
            rows.append(np.stack([pt, eta, phi], axis=1))
        block = np.concatenate(rows)
        values[i, : block.size] = block.ravel()
    return values, np.array(counts)


@fastjet_needed
def test_multiplicity_is_the_number_of_constituents_and_taus_follow_the_jets() -> None:
    pytest.importorskip("fastjet")
    from lhcad.data.raw_features import features_of_block

    values, counts = two_jet_events([(2, 1), (3, 7), (40, 25), (120, 60), (1, 2)])
    block = values.reshape(len(values), -1, 3)
    extended = features_of_block(block, None, feature_set="extended")
    standard = features_of_block(block, None)
    assert list(standard.columns) == [*col.JET_COLUMNS, "mjj"]
    assert list(extended.columns) == [*col.JET_COLUMNS, "mjj", *col.EXTENDED_COLUMNS]
    pd.testing.assert_frame_equal(extended[standard.columns], standard, check_exact=True)
    # j1 is the harder spray (1500 GeV), j2 the softer one
    np.testing.assert_array_equal(extended[["nconstj1", "nconstj2"]].to_numpy(), counts)
    for j in (1, 2):
        for n in (1, 2, 3):
            np.testing.assert_array_equal(extended[col.tau_column(n, j, 1.0)], extended[f"tau{n}j{j}"])
    # a one-constituent jet: every tau is 0; a two-constituent jet: tau1 > 0 = tau2
    assert (extended[[col.tau_column(n, 2, b) for n in range(1, 6) for b in BETAS]].iloc[0] == 0).all()
    assert (extended[[col.tau_column(1, 1, b) for b in BETAS]].iloc[0] > 0).all()
    assert (extended[[col.tau_column(n, 1, b) for n in range(2, 6) for b in BETAS]].iloc[0] == 0).all()


@fastjet_needed
def test_features_command_writes_the_extended_set_that_lhcad_reads_back(tmp_path: Path) -> None:
    pytest.importorskip("fastjet")
    pytest.importorskip("tables")
    values, counts = two_jet_events([(10, 12), (30, 5), (8, 8), (50, 40)], seed=3)
    labelled = np.concatenate([values, (np.arange(len(values)) % 2)[:, None]], axis=1)
    raw = tmp_path / "raw.h5"
    pd.DataFrame(labelled).to_hdf(raw, key="df", format="fixed")
    outs = {}
    for feature_set in ("standard", "extended"):
        outs[feature_set] = tmp_path / f"{feature_set}.parquet"
        args = ["features", str(raw), "--out", str(outs[feature_set]), "--no-progress", "--feature-set", feature_set]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    standard, extended = read_events(outs["standard"]), read_events(outs["extended"])
    assert list(standard.columns) == [*col.JET_COLUMNS, "label"]
    assert list(extended.columns) == [*col.JET_COLUMNS, *col.EXTENDED_COLUMNS, "label"]
    pd.testing.assert_frame_equal(extended[standard.columns], standard, check_exact=True)
    np.testing.assert_array_equal(extended[list(col.NCONST_COLUMNS)].to_numpy(), counts)
    assert json.loads(outs["extended"].with_name("extended.parquet.summary.json").read_text())["n_events"] == 4
    bad = CliRunner().invoke(main, ["features", str(raw), "--out", str(tmp_path / "x.parquet"), "--feature-set", "all"])
    assert bad.exit_code == 2 and "extended" in bad.output


# --- the generator (Pythia) ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.gen
def test_generated_extended_events_keep_the_standard_columns_bit_for_bit() -> None:
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from lhcad.gen import generate_events

    standard = generate_events("signal", 60, seed=11)
    extended = generate_events("signal", 60, seed=11, feature_set="extended")
    assert list(extended.columns) == [*col.JET_COLUMNS, "mjj", *col.EXTENDED_COLUMNS, "label"]
    pd.testing.assert_frame_equal(extended[standard.columns], standard, check_exact=True)
    for j in (1, 2):
        for n in (1, 2, 3):  # the jet response scales both alike
            np.testing.assert_array_equal(extended[col.tau_column(n, j, 1.0)], extended[f"tau{n}j{j}"])
        assert (extended[f"nconstj{j}"] >= 1).all() and (extended[f"nconstj{j}"] % 1 == 0).all()
    assert extended[list(col.EXTENDED_COLUMNS)].notna().all().all()


@pytest.mark.gen
def test_generate_command_and_config_accept_the_feature_set(tmp_path: Path) -> None:
    from lhcad.cli.gen import generate_command
    from lhcad.config.data import GenerateConfig
    from lhcad.gen import GeneratorConfig, GeneratorError

    assert GenerateConfig().feature_set == "standard"
    assert GenerateConfig(feature_set="extended").feature_set == "extended"
    assert GeneratorConfig("qcd", feature_set="extended").to_dict()["feature_set"] == "extended"
    with pytest.raises(GeneratorError, match="unknown feature set"):
        GeneratorConfig("qcd", feature_set="all")
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    args = ["--process", "qcd", "--n", "5", "--format", "raw", "--feature-set", "extended",
            "--out", str(tmp_path / "r.h5"), "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(generate_command, args)
    assert result.exit_code == 2 and "lhcad features --feature-set extended" in result.output
