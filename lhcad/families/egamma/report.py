"""``results.json`` and the HTML report of a classification study (the ``labelled`` and
``classify`` stages' artifacts), built with the LHC report's page components."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lhcad.families.egamma import plots
from lhcad.families.egamma.artifacts import ClassificationArtifacts
from lhcad.families.egamma.ceiling import CEILING_NAMES, ceiling_gap
from lhcad.families.egamma.fit import interval_95, paired_bootstrap_aucs
from lhcad.families.egamma.config import EgammaAnalysis
from lhcad.families.egamma.samples import SPLIT_NAMES
from lhcad.pipeline.runner import StageContext
from lhcad.preprocessing import TEST
from lhcad.report.html import FigureRef, Paragraph, Section, Table
from lhcad.report.parts import FigureWriter, fmt
from lhcad.report.stage import ReportPage
from lhcad.results import results_header

EXAMPLES_PER_CLASS = 4
"""Example images shown per class."""
SIMULATION_NOTE = (
    "The showers come from lhcad's parametric fast simulation of a PbWO4 crystal calorimeter behind "
    "a tracker in a 3.8 T field (lhcad/families/egamma/showers.py; docs/egamma.md says what it models "
    "and what it does not). Its images are only qualitatively like the CMS ones: an AUC on them is not "
    "the CMS number."
)
CEILING_NOTE = (
    "What the simulated showers allow: classifiers unlike the networks, trained on {showers:,} showers per class "
    "of the same simulation (other seeds), scored on the same {tests:,} test events. Gradient-boosted trees on "
    "shower-shape variables read only the images: their AUC is reachable from images, the image ceiling. The "
    "same trees given the generator's truth (conversion, bremsstrahlung, the particles reaching the ECAL) bound "
    "every image classifier from above: given that truth the images of both classes are drawn alike. The gap "
    "is the image ceiling's AUC minus a classifier's; all intervals are central 95% intervals of {bootstrap} "
    "bootstrap resamplings of the test events, shared by the AUCs of a gap."
)


def ceiling_results(artifacts: ClassificationArtifacts, analysis: EgammaAnalysis) -> dict[str, Any] | None:
    """The ``ceiling`` entry of ``results.json``: the ceiling classifiers' AUCs and, per
    network, its gap to the image ceiling (:func:`lhcad.families.egamma.ceiling.ceiling_gap`);
    None when the pipeline has no ``ceiling`` stage."""
    if not artifacts.has("ceiling"):
        return None
    ceiling, classifiers = artifacts.ceiling, artifacts.classifiers
    labels = classifiers.labels
    if not np.array_equal(labels, ceiling.scores["y"]):
        raise ValueError("the ceiling and the classifiers scored different test events")
    n, seed = analysis.classify.bootstrap, analysis.classify.seed
    ceiling_scores = ceiling.model_scores()
    gaps = {
        kind: ceiling_gap(labels, ceiling_scores, score, n, seed) for kind, score in classifiers.model_scores().items()
    }
    intervals = paired_bootstrap_aucs(labels, ceiling_scores, n, seed)
    return {
        "showers_per_class": ceiling.metrics["showers_per_class"],
        "models": {
            kind: m | {"test_auc_interval_95": interval_95(intervals[kind])} for kind, m in ceiling.models.items()
        },
        "gaps": {kind: gap for kind, gap in gaps.items() if gap is not None},
    }


def _interval(values: list[float]) -> str:
    return f"{values[0]:.4f} – {values[1]:.4f}"


def _ceiling_section(results: Mapping[str, Any], tests: int, bootstrap: int) -> Section:
    rows = [[CEILING_NAMES[kind], f"{m['test_auc']:.4f}", _interval(m["test_auc_interval_95"]), "",
             f"{fmt(m['train_showers'])} training showers (both classes), {m['iterations']} iterations"] for kind, m in results["models"].items()]  # fmt: skip
    for kind, gap in results["gaps"].items():
        rows.append([plots.model_name(kind), f"{gap['classifier_auc']:.4f}", _interval(gap["classifier_interval_95"]),
                     f"{gap['gap']:+.4f} ({_interval(gap['gap_interval_95'])})", f"against {CEILING_NAMES[gap['ceiling_model']]}"])  # fmt: skip
    columns = ["classifier", "test AUC", "95% interval", "gap to the image ceiling (95% interval)", "notes"]
    note = CEILING_NOTE.format(showers=results["showers_per_class"], tests=tests, bootstrap=bootstrap)
    return Section("ceiling", "Ceiling of the simulation", [Paragraph(note), Table(columns, rows, id="ceiling")])


def classification_results(artifacts: ClassificationArtifacts, analysis: EgammaAnalysis) -> dict[str, Any]:
    """The content of ``results.json``: provenance keys, then the samples and every model's
    test AUC (with its bootstrap spread and 95% interval), training time and epochs, and the
    ceiling with every model's gap to it (:func:`ceiling_results`) when it was measured."""
    summary = artifacts.labelled.summary
    metrics = artifacts.classifiers.metrics
    results = {
        **results_header(analysis),
        "classes": summary["classes"],
        "events": summary["events"],
        "headline_model": analysis.classify.models[0],
        "auc": metrics["models"][analysis.classify.models[0]]["test_auc"],
        "models": metrics["models"],
        "device": metrics["device"],
    }
    ceiling = ceiling_results(artifacts, analysis)
    return results if ceiling is None else results | {"ceiling": ceiling}


def _samples_section(summary: Mapping[str, Any]) -> Section:
    classes = summary["classes"]
    rows = [[f"{classes[c]} (label {c})", *(fmt(summary["events"][s][c]) for s in SPLIT_NAMES)] for c in (0, 1)]
    info = [["source", summary["source"]], ["inputs", f"{summary['shape']} ({', '.join(summary['channels'])})"]]
    info += [[f"file {Path(s['path']).name}", f"{s['class']}: {fmt(s['events'])} events"] for s in summary["sources"] if "class" in s]
    note = [Paragraph(SIMULATION_NOTE)] if summary["source"].startswith("simulated") else []
    return Section(
        "samples", "Samples",
        [*note, Table([], info, id="samples-info"), Table(["class", *SPLIT_NAMES], rows, id="samples-split", caption="Events per class and split (stratified).")],
    )  # fmt: skip


def _models_table(metrics: Mapping[str, Any]) -> Table:
    rows = []
    for kind, m in metrics.items():
        lo, hi = m["test_auc_interval_95"]
        rows.append([
            plots.model_name(kind), f"{m['test_auc']:.4f} ± {m['test_auc_bootstrap_std']:.4f}", f"{lo:.4f} – {hi:.4f}",
            f"{m['best_val_auc']:.4f}", fmt(m["best_epoch"]), fmt(m["epochs_run"]), f"{m['train_seconds']:.1f}",
            fmt(m["n_parameters"]),
        ])  # fmt: skip
    columns = ["model", "test AUC ± bootstrap σ", "95% bootstrap interval", "best validation AUC", "kept epoch",
               "epochs run", "training time [s]", "parameters"]  # fmt: skip
    return Table(columns, rows, id="models")


def classification_page(ctx: StageContext, figures: FigureWriter) -> ReportPage:
    """The page of the ``classify_report`` stage (:func:`lhcad.report.stage.report_stage`)."""
    artifacts, analysis = ClassificationArtifacts(ctx.inputs), ctx.config("analysis")
    samples, classifiers = artifacts.labelled, artifacts.classifiers
    summary, metrics = samples.summary, classifiers.models
    classes = summary["classes"]
    labels = classifiers.labels
    model_scores = classifiers.model_scores()
    aucs = {kind: (m["test_auc"], m["test_auc_bootstrap_std"]) for kind, m in metrics.items()}
    x_test, y_test = samples.part(TEST)
    name = analysis.name

    results_blocks = [
        _models_table(metrics),
        figures.add(plots.roc_figure(labels, model_scores, aucs, name), "roc",
                    f"ROC curves on the {len(labels):,} test events; ± is the standard deviation of the AUC over "
                    f"{analysis.classify.bootstrap} bootstrap resamplings.", wide=False),
        figures.add(plots.score_figure(labels, model_scores, classes, name), "scores",
                    "Output probability of each network for the test events of each class."),
        figures.add(plots.history_figure({k: m["history"] for k, m in metrics.items()},
                                         {k: m["best_epoch"] for k, m in metrics.items()}, name), "training",
                    "Loss per epoch and validation AUC (early stopping follows the validation loss; the weights "
                    "kept are those of the best validation AUC)."),
    ]  # fmt: skip
    input_blocks: list[Paragraph | Table | FigureRef] = []
    if summary["images"]:
        means = np.stack([samples.x[samples.y == c].mean(axis=0) for c in (0, 1)])
        input_blocks.append(figures.add(plots.mean_images_figure(means, classes, summary["channels"], name), "mean_images",
                                        "Mean image of each class per channel (all events), and their difference."))
        for ch, channel in enumerate(summary["channels"]):
            input_blocks.append(figures.add(
                plots.example_images_figure(x_test[..., ch], y_test, classes, channel, EXAMPLES_PER_CLASS, name),
                f"examples_{channel.replace(' ', '_')}", f"Example test images, {channel} channel (top: {classes[0]}, bottom: {classes[1]})."))  # fmt: skip
    else:
        input_blocks.append(figures.add(plots.feature_figure(samples.x, samples.y, classes, summary["channels"], name),
                                        "features", "Distribution of each feature per class (all events)."))  # fmt: skip

    best = analysis.classify.models[0]
    headline = f"{plots.model_name(best)}: test AUC = {aucs[best][0]:.4f} ± {aucs[best][1]:.4f} ({classes[1]} vs {classes[0]})"
    sections = [
        _samples_section(summary),
        Section("inputs", "Inputs", input_blocks),
        Section("results", "Classifiers", results_blocks),
    ]
    results = classification_results(artifacts, analysis)
    if "ceiling" in results:
        sections.append(_ceiling_section(results["ceiling"], len(labels), analysis.classify.bootstrap))
        gap = results["ceiling"]["gaps"].get(best)
        if gap is not None:
            interval = _interval(gap["gap_interval_95"])
            headline += f"; image ceiling {gap['ceiling_auc']:.4f}, gap {gap['gap']:+.4f} [{interval}]"
    return ReportPage(sections, headline, results)
