"""Stage ``histogram``: mass histograms of every selection and of the whole dataset (UHI JSON),
and, for a weak scorer, every selection's background reference: its windows' sideband events
that pass the selection's cut, weighted by the events each stands for
(:func:`lhcad.weak.scan.background_reference`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lhcad.data.stage import Events
from lhcad.families.lhco.artifacts import ALL_EVENTS, Histograms, Scores, Selections
from lhcad.families.lhco.config import HistogramConfig
from lhcad.histograms import fill_histogram, histogram_to_uhi
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext


def passes_cut(record: dict[str, Any], score: np.ndarray) -> np.ndarray:
    """Whether a score passes a selection's cut: at or above a top-N's threshold (the N-th
    highest score), above an efficiency selection's quantile (the ``select`` stage's rules)."""
    threshold = float(record["threshold"])
    return score >= threshold if record["kind"] == "top_n" else score > threshold


def reference_histograms(
    reference: pd.DataFrame, events: pd.DataFrame, records: list[dict[str, Any]], cfg: HistogramConfig
) -> dict[str, dict[str, Any]]:
    """Selection -> observable -> the weighted histogram of the reference events passing its cut."""
    values = {obs: events[obs].to_numpy()[reference["row"].to_numpy()] for obs in cfg.observables}
    score, weight = reference["score"].to_numpy(np.float64), reference["weight"].to_numpy(np.float64)
    out: dict[str, dict[str, Any]] = {}
    for record in records:
        kept = passes_cut(record, score)
        out[record["name"]] = {
            obs: histogram_to_uhi(fill_histogram(values[obs][kept], cfg.binning[obs], obs, weight[kept])) for obs in cfg.observables
        }
    return out


@stage(
    "histogram",
    version=2,
    summary="boost-histogram mass histograms per selection and for all events (UHI JSON)",
    needs=("data", "select"),
    optional=("score",),
)
def run_histogram(ctx: StageContext) -> None:
    cfg: HistogramConfig = ctx.config()
    events = Events.read(ctx.inputs["data"], columns=cfg.observables).table
    selected = Selections.read(ctx.inputs["select"])
    hists: dict[str, dict[str, object]] = {}
    for name, rows in {ALL_EVENTS: None, **selected.rows}.items():
        chosen = events if rows is None else events.iloc[rows]
        hists[name] = {obs: histogram_to_uhi(fill_histogram(chosen[obs].to_numpy(), cfg.binning[obs], obs)) for obs in cfg.observables}
    reference = Scores.read(ctx.inputs["score"], columns=["score"], reference=True).reference if "score" in ctx.inputs else None
    references = {} if reference is None else reference_histograms(reference, events, selected.records, cfg)
    Histograms(hists, references).write(ctx.out)
