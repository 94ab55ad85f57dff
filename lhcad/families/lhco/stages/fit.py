"""Stage ``fit``: a signal+background binned likelihood fit per (selection, observable).

The mjj spectrum of every selection is fitted first. With ``fit.jet_mass_region: mjj_peak``
the jet masses are then fitted on the selection's events inside its mjj peak (fitted mean +-
``fit.mjj_peak_sigmas`` widths): a resonance's daughters sit there, while the selected QCD
events, and the peaks a selection sculpts into their jet-mass spectra, spread over all mjj.
Such fits record the ``region`` and the ``counts`` they fitted; a selection without a valid mjj
peak has its jet masses fitted on all its events (``region`` None).

A weak scorer's selections come with a background reference (``references.json`` of the
histogram stage): with ``fit.jet_mass_background: reference`` their jet masses (fitted on all
the selection's events) take it as the background template, with its statistical uncertainty.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lhcad.data.columns import MJJ
from lhcad.data.stage import Events
from lhcad.families.lhco.artifacts import ALL_EVENTS, Fits, Histograms, Selections
from lhcad.families.lhco.config import FitConfig
from lhcad.families.lhco.stages.select import clip_range, selection_records
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext


def mjj_peak_region(fit: dict[str, Any] | None, sigmas: float) -> tuple[float, float] | None:
    """``mean +- sigmas * sigma`` of a valid mjj fit, else None."""
    if fit is None or not fit.get("valid"):
        return None
    return fit["mean"] - sigmas * fit["sigma"], fit["mean"] + sigmas * fit["sigma"]


@stage(
    "fit",
    version=14,
    summary="Crystal Ball + background fits with iminuit for every selection and observable",
    needs=("histogram",),
    optional=("data", "select"),
)
def run_fit(ctx: StageContext) -> None:
    from lhcad.fit.binned import fit_resonance  # numba-compiled shapes: imported only to fit

    cfg: FitConfig = ctx.config()
    hists = Histograms.read(ctx.inputs["histogram"])
    in_peak = cfg.jet_mass_region == "mjj_peak" and MJJ in cfg.models and {"data", "select"} <= set(ctx.inputs)
    if in_peak:
        events = Events.read(ctx.inputs["data"], columns=list(cfg.models)).table
        selections = Selections.read(ctx.inputs["select"]).rows
    records = selection_records(ctx.inputs.get("select"))  # a weak scorer's selections are smooth in mjj only in their mjj_range
    observables = sorted(cfg.models, key=lambda obs: obs != MJJ)  # mjj first: it defines the peak region
    fits: list[dict[str, Any]] = []
    for selection in hists.selections():
        mjj_fit: dict[str, Any] | None = None
        for observable in observables:
            model = cfg.models[observable]
            counts, edges = hists.counts_and_edges(selection, observable)
            region = mjj_peak_region(mjj_fit, cfg.mjj_peak_sigmas) if in_peak and observable != MJJ else None
            if region is not None:
                chosen = events.iloc[selections[selection]]
                inside = (chosen[MJJ] >= region[0]) & (chosen[MJJ] < region[1])
                counts = np.histogram(chosen[observable][inside], edges)[0].astype(np.float64)
            background, template, variances = model.background, None, None
            on_reference = cfg.jet_mass_background == "reference" and observable != MJJ and region is None
            reference = hists.reference(selection, observable) if on_reference else None
            if reference is not None:
                background, (template, variances) = "template", reference
            elif model.background == "template":
                template, _ = hists.counts_and_edges(ALL_EVENTS, observable)
            result = fit_resonance(
                edges,
                counts,
                signal=model.signal,
                background=background,
                template=template,
                template_variances=variances,
                observable=observable,
                fit_range=clip_range(model.range, records.get(selection, {}).get("mjj_range")) if observable == MJJ else model.range,
                n_starts=cfg.n_starts,
                minos=cfg.minos,
                free_tails=model.free_tails,
                relative_width=model.relative_width,
                asymmetry_constraint=model.asymmetry_constraint,
                seed=ctx.seed,
            )
            if not result.valid:
                ctx.log.warning("fit of %s in %s not valid: %s", observable, selection, result.reason)
            entry = {"selection": selection, "region": None if region is None else list(region), **result.to_dict()}
            if region is not None:
                entry["counts"] = counts.tolist()
            if observable == MJJ:
                mjj_fit = entry
            fits.append(entry)
    Fits(fits).write(ctx.out)
