"""Stages of a supervised classification study: ``labelled`` (the labelled events and their
split), ``classify`` (train and test the networks), ``ceiling`` (what the simulated showers
allow, on the same test events) and ``classify_report`` (figures, HTML page and
``results.json``)."""

from __future__ import annotations

from pathlib import Path

from lhcad.families.egamma.artifacts import Ceiling, Classifiers, Labelled
from lhcad.families.egamma.config import EgammaAnalysis
from lhcad.errors import StageError
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.preprocessing import TEST, TRAIN, VAL
from lhcad.report.stage import PageBuilder, report_stage


def labelled_files(config: EgammaAnalysis) -> list[Path]:
    """The files the ``labelled`` stage reads (their hashes key its cache)."""
    from lhcad.families.egamma.samples import labelled_input_files

    return labelled_input_files(config.labelled)


@stage(
    "labelled",
    summary="labelled images (HDF5 files or simulated e/gamma showers) or table rows, split per class",
    version=2,
    input_files=labelled_files,
    publish={"electrons.hdf5": "electrons.hdf5", "photons.hdf5": "photons.hdf5"},
)
def run_labelled(ctx: StageContext) -> None:
    from lhcad.families.egamma.samples import (
        SPLIT_NAMES,
        load_labelled,
        stratified_split,
        subsample_per_class,
    )

    cfg = ctx.config()
    samples = load_labelled(cfg, ctx.out.dir)
    keep = subsample_per_class(samples.y, cfg.max_per_class, cfg.seed)
    x, y = samples.x[keep], samples.y[keep]
    split = stratified_split(y, cfg.val, cfg.test, cfg.seed)
    source = {"simulate": "simulated e/gamma showers (lhcad.families.egamma)", "files": "HDF5 image files", "table": "table"}[cfg.source]
    truth = {name: values[keep] for name, values in samples.truth.items()} if samples.truth is not None else None
    Labelled(x, y, split, {
        "source": source,
        "sources": samples.sources,
        "classes": list(samples.classes),
        "channels": samples.channels,
        "images": samples.images,
        "shape": list(x.shape[1:]),
        "events": {name: [int(((split == s) & (y == c)).sum()) for c in (0, 1)] for name, s in zip(SPLIT_NAMES, (TRAIN, VAL, TEST))},
    }, truth).write(ctx.out)  # fmt: skip
    ctx.log.info("labelled: %d events of shape %s (%s)", len(y), x.shape[1:], source)


@stage(
    "classify",
    summary="supervised classifiers (CNN, dense network) with early stopping on the validation AUC",
    version=2,
    needs=("labelled",),
)
def run_classify(ctx: StageContext) -> None:
    import torch

    from lhcad.families.egamma.fit import bootstrap_auc, interval_95, predict, train_classifier, uses_reflections
    from lhcad.families.egamma.samples import InputScaling
    from lhcad.families.egamma.shapes import standardised_shapes
    from lhcad.metrics import roc_auc
    from lhcad.models.trainer import resolve_device

    cfg = ctx.config()
    data = Labelled.read(ctx.inputs["labelled"])
    x, y, split = data.x, data.y, data.split
    scaling = InputScaling.fit(x[split == TRAIN], data.images, cfg.transform == "log")
    inputs = scaling.apply(x)
    train, val, test = ((inputs[split == s], y[split == s]) for s in (TRAIN, VAL, TEST))
    scaling_arrays = scaling.to_arrays()
    shapes = None
    if cfg.cnn.shapes and "cnn" in cfg.models:
        if not data.images or "energy" not in data.summary["channels"]:
            raise StageError("cnn.shapes needs images with an energy channel", where="classify.cnn.shapes")
        energy = x[..., data.summary["channels"].index("energy")]
        shapes, centre, width = standardised_shapes(energy, split == TRAIN)
        scaling_arrays |= {"shape_centre": centre, "shape_width": width}
    models, scores, weights = {}, {}, {}
    for kind in cfg.models:
        def log_epoch(epoch: int, entry: dict, kind: str = kind) -> None:
            ctx.log.info("classify: %s epoch %d: loss %.4f, validation loss %.4f, validation AUC %.4f",
                         kind, epoch, entry["loss"], entry["val_loss"], entry["criterion"])  # fmt: skip

        extra = shapes if kind == "cnn" else None
        fitted = None if extra is None else (extra[split == TRAIN], extra[split == VAL])
        trained = train_classifier(kind, cfg, train, val, cfg.seed, on_epoch=log_epoch, shapes=fitted)
        symmetric = uses_reflections(cfg, tuple(test[0].shape[1:]))
        test_shapes = None if extra is None else extra[split == TEST]
        score = predict(trained.model, test[0], symmetrize=symmetric, shapes=test_shapes)
        aucs = bootstrap_auc(test[1], score, cfg.bootstrap, cfg.seed)
        result = trained.result
        models[kind] = {
            "test_auc": roc_auc(test[1], score),
            "test_auc_bootstrap_std": float(aucs.std(ddof=1)),
            "test_auc_interval_95": interval_95(aucs),
            "best_val_auc": max(h["criterion"] for h in result.history),
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.history),
            "stopped_epoch": result.stopped_epoch,
            "train_seconds": result.seconds,
            "seconds_per_epoch": result.seconds_per_epoch,
            "n_parameters": trained.n_parameters,
            "history": result.history,
        }
        scores[f"score_{kind}"] = score
        weights[kind] = trained.model.state_dict()
        ctx.log.info("classify: %s test AUC %.4f (%d epochs, %.1f s)", kind, models[kind]["test_auc"], len(result.history), result.seconds)
    device = resolve_device(cfg.device)
    Classifiers({
        "models": models,
        "device": str(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
    }, scores={"y": test[1], **scores}, scaling=scaling_arrays, weights=weights).write(ctx.out)  # fmt: skip


@stage(
    "ceiling",
    summary="the simulation's AUC ceiling: trees on shower shapes and on the generator's truth, 10x the showers",
    reads=("ceiling", "labelled.simulate"),
    needs=("labelled",),
)
def run_ceiling(ctx: StageContext) -> None:
    from lhcad.families.egamma.ceiling import CeilingInputs, energy_channel, fit_ceiling, simulate_ceiling_inputs
    from lhcad.families.egamma.fit import rank_auc
    from lhcad.families.egamma.samples import shower_settings
    from lhcad.families.egamma.shapes import shower_shapes
    from lhcad.families.egamma.showers import ShowerTruth

    cfg, simulate = ctx.config(), ctx.config("labelled.simulate")
    data = Labelled.read(ctx.inputs["labelled"])
    if data.truth is None:
        raise StageError(
            "the labelled events carry no simulation truth (labelled.source must be simulate)", where="ceiling"
        )
    test = data.split == TEST
    channel = energy_channel(data.summary["channels"])
    truth = ShowerTruth(**{name: values[test] for name, values in data.truth.items()})
    held_out = CeilingInputs(shower_shapes(data.x[test][..., channel]), truth.features(), data.y[test])
    per_class = cfg.factor * simulate.n
    ctx.log.info("ceiling: simulating %d showers per class (seed %d)", per_class, cfg.seed)
    train = simulate_ceiling_inputs(shower_settings(simulate), per_class, cfg.seed)
    models, scores = {}, {}
    for kind in cfg.models:
        score, info = fit_ceiling(kind, train, held_out, cfg, cfg.seed)
        models[kind] = {"test_auc": rank_auc(held_out.y, score), **info}
        scores[f"score_{kind}"] = score
        ctx.log.info("ceiling: %s test AUC %.4f (%d iterations, %.1f s)",
                     kind, models[kind]["test_auc"], info["iterations"], info["train_seconds"])  # fmt: skip
    Ceiling({"models": models, "showers_per_class": per_class, "seed": cfg.seed},
            {"y": held_out.y, **scores}).write(ctx.out)  # fmt: skip


def _classification_page() -> PageBuilder:
    from lhcad.families.egamma.report import classification_page  # matplotlib: only when the stage runs

    return classification_page


run_classify_report = report_stage(
    "classify_report",
    summary="ROC with bootstrap AUC uncertainty, score distributions, images per class: OUT/report/index.html",
    subject="lhcad classification",
    needs=("labelled", "classify"),
    optional=("ceiling",),
    builder=_classification_page,
)
