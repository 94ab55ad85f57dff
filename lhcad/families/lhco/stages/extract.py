"""Stage ``extract``: the final masses, one per observable, chosen among the selections' fits.

Rule ``smallest_significant`` (default): the smallest selection whose fit is valid and reaches
``extract.min_significance`` (smaller selections are purer); if none does, the most significant
valid fit, and the mass is reported but not claimed. ``most_precise``: among the same fits, the
one with the smallest total error on the mass (statistical and selection systematic, below, in
quadrature: a precise peak that disagrees with the other selections' pays for the shift). A
tight selection is purer, but in a strong signal a looser one holds more signal events, less
sculpted by the score (a score built on substructure keeps the best-contained jets, whose
masses sit higher). ``most_significant``: the valid fit with the largest local significance.
The error is the statistical error of the fitted mean (MINOS when available); the peak width
is reported separately (the reference study quoted the width).

Selection systematic. The score correlates with the masses a little, so a tighter selection
moves the peak a little (sculpting). ``error_syst`` is the largest shift of the mean between the
chosen fit and the other selections' fits of the same peak (valid, at least
``min_significance``, within one peak width); ``error_total`` adds it to ``error`` in
quadrature. With one such fit only, it is 0.

Claims. All three masses of a resonance share the evidence of its selection's mjj bump hunt
(global significance, look-elsewhere corrected over the mjj windows by the bump hunt's
pseudo-experiments and over the selections here: the chosen selection's global p-value times
the number of selections hunted, Bonferroni, since the answer may come from any of them). A
jet mass fitted in another selection than the mjj mass shares the mjj mass's bump hunt when
that one is stronger and the jet-mass peak passes its sideband test with the mjj mass inside
the tested signal region (it is that resonance's jet mass; the Bonferroni factor has paid for
the choice among selections already). A weak scorer's window scan is a second test
(:func:`lhcad.weak.windows.scan_evidence`: the signal-region excess over the
sideband-calibrated expectation, paying for every window and efficiency tried); when the
extracted mjj lies in its best window, the evidence is the stronger of the two with its p-value
doubled. CATHODE's scan only: CWoLa's classifier is
trained against the very sideband events that calibrate its excess, which then is no test
(:data:`lhcad.weak.windows.EVIDENCE_METHODS`). A jet-mass peak needs more: a selection sculpts
the QCD jet-mass spectrum into peaks of its own, so a jet mass is claimed only when its peak's
events also concentrate in the mjj signal region (:func:`lhcad.fit.sideband.sideband_test`, at
least ``extract.jet_mass_evidence``); jet-mass fits that fail it are chosen only when no
fit passes. The signal region is the one the jet masses were fitted in (``fit.jet_mass_region:
mjj_peak``), else the selection's mjj peak (mean +- ``extract.peak_sigmas`` widths), else its
bump-hunt window; the jet-mass window is the peak, mean +- ``extract.peak_sigmas`` widths. The
tests of every fit go to ``sideband_tests.json``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from lhcad.data.columns import MJJ
from lhcad.data.stage import Events
from lhcad.families.lhco.artifacts import BumpHunts, Fits, Masses, Scores, Selections
from lhcad.families.lhco.config import ExtractConfig
from lhcad.families.lhco.stages.fit import mjj_peak_region
from lhcad.fit.significance import bonferroni_p, p_to_significance, significance_to_p
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext
from lhcad.weak.windows import counts_as_evidence, scan_evidence


def _symmetric_error(fit: dict[str, Any]) -> float:
    low, high = fit.get("mean_error_low"), fit.get("mean_error_high")
    if low is not None and high is not None:
        return 0.5 * (abs(low) + abs(high))
    return float(fit["mean_error"])


def has_evidence(fit: dict[str, Any], jet_mass_evidence: float) -> bool:
    """Whether a fit's peak passes its sideband test (fits without one, like mjj's, pass)."""
    if "sideband" not in fit:
        return True
    return ((fit["sideband"] or {}).get("significance") or 0.0) >= jet_mass_evidence


def choose_fit(
    fits: list[dict[str, Any]], rule: str, min_significance: float, jet_mass_evidence: float = 0.0
) -> dict[str, Any] | None:
    """The fit that gives an observable's mass, or None if no fit is valid.

    Fits that fail their sideband test qualify only when no fit passes it.
    """
    valid = [f for f in fits if f.get("valid") and f.get("mean") is not None]
    if not valid:
        return None
    supported = [f for f in valid if has_evidence(f, jet_mass_evidence)]
    most = max(supported or valid, key=lambda f: f.get("significance") or 0.0)
    if rule == "most_significant":
        return most
    significant = [f for f in supported if (f.get("significance") or 0.0) >= min_significance]
    if not significant:
        return most
    if rule == "most_precise":
        return min(significant, key=lambda f: total_error(f, fits, min_significance, jet_mass_evidence))
    return min(significant, key=lambda f: f["n"])


def selection_systematic(
    chosen: dict[str, Any], fits: list[dict[str, Any]], min_significance: float, jet_mass_evidence: float = 0.0
) -> float:
    """Largest shift of the peak between ``chosen`` and the other selections' fits that find it.

    Only valid fits count (module :mod:`lhcad.fit.binned`: converged, accurate positive-definite
    covariance, no parameter at a limit, a background that does not peak under the signal, a
    yield error above its Poisson floor), significant (``min_significance``), with sideband
    evidence (``jet_mass_evidence``) and a mean within one fitted width of ``chosen``'s; 0 for
    an invalid ``chosen`` or when no other fit qualifies.
    """
    if not chosen.get("valid") or chosen.get("mean") is None:
        return 0.0
    shifts = [
        abs(f["mean"] - chosen["mean"])
        for f in fits
        if f is not chosen
        and f.get("valid")
        and f.get("mean") is not None
        and (f.get("significance") or 0.0) >= min_significance
        and has_evidence(f, jet_mass_evidence)
        and abs(f["mean"] - chosen["mean"]) < chosen["sigma"]
    ]
    return max(shifts, default=0.0)


def total_error(
    fit: dict[str, Any], fits: list[dict[str, Any]], min_significance: float, jet_mass_evidence: float = 0.0
) -> float:
    """The statistical error of a fit's mean and its selection systematic, in quadrature."""
    return math.hypot(_symmetric_error(fit), selection_systematic(fit, fits, min_significance, jet_mass_evidence))


def selections_global_significance(bumphunt: dict[str, Any], selection: str) -> float:
    """The global significance of ``selection``'s bump hunt, look-elsewhere corrected over the
    selections hunted too: its global p-value times their number (at most 1)."""
    hunt = bumphunt[selection]
    p = hunt.get("global_p")
    if p is None:
        p = significance_to_p(hunt.get("global_significance") or 0.0)
    return float(p_to_significance(bonferroni_p([float(p)] * len(bumphunt))))


def resonance_selection(
    chosen: dict[str, Any], mjj_chosen: dict[str, Any] | None, bumphunt: dict[str, Any], jet_mass_evidence: float
) -> str | None:
    """The selection whose bump hunt is the evidence for ``chosen``'s mass (None without one).

    A fit's own selection's, except for a jet mass of the resonance whose mjj mass was chosen in
    another selection with a stronger bump hunt: a jet-mass peak that passes its sideband test
    with the mjj mass inside the tested signal region belongs to that resonance and shares its
    evidence. No trial is added: the bump hunts' global p-values already pay for every selection
    (:func:`selections_global_significance`), whichever of them gives the evidence.
    """
    own = chosen["selection"] if chosen["selection"] in bumphunt else None
    if mjj_chosen is None or mjj_chosen is chosen or mjj_chosen["selection"] not in bumphunt:
        return own
    test = chosen.get("sideband")
    if not test or not has_evidence(chosen, jet_mass_evidence):
        return own
    lo, hi = test["signal_region"]
    if not lo <= mjj_chosen["mean"] < hi:
        return own
    shared = mjj_chosen["selection"]
    if own is None:
        return shared
    stronger = selections_global_significance(bumphunt, shared) > selections_global_significance(bumphunt, own)
    return shared if stronger else own


def extract_masses(
    fits: list[dict[str, Any]],
    observables: list[str],
    rule: str,
    min_significance: float,
    claim_significance: float,
    bumphunt: dict[str, Any] | None = None,
    jet_mass_evidence: float = 0.0,
    scan: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One mass entry per observable from the fits of the selections.

    A mass is claimed when the bump hunt of its selection reaches ``claim_significance``
    globally (all three masses of a resonance share that test: a jet mass fitted in another
    selection than the mjj mass takes the stronger of the two, :func:`resonance_selection`;
    ``bump_hunt_selection`` says whose), never on a selection the bump hunt did not scan;
    only in a pipeline without a bump hunt, when the fit's local significance does. A fit
    with a sideband test (jet masses, see :func:`add_sideband_tests`) must also reach
    ``jet_mass_evidence`` there. A weak scorer's window scan (``scan``,
    :func:`lhcad.weak.windows.scan_evidence`) is a second test of the same resonance when the
    extracted mjj lies in its window: the evidence is then the smaller of the two global
    p-values, doubled (Bonferroni over the two tests).
    """
    mjj_chosen = choose_fit([f for f in fits if f["observable"] == MJJ], rule, min_significance, jet_mass_evidence)
    scan_applies = (
        scan is not None
        and counts_as_evidence(scan)
        and scan.get("window") is not None
        and mjj_chosen is not None
        and scan["window"][0] <= mjj_chosen["mean"] < scan["window"][1]
    )
    masses: dict[str, Any] = {}
    for obs in observables:
        candidates = [f for f in fits if f["observable"] == obs]
        chosen = choose_fit(candidates, rule, min_significance, jet_mass_evidence)
        if chosen is None:
            masses[obs] = {"value": None, "error": None, "error_syst": None, "error_total": None, "width": None,
                           "significance": None, "valid": False, "n": None, "selection": None,
                           "global_significance": None, "claimed": False}  # fmt: skip
            continue
        significance = float(chosen.get("significance") or 0.0)
        evidence: dict[str, float] = {}
        hunted = resonance_selection(chosen, mjj_chosen, bumphunt, jet_mass_evidence) if bumphunt is not None else None
        if bumphunt is not None and hunted is not None:
            evidence["bump_hunt"] = selections_global_significance(bumphunt, hunted)
        if scan_applies and scan is not None:
            evidence["window_scan"] = float(scan["global_significance"])
        # A local significance is no evidence where the search looked elsewhere: with a bump
        # hunt in the pipeline, a selection it did not scan claims nothing.
        unscanned = bumphunt is not None and not evidence
        global_significance: float | None = None
        if evidence:
            p = bonferroni_p([float(significance_to_p(z)) for z in evidence.values()])
            global_significance = float(p_to_significance(p))
            claimed = global_significance >= claim_significance
        else:
            claimed = not unscanned and significance >= claim_significance
        error = _symmetric_error(chosen)
        syst = selection_systematic(chosen, candidates, min_significance, jet_mass_evidence)
        masses[obs] = {
            "value": chosen["mean"],
            "error": error,
            "error_syst": syst,
            "error_total": math.hypot(error, syst),
            "error_low": chosen.get("mean_error_low"),
            "error_high": chosen.get("mean_error_high"),
            "width": chosen.get("sigma"),
            "significance": significance,
            "valid": True,
            "n": chosen["n"],
            "selection": chosen["selection"],
            "global_significance": global_significance,
            "selection_trials": len(bumphunt) if bumphunt is not None else None,
            "bump_hunt_selection": hunted,
            "evidence": evidence,
            "claimed": bool(claimed),
        }
        if unscanned:
            masses[obs]["claim_veto"] = "the bump hunt did not scan its selection, and a local significance is no evidence"
        if "sideband" in chosen:
            masses[obs]["sideband"] = chosen["sideband"]
            if not has_evidence(chosen, jet_mass_evidence):
                z = (chosen["sideband"] or {}).get("significance") or 0.0
                masses[obs]["claimed"] = False
                masses[obs]["claim_veto"] = (
                    "its events do not concentrate in the mjj signal region "
                    f"(sideband test {z:.1f} sigma < {jet_mass_evidence:g})"
                    if chosen["sideband"] is not None
                    else "no mjj signal region in its selection to test the jet-mass peak against"
                )
    return masses


def signal_region(
    selection: str, fits: list[dict[str, Any]], bumphunt: dict[str, Any] | None, peak_sigmas: float
) -> tuple[float, float] | None:
    """The mjj signal region of a selection: its valid mjj peak, else its bump-hunt window."""
    mjj_fit = next((f for f in fits if f["observable"] == MJJ and f["selection"] == selection), None)
    peak = mjj_peak_region(mjj_fit, peak_sigmas)
    if peak is not None:
        return peak
    window = (bumphunt or {}).get(selection, {}).get("window")
    if window and all(w is not None and math.isfinite(w) for w in window):
        return float(window[0]), float(window[1])
    return None


def add_sideband_tests(
    fits: list[dict[str, Any]],
    bumphunt: dict[str, Any] | None,
    events: pd.DataFrame,
    selections: dict[str, np.ndarray],
    cfg: ExtractConfig,
) -> None:
    """Give every valid jet-mass fit its sideband test (``fit["sideband"]``: the test's fields, or
    None without an mjj signal region to test against)."""
    from lhcad.fit.sideband import sideband_test

    for fit in fits:
        if fit["observable"] == MJJ or not fit.get("valid"):
            continue
        fitted_region = fit.get("region")
        region = tuple(fitted_region) if fitted_region else signal_region(fit["selection"], fits, bumphunt, cfg.peak_sigmas)
        if region is None:
            fit["sideband"] = None
            continue
        chosen = events.iloc[selections[fit["selection"]]]
        half = cfg.peak_sigmas * fit["sigma"]
        # a peak found among the signal-region events alone was picked where they peak: the
        # test then pays for the jet-mass windows the fit could have picked (Bonferroni)
        lo, hi = fit["fit_range"]
        trials = max((hi - lo) / (2 * half), 1.0) if fitted_region else 1.0
        test = sideband_test(
            chosen[MJJ].to_numpy(), chosen[fit["observable"]].to_numpy(), region,
            (fit["mean"] - half, fit["mean"] + half), cfg.sideband_width, trials=trials,
        )  # fmt: skip
        fit["sideband"] = test.to_dict()


@stage(
    "extract",
    version=11,
    summary="final masses m_Z (mjj), m_X (heavy jet), m_Y (light jet), claimed only at a global significance",
    needs=("fit",),
    optional=("bumphunt", "data", "select", "score"),
)
def run_extract(ctx: StageContext) -> None:
    cfg: ExtractConfig = ctx.config()
    fits = Fits.read(ctx.inputs["fit"]).fits
    observables = list(dict.fromkeys(f["observable"] for f in fits))
    bumphunt = BumpHunts.read(ctx.inputs["bumphunt"]).summary if "bumphunt" in ctx.inputs else None
    scores = Scores.read(ctx.inputs["score"], columns=["score"]) if "score" in ctx.inputs else None
    scan = scan_evidence(scores.windows, scores.method) if scores is not None and scores.windows else None
    sideband_tests = None
    if MJJ in observables and "data" in ctx.inputs and "select" in ctx.inputs:
        events = Events.read(ctx.inputs["data"], columns=observables).table
        add_sideband_tests(fits, bumphunt, events, Selections.read(ctx.inputs["select"]).rows, cfg)
        sideband_tests = [f for f in fits if "sideband" in f]
    masses = extract_masses(
        fits, observables, cfg.rule, cfg.min_significance, cfg.claim_significance, bumphunt, cfg.jet_mass_evidence, scan
    )
    Masses(masses, scan, sideband_tests).write(ctx.out)
