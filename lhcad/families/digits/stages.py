"""Stages of the digit studies (the reference study's parts 1 and 2).

``digits_data`` loads and splits the images, ``bmm`` fits the Bernoulli (or binomial) mixture
by EM, ``digits_vae`` trains the dense VAE of the ``train`` section on them and measures its
2-D latent space, and ``digits_report`` draws the figures and writes ``results.json`` and
``report/index.html``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lhcad.families.digits.artifacts import DigitImages, LatentVAE, Mixture
from lhcad.families.digits.config import DigitsAnalysis, DigitsConfig
from lhcad.data.digits import SKLEARN_DIGITS
from lhcad.errors import ConfigError, DataError, StageError
from lhcad.models.settings import architecture, member_seeds
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.preprocessing import TEST, TRAIN, VAL, stratified_split
from lhcad.report.stage import PageBuilder, report_stage

if TYPE_CHECKING:
    from lhcad.config.vae import TrainConfig



def digit_files(config: DigitsAnalysis) -> list[Path]:
    """The IDX files an analysis reads (none for scikit-learn's digits), checked to exist."""
    data = config.digits.data
    if data.source == SKLEARN_DIGITS:
        return []
    if data.labels is None:
        raise ConfigError("an MNIST images file needs its labels file", where="digits.data.labels")
    paths = [Path(data.source).expanduser(), Path(data.labels).expanduser()]
    for path in paths:
        if not path.is_file():
            raise DataError("file not found" if not path.exists() else "not a file", source=path)
    return paths


@stage(
    "digits_data",
    summary="digit images (scikit-learn's 8x8 digits or MNIST IDX files) in [0, 1], split",
    reads=("digits",),
    input_files=digit_files,
)
def run_digits_data(ctx: StageContext) -> None:
    from lhcad.data.digits import load_digits

    cfg: DigitsConfig = ctx.config("digits")
    images, labels = load_digits(cfg.data.source, cfg.data.labels)
    rng = np.random.default_rng(cfg.data.seed)
    if cfg.data.max_images is not None and cfg.data.max_images < len(images):
        keep = np.sort(rng.choice(len(images), cfg.data.max_images, replace=False))
        images, labels = images[keep], labels[keep]
    split = stratified_split(labels, cfg.data.val, cfg.data.test, cfg.data.seed)
    if not (split == TRAIN).any() or not (split == TEST).any():
        raise StageError(f"{len(images)} images are too few to split into training and test images")
    summary = {
        "source": cfg.data.source,
        "n_images": len(images),
        "shape": list(images.shape[1:]),
        "n_train": int((split == TRAIN).sum()),
        "n_val": int((split == VAL).sum()),
        "n_test": int((split == TEST).sum()),
        "label_counts": np.bincount(labels).tolist(),
    }
    DigitImages(images, labels, split, summary).write(ctx.out)
    ctx.log.info("%d images of %s pixels", len(images), "x".join(map(str, images.shape[1:])))


@stage(
    "bmm",
    summary="mixture of Bernoulli (or binomial) distributions fitted by EM",
    reads=("digits",),
    needs=("digits_data",),
)
def run_bmm(ctx: StageContext) -> None:
    from lhcad.families.digits.bmm import assign, fit_mixture, quantise, sample
    from lhcad.families.digits.metrics import cluster_purity, majority_labels, normalized_mutual_information

    cfg = ctx.config("digits").bmm
    data = DigitImages.read(ctx.inputs["digits_data"])
    images, labels = data.images, data.labels
    trials = 1 if cfg.distribution == "bernoulli" else cfg.trials
    x = quantise(images, trials, cfg.threshold)
    rng = np.random.default_rng([cfg.seed, ctx.seed])
    with cpu_threads(ctx.config("digits").threads):
        fit = fit_mixture(
            x,
            cfg.components,
            trials=trials,
            init_range=cfg.init_range,
            dirichlet_alpha=cfg.dirichlet_alpha,
            margin=cfg.mu_margin,
            max_iterations=cfg.max_iterations,
            tolerance=cfg.tolerance,
            restarts=cfg.restarts,
            snapshots=cfg.snapshots,
            rng=rng,
        )
    clusters = assign(x, fit)
    steps = np.diff(fit.log_likelihood)
    metrics: dict[str, Any] = {
        "distribution": cfg.distribution,
        "trials": trials,
        "components": cfg.components,
        "purity": cluster_purity(clusters, labels),
        "nmi": normalized_mutual_information(clusters, labels),
        "log_likelihood": fit.log_likelihood[-1],
        "log_likelihood_per_image": fit.log_likelihood[-1] / len(x),
        "iterations": fit.iterations,
        "converged": fit.converged,
        "largest_decrease": float(max(-steps.min(), 0.0)) if len(steps) else 0.0,
        "best_restart": fit.restart,
        "restart_log_likelihoods": fit.restart_log_likelihoods,
        "pi": fit.pi.tolist(),
        "majority_labels": majority_labels(clusters, labels, cfg.components).tolist(),
        "log_likelihood_history": fit.log_likelihood,
    }
    snapshot_iterations = sorted(fit.snapshots)
    Mixture(
        metrics,
        mu=fit.mu,
        pi=fit.pi,
        clusters=clusters,
        samples=sample(fit, cfg.samples, rng),
        snapshot_iterations=np.asarray(snapshot_iterations, dtype=np.int64),
        snapshots=np.stack([fit.snapshots[i] for i in snapshot_iterations])
        if snapshot_iterations
        else np.empty((0, *fit.mu.shape)),
    ).write(ctx.out)
    ctx.log.info(
        "%s mixture, K=%d: %d iterations, purity %.3f, NMI %.3f",
        cfg.distribution,
        cfg.components,
        fit.iterations,
        metrics["purity"],
        metrics["nmi"],
    )


@stage(
    "digits_vae",
    summary="dense VAE (train section) on digit images: 2-D latent space, kNN accuracy",
    reads=("digits", "train"),
    needs=("digits_data",),
)
def run_digits_vae(ctx: StageContext) -> None:
    from lhcad.families.digits.latent import decode, encode_means, latent_grid, reconstruct
    from lhcad.families.digits.metrics import knn_accuracy, pca_projection
    from lhcad.models.ensemble import train_ensemble
    from lhcad.models.trainer import TrainSettings

    cfg: DigitsConfig = ctx.config("digits")
    train_cfg: TrainConfig = ctx.config("train")
    data = DigitImages.read(ctx.inputs["digits_data"])
    images, labels, split = data.images, data.labels, data.split
    x = images.reshape(len(images), -1)
    if not (split == VAL).any():
        raise StageError("no validation images for early stopping (digits.data.val is too small)")
    arch = architecture(train_cfg, x.shape[1])
    seeds = member_seeds(train_cfg, ctx.seed)
    with cpu_threads(cfg.threads):
        result = train_ensemble(
            arch, TrainSettings.of(train_cfg), x[split == TRAIN], x[split == VAL], seeds, progress=True
        )
    model = result.model.cpu()
    for k, state in enumerate(result.best_states):  # every member at its best validation loss
        model.load_member_state(k, state)
    best_val = mean_losses(model, x[split == VAL])
    member = int(np.argmin(best_val))  # chosen on validation images, never on test labels
    train, test = split == TRAIN, split == TEST

    def knn_on(features: np.ndarray) -> float:
        k = cfg.vae.knn_neighbours
        return knn_accuracy(features[train], labels[train], features[test], labels[test], k)

    knn = [knn_on(encode_means(model, x, k)) for k in range(len(seeds))]
    pca = pca_projection(x[train], x, arch.latent_dim)
    z = encode_means(model, x, member)
    test_index = np.flatnonzero(split == TEST)[: cfg.vae.reconstructions]
    grid_z = latent_grid(cfg.vae.grid_size, cfg.vae.grid_range)
    n_test = int((split == TEST).sum())
    metrics = {
        "knn_accuracy": knn[member],
        "knn_accuracy_per_member": knn,
        "knn_neighbours": cfg.vae.knn_neighbours,
        "knn_accuracy_pca": knn_on(pca),
        "knn_accuracy_pixels": knn_on(x),
        "chance_accuracy": float(np.bincount(labels[split == TEST]).max() / n_test),
        "member": member,
        "best_epoch": result.best_epochs[member],
        "stopped_epoch": result.stopped_epochs[member],
        "epochs_run": len(result.history),
        "best_val_loss": best_val[member],
        "test_loss": mean_losses(model, x[split == TEST])[member],
        "train_seconds": result.seconds,
        "n_test": n_test,
    }
    LatentVAE(
        {**metrics, "history": result.history},
        z_mean=z,
        grid_z=grid_z,
        grid_images=decode(model, grid_z, member),
        originals=x[test_index],
        reconstructions=reconstruct(model, x[test_index], member),
        spec={"architecture": arch.to_dict(), "seeds": seeds},
        weights=result.best_states,
    ).write(ctx.out)
    ctx.log.info(
        "latent kNN accuracy %.3f (member %d, best epoch %d)",
        knn[member],
        member,
        metrics["best_epoch"],
    )


@contextmanager
def cpu_threads(threads: int | None) -> Iterator[None]:
    """Run a block with at most ``threads`` BLAS/OpenMP threads and, when torch is loaded,
    torch CPU threads (None: unchanged); restore them afterwards."""
    import sys

    from threadpoolctl import threadpool_limits

    if threads is None:
        yield
        return
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=threads):
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(previous)


def mean_losses(model: Any, x: np.ndarray) -> list[float]:
    """Every member's mean loss (negative ELBO, z = z_mean as for validation) on images ``x``."""
    import torch

    from lhcad.models.ensemble import validation_loss

    return validation_loss(model, torch.as_tensor(x, dtype=torch.float32)).tolist()


def _digits_page() -> PageBuilder:
    from lhcad.families.digits.report import digits_page  # matplotlib: only when the stage runs

    return digits_page


run_digits_report = report_stage(
    "digits_report",
    summary="figures and HTML page of a digit study (OUT/report/index.html) and OUT/results.json",
    subject="lhcad digit study",
    needs=("digits_data",),
    optional=("bmm", "digits_vae"),
    builder=_digits_page,
)
