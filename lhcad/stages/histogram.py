"""Stage ``histogram``: mass histograms of every selection and of the whole dataset (UHI JSON)."""

from __future__ import annotations

from lhcad.config.models import HistogramConfig
from lhcad.histograms import fill_histogram, histogram_to_uhi
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext

ALL_EVENTS = "all"


@stage("histogram", summary="boost-histogram mass histograms per selection and for all events (UHI JSON)", needs=("data", "select"))
def run_histogram(ctx: StageContext) -> None:
    cfg: HistogramConfig = ctx.config()
    events = ctx.inputs["data"].read_table("events.parquet", columns=cfg.observables)
    selections = ctx.inputs["select"].read_arrays("selections.npz")
    hists: dict[str, dict[str, object]] = {}
    for name, rows in {ALL_EVENTS: None, **selections}.items():
        chosen = events if rows is None else events.iloc[rows]
        hists[name] = {obs: histogram_to_uhi(fill_histogram(chosen[obs].to_numpy(), cfg.binning[obs], obs)) for obs in cfg.observables}
    ctx.out.write_json("histograms.json", hists)
