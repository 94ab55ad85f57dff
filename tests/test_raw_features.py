"""Raw LHCO particle files -> jet features with FastJet: one row per event, bounded, resumable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.data.columns import RAW_N_COLUMNS

pytest.importorskip("fastjet")
pytest.importorskip("tables")
pytestmark = pytest.mark.gen


def two_pencil_jets(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Raw events of two narrow back-to-back sprays of particles, and their exact dijet masses."""
    rng = np.random.default_rng(seed)
    values = np.zeros((n, RAW_N_COLUMNS + 1))
    mjj = np.zeros(n)
    for i in range(n):
        p4 = np.zeros(4)
        k = 0
        for eta0, phi0 in ((rng.uniform(-1, 1), 0.0), (rng.uniform(-1, 1), np.pi)):
            m = 30
            pt = rng.dirichlet(np.ones(m)) * rng.uniform(1000, 1600)
            eta = eta0 + rng.normal(0, 0.05, m)
            phi = np.angle(np.exp(1j * (phi0 + rng.normal(0, 0.05, m))))
            values[i, 3 * k : 3 * (k + m)] = np.stack([pt, eta, phi], axis=1).ravel()
            p4 += [np.sum(pt * np.cos(phi)), np.sum(pt * np.sin(phi)), np.sum(pt * np.sinh(eta)), np.sum(pt * np.cosh(eta))]
            k += m
        mjj[i] = np.sqrt(p4[3] ** 2 - p4[0] ** 2 - p4[1] ** 2 - p4[2] ** 2)
        values[i, -1] = i % 2
    values[3, :RAW_N_COLUMNS] = 0.0
    values[3, :3] = [500.0, 0.0, 0.0]  # a single particle: fewer than two jets
    return values, mjj


@pytest.mark.filterwarnings("ignore::Warning")
def test_raw_file_converts_to_one_row_per_event_with_exact_dijet_mass(tmp_path: Path) -> None:
    values, mjj = two_pencil_jets(60)
    raw = tmp_path / "raw.h5"
    pd.DataFrame(values).to_hdf(raw, key="df", format="fixed")
    out = tmp_path / "features.parquet"
    result = CliRunner().invoke(main, ["features", str(raw), "--out", str(out), "--chunk-rows", "25", "--workers", "2"])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert len(frame) == 60
    assert frame["pxj1"].isna().sum() == 1 and np.isnan(frame["pxj1"].iloc[3])
    ok = np.arange(60) != 3
    np.testing.assert_allclose(frame["mjj"].to_numpy()[ok], mjj[ok], rtol=1e-5)
    np.testing.assert_array_equal(frame["label"].to_numpy(), values[:, -1].astype(np.int8))
    assert '"n_without_two_jets": 1' in result.output
    assert not (tmp_path / "features.parquet.parts").exists()
