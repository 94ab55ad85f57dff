"""Stages of the point-cloud VAE studies (sparse digits, JetNet jets).

``pointcloud_data`` builds the padded sets and their split, ``pointcloud_train`` trains the VAE
with the Chamfer loss, ``pointcloud_generator`` (optional) trains the flow-matching set generator,
and ``pointcloud_report`` reconstructs and generates sets, measures them (JetNet's W1M, W1P and
W1EFP for jets, beside the real-vs-real floor; AUC and max SIC of the anomaly files) and writes
``results.json`` and ``report/index.html``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lhcad.families.pointcloud.artifacts import PointSets, Sets, TrainedGenerator, TrainedModel
from lhcad.families.pointcloud.config import (
    PointCloudAnalysis,
    PointCloudConfig,
    PointCloudDataConfig,
    PointCloudGeneratorConfig,
)
from lhcad.data.digits import SKLEARN_DIGITS
from lhcad.errors import ConfigError, DataError, StageError
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.preprocessing import TEST, TRAIN, VAL, stratified_split
from lhcad.report.stage import PageBuilder, report_stage

DIGIT_FEATURES: tuple[str, ...] = ("x", "y", "I")
JET_FEATURES: tuple[str, ...] = ("eta_rel", "phi_rel", "pt_rel")


def pointcloud_files(config: PointCloudAnalysis) -> list[Path]:
    """The files an analysis reads (their hashes key the cache), checked to exist."""
    data = config.pointcloud.data
    if data.kind == "jetnet":
        paths = [Path(p).expanduser() for p in (*data.train_files, *data.anomaly_files.values())]
    elif data.source == SKLEARN_DIGITS:
        return []
    elif data.labels is None:
        raise ConfigError(
            "an MNIST images file needs its labels file", where="pointcloud.data.labels"
        )
    else:
        paths = [Path(data.source).expanduser(), Path(data.labels).expanduser()]
    for path in paths:
        if not path.is_file():
            raise DataError("file not found" if not path.exists() else "not a file", source=path)
    return paths


def _subsample(n: int, max_sets: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_sets is None or max_sets >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, max_sets, replace=False))


def _jet_sets(
    path: str, n_points: int, max_sets: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, str]:
    """The hardest ``n_points`` particles of a JetNet file's jets, and the file's jet type."""
    from lhcad.families.pointcloud.jetnet import read_jetnet

    jets = read_jetnet(path)
    slots = jets.particle_features.shape[1]
    if n_points > slots:
        raise ConfigError(
            f"n_points {n_points} exceeds the {slots} particles per jet of {path}",
            where="pointcloud.data.n_points",
        )
    keep = _subsample(len(jets), max_sets, rng)
    name = str(jets.attrs.get("jet_type", Path(path).stem))
    return jets.points[keep, :n_points], jets.mask[keep, :n_points], name


@stage(
    "pointcloud_data",
    summary="point sets: the brightest pixels of digits as (x, y, I), or JetNet jets as (eta_rel, phi_rel, pT_rel)",
    reads=("pointcloud.data",),
    input_files=pointcloud_files,
)
def run_pointcloud_data(ctx: StageContext) -> None:
    from lhcad.data.digits import load_digits
    from lhcad.families.pointcloud.sets import brightest_pixels

    data: PointCloudDataConfig = ctx.config("pointcloud.data")
    rng = np.random.default_rng(data.seed)
    summary: dict = {"kind": data.kind, "n_points": data.n_points}
    anomaly_sets: Sets | None = None
    if data.kind == "digits":
        images, labels = load_digits(data.source, data.labels)
        if data.digits is not None:
            chosen = np.isin(labels, data.digits)
            if not chosen.any():
                raise DataError(f"no image of the digits {data.digits}", source=data.source)
            images, labels = images[chosen], labels[chosen]
        keep = _subsample(len(images), data.max_sets, rng)
        points, mask = brightest_pixels(images[keep], data.n_points)
        labels = labels[keep]
        summary |= {"features": list(DIGIT_FEATURES), "image_shape": list(images.shape[1:]),
                    "label_names": [str(d) for d in range(10)]}  # fmt: skip
    else:
        sets = [_jet_sets(path, data.n_points, data.max_sets, rng) for path in data.train_files]
        points = np.concatenate([s[0] for s in sets])
        mask = np.concatenate([s[1] for s in sets])
        labels = np.concatenate([np.full(len(s[0]), i) for i, s in enumerate(sets)])
        summary |= {"features": list(JET_FEATURES), "label_names": [s[2] for s in sets]}
        anomalies = [
            _jet_sets(path, data.n_points, data.max_sets, rng)
            for path in data.anomaly_files.values()
        ]
        if anomalies:
            anomaly_sets = Sets(
                points=np.concatenate([a[0] for a in anomalies]),
                mask=np.concatenate([a[1] for a in anomalies]),
                labels=np.concatenate([np.full(len(a[0]), i) for i, a in enumerate(anomalies)]),
            )
        summary["anomaly_names"] = list(data.anomaly_files)
        summary["n_anomalies"] = {
            name: len(a[0]) for name, a in zip(data.anomaly_files, anomalies, strict=True)
        }
    if not mask.any(axis=1).all():
        raise DataError(f"{int((~mask.any(axis=1)).sum())} sets hold no point")
    split = stratified_split(labels, data.val, data.test, data.seed)
    if not ((split == TRAIN).any() and (split == VAL).any() and (split == TEST).any()):
        raise StageError(
            f"{len(points)} sets are too few to split into training, validation and test sets"
        )
    summary |= {
        "n_sets": len(points),
        "n_train": int((split == TRAIN).sum()),
        "n_val": int((split == VAL).sum()),
        "n_test": int((split == TEST).sum()),
        "mean_points": float(mask.sum(1).mean()),
        "label_counts": np.bincount(labels).tolist(),
    }
    all_sets = Sets(points, mask, labels.astype(np.int64))
    PointSets(all_sets, split, summary, anomaly_sets).write(ctx.out)
    ctx.log.info(
        "%d sets of up to %d points (%.1f on average)",
        len(points),
        data.n_points,
        summary["mean_points"],
    )


@stage(
    "pointcloud_train",
    summary="train the point-cloud VAE (DeepSets encoder, masked Chamfer loss)",
    reads=("pointcloud",),
    needs=("pointcloud_data",),
)
def run_pointcloud_train(ctx: StageContext) -> None:
    from lhcad.models.trainer import TrainSettings
    from lhcad.families.pointcloud.evaluate import train_pointcloud_vae
    from lhcad.families.pointcloud.model import PointCloudArchitecture

    cfg: PointCloudConfig = ctx.config("pointcloud")
    data = PointSets.read(ctx.inputs["pointcloud_data"])
    points = data.sets.points
    train, val = data.part(TRAIN), data.part(VAL)
    m = cfg.model
    arch = PointCloudArchitecture(
        n_points=points.shape[1], n_features=points.shape[2], latent_dim=m.latent_dim, hidden=m.hidden,
        point_hidden=m.point_hidden, loss=m.loss, n_positions=2, beta=m.beta, mask_weight=m.mask_weight,
    )  # fmt: skip
    t = cfg.train
    settings = TrainSettings.of(t)
    log_features = (2,) if cfg.data.kind == "jetnet" and m.log_pt else ()
    trained, result = train_pointcloud_vae(
        arch,
        (train.points, train.mask),
        (val.points, val.mask),
        settings,
        seed=t.seed + ctx.seed,
        log_features=log_features,
    )
    TrainedModel(trained.state(), {
        "best_epoch": result.best_epoch, "stopped_epoch": result.stopped_epoch, "epochs_run": len(result.history),
        "seconds": result.seconds, "seconds_per_epoch": result.seconds_per_epoch, "device": str(trained.device),
        "n_parameters": sum(p.numel() for p in trained.model.parameters()), "history": result.history,
    }).write(ctx.out)  # fmt: skip
    ctx.log.info(
        "trained %d epochs in %.1f s (best epoch %d, val loss %.4g)", len(result.history), result.seconds,
        result.best_epoch, min(h["val_loss"] for h in result.history),
    )  # fmt: skip


@stage(
    "pointcloud_generator",
    summary="train the flow-matching set generator (attention over the points, noise-to-set paths)",
    reads=("pointcloud.data", "pointcloud.generator"),
    needs=("pointcloud_data",),
)
def run_pointcloud_generator(ctx: StageContext) -> None:
    from lhcad.families.pointcloud.flow import SetFlowArchitecture
    from lhcad.families.pointcloud.generator import train_set_generator
    from lhcad.models.trainer import TrainSettings

    g: PointCloudGeneratorConfig = ctx.config("pointcloud.generator")
    kind = ctx.config("pointcloud.data").kind
    data = PointSets.read(ctx.inputs["pointcloud_data"])
    points = data.sets.points
    train, val = data.part(TRAIN), data.part(VAL)
    arch = SetFlowArchitecture(
        n_points=points.shape[1], n_features=points.shape[2], hidden=g.hidden, layers=g.layers, heads=g.heads
    )  # fmt: skip
    log_features = (2,) if kind == "jetnet" else ()  # log(pT_rel), always
    trained, result = train_set_generator(
        arch,
        (train.points, train.mask),
        (val.points, val.mask),
        TrainSettings.of(g),
        seed=g.seed + ctx.seed,
        steps=g.steps,
        log_features=log_features,
    )
    TrainedGenerator(trained.state(), {
        "kind": g.kind, "best_epoch": result.best_epoch, "stopped_epoch": result.stopped_epoch,
        "epochs_run": len(result.history), "seconds": result.seconds, "seconds_per_epoch": result.seconds_per_epoch,
        "device": str(trained.device), "n_parameters": sum(p.numel() for p in trained.model.parameters()),
        "history": result.history,
    }).write(ctx.out)  # fmt: skip
    ctx.log.info(
        "trained the %s generator %d epochs in %.1f s (best epoch %d)", g.kind, len(result.history),
        result.seconds, result.best_epoch,
    )  # fmt: skip


def _pointcloud_page() -> PageBuilder:
    from lhcad.families.pointcloud.report import pointcloud_page  # matplotlib: only when the stage runs

    return pointcloud_page


run_pointcloud_report = report_stage(
    "pointcloud_report",
    summary="reconstructions, generated sets, W1M/W1P, anomaly AUC and SIC; results.json and the HTML page",
    subject="point-cloud VAE with the Chamfer loss",
    reads=("pointcloud",),
    needs=("pointcloud_data", "pointcloud_train"),
    optional=("pointcloud_generator",),
    builder=_pointcloud_page,
)
