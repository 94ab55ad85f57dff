"""lhcad.plots: what the figures show, checked on the drawn artists."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from sklearn.metrics import roc_auc_score

from lhcad.plots import fits, inputs, masses, scores, training
from lhcad.plots.style import axis_label, finite_range, plot_style, save_figure

NAMES = ["z_mean", "z_logvar"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def step_heights(ax, label: str) -> np.ndarray:
    """Bin contents of the step histogram drawn with ``label``."""
    (line,) = [h for h in ax.get_lines() if h.get_label() == label]
    y = np.asarray(line.get_ydata(), dtype=float)
    return y[1:] if len(y) % 2 else y[::2]


def step_values(ax, label: str) -> np.ndarray:
    """Bin contents of an mplhep step histogram (StairsArtist) drawn with ``label``."""
    patches = [p for p in ax.patches if p.get_label() == label]
    if patches:
        return np.asarray(patches[0].get_data().values, dtype=float)
    return step_heights(ax, label)


def test_save_figure_writes_every_format_and_closes(tmp_path: Path) -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    number = fig.number
    paths = save_figure(fig, tmp_path / "figs", "line", ["png", "pdf"])
    assert set(paths) == {"png", "pdf"}
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-"
    assert number not in plt.get_fignums()


def test_axis_labels_carry_units_except_after_the_transform() -> None:
    assert axis_label("mjj").endswith("[GeV]")
    assert "GeV" not in axis_label("mjj", transformed=True)
    assert axis_label("tau21_heavy") == axis_label("tau21_heavy")


def test_plot_range_keeps_a_small_sample_that_sits_outside_a_large_one() -> None:
    background = np.random.default_rng(0).exponential(100.0, 100_000)
    signal = np.random.default_rng(1).normal(2000.0, 50.0, 100)
    lo, hi = finite_range(background, signal)
    assert hi > 2050.0 and lo < 10.0


def fit_inputs():
    edges = np.linspace(0.0, 1000.0, 51)
    centers = 0.5 * (edges[1:] + edges[:-1])
    background = 300.0 * np.exp(-centers / 200.0)
    signal = 80.0 * np.exp(-0.5 * ((centers - 500.0) / 40.0) ** 2)
    counts = np.random.default_rng(3).poisson(background + signal).astype(float)
    in_range = centers > 100.0
    curves = fits.FitCurves(total=background + signal, background=background, in_range=in_range)
    fit = {"valid": True, "mean": 497.3, "mean_error_low": -8.1, "mean_error_high": 9.4, "sigma": 41.0, "significance": 5.3, "chi2_ndf": 1.05}
    return edges, counts, curves, fit


def test_mass_fit_draws_the_selection_counts_the_fit_and_its_pulls() -> None:
    edges, counts, curves, fit = fit_inputs()
    fig = fits.mass_fit(edges, counts, fit, curves, analysis="t", selection="top500", observable="mj_heavy", truth=500.0)
    ax, pull_ax = fig.axes
    (data,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    np.testing.assert_array_equal(data.lines[0].get_ydata(), counts)
    total = step_values(ax, "fit: signal + background")
    np.testing.assert_allclose(total[curves.in_range], curves.total[curves.in_range])
    assert np.isnan(total[~curves.in_range]).all()
    np.testing.assert_allclose(step_values(ax, "fit: background")[curves.in_range], curves.background[curves.in_range])
    (bars,) = [c for c in pull_ax.containers if isinstance(c, BarContainer)]
    heights = np.array([bar.get_height() for bar in bars])
    expected = (counts - curves.total) / np.sqrt(curves.total)
    np.testing.assert_allclose(heights[curves.in_range], np.clip(expected, -4, 4)[curves.in_range])
    legend = ax.get_legend()
    assert "497" in legend.get_title().get_text() and "+9" in legend.get_title().get_text()
    assert f"data, top500 ({int(counts.sum()):,} events)" in [t.get_text() for t in legend.get_texts()]
    assert ax.get_ylabel() == "Events / 20 GeV"
    assert pull_ax.get_xlabel() == axis_label("mj_heavy")


def test_mass_fit_of_an_invalid_fit_says_so() -> None:
    edges, counts, _, _ = fit_inputs()
    fig = fits.mass_fit(edges, counts, {"valid": False, "reason": "no minimum"}, None, analysis="t", selection="top500", observable="mjj")
    assert fig.axes[0].get_legend().get_title().get_text() == "fit not valid: no minimum"


def test_feature_distributions_show_each_class_as_fractions_of_its_events() -> None:
    rng = np.random.default_rng(0)
    labels = (rng.random(5000) < 0.1).astype(int)
    values = rng.normal(labels * 3.0, 1.0)
    fig = inputs.feature_distributions({"mj_heavy": values}, labels, "t")
    ax = fig.axes[0]
    for patch in ax.patches:
        stairs = patch.get_data()
        name = patch.get_label().split(" (")[0]
        sample = values[labels == (name == "signal")]
        inside = ((sample >= stairs.edges[0]) & (sample <= stairs.edges[-1])).mean()
        assert stairs.values.sum() == pytest.approx(inside, abs=1e-12)
        assert patch.get_label().endswith(f"({len(sample):,})")
    assert {p.get_label().split(" (")[0] for p in ax.patches} == {"background", "signal"}
    width = np.diff(ax.patches[0].get_data().edges).mean()
    assert ax.get_ylabel() == f"Fraction of events / {width:.2g} GeV"


def synthetic_scores(n: int = 4000, members: int = 2):
    rng = np.random.default_rng(5)
    labels = (rng.random(n) < 0.2).astype(int)
    table = {}
    for name in NAMES:
        for k in range(members):
            table[f"{name}_m{k}"] = rng.normal(labels * (1.0 + k), 1.0)
        table[name] = np.mean([table[f"{name}_m{k}"] for k in range(members)], axis=0)
    return table, labels


def test_roc_legend_shows_each_curves_auc_and_rejection_stops_at_ten_background_events() -> None:
    table, labels = synthetic_scores()
    rocs = scores.roc_set(table, labels, NAMES, 2)
    fig = scores.roc_figure(rocs, "roc", "t", chosen="z_logvar")
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"member 1 (AUC = {roc_auc_score(labels, table['z_mean_m1']):.3f})" in texts
    assert f"ensemble (AUC = {roc_auc_score(labels, table['z_mean']):.3f})" in texts
    fig = scores.roc_figure(rocs, "rejection", "t")
    ax = fig.axes[0]
    n_background = int((labels == 0).sum())
    curve = [line for line in ax.get_lines() if line.get_label().startswith("ensemble")][0]
    assert ax.get_yscale() == "log"
    assert np.max(curve.get_ydata()) <= n_background / scores.MIN_BACKGROUND
    fig = scores.roc_figure(rocs, "sic", "t")
    curve = [line for line in fig.axes[0].get_lines() if line.get_label().startswith("ensemble")][0]
    r = rocs["z_mean"][None]
    keep = r.fpr * r.n_background >= scores.MIN_BACKGROUND
    np.testing.assert_allclose(curve.get_ydata(), r.tpr[keep] / np.sqrt(r.fpr[keep]))


def test_score_grid_has_a_row_per_member_and_the_ensemble() -> None:
    table, labels = synthetic_scores()
    fig = scores.score_distributions(table, labels, NAMES, 2, "t")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 * len(NAMES)
    assert visible[-1].get_xlabel().endswith("(ensemble)")
    assert visible[0].get_yscale() == "log"


def test_auc_vs_epoch_draws_every_member_and_the_ensemble() -> None:
    history = {name: [[0.6 + 0.01 * e, 0.55 + 0.02 * e] for e in range(5)] for name in NAMES}
    ensemble = {name: [0.62 + 0.01 * e for e in range(5)] for name in NAMES}
    fig = training.auc_vs_epoch(history, ensemble, "t", chosen="z_logvar")
    ax = fig.axes[1]
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["member 1"].get_ydata(), [0.55 + 0.02 * e for e in range(5)])
    np.testing.assert_allclose(lines["ensemble"].get_ydata(), ensemble["z_logvar"])
    assert "(used)" in ax.get_title()


def test_loss_curves_tolerate_members_that_stopped_early() -> None:
    epochs = [{"loss": [1.0 / (e + 1), 1.1 / (e + 1) if e < 3 else None], "val_loss": [1.05 / (e + 1), 1.2 / (e + 1) if e < 3 else None]} for e in range(6)]
    fig = training.loss_curves({"epochs": epochs, "best_loss_epoch": [6, 3]}, "t")
    ax = fig.axes[0]
    assert np.isnan(ax.get_lines()[2].get_ydata()[3:]).all()
    assert ax.get_xlabel() == "Epoch"


def test_masses_vs_truth_plots_the_ratio_and_its_error() -> None:
    found = {"mjj": {"value": 3465.0, "error": 35.0, "width": 150.0, "significance": 5.0, "claimed": True},
             "mj_light": {"value": None, "error": None, "width": None, "significance": None, "claimed": False}}  # fmt: skip
    fig = masses.masses_vs_truth(found, {"mjj": 3500.0, "mj_light": 100.0}, "t")
    ax = fig.axes[0]
    points = [c for c in ax.containers if isinstance(c, ErrorbarContainer) and c.lines[0] is not None and len(c.lines[0].get_ydata())]
    assert points[0].lines[0].get_ydata()[0] == pytest.approx(3465.0 / 3500.0)
    assert any(t.get_text() == "no valid fit" for t in ax.texts)


def test_masses_vs_truth_rounds_like_the_banner_and_marks_the_generated_mass() -> None:
    found = {"mjj": {"value": 3443.2, "error": 9.7, "error_syst": 12.4, "error_total": 15.8, "width": 174.0,
                     "significance": 25.8, "claimed": True}}  # fmt: skip
    fig = masses.masses_vs_truth(found, {"mjj": 3421.0}, "t", generated={"mjj": 3500.0})
    ax = fig.axes[0]
    (note,) = [t.get_text() for t in ax.texts if "signal peak" in t.get_text()]
    assert note.startswith("3443 ± 16 GeV\n(stat 10, sel 12)\nsignal peak 3421 GeV\ngenerated 3500 GeV")
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x" and len(line.get_ydata())]
    assert crosses[0].get_ydata()[0] == pytest.approx(3500.0 / 3421.0)
    assert "Extracted mass / reconstructed signal peak" == ax.get_ylabel()


def test_reconstruction_comparison_labels_every_member() -> None:
    rng = np.random.default_rng(0)
    original = {"mj_heavy": rng.exponential(100.0, 3000)}
    members = [{"mj_heavy": original["mj_heavy"] * rng.normal(1.0, 0.1, 3000)} for _ in range(2)]
    with plot_style("CMS"):
        fig = inputs.reconstruction_comparison(original, members, "t")
    labels = {p.get_label().split(" (")[0] for p in fig.axes[0].patches}
    assert labels == {"original", "member 0 reconstructed", "member 1 reconstructed"}
