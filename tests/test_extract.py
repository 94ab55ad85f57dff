"""The extract stage's rules: which fit gives a mass, its errors, and when it is claimed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_sideband import qcd_events, signal_events
from test_weak import scan_diagnostics

from lhcad.families.lhco.config import ExtractConfig
from lhcad.families.lhco.stages.extract import add_sideband_tests, extract_masses
from lhcad.weak.windows import scan_evidence


def _fit(selection: str, n: int, mean: float, significance: float, valid: bool = True) -> dict:
    return {"observable": "mj_light", "selection": selection, "n": n, "valid": valid, "mean": mean, "sigma": 12.0,
            "mean_error": 1.0, "mean_error_low": -1.0, "mean_error_high": 1.0, "significance": significance}  # fmt: skip


def test_selection_systematic_is_the_largest_shift_of_the_same_peak():
    fits = [_fit("top500", 500, 98.0, 9.0), _fit("top1000", 1000, 100.5, 12.0), _fit("top2000", 2000, 97.0, 15.0),
            _fit("eff0.01", 6000, 60.0, 20.0), _fit("eff0.001", 600, 150.0, 1.0)]  # fmt: skip
    mass = extract_masses(fits, ["mj_light"], "smallest_significant", 3.0, 3.0)["mj_light"]
    # top2000 and top1000 find the same peak; the QCD peak at 60 GeV is more than a width away,
    # the 150 GeV fit is not significant
    assert mass["selection"] == "top500" and mass["value"] == 98.0
    assert mass["error"] == 1.0 and mass["error_syst"] == 2.5
    assert np.isclose(mass["error_total"], np.hypot(1.0, 2.5))


def test_one_selection_has_no_selection_systematic():
    mass = extract_masses([_fit("top500", 500, 98.0, 9.0)], ["mj_light"], "smallest_significant", 3.0, 3.0)["mj_light"]
    assert mass["error_syst"] == 0.0 and mass["error_total"] == mass["error"]


def _jet_mass_fits(mean: float, sigma: float, region: list[float] | None) -> list[dict]:
    mjj = {"observable": "mjj", "selection": "top500", "n": 500, "valid": True, "mean": 3450.0, "sigma": 150.0,
           "mean_error": 10.0, "significance": 8.0}  # fmt: skip
    jet = {"observable": "mj_heavy", "selection": "top500", "n": 500, "valid": True, "mean": mean, "sigma": sigma,
           "mean_error": 2.0, "significance": 9.0, "region": region, "fit_range": [0.0, 1000.0]}  # fmt: skip
    return [mjj, jet]


def _daughter_events() -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    (mq, jq), (ms, js) = qcd_events(rng, 400), signal_events(rng, 100)
    return pd.DataFrame({"mjj": np.r_[mq, ms], "mj_heavy": np.r_[jq, js]}), {"top500": np.arange(500)}


def _extract(fits: list[dict]) -> dict:
    events, selections = _daughter_events()
    cfg = ExtractConfig()
    add_sideband_tests(fits, None, events, selections, cfg)
    hunt = {"top500": {"global_significance": 5.0}}
    return extract_masses(fits, ["mjj", "mj_heavy"], cfg.rule, cfg.min_significance, cfg.claim_significance, hunt,
                          cfg.jet_mass_evidence)  # fmt: skip


def test_extract_claims_the_daughter_jet_mass_peak():
    masses = _extract(_jet_mass_fits(490.0, 40.0, None))
    assert masses["mj_heavy"]["claimed"] and masses["mj_heavy"]["sideband"]["significance"] > 5
    assert masses["mj_heavy"]["sideband"]["signal_region"] == [3150.0, 3750.0]
    assert masses["mjj"]["claimed"] and "sideband" not in masses["mjj"]


def test_extract_withdraws_the_claim_of_a_qcd_jet_mass_peak():
    masses = _extract(_jet_mass_fits(60.0, 20.0, None))
    assert not masses["mj_heavy"]["claimed"]
    assert "signal region" in masses["mj_heavy"]["claim_veto"]
    assert masses["mjj"]["claimed"]


def test_a_peak_found_in_the_signal_region_alone_pays_for_the_windows_it_could_have_picked():
    masses = _extract(_jet_mass_fits(490.0, 40.0, [3150.0, 3750.0]))
    sideband = masses["mj_heavy"]["sideband"]
    assert sideband["trials"] == 1000.0 / 160.0
    assert masses["mj_heavy"]["claimed"] and sideband["significance"] > 5


def test_the_smallest_selection_whose_jet_mass_peak_passes_the_sideband_test_is_chosen():
    fits = _jet_mass_fits(490.0, 40.0, None)
    qcd = {**fits[1], "selection": "top200", "n": 200, "mean": 60.0, "sigma": 20.0}
    events, selections = _daughter_events()
    selections["top200"] = np.arange(200)  # QCD only: the first 400 events
    add_sideband_tests([*fits, qcd], None, events, selections, ExtractConfig())
    mass = extract_masses([*fits, qcd], ["mj_heavy"], "smallest_significant", 3.0, 3.0, jet_mass_evidence=3.0)["mj_heavy"]
    assert mass["selection"] == "top500" and mass["value"] == 490.0


def test_a_jet_mass_from_another_selection_shares_the_stronger_bump_hunt_of_its_resonance():
    """The mjj mass comes from the top 500 (bump hunt 3.8 sigma global), the heavy-jet mass from the
    top 1000 (2 sigma): its peak passes the sideband test around the mjj mass, so it is that
    resonance's jet mass and is claimed on the top 500's evidence; a jet-mass peak whose tested
    signal region misses the mjj mass keeps its own selection's."""
    fits = _jet_mass_fits(490.0, 40.0, None)
    fits[1]["selection"] = "top1000"
    events, _ = _daughter_events()
    selections = {"top500": np.arange(500), "top1000": np.arange(500)}
    hunt = {"top500": {"global_p": 3e-5}, "top1000": {"global_p": 0.02, "window": [3200.0, 3700.0]}}  # x2: 3.8, 2.1 sigma
    cfg = ExtractConfig()
    add_sideband_tests(fits, hunt, events, selections, cfg)
    masses = extract_masses(fits, ["mjj", "mj_heavy"], cfg.rule, cfg.min_significance, cfg.claim_significance, hunt,
                            cfg.jet_mass_evidence)  # fmt: skip
    heavy = masses["mj_heavy"]
    assert heavy["bump_hunt_selection"] == "top500" and heavy["selection"] == "top1000"
    assert heavy["global_significance"] == masses["mjj"]["global_significance"] > 3.8 and heavy["claimed"]
    elsewhere = [{**fits[0], "mean": 4300.0}, fits[1]]  # the tested signal region no longer holds mjj
    masses = extract_masses(elsewhere, ["mjj", "mj_heavy"], cfg.rule, cfg.min_significance, cfg.claim_significance, hunt,
                            cfg.jet_mass_evidence)  # fmt: skip
    assert masses["mj_heavy"]["bump_hunt_selection"] == "top1000" and not masses["mj_heavy"]["claimed"]


def test_most_precise_takes_the_significant_fit_with_the_smallest_total_error():
    """A looser selection with four times the signal measures the peak twice as precisely: the
    rule takes it; a still smaller error without significance does not count, and with no
    significant fit the rule falls back to the most significant one."""
    fits = [_fit("top500", 500, 98.0, 9.0), _fit("top2000", 2000, 100.5, 15.0), _fit("eff0.1", 6600, 70.0, 2.0)]
    fits[1].update(mean_error_low=-0.5, mean_error_high=0.5)
    fits[2].update(mean_error_low=-0.2, mean_error_high=0.2)
    mass = extract_masses(fits, ["mj_light"], "most_precise", 3.0, 3.0)["mj_light"]
    assert mass["selection"] == "top2000" and mass["value"] == 100.5 and mass["error"] == 0.5
    assert mass["error_syst"] == 2.5  # the top500 fit of the same peak
    weak = [_fit("top500", 500, 98.0, 2.0), _fit("top2000", 2000, 100.5, 2.5)]
    weak[0].update(mean_error_low=-0.3, mean_error_high=0.3)
    assert extract_masses(weak, ["mj_light"], "most_precise", 3.0, 3.0)["mj_light"]["selection"] == "top2000"


def test_most_precise_weighs_a_precise_fit_that_disagrees_with_the_others_by_its_shift():
    """The loosest selection's peak is the most precise (0.3 GeV) but 8 GeV away from the two
    tighter ones, which agree within 0.5 GeV: its total error (8 GeV) loses to the top1000's
    (0.8 GeV statistical, 7.5 GeV shift), whose mass sits with the tight selections."""
    fits = [_fit("top500", 500, 100.0, 9.0), _fit("top1000", 1000, 100.5, 12.0), _fit("eff0.1", 6600, 108.0, 20.0)]
    fits[1].update(mean_error_low=-0.8, mean_error_high=0.8)
    fits[2].update(mean_error_low=-0.3, mean_error_high=0.3)
    mass = extract_masses(fits, ["mj_light"], "most_precise", 3.0, 3.0)["mj_light"]
    assert mass["selection"] == "top1000" and mass["value"] == 100.5
    assert np.isclose(mass["error_total"], np.hypot(0.8, 7.5))


def test_the_selection_systematic_counts_valid_fits_only():
    """An invalid fit (a broken covariance, a background under the peak) of the same peak moves
    nothing: only the valid top1000's shift enters."""
    fits = [_fit("top500", 500, 98.0, 9.0), _fit("top1000", 1000, 99.0, 12.0), _fit("top2000", 2000, 105.0, 15.0, valid=False)]
    mass = extract_masses(fits, ["mj_light"], "smallest_significant", 3.0, 3.0)["mj_light"]
    assert mass["selection"] == "top500" and mass["error_syst"] == 1.0


def test_a_claim_pays_for_the_selections_it_could_have_come_from():
    # the bump hunt's global p-value of the chosen selection, times the selections hunted
    fits = [{**_fit("top500", 500, 98.0, 9.0), "observable": "mjj"}]
    one = {"top500": {"global_p": 1e-3, "global_significance": 3.09}}
    five = {**one, **{f"top{n}": {"global_p": 0.5, "global_significance": 0.0} for n in (1, 2, 3, 4)}}
    alone = extract_masses(fits, ["mjj"], "smallest_significant", 3.0, 3.0, one)["mjj"]
    among_five = extract_masses(fits, ["mjj"], "smallest_significant", 3.0, 3.0, five)["mjj"]
    assert np.isclose(alone["global_significance"], 3.090, atol=1e-3) and alone["claimed"]
    assert np.isclose(among_five["global_significance"], 2.576, atol=1e-3)  # p = 0.005
    assert not among_five["claimed"] and among_five["selection_trials"] == 5


def test_a_selection_the_bump_hunt_did_not_scan_claims_nothing_on_its_local_significance():
    # background-only jet-mass toys reach 3 sigma local in 4% of cases: a local significance is
    # evidence only in a pipeline without a bump hunt
    fits = [{**_fit("top500", 500, 3450.0, 9.0), "observable": "mjj", "sigma": 150.0}]
    unhunted = extract_masses(fits, ["mjj"], "smallest_significant", 3.0, 3.0, {"top1000": {"global_p": 1e-6, "global_significance": 4.75}})["mjj"]
    assert unhunted["value"] == 3450.0 and unhunted["global_significance"] is None and not unhunted["claimed"]
    assert "did not scan its selection" in unhunted["claim_veto"]
    assert extract_masses(fits, ["mjj"], "smallest_significant", 3.0, 3.0, None)["mjj"]["claimed"]


def test_a_weak_scan_adds_its_evidence_only_where_the_mass_is_found():
    # the stronger of the bump hunt and the window scan, its p-value doubled for the two tests
    fits = [{**_fit("top500", 500, 3450.0, 9.0), "observable": "mjj", "sigma": 150.0}]
    hunt = {"top500": {"global_p": 0.5, "global_significance": 0.0}}
    scan = {"window": [3300.0, 3600.0], "global_p": 1e-5, "global_significance": 4.265}
    inside = extract_masses(fits, ["mjj"], "smallest_significant", 3.0, 3.0, hunt, scan=scan)["mjj"]
    assert set(inside["evidence"]) == {"bump_hunt", "window_scan"}
    assert np.isclose(inside["global_significance"], 4.107, atol=2e-3) and inside["claimed"]  # p = 2e-5
    elsewhere = extract_masses(fits, ["mjj"], "smallest_significant", 3.0, 3.0, hunt, scan={**scan, "window": [4000.0, 4400.0]})["mjj"]
    assert set(elsewhere["evidence"]) == {"bump_hunt"} and not elsewhere["claimed"]


def test_cwolas_window_scan_is_shown_but_claims_nothing():
    """CWoLa's classifier is trained against the sideband events that calibrate its excess, so
    its scan is no test (4.3 sigma on QCD alone): the same excess that CATHODE's scan would add
    to the evidence leaves a CWoLa mass with its bump hunt's evidence only."""
    ratios = np.ones(12)
    ratios[5] = 2.0
    windows = scan_diagnostics(np.random.default_rng(8), ratios)
    cathode, cwola = scan_evidence(windows, "cathode"), scan_evidence(windows, "cwola")
    assert cathode["evidence"] and not cwola["evidence"]
    assert cwola["global_significance"] == cathode["global_significance"] > 5
    fits = [{**_fit("top500", 500, cathode["centre"], 9.0), "observable": "mjj", "sigma": 150.0}]
    hunt = {"top500": {"global_p": 0.5, "global_significance": 0.0}}
    with_cathode = extract_masses(fits, ["mjj"], "smallest_significant", 3.0, 3.0, hunt, scan=cathode)["mjj"]
    with_cwola = extract_masses(fits, ["mjj"], "smallest_significant", 3.0, 3.0, hunt, scan=cwola)["mjj"]
    assert with_cathode["claimed"] and set(with_cathode["evidence"]) == {"bump_hunt", "window_scan"}
    assert not with_cwola["claimed"] and set(with_cwola["evidence"]) == {"bump_hunt"}
