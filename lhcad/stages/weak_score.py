"""The ``score`` stage for the weak scorers (``score.method: cwola | cathode``).

Writes the same artifact contract as the VAE scorer:

- ``scores.parquet``: ``event_id``, ``score`` (``-log10`` of the event's reference p-value in
  the window that scores it, :mod:`lhcad.weak.scan`: the same background efficiency at every
  mjj), ``window`` (that window's index, -1 for none) and ``in_signal_region`` (of the best
  window);
- ``score.json``: ``{use, method, features, mjj_range, best_window, windows: [per-window
  diagnostics], seconds}``; ``mjj_range`` is the range whose events are all scored, the only one
  in which the selected mjj spectrum is smooth;
- ``metrics.json`` (labelled data only): ``{method: {auc, max_sic, ...}}`` on the best window's
  signal-region events, plus ``idealised`` with a template sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lhcad.config.models import AnalysisConfig, ScoreConfig
from lhcad.data.columns import EVENT_ID, LABEL, MJJ
from lhcad.errors import StageError
from lhcad.pipeline.runner import StageContext

WEAK_METHODS = ("cwola", "cathode")


def weak_input_files(config: AnalysisConfig) -> list[Path]:
    """The template file a weak scorer reads (its content hash keys the score stage)."""
    from lhcad.data.sources import resolve_path

    cfg = config.score
    if cfg.method in WEAK_METHODS and cfg.template_path:
        return [resolve_path(cfg.template_path)]
    return []


def weak_features(cfg: ScoreConfig, preprocess_features: list[str], columns: list[str]) -> list[str]:
    """The classifier inputs: ``score.weak_features``, else the preprocess stage's features.

    Raises:
        StageError: for a missing column or mjj among the inputs.
    """
    names = list(cfg.weak_features or preprocess_features)
    where = "score.weak_features" if cfg.weak_features else "preprocess.features"
    if MJJ in names:
        raise StageError("mjj is the bump-hunt variable: it cannot be a weak scorer's input", where=where)
    missing = [n for n in names if n not in columns]
    if missing:
        raise StageError(f"no column {', '.join(map(repr, missing))} in the events table", where=where)
    return names


def read_template(path: str, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Features and mjj of a template (background-only) file; labelled signal rows and rows with
    non-finite features are dropped."""
    from lhcad.data.features import add_derived_features
    from lhcad.data.sources import read_events, resolve_path

    template = add_derived_features(read_events(resolve_path(path)))
    if LABEL in template.columns:
        template = template[template[LABEL] == 0]
    x = template[names].to_numpy(np.float64)
    keep = np.isfinite(x).all(axis=1)
    if keep.sum() == 0:
        raise StageError("the template holds no usable background event", where="score.template_path")
    return x[keep], template[MJJ].to_numpy(np.float64)[keep]


def run_weak_score(ctx: StageContext) -> None:
    """Scan the mjj windows with CWoLa or CATHODE and write the score artifacts."""
    from lhcad.weak.scan import run_scan

    cfg: ScoreConfig = ctx.config()
    events = ctx.inputs["data"].read_table("events.parquet")
    preprocess_features = ctx.inputs["preprocess"].read_json("features.json")["features"]
    names = weak_features(cfg, preprocess_features, list(events.columns))
    labels = events[LABEL].to_numpy() if LABEL in events.columns else None
    template = read_template(cfg.template_path, names) if cfg.template_path else (None, None)
    result = run_scan(
        cfg,
        x=events[names].to_numpy(np.float64),
        mjj=events[MJJ].to_numpy(np.float64),
        names=names,
        labels=labels,
        template=template[0],
        template_mjj=template[1],
        executor=ctx.executor,
    )
    best = result.windows[result.best]
    ctx.log.info(
        "%s: best window %d at %.0f GeV (excess significance %.1f)",
        cfg.method,
        result.best,
        best["centre"],
        best["significance"],
    )
    table = pd.DataFrame(
        {
            EVENT_ID: events[EVENT_ID].to_numpy(),
            "score": result.scores,
            "window": result.window_of,
            "in_signal_region": result.in_signal_region,
        }
    )
    ctx.out.write_table("scores.parquet", table)
    ctx.out.write_json(
        "score.json",
        {
            "use": "score",
            "method": cfg.method,
            "features": names,
            "mjj_range": list(result.mjj_range),
            "best_window": {k: best[k] for k in ("index", "centre", "lo", "hi", "significance", "efficiency")},
            "windows": result.windows,
            "seconds": result.seconds,
        },
    )
    if result.metrics is not None:
        metrics = dict(result.metrics)
        if "idealised" in metrics:
            metrics["idealised"] = {**metrics["idealised"], "members": []}
        ctx.out.write_json("metrics.json", metrics)
