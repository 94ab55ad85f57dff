"""Stage ``bumphunt``: a BumpHunter scan of every selection's mjj spectrum with a global
significance from background-only pseudo-experiments (look-elsewhere corrected).

The scan stays inside ``bumphunt.range`` and inside the selection's ``mjj_range`` (the range a
weak scorer scores alike, :mod:`lhcad.families.lhco.stages.select`), whole bins only. A weak scorer's
pseudo-experiments also draw its selection's ``tile_jitter`` (the efficiency's scatter between
its windows' tiles), so the global significance counts bumps the selection can make itself.
"""

from __future__ import annotations

from typing import Any

from lhcad.data.columns import MJJ
from lhcad.families.lhco.artifacts import BumpHunts, Histograms
from lhcad.families.lhco.config import BumpHuntConfig
from lhcad.families.lhco.stages.select import clip_range, selection_records
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext

SCAN_DETAILS = ("scan_windows", "scan_local_p", "toy_statistics")


@stage(
    "bumphunt",
    version=3,
    summary="BumpHunter scan of each selection's mjj with a global (look-elsewhere) significance",
    needs=("histogram",),
    optional=("select",),
)
def run_bumphunt(ctx: StageContext) -> None:
    from lhcad.fit.bumphunt import bump_hunt

    cfg: BumpHuntConfig = ctx.config()
    hists = Histograms.read(ctx.inputs["histogram"])
    records = selection_records(ctx.inputs.get("select"))
    summary: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for selection in hists.selections():
        if MJJ not in hists.hists[selection]:
            continue
        counts, edges = hists.counts_and_edges(selection, MJJ)
        record = records.get(selection, {})
        result = bump_hunt(
            edges, counts, fit_range=clip_range(cfg.range, record.get("mjj_range")),
            widths_in_bins=tuple(cfg.widths_in_bins), n_toys=cfg.n_toys, seed=cfg.seed,
            tiles=record.get("tiles"), tile_jitter=record.get("tile_jitter") or 0.0,
        ).to_dict()  # fmt: skip
        details[selection] = {k: result[k] for k in SCAN_DETAILS}
        summary[selection] = {k: v for k, v in result.items() if k not in SCAN_DETAILS}
        ctx.log.info(
            "bump hunt %s: window %s, local %.1f sigma, global %.1f sigma",
            selection, result["window"], result["local_significance"], result["global_significance"],
        )  # fmt: skip
    BumpHunts(summary, details).write(ctx.out)
