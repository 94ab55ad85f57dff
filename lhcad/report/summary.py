"""The result of a run in words: one line per mass, the same in the CLI, the report's banner and
``results.json`` (``summary``).

A line gives the mass with its total error (statistical and selection systematic in quadrature)
and both parts, the selection whose fit measured it, the significances and whether it is
claimed (and, when it is not although the bump hunt supports it, why). Every number is rounded
the same way: the total error to two significant digits, the mass and the parts to as many
decimals.

Examples:
    >>> mass = {"value": 3443.2, "error": 8.1, "error_syst": 12.4, "error_total": 14.8, "significance": 25.3,
    ...         "selection": "top1000", "global_significance": 17.9, "claimed": True}
    >>> mass_line("mjj", mass)
    'mjj = 3443 ± 15 GeV (stat 8, sel 12) from top1000, local 25.3σ, global 17.9σ, claimed'
    >>> mass_line("mj_light", {"value": 101.27, "error": 0.61, "error_syst": 0.0, "significance": 4.2,
    ...                        "selection": "top500", "claimed": False}, claim_significance=5.0)
    'mj_light = 101.27 ± 0.61 GeV (stat 0.61, sel 0.00) from top500, local 4.2σ, not claimed (below the 5σ claim threshold)'
    >>> mass_line("mj_heavy", {"value": None})
    'mj_heavy: no valid fit'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["decimals", "mass_line", "summary_lines"]


def decimals(error: float | None) -> int:
    """Decimals that give ``error`` two significant digits (0 to 3)."""
    if error is None or not math.isfinite(error) or error <= 0:
        return 0
    return int(min(max(1 - math.floor(math.log10(error)), 0), 3))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def mass_line(observable: str, mass: Mapping[str, Any], claim_significance: float | None = None) -> str:
    """One mass of ``masses.json`` (``results["masses"][observable]``) in one line."""
    value = _number(mass.get("value"))
    reason = mass.get("claim_veto") or mass.get("reason")
    if value is None:
        return f"{observable}: no valid fit" + (f" ({reason})" if reason else "")
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
    if mass.get("claimed"):
        return line + ", claimed"
    if reason:
        return line + f", not claimed: {reason}"
    if claim_significance is not None:
        return line + f", not claimed (below the {claim_significance:g}σ claim threshold)"
    return line + ", not claimed"


def summary_lines(masses: Mapping[str, Mapping[str, Any]], claim_significance: float | None = None) -> list[str]:
    """:func:`mass_line` of every observable, in the order of ``masses``."""
    return [mass_line(obs, mass, claim_significance) for obs, mass in masses.items()]
