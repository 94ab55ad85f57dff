"""The result in words: one line per mass, the same in the CLI, the banner and results.json."""

from __future__ import annotations

import doctest

import lhcad.report.summary
from lhcad.report.summary import decimals, mass_line, not_claimed


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(lhcad.report.summary).failed == 0


def test_the_total_error_sets_the_rounding_of_every_number() -> None:
    assert [decimals(e) for e in (150.0, 15.0, 8.2, 0.61, 0.004, None, 0.0)] == [0, 0, 1, 2, 3, 0, 0]
    mass = {"value": 482.66, "error": 8.2, "error_syst": 24.2, "significance": 9.0, "selection": "top500", "claimed": True}
    assert mass_line("mj_heavy", mass) == "mj_heavy = 483 ± 26 GeV (stat 8, sel 24) from top500, local 9.0σ, claimed"


def test_why_a_mass_is_not_claimed_is_shown() -> None:
    mass = {"value": 101.3, "error": 1.4, "error_syst": 0.0, "significance": 6.1, "selection": "top1000",
            "global_significance": 4.2, "claimed": False, "claim_veto": "its events do not concentrate in the mjj signal region"}  # fmt: skip
    line = mass_line("mj_light", mass)
    assert line.endswith("global 4.2σ, not claimed: its events do not concentrate in the mjj signal region")
    assert mass_line("mjj", {"value": None, "reason": "no significant fit"}) == "mjj: no valid fit (no significant fit)"


def test_a_mass_below_threshold_and_without_sideband_evidence_gives_both_reasons() -> None:
    """A jet-mass "peak" that is QCD's (no sideband evidence) in a selection whose bump hunt
    is weak: the line names both, so a strong local significance cannot pass for a finding."""
    mass = {"value": 28.3, "error": 0.5, "error_syst": 0.0, "significance": 15.4, "selection": "top2000",
            "global_significance": 2.1, "claimed": False,
            "claim_veto": "its events do not concentrate in the mjj signal region (sideband test 0.2 sigma < 3)"}  # fmt: skip
    line = mass_line("mj_light", mass, claim_significance=3.0)
    assert line.endswith(
        "not claimed: below the 3σ claim threshold; its events do not concentrate in the mjj signal region"
        " (sideband test 0.2 sigma < 3)"
    )
    assert not_claimed({**mass, "claimed": True}, 3.0) is None


def test_a_jet_mass_claimed_on_its_resonances_bump_hunt_names_it() -> None:
    mass = {"value": 99.6, "error": 2.6, "error_syst": 0.0, "significance": 4.4, "selection": "top1000",
            "global_significance": 3.4, "bump_hunt_selection": "top500", "claimed": True}  # fmt: skip
    assert mass_line("mj_light", mass) == (
        "mj_light = 99.6 ± 2.6 GeV (stat 2.6, sel 0.0) from top1000, local 4.4σ, global 3.4σ"
        " (the bump hunt of top500, its resonance's), claimed"
    )
    assert "bump hunt of" not in mass_line("mj_light", {**mass, "bump_hunt_selection": "top1000"})
