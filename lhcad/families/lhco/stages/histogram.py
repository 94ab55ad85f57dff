"""Stage ``histogram``: mass histograms of every selection and of the whole dataset (UHI JSON)."""

from __future__ import annotations

from lhcad.data.stage import Events
from lhcad.families.lhco.artifacts import ALL_EVENTS, Histograms, Selections
from lhcad.families.lhco.config import HistogramConfig
from lhcad.histograms import fill_histogram, histogram_to_uhi
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext


@stage("histogram", summary="boost-histogram mass histograms per selection and for all events (UHI JSON)", needs=("data", "select"))
def run_histogram(ctx: StageContext) -> None:
    cfg: HistogramConfig = ctx.config()
    events = Events.read(ctx.inputs["data"], columns=cfg.observables).table
    selections = Selections.read(ctx.inputs["select"]).rows
    hists: dict[str, dict[str, object]] = {}
    for name, rows in {ALL_EVENTS: None, **selections}.items():
        chosen = events if rows is None else events.iloc[rows]
        hists[name] = {obs: histogram_to_uhi(fill_histogram(chosen[obs].to_numpy(), cfg.binning[obs], obs)) for obs in cfg.observables}
    Histograms(hists).write(ctx.out)
