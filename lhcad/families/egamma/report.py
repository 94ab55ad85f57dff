"""``results.json`` and the HTML report of a classification study (the ``labelled`` and
``classify`` stages' artifacts), built with the LHC report's page components."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lhcad.families.egamma import plots
from lhcad.families.egamma.artifacts import ClassificationArtifacts
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
    "a tracker in a 3.8 T field (lhcad/calo; the README says what it models and what it does not). "
    "Its images are only qualitatively like the CMS ones: an AUC on them is not the CMS number."
)


def classification_results(artifacts: ClassificationArtifacts, analysis: EgammaAnalysis) -> dict[str, Any]:
    """The content of ``results.json``: provenance keys, then the samples and every model's
    test AUC (with its bootstrap spread and 95% interval), training time and epochs."""
    summary = artifacts.labelled.summary
    metrics = artifacts.classifiers.metrics
    return {
        **results_header(analysis),
        "classes": summary["classes"],
        "events": summary["events"],
        "headline_model": analysis.classify.models[0],
        "auc": metrics["models"][analysis.classify.models[0]]["test_auc"],
        "models": metrics["models"],
        "device": metrics["device"],
    }


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
    return ReportPage(sections, headline, classification_results(artifacts, analysis))
