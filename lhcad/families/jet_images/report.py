"""The report of a jet-image study: ``report/index.html`` with its figures, and the
``results.json`` content (quark/gluon AUC from the latent, anomaly AUC and max SIC per score,
seconds per epoch)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lhcad.gen.single_jets import JET_TYPES
from lhcad.families.jet_images import plots
from lhcad.families.jet_images.artifacts import JetImagesArtifacts
from lhcad.families.jet_images.conv_vae import denormalise_images
from lhcad.pipeline.runner import StageContext
from lhcad.report.html import Paragraph, Section, Table
from lhcad.report.parts import FigureWriter
from lhcad.report.stage import ReportPage
from lhcad.results import results_header


def _fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


def _sample_text(sample: Mapping[str, Any] | None) -> str:
    if sample is None:
        return "none"
    if sample.get("path"):
        return f"{sample['path']} (first {sample['n']})"
    low, high = sample["pt_range"] or (
        ("80", "120") if sample["process"] == "qg" else ("500", "700")
    )
    return f"generated {sample['process']}, {sample['n']} jets, pT {low}-{high} GeV, |eta| < 2"


def jet_images_page(ctx: StageContext, figures: FigureWriter) -> ReportPage:
    """The page of the ``jet_images_report`` stage (:func:`lhcad.report.stage.report_stage`)."""
    artifacts, analysis = JetImagesArtifacts(ctx.inputs), ctx.config("analysis")
    cfg = analysis.jet_images
    model_cfg = cfg.train.model
    summary = artifacts.sample.summary
    training = artifacts.model.training
    scored = artifacts.scores
    metrics, scores, examples = scored.metrics, scored.scores, scored.examples
    types = np.asarray([JET_TYPES[t] for t in scores["jet_type"]])
    signal_name = (
        plots.TYPE_NAMES.get(types[scores["signal"]][0], "signal")
        if scores["signal"].any()
        else None
    )

    results: dict[str, Any] = {
        **results_header(analysis),
        "data": {k: summary[k] for k in ("n_background", "n_signal", "n_train", "n_val", "n_test")},
        "training": {
            k: training[k]
            for k in (
                "n_parameters",
                "best_epoch",
                "stopped_epoch",
                "seconds",
                "seconds_per_epoch",
                "n_train",
                "device",
                "torch_threads",
            )
        },
    }
    if "quark_gluon" in metrics:
        results["quark_gluon"] = metrics["quark_gluon"]
    if "anomaly" in metrics:
        results["anomaly"] = {"signal": signal_name, **metrics["anomaly"]}

    data_rows = [
        ["background (training: QCD only)", _sample_text(summary["background"])],
        ["signal (test only)", _sample_text(summary["signal"])],
        [
            "training / validation / test jets",
            f"{summary['n_train']} / {summary['n_val']} / {summary['n_test']}",
        ],
    ]
    sections = [Section("data", "Data", [Table([], data_rows, id="data")])]
    shown = [JET_TYPES[t] for t in examples["jet_type"]]
    scale_args = (model_cfg.scales, model_cfg.saturation, model_cfg.normalisation)
    example_fig = plots.examples_figure(
        denormalise_images(examples["original"], *scale_args),
        denormalise_images(examples["reconstruction"], *scale_args),
        shown,
        analysis.name,
    )
    means = {"QCD": examples["mean_background"]}
    if scores["signal"].any():
        means[signal_name or "signal"] = examples["mean_signal"]
    sections.append(
        Section(
            "images",
            "Jet images and reconstructions",
            [
                figures.add(
                    example_fig,
                    "examples",
                    "Test jets (rows): Tracks, ECAL, HCAL and their sum, originals (left four) beside the "
                    "VAE's reconstructions (right four), in GeV per pixel; each original and its "
                    "reconstruction share a colour scale. Images are 125 x 125 pixels of 0.0174 in "
                    "(Δη, Δφ) around the jet axis; HCAL in 5 x 5-pixel towers.",
                ),
                figures.add(
                    plots.mean_images_figure(means, analysis.name),
                    "mean_images",
                    "Average normalised test image of each sample, per channel.",
                ),
            ],
        )
    )
    history = training["history"]
    train_rows = [
        [
            "model",
            f"conv_vae, channels {model_cfg.channels}, patch {model_cfg.patch}, latent {model_cfg.latent_dim}",
        ],
        [
            "loss",
            f"{model_cfg.recon_loss} per channel + {model_cfg.beta:g} KL, {model_cfg.normalisation} normalisation",
        ],
        ["parameters", f"{training['n_parameters']:,}"],
        ["epochs run / best", f"{len(history)} / {training['best_epoch']}"],
        [
            "seconds per epoch",
            f"{training['seconds_per_epoch']:.1f} ({training['n_train']} images, {training['device']})",
        ],
    ]
    sections.append(
        Section(
            "training",
            "Training",
            [
                Table([], train_rows, id="training"),
                figures.add(
                    plots.training_figure(history, training["best_epoch"], analysis.name),
                    "training",
                    "Loss per image on the training and validation QCD jets.",
                    wide=False,
                ),
            ],
        )
    )
    latent_blocks: list[Any] = [
        figures.add(
            plots.latent_figure(scores["z_mean"], types, analysis.name),
            "latent",
            "Latent means of the test jets on their first two principal components.",
            wide=False,
        )
    ]
    if "quark_gluon" in metrics:
        qg = metrics["quark_gluon"]
        latent_blocks.insert(
            0,
            Paragraph(
                f"A logistic regression on the {model_cfg.latent_dim}-dimensional latent means "
                f"({cfg.evaluate.classifier_folds}-fold cross-validated on {qg['n_jets']} test QCD jets) "
                f"separates quark from gluon jets with AUC {qg['latent_auc']:.3f}."
            ),
        )
    sections.append(Section("latent", "Latent space", latent_blocks))
    names = [n for n in plots.SCORE_NAMES if n in scores]
    anomaly_blocks: list[Any] = [
        figures.add(
            plots.score_histograms_figure({n: scores[n] for n in names}, types, analysis.name),
            "scores",
            "Anomaly scores of the test jets per type.",
        )
    ]
    if "anomaly" in metrics:
        anomaly = metrics["anomaly"]
        rows = [
            [plots.SCORE_NAMES[n], _fmt(anomaly[n]["auc"]), _fmt(anomaly[n]["max_sic"], 2)]
            for n in names
        ]
        anomaly_blocks.insert(0, Table(["score", "AUC", "max SIC"], rows, id="anomaly"))
        curves = {n: (scores[f"fpr_{n}"], scores[f"tpr_{n}"]) for n in names}
        anomaly_blocks.append(
            figures.add(
                plots.roc_figure(
                    curves,
                    {n: anomaly[n]["auc"] for n in names},
                    signal_name or "signal",
                    analysis.name,
                ),
                "roc",
                f"{signal_name} jets as anomalies for a VAE trained on QCD jets only: rejection and "
                f"SIC (evaluated at FPR >= {cfg.evaluate.fpr_floor:g}).",
            )
        )
    sections.append(Section("anomaly", "Anomaly scores", anomaly_blocks))
    headline = []
    if "quark_gluon" in results:
        headline.append(
            f"quark/gluon AUC from the latent {results['quark_gluon']['latent_auc']:.3f}"
        )
    if "anomaly" in results:
        headline.append(
            f"{signal_name}-vs-QCD anomaly AUC {results['anomaly']['recon_error']['auc']:.3f}"
        )
    headline.append(f"{training['seconds_per_epoch']:.1f} s per epoch")
    line = "; ".join(headline)
    return ReportPage(sections, line[:1].upper() + line[1:], results)
