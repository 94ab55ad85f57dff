"""The result of a run in words: one line per mass, the same in the CLI, the report's banner and
``results.json`` (``summary``).

A line gives the mass with its total error (statistical and selection systematic in quadrature)
and both parts, the selection whose fit measured it, the significances and whether it is
claimed (and, when it is not, why: :func:`not_claimed`). Every number is rounded
the same way: the total error to two significant digits, the mass and the parts to as many
decimals.

Examples:
    >>> mass = {"value": 3443.2, "error": 8.1, "error_syst": 12.4, "error_total": 14.8, "significance": 25.3,
    ...         "selection": "top1000", "global_significance": 17.9, "claimed": True}
    >>> mass_line("mjj", mass)
    'mjj = 3443 ± 15 GeV (stat 8, sel 12) from top1000, local 25.3σ, global 17.9σ, claimed'
    >>> mass_line("mj_light", {"value": 101.27, "error": 0.61, "error_syst": 0.0, "significance": 4.2,
    ...                        "selection": "top500", "claimed": False}, claim_significance=5.0)
    'mj_light = 101.27 ± 0.61 GeV (stat 0.61, sel 0.00) from top500, local 4.2σ, not claimed: below the 5σ claim threshold'
    >>> mass_line("mj_heavy", {"value": None})
    'mj_heavy: no valid fit'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["decimals", "mass_line", "not_claimed", "summary_lines"]


def decimals(error: float | None) -> int:
    """Decimals that give ``error`` two significant digits (0 to 3)."""
    if error is None or not math.isfinite(error) or error <= 0:
        return 0
    return int(min(max(1 - math.floor(math.log10(error)), 0), 3))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def not_claimed(mass: Mapping[str, Any], claim_significance: float | None = None) -> str | None:
    """Why a mass is not claimed, in words (None when it is claimed, "" when no reason is
    known): no valid fit, below the claim threshold (the global significance, or the local one
    without a bump hunt), the jet-mass veto, or both of the last two."""
    if mass.get("claimed"):
        return None
    veto = mass.get("claim_veto") or mass.get("reason")
    if _number(mass.get("value")) is None:
        return "no valid fit" + (f" ({veto})" if veto else "")
    evidence = _number(mass.get("global_significance"))
    evidence = _number(mass.get("significance")) if evidence is None else evidence
    reasons: list[str] = []
    if claim_significance is not None and evidence is not None and evidence < claim_significance:
        reasons.append(f"below the {claim_significance:g}σ claim threshold")
    if veto:
        reasons.append(str(veto))
    return "; ".join(reasons)


def mass_line(observable: str, mass: Mapping[str, Any], claim_significance: float | None = None) -> str:
    """One mass of ``masses.json`` (``results["masses"][observable]``) in one line."""
    value = _number(mass.get("value"))
    if value is None:
        return f"{observable}: {not_claimed(mass)}"
    stat = _number(mass.get("error")) or 0.0
    syst = _number(mass.get("error_syst")) or 0.0
    total = _number(mass.get("error_total"))
    total = math.hypot(stat, syst) if total is None else total
    d = decimals(total)
    line = f"{observable} = {value:.{d}f} ± {total:.{d}f} GeV (stat {stat:.{d}f}, sel {syst:.{d}f})"
    if mass.get("selection"):
        line += f" from {mass['selection']}"
    local, global_ = _number(mass.get("significance")), _number(mass.get("global_significance"))
    if local is not None:
        line += f", local {local:.1f}σ"
    if global_ is not None:
        line += f", global {global_:.1f}σ"
        hunted = mass.get("bump_hunt_selection")
        if hunted and hunted != mass.get("selection"):
            line += f" (the bump hunt of {hunted}, its resonance's)"
    why = not_claimed(mass, claim_significance)
    if why is None:
        return line + ", claimed"
    return line + (f", not claimed: {why}" if why else ", not claimed")


def summary_lines(masses: Mapping[str, Mapping[str, Any]], claim_significance: float | None = None) -> list[str]:
    """:func:`mass_line` of every observable, in the order of ``masses``."""
    return [mass_line(obs, mass, claim_significance) for obs, mass in masses.items()]
