"""Stage ``fit``: a signal+background binned likelihood fit per (selection, observable)."""

from __future__ import annotations

from typing import Any

from lhcad.config.models import FitConfig
from lhcad.histograms import counts_and_edges, histogram_from_uhi
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.stages.histogram import ALL_EVENTS


@stage("fit", version=2, summary="Crystal Ball + background fits with iminuit for every selection and observable", needs=("histogram",))
def run_fit(ctx: StageContext) -> None:
    from lhcad.fit.binned import fit_resonance  # numba-compiled shapes: imported only to fit

    cfg: FitConfig = ctx.config()
    hists = ctx.inputs["histogram"].read_json("histograms.json")
    fits: list[dict[str, Any]] = []
    for selection, by_observable in hists.items():
        if selection == ALL_EVENTS:
            continue
        for observable, model in cfg.models.items():
            counts, edges = counts_and_edges(histogram_from_uhi(by_observable[observable]))
            template, _ = counts_and_edges(histogram_from_uhi(hists[ALL_EVENTS][observable]))
            result = fit_resonance(
                edges,
                counts,
                signal=model.signal,
                background=model.background,
                template=template if model.background == "template" else None,
                observable=observable,
                fit_range=model.range,
                n_starts=cfg.n_starts,
                minos=cfg.minos,
                free_tails=model.free_tails,
                seed=ctx.seed,
            )
            if not result.valid:
                ctx.log.warning("fit of %s in %s not valid: %s", observable, selection, result.reason)
            fits.append({"selection": selection, **result.to_dict()})
    ctx.out.write_json("fits.json", fits)
