"""Stage ``preprocess``: the model inputs, split and quantile-transformed (fitted on train only)."""

from __future__ import annotations

import numpy as np

from lhcad.data.columns import LABEL
from lhcad.data.stage import Events
from lhcad.errors import StageError
from lhcad.families.lhco.artifacts import ModelInputs
from lhcad.families.lhco.config import PreprocessConfig
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.preprocessing import TRAIN, fit_quantile_transform, quantile_to_arrays, split_events


@stage("preprocess", summary="choose input features, split train/val/test, fit a quantile transform on train", needs=("data",))
def run_preprocess(ctx: StageContext) -> None:
    cfg: PreprocessConfig = ctx.config()
    events = Events.read(ctx.inputs["data"]).table
    labelled = LABEL in events.columns
    x = events[cfg.features].to_numpy(np.float64)
    fractions = (cfg.split.train, cfg.split.val, cfg.split.test)
    split = split_events(len(x), fractions, cfg.split.seed, labelled, cfg.split.unlabelled)
    train = x[split == TRAIN]
    if len(train) < 10:
        raise StageError(f"only {len(train)} training events; need at least 10", where="preprocess.split")
    spread = train.max(axis=0) - train.min(axis=0)
    for name, width in zip(cfg.features, spread):
        if width == 0:
            raise StageError(f"feature {name!r} is constant over the training events", where="preprocess.features")
    qt = fit_quantile_transform(train, cfg.n_quantiles, cfg.output_distribution, cfg.subsample, cfg.split.seed)
    info = {"features": cfg.features, "labelled": labelled, "n_per_split": np.bincount(split, minlength=3).tolist()}
    ModelInputs(qt.transform(x).astype(np.float32), split, quantile_to_arrays(qt), info).write(ctx.out)
