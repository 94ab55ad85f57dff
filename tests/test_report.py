"""The report stage and ``lhcad report``: the page shows what the artifacts hold."""

from __future__ import annotations

import json
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from matplotlib.container import ErrorbarContainer

from lhcad.families.lhco.config import AnalysisConfig
from lhcad.families.registry import load_analysis
from lhcad.data.parquet import write_events_parquet
from lhcad.data.toy import make_toy_events
from lhcad.histograms import counts_and_edges
from lhcad.pipeline.runner import run_pipeline
from lhcad.plots.style import plot_style
from lhcad.cli.analysis import report_command
from lhcad.families.rebuild import rebuild_report
from lhcad.pipeline.runner import run_artifacts
from lhcad.families.lhco.artifacts import Fits
from lhcad.families.lhco.curves import fit_components
from lhcad.families.lhco.report import (
    MIN_SELECTED_SIGNAL,
    SELECTED_PEAK,
    SearchRun,
    auc_text,
    fit_problems,
    fits_section,
    generated_masses,
    mass_fit_figure,
    scores_section,
    signal_peak,
)
from lhcad.report.html import Code, FigureRef, Flagged, Paragraph, Section, Table, render_page
from lhcad.report.parts import FigureWriter
from tests.conftest import write_analysis

ANALYSIS = """\
name: report_test
description: tiny labelled toy run for the report tests
data:
  path: {data}
train:
  members: 2
  epochs: 6  # enough for a 70%-pure top 300, so that the masses and their figure exist
  batch_size: 512
select:
  top_n: [300, 1000]
fit:
  n_starts: 1
bumphunt:
  n_toys: 200
report:
  formats: [png]  # PDFs double the plotting time; test_pdfs_are_written_and_linked covers them
"""

def built_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output directory of a tiny labelled toy run through the whole pipeline, built once per
    test session in a fixed place (the browser tests import this module under another name, so
    a module-level cache would not be shared)."""
    base = tmp_path_factory.getbasetemp() / "report-run"
    out = base / "out"
    if not (out / "report" / "index.html").exists():
        base.mkdir(exist_ok=True)
        data = base / "events.parquet"
        write_events_parquet(make_toy_events(6000, 600, seed=7), data)
        config = load_analysis(write_analysis(base, ANALYSIS.format(data=data)))
        run_pipeline(config, out=out)
    return out


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_run(tmp_path_factory)


@pytest.fixture(scope="module")
def run_data(out: Path) -> SearchRun:
    artifacts, _ = run_artifacts(out)
    analysis = AnalysisConfig.model_validate(artifacts["export"].manifest["config"]["analysis"])
    return SearchRun(artifacts, analysis)


class Page(HTMLParser):
    """The tables (id -> rows of cell texts), images, <pre> blocks and section ids of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self.pres: list[str] = []
        self.sections: list[str] = []
        self.links: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._pre: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(str(a["src"]))
        elif tag == "pre":
            self._pre = []
        elif tag == "section":
            self.sections.append(str(a["id"]))
        elif tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "pre" and self._pre is not None:
            self.pres.append("".join(self._pre))
            self._pre = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._pre is not None:
            self._pre.append(data)


def page(out: Path) -> Page:
    return Page((out / "report" / "index.html").read_text(encoding="utf-8"))


def records(table: list[list[str]]) -> list[dict[str, str]]:
    header, *rows = table
    return [dict(zip(header, row)) for row in rows]


@pytest.mark.slow
def test_the_page_has_the_pipeline_sections_in_order_and_no_network_resource(out: Path) -> None:
    p = page(out)
    assert p.sections == [
        "data", "preprocessing", "training", "scores", "selection", "fits", "bumphunt", "masses", "configuration", "provenance"
    ]  # fmt: skip
    text = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text and "<script" not in text


@pytest.mark.slow
def test_every_figure_is_on_the_page(out: Path) -> None:
    p = page(out)
    figures = out / "report" / "figures"
    on_disk = sorted(f"figures/{f.name}" for f in figures.glob("*.png"))
    assert sorted(p.images) == on_disk
    assert {"figures/inputs_raw.png", "figures/inputs_transformed.png", "figures/loss.png", "figures/auc_vs_epoch.png",
            "figures/score_distributions.png", "figures/roc.png", "figures/rejection.png", "figures/sic.png",
            "figures/reconstruction.png", "figures/masses_vs_truth.png"} <= set(p.images)  # fmt: skip
    fits = json.loads((out / "results.json").read_text())["fits"]
    assert {f"figures/fit_{f['selection']}_{f['observable']}.png" for f in fits} <= set(p.images)


def test_pdfs_are_written_and_linked(tmp_path: Path) -> None:
    assert AnalysisConfig().report.formats == ["png", "pdf"]
    figures = FigureWriter(tmp_path / "figures", ("png", "pdf"), "t")
    fig, _ = plt.subplots()
    ref = figures.add(fig, "empty", "an empty figure")
    assert (tmp_path / "figures" / "empty.pdf").read_bytes()[:5] == b"%PDF-"
    html = render_page("t", "", [Section("s", "S", [ref])])
    assert Page(html).links == ["#s", "figures/empty.png", "figures/empty.pdf"]  # nav, image, PDF


@pytest.mark.slow
def test_the_masses_table_shows_results_json(out: Path) -> None:
    masses = json.loads((out / "results.json").read_text())["masses"]
    rows = {r["observable"]: r for r in records(page(out).tables["masses"])}
    assert set(rows) == set(masses)
    for obs, m in masses.items():
        shown = rows[obs]
        columns = (("mass [GeV]", "value"), ("total error [GeV]", "error_total"), ("stat. error [GeV]", "error"),
                   ("selection syst. [GeV]", "error_syst"), ("width σ [GeV]", "width"))  # fmt: skip
        for column, key in columns:
            expected = "–" if m[key] is None else f"{m[key]:.1f}"
            assert shown[column] == expected
        assert shown["selection"] == (m["selection"] or "–")
        assert shown["claimed"] == ("yes" if m.get("claimed") else "no")


@pytest.mark.slow
def test_the_masses_table_shows_the_peak_of_the_signal_each_selection_kept(out: Path, run_data: SearchRun) -> None:
    rows = {r["observable"]: r for r in records(page(out).tables["masses"])}
    shown = 0
    for obs, m in run_data.masses.masses.items():
        if not m.get("selection"):
            continue
        kept = run_data.selections.rows[m["selection"]]
        signal = run_data.events.table[obs].to_numpy()[kept][run_data.labels[kept] == 1]
        expected = f"{signal_peak(signal):.1f}" if len(signal) >= MIN_SELECTED_SIGNAL else "–"
        assert rows[obs][f"{SELECTED_PEAK} [GeV]"] == expected
        shown += expected != "–"
    assert shown >= 1


@pytest.mark.slow
def test_the_banner_shows_the_summary_lines_of_results_json(out: Path) -> None:
    results = json.loads((out / "results.json").read_text())
    text = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert results["summary"] and len(results["summary"]) == len(results["masses"])
    for line in results["summary"]:
        assert f'<p class="summary">{escape(line)}</p>' in text
    assert "selection syst" in text and "find the same peak" in text  # the systematic's definition


@pytest.mark.slow
def test_the_fit_table_lists_every_fit(out: Path) -> None:
    fits = json.loads((out / "results.json").read_text())["fits"]
    rows = records(page(out).tables["fits"])
    assert [(r["selection"], r["observable"]) for r in rows] == [(f["selection"], f["observable"]) for f in fits]
    for row, fit in zip(rows, fits):
        assert row["mean [GeV]"] == ("–" if fit["mean"] is None else f"{fit['mean']:.1f}")


@pytest.mark.slow
def test_the_selection_and_score_tables_show_the_artifacts(out: Path, run_data: SearchRun) -> None:
    p = page(out)
    selections = run_data.selections.records
    rows = records(p.tables["selections"])
    assert [(r["selection"], r["events"]) for r in rows] == [(s["name"], f"{s['n']:,}") for s in selections]
    assert [r["signal events"] for r in rows] == [f"{s['n_signal']:,}" for s in selections]
    metrics = run_data.scores.metrics
    shown = {r["score"]: r for r in records(p.tables["score-metrics"])}
    assert {name: shown[name]["ensemble AUC"] for name in metrics} == {name: auc_text(m["auc"]) for name, m in metrics.items()}
    assert {name: shown[name]["member 0 AUC"] for name in metrics} == {name: auc_text(m["members"][0]["auc"]) for name, m in metrics.items()}
    # no AUC below 0.5 without saying so
    for row in records(p.tables["score-metrics"]):
        for column, cell in row.items():
            if "AUC" in column and cell != "–":
                assert float(cell.split()[0]) >= 0.5 or "inverted" in cell


def test_an_auc_below_one_half_says_it_is_inverted() -> None:
    assert auc_text(0.71) == "0.710"
    assert auc_text(0.29) == "0.290 (inverted: 1 − AUC = 0.710)"
    assert auc_text(None) == "–"


@pytest.mark.slow
def test_the_configuration_on_the_page_is_the_runs(out: Path, run_data: SearchRun) -> None:
    (config_text,) = [t for t in page(out).pres if t.startswith("kind:")]
    assert yaml.safe_load(config_text) == run_data.analysis.model_dump(mode="json")


@pytest.mark.slow
def test_provenance_names_the_config_and_data_hashes(out: Path) -> None:
    results = json.loads((out / "results.json").read_text())
    rows = dict(page(out).tables["provenance"])
    assert rows["config sha256"] == results["config_sha256"]
    assert results["data"]["sha256"] in rows.values()
    assert rows["version of lhcad"] == results["lhcad_version"]


@pytest.mark.slow
def test_the_plotted_mass_histogram_is_the_selections(run_data: SearchRun) -> None:
    fit = next(f for f in run_data.fits.fits if f["observable"] == "mj_heavy")
    fig = mass_fit_figure(run_data, fit)
    ax = fig.axes[0]
    plt.close(fig)
    (data,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    binning = run_data.analysis.histogram.binning["mj_heavy"]
    edges = np.linspace(binning.lo, binning.hi, binning.bins + 1)
    selected = run_data.events.table["mj_heavy"].to_numpy()[run_data.selections.rows[fit["selection"]]]
    expected, _ = np.histogram(selected[selected < binning.hi], bins=edges)
    np.testing.assert_array_equal(data.lines[0].get_ydata(), expected)
    signal = [p for p in ax.patches if p.get_label() == "labelled signal"][0].get_data().values
    labels = run_data.labels[run_data.selections.rows[fit["selection"]]]
    in_range = (selected >= binning.lo) & (selected < binning.hi)
    assert signal.sum() == (labels[in_range] == 1).sum()


@pytest.mark.slow
def test_the_fit_curve_integrates_to_the_fitted_yields(run_data: SearchRun) -> None:
    hists = run_data.histograms.hists
    valid = [f for f in run_data.fits.fits if f["valid"]]
    assert valid
    for fit in valid:
        counts, edges = counts_and_edges(hists[fit["selection"]][fit["observable"]])
        template = counts_and_edges(hists["all"][fit["observable"]])[0]
        curves = fit_components(fit, edges, template)
        assert curves is not None
        lo = fit["fit_range"][0]
        assert edges[curves.in_range.argmax()] == pytest.approx(lo)
        assert np.isnan(curves.total[~curves.in_range]).all()
        background = curves.background[curves.in_range].sum()
        signal = (curves.total - curves.background)[curves.in_range].sum()
        # backgrounds are normalised to the fit range; the signal yield counts its tails outside too
        assert background == pytest.approx(fit["background_yield"], rel=1e-6)
        assert 0.0 <= signal <= fit["signal_yield"] * (1 + 1e-9)
        # an extended likelihood fit matches the observed number of events in its range
        assert background + signal == pytest.approx(counts[curves.in_range].sum(), rel=0.01)


class Unlabelled(SearchRun):
    """The labelled toy run as a blind analysis sees it."""

    labels = None  # type: ignore[assignment]
    truth: dict[str, float] = {}


@pytest.mark.slow
def test_without_labels_the_page_shows_all_events_and_no_roc(run_data: SearchRun, tmp_path: Path) -> None:
    blind = Unlabelled(run_data.artifacts, run_data.analysis)
    figures = FigureWriter(tmp_path, ("png",), "blind")
    with plot_style("CMS"):
        scores = scores_section(blind, figures)
        fig = mass_fit_figure(blind, run_data.fits.fits[0])
    names = [b.name for b in scores.blocks if isinstance(b, FigureRef)]
    assert names == ["score_distributions"]
    labels = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    plt.close(fig)
    assert not any("true" in label for label in labels)


def test_the_truth_is_the_core_of_the_labelled_signal() -> None:
    rng = np.random.default_rng(0)
    core = rng.normal(3500.0, 175.0, 20_000)
    tail = rng.uniform(1500.0, 3000.0, 4_000)  # a low-mass tail must not pull the peak
    assert signal_peak(np.concatenate([core, tail])) == pytest.approx(3500.0, abs=20.0)


@pytest.mark.slow
def test_lhcad_report_rebuilds_the_page_without_rerunning_stages(out: Path) -> None:
    run_json = (out / "run.json").read_text()
    caches = sorted(p.name for p in (out / "cache").glob("*/*"))
    before = (out / "report" / "index.html").read_text()
    (out / "report" / "figures" / "loss.png").unlink()
    result = CliRunner().invoke(report_command, [str(out)])
    assert result.exit_code == 0, result.output
    assert "index.html" in result.output
    assert (out / "report" / "figures" / "loss.png").exists()
    assert (out / "report" / "index.html").read_text() == before
    assert (out / "run.json").read_text() == run_json
    assert sorted(p.name for p in (out / "cache").glob("*/*")) == caches
    assert not list(out.glob(".report*"))


def test_lhcad_report_of_a_directory_without_a_run_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(report_command, [str(tmp_path)])
    assert result.exit_code == 2
    assert "run.json" in result.output and "Traceback" not in result.output
    with pytest.raises(Exception, match="not an lhcad output directory"):
        rebuild_report(tmp_path)


def test_page_text_is_escaped() -> None:
    html = render_page("<b>x</b>", "a & b", [Section("s", "<i>", [Paragraph("<script>alert(1)</script>"),
                       Table(["<th>"], [["<td>"]]), Code("a < b")])])  # fmt: skip
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>x</b>" not in html and "&lt;td&gt;" in html and "a &lt; b" in html


@pytest.mark.slow
def test_invalid_fits_and_parameters_at_their_limits_are_red_with_the_reason(run_data: SearchRun, tmp_path: Path) -> None:
    fits = run_data.fits.fits
    good = {"valid": True, "reason": None, "at_limit": [], "fmin": None}
    broken = [
        {**fits[0], **good, "valid": False, "reason": "MIGRAD did not converge"},
        {**fits[1], **good, "at_limit": ["sigma"], "fmin": {"has_parameters_at_limit": True, "is_above_max_edm": False}},
        *({**f, **good} for f in fits[2:]),
    ]
    assert fit_problems(broken[0]) == ["not valid: MIGRAD did not converge"]
    assert fit_problems(broken[1]) == ["at limit: sigma"]
    assert fit_problems({**broken[2], "fmin": {"has_accurate_covar": False}}) == ["covariance not accurate"]
    said = {**broken[0], "reason": "parameters at their limits: b", "at_limit": ["b"]}
    assert fit_problems(said) == ["not valid: parameters at their limits: b"]  # said once

    class Broken(SearchRun):
        fits = Fits(broken)  # type: ignore[assignment]

    with plot_style("CMS"):
        section = fits_section(Broken(run_data.artifacts, run_data.analysis), FigureWriter(tmp_path, ("png",), "t"))
    text = render_page("t", "", [section])
    table = Page(text).tables["fits"]
    header, first, second = table[0], table[1], table[2]
    assert first[header.index("problems")] == "not valid: MIGRAD did not converge"
    assert second[header.index("problems")] == "at limit: sigma"
    assert text.count('<tr class="flagged">') == 1  # the invalid fit's row
    assert 'class="flagged" title="sigma at its limit"' in text
    # fit figures: as many per row as fit at 600 px each
    assert '<div class="figures fill" style="--min-width: 600px">' in text
    assert all(b.min_width == 600 for b in section.blocks if isinstance(b, FigureRef))


def test_flagged_cells_are_red_and_keep_their_alignment() -> None:
    html = render_page("t", "", [Section("s", "S", [Table(["a", "b"], [[Flagged("12.5", "why"), Flagged("bad fit")]])])])
    assert '<td class="flagged" title="why">12.5</td>' in html
    assert '<td class="text flagged">bad fit</td>' in html


def test_generated_masses_come_from_the_generator_or_the_sample_s_provenance() -> None:
    assert generated_masses(AnalysisConfig.model_validate({"data": {"path": "events.parquet"}})) == {}
    rnd = AnalysisConfig.model_validate({"data": {"path": "embedded:rnd_default"}})
    assert generated_masses(rnd) == {"mjj": 3500.0, "mj_heavy": 500.0, "mj_light": 100.0}
    assert generated_masses(rnd.model_copy(update={"data": rnd.data.model_copy(update={"blind": True})})) == {}
    official = AnalysisConfig.model_validate({"data": {"path": "/data/events_anomalydetection_v2.features.h5"}})
    assert generated_masses(official)["mjj"] == 3500.0
