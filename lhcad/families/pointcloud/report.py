"""The report of a point-cloud VAE study: results.json, figures and the HTML page.

Measured on the test sets: the reconstruction error (Chamfer, at z = z_mean); for jets, JetNet's
W1M and W1P between generated and real test jets, beside the published numbers of JetNet's
generative models and the floor of the metric at this sample size; when the run trained the
flow-matching generator (stage ``pointcloud_generator``), JetNet's bootstrapped W1M, W1P and
W1EFP of it and of the VAE, beside the real-vs-real floor (the test jets against as many other
real jets, drawn from the training and validation sets); and, with anomaly files, the AUC and max SIC of the reconstruction error for
each anomaly type against the test jets.
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
from lhcad.families.pointcloud.metrics import generative_metrics, jetnet_scores, relative_jet_mass
from lhcad.preprocessing import TEST
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

#: The generators of the JetNet-metrics table, by their key in ``results.json``.
GENERATOR_LABELS: dict[str, str] = {
    "vae_prior": "Chamfer VAE, z ~ N(0, 1)",
    "vae_fitted": "Chamfer VAE, z ~ fitted Gaussian",
    "flow_matching": "flow matching (attention over the points)",
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
    flow = artifacts.generator
    flow_sets = None if flow is None else flow.model().generate(n_generated, seed)
    errors = trained.terms(points, mask)
    shown = slice(0, min(cfg.evaluate.n_shown, len(points)))
    rows = [
        ("original", (points[shown], mask[shown])),
        ("reconstructed", (recon_points[shown], recon_mask[shown])),
        ("generated", (gen_points[shown], gen_mask[shown])),
    ]
    if flow_sets is not None:
        rows.append(("flow matching", (flow_sets[0][shown], flow_sets[1][shown])))
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
    if flow is not None and flow_sets is not None:
        samples.append(("flow matching", flow_sets, {"color": "tab:green"}))
        metrics["mean_points"]["flow_matching"] = float(flow_sets[1].sum(1).mean())
        metrics["generator_training"] = {k: v for k, v in flow.training.items() if k != "history"}
    anomaly_scores: dict[str, np.ndarray] = {}
    if is_jets:
        metrics["generative"] = {
            source: generative_metrics((points, mask), sets, seed=seed)
            for source, sets in generated.items()
        }
        if flow_sets is not None:
            others = {f"vae_{source}": sets for source, sets in generated.items()}
            others["flow_matching"] = flow_sets
            metrics["jetnet"] = _jetnet_metrics(data, others, cfg.evaluate.n_bootstrap, seed)
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
    if "jetnet" in metrics:
        sections.append(
            Section(
                "generators",
                "Generators against the real-vs-real floor (JetNet's bootstrapped metrics)",
                [Paragraph(_jetnet_text(metrics["jetnet"])), _jetnet_table(metrics["jetnet"])],
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
        *([["flow-matching generator: epochs, training time [s]",
            f"{gen['epochs_run']}, {fmt(gen['seconds'], 1)}"]] if (gen := metrics.get("generator_training")) else []),
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


def _jetnet_metrics(
    data: Any, generated: Mapping[str, tuple[np.ndarray, np.ndarray]], n_batches: int, seed: int
) -> dict[str, Any]:
    """JetNet's bootstrapped W1M, W1P and W1EFP of each generator's sets against the test jets,
    and of as many real jets of the training and validation sets (the floor), all with the same
    number of jets drawn per batch."""
    test = data.test()
    pool = data.sets.take(data.split != TEST)
    rng = np.random.default_rng(seed)
    n_floor = min(len(test.points), len(pool.points))
    floor_rows = rng.choice(len(pool.points), n_floor, replace=False)
    floor = (pool.points[floor_rows], pool.mask[floor_rows])
    n_eval = min(len(test.points), len(floor[0]), *(len(g[0]) for g in generated.values()))
    real = (test.points, test.mask)
    return {
        "n_eval": n_eval,
        "n_batches": n_batches,
        "real_vs_real": jetnet_scores(real, floor, n_eval, n_batches, seed),
        "generators": {
            name: jetnet_scores(real, sets, n_eval, n_batches, seed)
            for name, sets in generated.items()
        },
    }


def _pm(mean: float, std: float, scale: float, digits: int = 2) -> str:
    return f"{fmt(scale * mean, digits)} ± {fmt(scale * std, digits)}"


def _jetnet_table(jetnet: Mapping[str, Any]) -> Table:
    floor = jetnet["real_vs_real"]

    def row(label: str, m: Mapping[str, float]) -> list[str]:
        return [label, _pm(m["w1m"], m["w1m_std"], 1e3), _pm(m["w1p"], m["w1p_std"], 1e3),
                _pm(m["w1efp"], m["w1efp_std"], 1e5), fmt(m["w1m"] / floor["w1m"], 1)]  # fmt: skip

    rows = [row(GENERATOR_LABELS[name], m) for name, m in jetnet["generators"].items()]
    rows.append(row("real vs real (the floor)", floor))
    return Table(
        ["", "W1M ×10³", "W1P ×10³", "W1EFP ×10⁵", "W1M / floor"],
        rows,
        id="jetnet",
        caption=f"Mean ± standard deviation over {jetnet['n_batches']} batches of "
        f"{jetnet['n_eval']:,} jets drawn with replacement from each side, as jetnet.evaluation "
        "computes them",
    )


def _jetnet_text(jetnet: Mapping[str, Any]) -> str:
    return (
        f"Each generator's jets against the real test jets, and the test jets against "
        f"{jetnet['n_eval']:,} other real jets of the same types (the real-vs-real floor: what a "
        "perfect generator would score at this sample size). W1M: relative jet mass; W1P: mean "
        "over η_rel, φ_rel and pT_rel of the valid particles; W1EFP: mean over JetNet's five "
        "energy flow polynomials (4 vertices, 4 edges, β = 1, hadronic measure)."
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
    flow = metrics.get("jetnet", {}).get("generators", {}).get("flow_matching")
    if flow is not None:
        floor = metrics["jetnet"]["real_vs_real"]["w1m"]
        parts.append(f"flow matching W1M {1e3 * flow['w1m']:.2f}e-3 (floor {1e3 * floor:.2f}e-3)")
    for name, m in metrics.get("anomaly", {}).items():
        parts.append(f"{name} AUC {m['auc']:.3f}")
    return "; ".join(parts)
