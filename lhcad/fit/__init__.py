"""Fitting resonance peaks in binned mass spectra, and hunting for bumps.

What to use when
================

Signal model (``fit_resonance(signal=...)``):

- ``crystal_ball``: a Gaussian core with a power-law tail on the low side. The default for
  every reconstructed mass: jets lose energy (radiation out of the cone, neutrinos, thresholds),
  never gain it, so peaks have a low-side tail.
- ``double_crystal_ball``: tails on both sides. For peaks with a high-side tail too (jet masses
  where pile-up or the underlying event add mass; mjj with a wide signal). With a few hundred
  signal events, keep the tails fixed (``free_tails=False``): they are not constrained, and
  floating them trades a stable mean for a flexible shape. Free them for 100k-event histograms.
- ``asymmetric_crystal_ball``: a double-sided one with a core width per side. For skewed,
  flat-topped peaks (jet masses), whose mode a symmetric core misses by about 1%. Its
  asymmetry trades off against the mode on a few thousand events: constrain it
  (``asymmetry_constraint``, a Gaussian width; 0.1 for the shipped jet-mass fits).

The fitted ``mean`` is the position of the Gaussian core (the mode): the resonance mass.
``sigma`` is the core width: the mass resolution, not the mass's uncertainty (that is
``mean_error``, or the asymmetric MINOS interval).

Background model (``fit_resonance(background=...)``):

- ``dijet``: ``(1-x)^p1 / x^(p2 + p3 ln x)``, ``x = mjj / 13 TeV``, the standard for dijet
  mass spectra. Fit above the trigger turn-on (the spectrum must fall).
- ``template``: the shape of a reference histogram (the full dataset, signal-poor), only its
  yield fitted. The choice for jet masses: QCD jet-mass spectra rise and fall and the event
  selection sculpts them, so no short formula describes them, but the whole dataset does.
- ``power_expo``: ``(m / hi)^a0 exp(a1 t + a2 t^2)``, for jet-mass spectra when the template
  does not describe the selected events (a selection sculpts them): the power law is the
  Sudakov rise of QCD jet masses from zero mass, the exponential their fall.
- ``exponential`` / ``expo_poly``: ``exp(a1 t)`` / ``exp(a1 t + a2 t^2)`` on the fit range, for
  spectra that do not start at zero mass (``expo_poly`` may rise, then fall).
- ``none``: a pure signal sample (calibrating the peak shape).

The dijet function is constrained to fall (a soft penalty on any rise): over a wide range it
could otherwise bend over a real peak.

Cost function: always ``iminuit.cost.ExtendedBinnedNLL`` with the model *integrated* over
each bin (CDF differences). The histograms of top-N selections hold 500-2000 events in 20-60
bins, many bins with 0-5 entries: a least-squares fit is biased there (it weighs downward
fluctuations up), and the pdf at the bin centre is biased for wide bins on steep spectra. The
extended likelihood also fits the yields, whose sum is the number of events. Its value at the
minimum is the Baker-Cousins chi2 reported as goodness of fit. A background template of finite
size (a weak scorer's reference, with its sums of squared weights) takes ``iminuit.cost.Template``
instead, which counts the template's own uncertainty. Gaussian constraints are iminuit's:
``asymmetry_constraint`` adds ``NormalConstraint("asymmetry", 0, w)`` to the cost.

Every fit's HESSE covariance and correlation matrices are in its ``FitResult`` (and
``results.json``), and ``FitResult.minuit()`` rebuilds its ``Minuit`` at the minimum.

Significance:

- ``FitResult.significance`` is *local*: ``sqrt(-2 ln(L_B / L_SB))`` for a peak at the fitted
  position and width, one-sided (0 without a positive signal). The fit looks for the best
  peak anywhere, so under background alone it exceeds 3 more often than 0.13% of the time: it
  measures a peak's strength, not the evidence for one.
- ``BumpHuntResult.global_significance`` (:func:`bump_hunt`) is the evidence: BumpHunter's
  scan of every window, calibrated with background-only pseudo-experiments that repeat the
  whole scan (the look-elsewhere effect), extrapolated by Gross-Vitells beyond them.

- ``SidebandTest.significance`` (:func:`sideband_test`) is the evidence that a jet-mass peak
  belongs to the mjj resonance: the peak's events must concentrate in the mjj signal region
  rather than spread over the sidebands like the sculpted QCD jet-mass spectrum does.

All p-values convert to one-sided significances with :func:`p_to_significance`.
"""

from __future__ import annotations

from lhcad.fit.binned import BACKGROUNDS, SIGNALS, FitResult, expected_from_dict, fit_resonance
from lhcad.fit.bumphunt import BumpHuntResult, bump_hunt
from lhcad.fit.sideband import SidebandTest, sideband_test
from lhcad.fit.significance import p_to_significance, significance_to_p

__all__ = [
    "BACKGROUNDS",
    "SIGNALS",
    "BumpHuntResult",
    "FitResult",
    "SidebandTest",
    "bump_hunt",
    "expected_from_dict",
    "fit_resonance",
    "p_to_significance",
    "sideband_test",
    "significance_to_p",
]
