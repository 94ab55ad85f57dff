"""Round-trip metrics: relative residuals, derived physics recomputed from the jets, sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lhcad.families.compress.metrics import (
    bfloat16_baseline,
    column_residuals,
    compression_ratios,
    derived_differences,
    relative_residual,
    residual_summary,
    size_baselines,
    to_bfloat16,
)
from lhcad.data.columns import JET_COLUMNS
from lhcad.data.toy import make_toy_events


@pytest.fixture(scope="module")
def jets() -> pd.DataFrame:
    return make_toy_events(400, 40, seed=2)[list(JET_COLUMNS)]


def test_an_exact_copy_differs_by_nothing(jets: pd.DataFrame) -> None:
    for stats in derived_differences(jets, jets.copy()).values():
        assert stats["mean_abs_percent"] == 0.0 and stats["rms"] == 0.0


def test_scaling_every_four_momentum_by_one_percent_scales_the_masses_by_one_percent(
    jets: pd.DataFrame,
) -> None:
    """mjj and the jet masses are linear in a common scale of momenta and masses; tau21 is a
    ratio of two taus scaled alike, so it does not move."""
    scaled = jets.copy()
    for name in JET_COLUMNS:
        if not name.startswith("tau"):
            scaled[name] = jets[name].astype(np.float64) * 1.01
    differences = derived_differences(jets, scaled)
    for name in ("mjj", "mj_heavy", "mj_light"):
        assert differences[name]["mean"] == pytest.approx(0.01, rel=1e-4)
        assert differences[name]["mean_abs_percent"] == pytest.approx(1.0, rel=1e-4)
    for name in ("tau21_heavy", "tau21_light"):
        assert differences[name]["mean_abs_percent"] == pytest.approx(0.0, abs=1e-9)


def test_residuals_skip_zero_originals_and_count_them() -> None:
    residual = relative_residual(np.array([1.0, 0.0, 2.0, -2.0]), np.array([1.1, 0.5, 1.8, -2.0]))
    stats = residual_summary(residual)
    assert stats["n_undefined"] == 1
    assert stats["mean"] == pytest.approx((0.1 - 0.1 + 0.0) / 3)
    assert stats["rms"] == pytest.approx(np.sqrt(0.02 / 3))
    table = pd.DataFrame({"x": [1.0, 2.0], "y": [4.0, 5.0]})
    assert set(column_residuals(table, table * 2, ["x", "y"])) == {"x", "y"}
    assert residual_summary(np.array([np.nan]))["mean"] is None


def test_sizes_and_ratios(jets: pd.DataFrame) -> None:
    baselines = size_baselines(jets)
    assert baselines["raw_bytes"] == len(jets) * len(JET_COLUMNS) * 4
    assert baselines["parquet_zstd_bytes"] < baselines["parquet_bytes"]
    ratios = compression_ratios(baselines["raw_bytes"] // 8, baselines)
    assert ratios["ratio_vs_raw"] == pytest.approx(8.0)


def test_median_of_the_absolute_residual_ignores_a_few_wild_rows() -> None:
    residual = np.array([0.01, -0.01, 0.02, -0.02, 0.01, 0.01, 5.0, np.nan])
    stats = residual_summary(residual)
    assert stats["median_abs_percent"] == pytest.approx(1.0)
    assert stats["mean_abs_percent"] == pytest.approx(100 * 5.08 / 7)
    assert residual_summary(np.array([np.nan]))["median_abs_percent"] is None


def test_bfloat16_rounds_to_8_significant_bits_and_costs_half_of_float32(
    jets: pd.DataFrame,
) -> None:
    values = jets["mj1"].to_numpy()
    rounded = to_bfloat16(values)
    assert not (rounded.view(np.uint32) & 0xFFFF).any()
    assert np.max(np.abs(rounded / values - 1)) <= 2.0**-8
    baseline = bfloat16_baseline(jets)
    assert baseline["columns"]["mj1"]["mean_abs_percent"] < 100 * 2.0**-8
    assert baseline["n_bytes"] < size_baselines(jets)["parquet_zstd_tuned_bytes"] * 0.6
