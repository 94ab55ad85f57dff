"""The report of a digit study: figures, ``report/index.html`` and the ``results.json`` content.

Built from the artifacts of ``digits_data`` and of whichever of ``bmm`` and ``digits_vae``
ran, with the LHC report's components (:mod:`lhcad.report.html`, :class:`~lhcad.report.parts.FigureWriter`, the
configuration and provenance sections).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lhcad.families.digits import plots
from lhcad.families.digits.artifacts import DigitsArtifacts, LatentVAE, Mixture
from lhcad.families.digits.config import DigitsAnalysis
from lhcad.pipeline.runner import StageContext
from lhcad.report.html import Code, Paragraph, Section, Table
from lhcad.report.parts import FigureWriter
from lhcad.report.stage import ReportPage
from lhcad.results import results_header


def _data_label(summary: Mapping[str, Any]) -> str:
    """The right-hand figure label: which images."""
    name = "8×8 digits" if summary["source"] == "sklearn_digits" else Path(summary["source"]).name
    return f"{name} ({summary['n_images']:,} images)"


def data_section(summary: Mapping[str, Any], files: Mapping[str, str]) -> Section:
    """Which images, how they were split, and the content hashes of the files read."""
    height, width = summary["shape"]
    rows = [
        ["source", summary["source"]],
        ["images", f"{summary['n_images']:,} of {height}×{width} pixels, scaled to [0, 1]"],
        [
            "split (train / validation / test)",
            f"{summary['n_train']:,} / {summary['n_val']:,} / {summary['n_test']:,}",
        ],
        ["images per digit", ", ".join(f"{d}: {n}" for d, n in enumerate(summary["label_counts"]))],
        *[[f"sha256 of {Path(path).name}", digest] for path, digest in files.items()],
    ]
    return Section("data", "Data", [Table([], rows, id="data")])


def bmm_section(
    mixture: Mixture, shape: tuple[int, int], figures: FigureWriter, rlabel: str
) -> tuple[Section, dict[str, Any]]:
    """The mixture's figures and table, and its ``results.json`` block."""
    stats = mixture.stats
    trials, final, analysis = stats["trials"], stats["iterations"], figures.analysis
    name = "Bernoulli" if stats["distribution"] == "bernoulli" else f"binomial (n = {trials})"
    snapshots = mixture.snapshots_by_iteration()
    rows = [
        f"{k} (digit {digit}, π = {pi:.2f})"
        for k, (digit, pi) in enumerate(zip(stats["majority_labels"], stats["pi"], strict=True))
    ]
    metrics = Table(
        ["purity", "NMI", "log-likelihood per image", "iterations", "largest decrease"],
        [
            [
                f"{stats['purity']:.3f}",
                f"{stats['nmi']:.3f}",
                f"{stats['log_likelihood_per_image']:.3f}",
                final,
                f"{stats['largest_decrease']:.3g}",
            ]
        ],
        id="bmm-metrics",
    )
    intro = Paragraph(
        f"A mixture of {stats['components']} {name} distributions over the {shape[0]}×{shape[1]} "
        f"pixels, fitted by EM in log space (log-sum-exp) from "
        f"{len(stats['restart_log_likelihoods'])} random starts; the best start "
        f"({stats['best_restart']}) stopped after {final} iterations "
        f"({'converged' if stats['converged'] else 'not converged'}). Each image is assigned its "
        "most probable component; purity and NMI compare the assignments with the digit labels."
    )
    means = figures.add(
        plots.snapshots_figure(snapshots, shape, final, analysis, rlabel),
        "bmm_means",
        "Component means μ (columns) after each recorded EM iteration (rows).",
    )
    curve = figures.add(
        plots.log_likelihood_figure(
            stats["log_likelihood_history"], len(mixture.clusters), analysis, rlabel
        ),
        "bmm_log_likelihood",
        "Log-likelihood per image after each EM iteration (0: the initial parameters).",
        wide=False,
    )
    samples = figures.add(
        plots.samples_figure(
            mixture.mu, mixture.samples, shape, trials, rows, analysis, rlabel
        ),
        "bmm_samples",
        "Each component's mean and images drawn from it; rows name the component's majority "
        "digit and weight.",
    )
    keys = (
        "distribution",
        "trials",
        "components",
        "purity",
        "nmi",
        "log_likelihood",
        "log_likelihood_per_image",
        "iterations",
        "converged",
        "largest_decrease",
    )
    section = Section("bmm", f"{name} mixture (EM)", [intro, metrics, means, curve, samples])
    return section, {key: stats[key] for key in keys}


def vae_section(
    vae: LatentVAE,
    analysis: DigitsAnalysis,
    labels: np.ndarray,
    shape: tuple[int, int],
    figures: FigureWriter,
    rlabel: str,
) -> tuple[Section, dict[str, Any]]:
    """The VAE's figures and table, and its ``results.json`` block."""
    stats = vae.stats
    cfg, train, name = analysis.digits.vae, analysis.train, figures.analysis
    intro = Paragraph(
        f"The dense VAE of the train section (hidden layers {train.model.hidden}, latent "
        f"dimension {train.model.latent_dim}, {train.model.recon_loss} reconstruction loss, "
        f"{train.optimizer}, at most {train.epochs} epochs, early stopping after "
        f"{train.patience} epochs without a lower validation loss). A "
        f"{stats['knn_neighbours']}-nearest-neighbour classifier fitted on the training images' "
        "latent means classifies the test images: its accuracy says how well the latent space "
        "separates the digits."
    )
    dims = train.model.latent_dim
    metrics = Table(
        ["kNN accuracy on the test images, from", "accuracy"],
        [
            [f"the VAE's {dims}-D latent means", f"{stats['knn_accuracy']:.3f}"],
            [f"the {dims} leading principal components (linear baseline)",
             f"{stats['knn_accuracy_pca']:.3f}"],
            ["all pixels (no compression)", f"{stats['knn_accuracy_pixels']:.3f}"],
            ["always the most frequent digit (chance)", f"{stats['chance_accuracy']:.3f}"],
        ],
        id="vae-metrics",
        caption=f"best epoch {stats['best_epoch']} of {stats['epochs_run']} run; test loss "
        f"{stats['test_loss']:.2f} per image",
    )  # fmt: skip
    scatter = figures.add(
        plots.latent_scatter_figure(vae.z_mean, labels, name, rlabel),
        "vae_latent",
        "Latent means of every image, coloured by digit (labels at each digit's median).",
        wide=False,
    )
    loss = figures.add(
        plots.loss_figure(stats["history"], stats["member"], stats["best_epoch"], name, rlabel),
        "vae_loss",
        "Training and validation loss per epoch; the kept weights are those of the best epoch.",
        wide=False,
    )
    grid = figures.add(
        plots.decoded_grid_figure(
            vae.grid_images, cfg.grid_size, cfg.grid_range, shape, name, rlabel
        ),
        "vae_grid",
        f"Images decoded from a {cfg.grid_size}×{cfg.grid_size} grid over z ∈ "
        f"[−{cfg.grid_range:g}, {cfg.grid_range:g}]².",
    )
    pairs = figures.add(
        plots.reconstructions_figure(
            vae.originals, vae.reconstructions, shape, name, rlabel
        ),
        "vae_reconstructions",
        "Test images (top) and their reconstructions from z_mean (bottom).",
    )
    keys = (
        "knn_accuracy",
        "knn_accuracy_pca",
        "knn_accuracy_pixels",
        "knn_accuracy_per_member",
        "knn_neighbours",
        "chance_accuracy",
        "best_epoch",
        "epochs_run",
        "test_loss",
        "train_seconds",
    )
    section = Section("vae", f"{dims}-D latent VAE", [intro, metrics, scatter, loss, grid, pairs])
    return section, {key: stats[key] for key in keys}


def config_section(analysis: DigitsAnalysis) -> Section:
    """The sections of the configuration a digit study uses, as YAML (the LHC sections are
    left out)."""
    import yaml

    used = ["name", "description", "seed", "pipeline", "digits", "report"]
    if "digits_vae" in analysis.pipeline:
        used.append("train")
    text = yaml.safe_dump(analysis.model_dump(mode="json", include=set(used)), sort_keys=False)
    return Section(
        "configuration",
        "Configuration",
        [Code(text, "The sections of the resolved analysis configuration this study uses (YAML).")],
    )


def digits_page(ctx: StageContext, figures: FigureWriter) -> ReportPage:
    """The page of the ``digits_report`` stage (:func:`lhcad.report.stage.report_stage`)."""
    artifacts, analysis = DigitsArtifacts(ctx.inputs), ctx.config("analysis")
    data = artifacts.images
    summary, shape = data.summary, data.shape
    rlabel = _data_label(summary)
    results: dict[str, Any] = {
        **results_header(analysis),
        "data": {
            k: summary[k] for k in ("source", "n_images", "shape", "n_train", "n_val", "n_test")
        },
    }
    files = artifacts.artifact("digits_data").manifest.get("files", {})
    sections = [data_section(summary, files)]
    headline = []
    if artifacts.has("bmm"):
        section, results["bmm"] = bmm_section(artifacts.mixture, shape, figures, rlabel)
        sections.append(section)
        headline.append(
            f"mixture purity {results['bmm']['purity']:.3f}, NMI {results['bmm']['nmi']:.3f}"
        )
    if artifacts.has("digits_vae"):
        section, results["vae"] = vae_section(
            artifacts.vae, analysis, data.labels, shape, figures, rlabel
        )
        sections.append(section)
        headline.append(f"latent kNN accuracy {results['vae']['knn_accuracy']:.3f}")
    line = "; ".join(headline)
    return ReportPage(sections, line[:1].upper() + line[1:], results, configuration=config_section(analysis))
