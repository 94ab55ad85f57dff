"""Stage ``extract``: the final masses, one per observable, chosen among the selections' fits.

Rule ``smallest_significant`` (default): the smallest selection whose fit is valid and reaches
``extract.min_significance`` (smaller selections are purer); if none does, the most significant
valid fit, and the mass is reported but not claimed. ``most_significant``: the valid fit with the
largest local significance. The error is the statistical error of the fitted mean (MINOS when
available); the peak width is reported separately (the reference study quoted the width).
"""

from __future__ import annotations

from typing import Any

from lhcad.config.models import ExtractConfig
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext


def _symmetric_error(fit: dict[str, Any]) -> float:
    low, high = fit.get("mean_error_low"), fit.get("mean_error_high")
    if low is not None and high is not None:
        return 0.5 * (abs(low) + abs(high))
    return float(fit["mean_error"])


def choose_fit(fits: list[dict[str, Any]], rule: str, min_significance: float) -> dict[str, Any] | None:
    """The fit that gives an observable's mass, or None if no fit is valid."""
    valid = [f for f in fits if f.get("valid") and f.get("mean") is not None]
    if not valid:
        return None
    most = max(valid, key=lambda f: f.get("significance") or 0.0)
    if rule == "most_significant":
        return most
    significant = [f for f in valid if (f.get("significance") or 0.0) >= min_significance]
    return min(significant, key=lambda f: f["n"]) if significant else most


def extract_masses(
    fits: list[dict[str, Any]],
    observables: list[str],
    rule: str,
    min_significance: float,
    claim_significance: float,
    bumphunt: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One mass entry per observable from the fits of the selections.

    A mass is claimed when the bump hunt of its selection reaches ``claim_significance``
    globally (all three masses of a resonance share that test); without a bump hunt, when the
    fit's local significance does.
    """
    masses: dict[str, Any] = {}
    for obs in observables:
        candidates = [f for f in fits if f["observable"] == obs]
        chosen = choose_fit(candidates, rule, min_significance)
        if chosen is None:
            masses[obs] = {"value": None, "error": None, "width": None, "significance": None, "valid": False,
                           "n": None, "selection": None, "global_significance": None, "claimed": False}  # fmt: skip
            continue
        significance = float(chosen.get("significance") or 0.0)
        if bumphunt is not None and chosen["selection"] in bumphunt:
            hunt = bumphunt[chosen["selection"]]
            claimed = (hunt.get("global_significance") or 0.0) >= claim_significance
            global_significance = hunt.get("global_significance")
        else:
            claimed, global_significance = significance >= claim_significance, None
        masses[obs] = {
            "value": chosen["mean"],
            "error": _symmetric_error(chosen),
            "error_low": chosen.get("mean_error_low"),
            "error_high": chosen.get("mean_error_high"),
            "width": chosen.get("sigma"),
            "significance": significance,
            "valid": True,
            "n": chosen["n"],
            "selection": chosen["selection"],
            "global_significance": global_significance,
            "claimed": bool(claimed),
        }
    return masses


@stage(
    "extract",
    summary="final masses m_Z (mjj), m_X (heavy jet), m_Y (light jet), claimed only at a global significance",
    needs=("fit",),
    optional=("bumphunt",),
)
def run_extract(ctx: StageContext) -> None:
    cfg: ExtractConfig = ctx.config()
    fits = ctx.inputs["fit"].read_json("fits.json")
    observables = list(dict.fromkeys(f["observable"] for f in fits))
    bumphunt = ctx.inputs["bumphunt"].read_json("bumphunt.json") if "bumphunt" in ctx.inputs else None
    masses = extract_masses(fits, observables, cfg.rule, cfg.min_significance, cfg.claim_significance, bumphunt)
    ctx.out.write_json("masses.json", masses)
