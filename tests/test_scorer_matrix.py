"""Every scorer on every shipped LHCO analysis runs to the end, report included, through the CLI.

score.method in {vae, cwola, cathode} x the four LHCO analyses, on a small toy sample the test
builds, with settings that keep each scorer quick (one epoch, two folds, one classifier, two
mjj windows). The twelve runs share one output directory, so the stages they have in common
(the data, the VAE training, a scorer's scan) are computed once and reused from the cache, the
way a user switching scorers on one analysis would see it.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.families.registry import load_analysis
from lhcad.data.parquet import write_events_parquet
from lhcad.data.toy import make_toy_events
from lhcad.report.summary import summary_lines
from lhcad.weak.windows import CLOSURE_LIMIT

ANALYSES = ("lhco_rnd", "lhco_blackbox", "lhco_rnd_cathode", "lhco_rnd_cwola")
METHODS = ("vae", "cwola", "cathode")
ROOT = Path(__file__).resolve().parents[1]

FAST = [
    "train.members=2",
    "train.epochs=1",
    "train.batch_size=1024",
    "score.folds=2",
    "score.ensemble=1",
    "score.oversample=1",
    "score.flow={transforms: 2, hidden: [16], epochs: 1, checkpoints: 1}",
    "score.windows={start: 3300, stop: 3500, width: 0.12, step: 1.0, min_events: 50}",
    "select.top_n=[300]",
    "select.efficiencies=[]",
    "fit.n_starts=1",
    "fit.minos=false",
    "bumphunt.n_toys=20",
    "report.formats=[png]",
]


class Sections(HTMLParser):
    """Section ids and the banner lines of a report page."""

    def __init__(self, text: str):
        super().__init__()
        self.sections: list[str] = []
        self.banner: list[str] = []
        self._in_banner = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.sections.append(str(values["id"]))
        self._in_banner = tag == "p" and values.get("class") == "summary"
        if self._in_banner:
            self.banner.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_banner = False

    def handle_data(self, data: str) -> None:
        if self._in_banner:
            self.banner[-1] += data


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("matrix") / "events.parquet"
    write_events_parquet(make_toy_events(5000, 500, seed=3), path)
    return path


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("matrix-out")


@pytest.mark.slow
@pytest.mark.parametrize("analysis", ANALYSES)
@pytest.mark.parametrize("method", METHODS)
def test_every_scorer_runs_every_lhco_analysis_to_the_report(analysis: str, method: str, events: Path, out: Path) -> None:
    overrides = [f"data.path={events}", f"score.method={method}", *FAST]
    args = ["run", str(ROOT / "analyses" / f"{analysis}.yaml"), "--out", str(out)]
    for item in overrides:
        args += ["--set", item]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    report = out / "report" / "index.html"
    assert lines[-1] == f"report:  {report}"
    # only the stages the scorer needs: the VAE is trained for the VAE scorer alone
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "ok"
    assert ("train" in [s["name"] for s in run["stages"]]) == (method == "vae")
    # one answer: results.json's summary, the CLI's lines and the report's banner
    results = json.loads((out / "results.json").read_text())
    assert results["analysis"] == analysis
    claim = load_analysis(args[1], overrides).extract.claim_significance
    assert results["summary"] == summary_lines(results["masses"], claim)
    assert [line.strip() for line in lines if line.startswith("  ")] == results["summary"]
    page = Sections(report.read_text(encoding="utf-8"))
    assert page.banner == results["summary"]
    expected = ["data", "preprocessing", *(["training"] if method == "vae" else []), "scores", "selection", "fits",
                "bumphunt", "masses", "configuration", "provenance"]  # fmt: skip
    assert page.sections == expected
    # a window whose flow fails its closure test is named in the report and is no evidence
    if method == "cathode":
        unclosed = results["window_scan"]["windows_without_closure"]
        if "scores" in results:  # labelled data: the per-window metrics carry the closure AUCs
            aucs = [w.get("closure_auc") for w in results["scores"]["cathode"]["windows"]]
            assert unclosed == sum(a is not None and a > CLOSURE_LIMIT for a in aucs)
        assert ("fails its closure test" in report.read_text(encoding="utf-8")) == (unclosed > 0)
