"""Stage ``histogram``: mass histograms of every selection and of the whole dataset, and, for a
weak scorer, every selection's background reference: its windows' sideband events that pass the
selection's cut, weighted by the events each stands for
(:func:`lhcad.weak.scan.background_reference`). ``hist.Hist`` objects with named, labelled axes,
written as one UHI histograms file, ``histograms.json``, published into the output directory
(:class:`~lhcad.families.lhco.artifacts.Histograms`)."""

from __future__ import annotations

from typing import Any

import hist
import numpy as np
import pandas as pd

from lhcad.data.stage import Events
from lhcad.families.lhco.artifacts import ALL_EVENTS, Histograms, Scores, Selections
from lhcad.families.lhco.config import HistogramConfig
from lhcad.families.lhco.stages.select import passes_cut
from lhcad.histograms import fill_histogram
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext


def reference_histograms(
    reference: pd.DataFrame, events: pd.DataFrame, records: list[dict[str, Any]], cfg: HistogramConfig
) -> dict[str, dict[str, hist.Hist]]:
    """Selection -> observable -> the weighted histogram of the reference events passing its cut."""
    values = {obs: events[obs].to_numpy()[reference["row"].to_numpy()] for obs in cfg.observables}
    score, weight = reference["score"].to_numpy(np.float64), reference["weight"].to_numpy(np.float64)
    out: dict[str, dict[str, hist.Hist]] = {}
    for record in records:
        kept, sel = passes_cut(record, score), record["name"]
        out[sel] = {
            obs: fill_histogram(
                values[obs][kept], cfg.binning[obs], obs, weight[kept],
                name=f"{Histograms.REFERENCE}/{sel}/{obs}", label=f"background reference of {sel} (weighted sideband events)",
            )
            for obs in cfg.observables
        }  # fmt: skip
    return out


@stage(
    "histogram",
    version=3,
    summary="mass histograms per selection and for all events (hist, UHI JSON)",
    needs=("data", "select"),
    optional=("score",),
    publish={Histograms.FILE: Histograms.FILE},
)
def run_histogram(ctx: StageContext) -> None:
    cfg: HistogramConfig = ctx.config()
    events = Events.read(ctx.inputs["data"], columns=cfg.observables).table
    selected = Selections.read(ctx.inputs["select"])
    hists: dict[str, dict[str, hist.Hist]] = {}
    for sel, rows in {ALL_EVENTS: None, **selected.rows}.items():
        chosen = events if rows is None else events.iloc[rows]
        label = "all events" if rows is None else f"events of {sel}"
        hists[sel] = {
            obs: fill_histogram(chosen[obs].to_numpy(), cfg.binning[obs], obs, name=f"{sel}/{obs}", label=label) for obs in cfg.observables
        }
    reference = Scores.read(ctx.inputs["score"], columns=["score"], reference=True).reference if "score" in ctx.inputs else None
    references = {} if reference is None else reference_histograms(reference, events, selected.records, cfg)
    Histograms(hists, references).write(ctx.out)
