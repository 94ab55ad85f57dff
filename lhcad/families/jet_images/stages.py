"""Stages of the jet-image studies.

``jet_images_data`` generates (Pythia + FastJet) or reads the 125 x 125 x 3 images into one
CMS-layout HDF5 file and splits them, ``jet_images_train`` trains the convolutional VAE on the
QCD training images, ``jet_images_score`` scores the test jets (reconstruction error per channel,
KL, latent norm; quark/gluon separation from the latent means; top/W/Z-vs-QCD ROC), and
``jet_images_report`` draws the figures and writes ``results.json`` and ``report/index.html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lhcad.families.jet_images.artifacts import JetImageSample, JetImageScores, TrainedConvVAE
from lhcad.families.jet_images.config import (
    ConvVAEConfig,
    ImageSampleConfig,
    JetImageDataConfig,
    JetImageEvaluateConfig,
    JetImageTrainConfig,
    JetImagesAnalysis,
)
from lhcad.errors import DataError, StageError
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.preprocessing import TEST, TRAIN, VAL
from lhcad.report.stage import PageBuilder, report_stage

if TYPE_CHECKING:
    from lhcad.families.jet_images.conv_vae import ConvVAE
    from lhcad.families.jet_images.hdf5 import ImageFileWriter

#: Scores used as anomaly scores (higher = less QCD-like).
ANOMALY_SCORES: tuple[str, ...] = ("recon_error", "recon_0", "recon_1", "recon_2", "kl", "z_mean2")
READ_BLOCK = 1024


def image_files(config: JetImagesAnalysis) -> list[Path]:
    """The image files an analysis reads (none when it generates its jets), checked to exist."""
    data = config.jet_images.data
    paths = [
        Path(s.path).expanduser()
        for s in (data.background, data.signal)
        if s is not None and s.path
    ]
    for path in paths:
        if not path.is_file():
            raise DataError("file not found" if not path.exists() else "not a file", source=path)
    return paths


def _append_sample(writer: ImageFileWriter, sample: ImageSampleConfig, seed: int) -> int:
    """Write one sample's images; return how many."""
    from lhcad.families.jet_images.hdf5 import iter_image_file
    from lhcad.families.jet_images.sample import append_jet_sample_images, generate_jet_sample

    if sample.path is None:
        jets = generate_jet_sample(
            sample.process, sample.n, sample.pt_range, seed=sample.seed + seed
        )
        append_jet_sample_images(writer, jets)
        return len(jets)
    written = 0
    for block in iter_image_file(Path(sample.path).expanduser(), rows=READ_BLOCK):
        block = block.take(np.arange(min(len(block), sample.n - written)))
        writer.append(block)
        written += len(block)
        if written >= sample.n:
            break
    return written


@stage(
    "jet_images_data",
    summary="125x125x3 jet images (Tracks, ECAL, HCAL) generated with Pythia or read from a CMS-layout file",
    reads=("jet_images.data",),
    input_files=image_files,
)
def run_jet_images_data(ctx: StageContext) -> None:
    from lhcad.families.jet_images.hdf5 import ImageFileWriter

    data: JetImageDataConfig = ctx.config("jet_images.data")
    with ImageFileWriter(JetImageSample.images_path(ctx.out)) as writer:
        n_background = _append_sample(writer, data.background, ctx.seed)
        n_signal = _append_sample(writer, data.signal, ctx.seed) if data.signal is not None else 0
    rng = np.random.default_rng([data.background.seed, ctx.seed])
    split = np.full(n_background + n_signal, TEST, dtype=np.int8)
    order = rng.permutation(n_background)
    n_test, n_val = round(data.test * n_background), round(data.val * n_background)
    split[order[n_test + n_val :]] = TRAIN
    split[order[n_test : n_test + n_val]] = VAL
    if not (split == TRAIN).any() or not (split == VAL).any():
        raise StageError(
            f"{n_background} background jets are too few to split into training and validation"
        )
    signal = np.zeros(len(split), dtype=bool)
    signal[n_background:] = True
    summary = {
        "background": data.background.model_dump(),
        "signal": data.signal.model_dump() if data.signal else None,
        "n_background": n_background,
        "n_signal": n_signal,
        "n_train": int((split == TRAIN).sum()),
        "n_val": int((split == VAL).sum()),
        "n_test": int((split == TEST).sum()),
    }
    JetImageSample(split, signal, summary).write(ctx.out)
    ctx.log.info("%d background and %d signal jet images", n_background, n_signal)


def normalised_rows(
    path: Path, rows: np.ndarray, model: ConvVAEConfig
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The normalised images ``(n, 3, 125, 125)`` of the file's ``rows`` (sorted indices), and
    their ``m0``, ``pt``, ``jet_type``; read ``READ_BLOCK`` jets at a time."""
    from lhcad.families.jet_images.conv_vae import normalise_images
    from lhcad.families.jet_images.hdf5 import iter_image_file

    images, values = [], {"m0": [], "pt": [], "jet_type": []}
    start = 0
    for block in iter_image_file(path, rows=READ_BLOCK):
        mine = rows[(rows >= start) & (rows < start + len(block))] - start
        start += len(block)
        if not len(mine):
            continue
        part = block.take(mine)
        images.append(
            normalise_images(part.images, model.scales, model.saturation, model.normalisation)
        )
        for name, parts in values.items():
            parts.append(getattr(part, name))
    if not images:
        raise StageError("no images selected")
    return np.concatenate(images), {k: np.concatenate(v) for k, v in values.items()}


def build_model(model: ConvVAEConfig) -> ConvVAE:
    """The (untrained) convolutional VAE of a config."""
    from lhcad.families.jet_images.conv_vae import EMPTY_PIXEL_BIAS, ConvVAE

    bias = EMPTY_PIXEL_BIAS if model.recon_loss == "bce" else 0.0
    return ConvVAE(
        channels=tuple(model.channels),
        latent_dim=model.latent_dim,
        patch=model.patch,
        output_bias=bias,
    )


@stage(
    "jet_images_train",
    summary="convolutional VAE (model: conv_vae) trained on the QCD jet images with the fast single-model trainer",
    reads=("jet_images.train",),
    needs=("jet_images_data",),
)
def run_jet_images_train(ctx: StageContext) -> None:
    import torch

    from lhcad.families.jet_images.conv_vae import vae_loss
    from lhcad.models.trainer import TrainSettings, resolve_device, train_model

    train_cfg: JetImageTrainConfig = ctx.config("jet_images.train")
    data = JetImageSample.read(ctx.inputs["jet_images_data"])
    x_train, _ = normalised_rows(data.images_file, data.rows(TRAIN), train_cfg.model)
    x_val, _ = normalised_rows(data.images_file, data.rows(VAL), train_cfg.model)
    seed = train_cfg.seed + 1_000_003 * ctx.seed
    torch.manual_seed(seed)
    model = build_model(train_cfg.model)
    settings = TrainSettings.of(train_cfg)

    def log_epoch(epoch: int, entry: dict[str, Any]) -> None:
        ctx.log.info("epoch %d: loss %.2f, val_loss %.2f", epoch, entry["loss"], entry["val_loss"])

    loss = vae_loss(train_cfg.model.recon_loss, train_cfg.model.beta)
    result = train_model(model, loss, [x_train], [x_val], settings, seed, on_epoch=log_epoch)
    TrainedConvVAE(
        {
            "history": result.history,
            "best_epoch": result.best_epoch,
            "stopped_epoch": result.stopped_epoch,
            "seconds": result.seconds,
            "seconds_per_epoch": result.seconds_per_epoch,
            "n_train": len(x_train),
            "n_val": len(x_val),
            "n_parameters": sum(p.numel() for p in model.parameters()),
            "device": str(resolve_device(train_cfg.device)),
            "torch_threads": torch.get_num_threads(),
        },
        weights={k: v.cpu() for k, v in result.model.state_dict().items()},
    ).write(ctx.out)


def load_model(ctx: StageContext, model_cfg: ConvVAEConfig) -> ConvVAE:
    """The trained model of the ``jet_images_train`` stage, on the CPU, in eval mode."""
    model = build_model(model_cfg)
    model.load_state_dict(TrainedConvVAE.read(ctx.inputs["jet_images_train"]).state())
    return model.eval()


def latent_auc(z_mean: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> float:
    """AUC of a logistic regression on the latent means, each jet scored by the folds not holding it."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from lhcad.metrics import roc_auc

    folds = min(folds, int(np.bincount(labels).min()))
    if folds < 2:
        raise StageError("too few jets of one class for a cross-validated latent classifier")
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    probability = cross_val_predict(
        classifier, z_mean, labels, cv=splitter, method="predict_proba"
    )[:, 1]
    return roc_auc(labels, probability)


@stage(
    "jet_images_score",
    summary="test-jet scores of the conv VAE: reconstruction error per channel, KL, latent; q/g and anomaly AUCs",
    reads=("jet_images.train", "jet_images.evaluate"),
    needs=("jet_images_data", "jet_images_train"),
)
def run_jet_images_score(ctx: StageContext) -> None:
    import torch

    from lhcad.gen.single_jets import JET_TYPES
    from lhcad.families.jet_images.conv_vae import image_scores, reconstruction
    from lhcad.metrics import max_sic, roc_auc, roc_curve

    model_cfg: ConvVAEConfig = ctx.config("jet_images.train").model
    evaluate: JetImageEvaluateConfig = ctx.config("jet_images.evaluate")
    data = JetImageSample.read(ctx.inputs["jet_images_data"])
    test = data.rows(TEST)
    x, values = normalised_rows(data.images_file, test, model_cfg)
    signal = data.signal[test]
    model = load_model(ctx, model_cfg)
    scores = image_scores(model, x, model_cfg.recon_loss)
    metrics: dict[str, Any] = {
        "n_test_background": int((~signal).sum()),
        "n_test_signal": int(signal.sum()),
    }

    quark, gluon = JET_TYPES.index("q"), JET_TYPES.index("g")
    qg = ~signal & np.isin(values["jet_type"], (quark, gluon))
    qg_labels = (values["jet_type"][qg] == quark).astype(np.int64)
    if len(np.unique(qg_labels)) == 2:
        metrics["quark_gluon"] = {
            "latent_auc": latent_auc(
                scores["z_mean"][qg], qg_labels, evaluate.classifier_folds, ctx.seed
            ),
            "n_jets": int(qg.sum()),
            "score_auc": {name: roc_auc(qg_labels, scores[name][qg]) for name in ANOMALY_SCORES},
        }
    curves: dict[str, np.ndarray] = {}
    if signal.any():
        anomaly: dict[str, Any] = {}
        for name in ANOMALY_SCORES:
            fpr, tpr = roc_curve(signal, scores[name])
            curves[f"fpr_{name}"], curves[f"tpr_{name}"] = fpr, tpr
            anomaly[name] = {
                "auc": roc_auc(signal, scores[name]),
                "max_sic": max_sic(signal, scores[name], evaluate.fpr_floor),
            }
        metrics["anomaly"] = anomaly

    # a few test jets of each type beside their reconstructions
    shown = np.concatenate(
        [
            np.flatnonzero(values["jet_type"] == t)[: evaluate.examples]
            for t in np.unique(values["jet_type"])
        ]
    )
    with torch.no_grad():
        output, _, _ = model(torch.as_tensor(x[shown]))
        recon = reconstruction(output, model_cfg.recon_loss).clamp(0.0, 1.0).numpy()
    JetImageScores(
        scores=dict(
            **{name: scores[name] for name in scores},
            jet_type=values["jet_type"],
            signal=signal,
            pt=values["pt"],
            m0=values["m0"],
            **curves,
        ),
        examples=dict(
            original=x[shown],
            reconstruction=recon,
            jet_type=values["jet_type"][shown],
            mean_background=x[~signal].mean(axis=0),
            mean_signal=x[signal].mean(axis=0) if signal.any() else np.zeros_like(x[0]),
        ),
        metrics=metrics,
    ).write(ctx.out)
    if "quark_gluon" in metrics:
        ctx.log.info(
            "quark/gluon AUC from the latent means: %.3f", metrics["quark_gluon"]["latent_auc"]
        )
    if "anomaly" in metrics:
        ctx.log.info(
            "anomaly AUC (reconstruction error): %.3f", metrics["anomaly"]["recon_error"]["auc"]
        )


def _jet_images_page() -> PageBuilder:
    from lhcad.families.jet_images.report import jet_images_page  # matplotlib: only when the stage runs

    return jet_images_page


run_jet_images_report = report_stage(
    "jet_images_report",
    summary="figures and HTML page of a jet-image study (OUT/report/index.html) and OUT/results.json",
    subject="lhcad jet-image study",
    needs=("jet_images_data", "jet_images_train", "jet_images_score"),
    builder=_jet_images_page,
)
