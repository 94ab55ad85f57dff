"""The report of a point-cloud VAE study: results.json, figures and the HTML page.

Measured on the test sets: the reconstruction error (Chamfer, at z = z_mean); for jets, JetNet's
W1M and W1P between generated and real test jets, beside the published numbers of JetNet's
generative models and the floor of the metric at this sample size; and, with anomaly files, the
AUC and max SIC of the reconstruction error for each anomaly type against the test jets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lhcad.families.pointcloud.artifacts import PointCloudArtifacts
from lhcad.families.pointcloud.config import PointCloudAnalysis
from lhcad.pipeline.runner import StageContext
from lhcad.plots.style import BACKGROUND, SIGNAL
from lhcad.families.pointcloud import plots
from lhcad.families.pointcloud.evaluate import LATENT_SOURCES, anomaly_metrics
from lhcad.families.pointcloud.metrics import generative_metrics, relative_jet_mass
from lhcad.report.html import Paragraph, Section, Table
from lhcad.report.parts import FigureWriter, fmt
from lhcad.report.stage import ReportPage
from lhcad.results import results_header

#: Published W1M (x 1e-3) of MPGAN on gluon jets, 30 particles (Kansal et al., arXiv:2106.11535,
#: NeurIPS 2021, evaluated on 50 000 jets). Only the W1M is quoted: the paper's table text could
#: not be retrieved here to check its other entries.
JETNET_GLUON_REFERENCE: dict[str, dict[str, float]] = {"MPGAN": {"w1m_e3": 0.7}}


LATENT_LABELS: dict[str, str] = {
    "prior": "z ~ N(0, 1)",
    "fitted": "z ~ Gaussian fitted to the training z_mean",
}


def _e3(value: float | None) -> str:
    return fmt(None if value is None else 1e3 * value, 2)


def pointcloud_page(ctx: StageContext, figures: FigureWriter) -> ReportPage:
    """The page of the ``pointcloud_report`` stage (:func:`lhcad.report.stage.report_stage`)."""
    analysis: PointCloudAnalysis = ctx.config("analysis")
    artifacts, seed = PointCloudArtifacts(ctx.inputs), ctx.seed
    cfg = analysis.pointcloud
    data = artifacts.sets
    summary, training = data.summary, artifacts.trained.training
    trained = artifacts.trained.model()
    test = data.test()
    points, mask = test.points, test.mask
    is_jets = summary["kind"] == "jetnet"
    features = summary["features"]
    n_generated = cfg.evaluate.n_generated or len(points)
    recon_points, recon_mask = trained.reconstruct(points, mask)
    generated = {source: trained.generate(n_generated, seed, source) for source in LATENT_SOURCES}
    gen_points, gen_mask = generated[cfg.evaluate.latent]
    errors = trained.terms(points, mask)
    shown = slice(0, min(cfg.evaluate.n_shown, len(points)))
    rows = [
        ("original", (points[shown], mask[shown])),
        ("reconstructed", (recon_points[shown], recon_mask[shown])),
        ("generated", (gen_points[shown], gen_mask[shown])),
    ]
    metrics: dict[str, Any] = {
        "n_test": len(points),
        "n_generated": n_generated,
        "latent": cfg.evaluate.latent,
        "recon_error_mean": float(errors["recon"].mean()),
        "mean_points": {
            "test": float(mask.sum(1).mean()),
            "reconstructed": float(recon_mask.sum(1).mean()),
            "generated": float(gen_mask.sum(1).mean()),
        },
    }
    samples = [
        ("test", (points, mask), {"color": "black"}),
        ("reconstructed", (recon_points, recon_mask), {"color": BACKGROUND}),
        ("generated", (gen_points, gen_mask), {"color": SIGNAL}),
    ]
    anomaly_scores: dict[str, np.ndarray] = {}
    if is_jets:
        metrics["generative"] = {
            source: generative_metrics((points, mask), sets, seed=seed)
            for source, sets in generated.items()
        }
        if data.anomalies is not None:
            for name, sets in data.anomalies_by_name().items():
                anomaly_scores[name] = trained.terms(sets.points, sets.mask)["recon"]
            metrics["anomaly"] = anomaly_metrics(errors["recon"], anomaly_scores)

    blocks: list[Any] = []
    if is_jets:
        gallery = plots.jet_gallery(rows, analysis.name)
        caption = "Test jets, their reconstructions and generated jets in (η_rel, φ_rel); marker area ∝ pT_rel"
    else:
        gallery = plots.digit_gallery(rows, tuple(summary["image_shape"]), analysis.name)
        caption = "Test digits, their reconstructions and generated digits, drawn from their (x, y, I) points"
    blocks.append(figures.add(gallery, "gallery", caption))
    extra = {"m / pT (jet)": [relative_jet_mass(*s[1]) for s in samples]} if is_jets else None
    blocks.append(figures.add(
        plots.feature_distributions(features, samples, analysis.name, log_features=(2,) if is_jets else (),
                                    extra=extra),
        "distributions", "Point features over all valid points (pT_rel in log10), and the relative jet mass",
    ))  # fmt: skip
    blocks.append(figures.add(plots.history_figure(training["history"], analysis.name), "history",
                              "Loss per set against epoch", wide=False))  # fmt: skip
    if anomaly_scores:
        blocks.append(figures.add(
            plots.anomaly_figure(errors["recon"], anomaly_scores, analysis.name), "anomaly",
            "Reconstruction error of test jets (background) and of each anomaly type; ROC curves",
        ))  # fmt: skip

    sections = [
        Section("summary", "Summary", [
            Paragraph(_method_text(cfg.model.loss, is_jets, cfg.model.log_pt)),
            _summary_table(metrics, training, summary),
        ]),
    ]  # fmt: skip
    if is_jets:
        sections.append(
            Section(
                "generative",
                "Generative metrics (JetNet)",
                [_generative_table(metrics["generative"])],
            )
        )
    if "anomaly" in metrics:
        sections.append(Section("anomaly", "Anomaly scores", [_anomaly_table(metrics["anomaly"])]))
    sections.append(Section("figures", "Figures", blocks))
    training_summary = {k: v for k, v in training.items() if k != "history"}
    results = {
        **results_header(analysis),
        "kind": summary["kind"],
        "loss": cfg.model.loss,
        "data": summary,
        "training": training_summary,
        **metrics,
        **({"jetnet_gluon_reference_e3": JETNET_GLUON_REFERENCE} if is_jets else {}),
        "figures": figures.written,
    }
    return ReportPage(sections, _headline(metrics), results)


def _method_text(loss: str, is_jets: bool, log_pt: bool) -> str:
    scaling = (
        "pT_rel is learnt as log(pT_rel), standardised like η_rel and φ_rel, so a factor 2 in pT costs the same for "
        "a soft as for a hard particle"
        if is_jets and log_pt
        else "every feature is standardised over the valid training points"
    )
    return (
        f"A DeepSets encoder (shared per-point MLP, masked mean and max pooling) and a decoder that emits every "
        f"slot's point and a mask logit; the reconstruction loss is the masked Chamfer distance ({loss}), so padding "
        f"never enters it. {scaling}. Relative φ is taken modulo 2π when the sets are built."
    )


def _summary_table(
    metrics: Mapping[str, Any], training: Mapping[str, Any], summary: Mapping[str, Any]
) -> Table:
    rows = [
        ["sets (train / val / test)", f"{summary['n_train']:,} / {summary['n_val']:,} / {summary['n_test']:,}"],
        ["points per set (slots)", fmt(summary["n_points"])],
        ["mean valid points: test / reconstructed / generated",
         " / ".join(fmt(metrics["mean_points"][k], 1) for k in ("test", "reconstructed", "generated"))],
        ["mean reconstruction error (Chamfer, test)", fmt(metrics["recon_error_mean"], 3)],
        ["epochs run (best)", f"{training['epochs_run']} ({training['best_epoch']})"],
        ["training time [s]", fmt(training["seconds"], 1)],
        ["device", training["device"]],
        ["parameters", fmt(training["n_parameters"])],
    ]  # fmt: skip
    return Table([], rows, id="pointcloud-summary")


def _generative_table(generative: Mapping[str, Mapping[str, float]]) -> Table:
    rows = [
        [f"this model, {LATENT_LABELS[source]}", _e3(gen["w1m"]), _e3(gen["w1p"]), _e3(gen["w1p_eta_rel"]),
         _e3(gen["w1p_phi_rel"]), _e3(gen["w1p_pt_rel"]), _e3(gen["w1_log10_pt_rel"])]
        for source, gen in generative.items()
    ]  # fmt: skip
    gen = generative["prior"]
    rows += [
        ["real vs real, same sample size", _e3(gen["w1m_real_halves"]), _e3(gen["w1p_real_halves"]),
         _e3(gen["w1p_eta_rel_real_halves"]), _e3(gen["w1p_phi_rel_real_halves"]), _e3(gen["w1p_pt_rel_real_halves"]),
         _e3(gen["w1_log10_pt_rel_real_halves"])],
    ]  # fmt: skip
    for name, ref in JETNET_GLUON_REFERENCE.items():
        rows.append(
            [f"JetNet paper, gluon 30p: {name}", f"{ref['w1m_e3']}", "–", "–", "–", "–", "–"]
        )
    return Table(
        [
            "",
            "W1M ×10³",
            "W1P ×10³",
            "η_rel ×10³",
            "φ_rel ×10³",
            "pT_rel ×10³",
            "log10 pT_rel ×10³",
        ],
        rows,
        id="generative",
        caption="Wasserstein-1 distances between generated and real test jets (JetNet's published numbers use 50 000 "
        "jets of their own sample: a reference, not a like-for-like comparison)",
    )


def _anomaly_table(anomaly: Mapping[str, Mapping[str, float]]) -> Table:
    rows = [[name, fmt(m["auc"], 3), fmt(m["max_sic"], 2), fmt(m["n_signal"]), fmt(m["n_background"])]
            for name, m in anomaly.items()]  # fmt: skip
    return Table(["anomaly", "AUC", "max SIC", "anomalous jets", "background test jets"], rows, id="anomaly",
                 caption="Reconstruction error as the anomaly score, against the held-out training-type jets")  # fmt: skip


def _headline(metrics: Mapping[str, Any]) -> str:
    parts = [f"reconstruction error {metrics['recon_error_mean']:.3g}"]
    if "generative" in metrics:
        parts.append(f"W1M {1e3 * metrics['generative'][metrics['latent']]['w1m']:.2f}e-3")
    for name, m in metrics.get("anomaly", {}).items():
        parts.append(f"{name} AUC {m['auc']:.3f}")
    return "; ".join(parts)
