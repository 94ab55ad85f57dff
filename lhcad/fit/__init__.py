"""Fitting resonance peaks in binned mass spectra.

What to use when:

- ``mjj`` (the dijet mass, a falling spectrum over several TeV): signal ``double_crystal_ball``
  (a Gaussian core with power-law tails; mjj has a long low-side tail from radiation and
  neutrinos lost) on the ``dijet`` background ``(1-x)^p1 / x^(p2 + p3 ln x)``, the function
  ATLAS and CMS dijet searches use.
- jet masses (``mj_heavy``, ``mj_light``): their QCD spectra rise and fall and the selection
  sculpts them, so no simple function describes them well; ``template`` takes the shape of the
  whole dataset's histogram (background-dominated) and fits only its yield. ``exponential`` and
  ``expo_poly`` are the functional alternatives.
- small top-N histograms (a few hundred events, many bins with 0-5 entries): always the
  *extended binned* likelihood with the model integrated over each bin
  (``iminuit.cost.ExtendedBinnedNLL``), never a chi2 (biased for small counts) and never the pdf
  at the bin centre (biased for wide bins).

Every fit result carries validity, HESSE and MINOS errors, goodness of fit (Baker-Cousins
chi2/ndf and its p-value) and the *local* significance of the peak, sqrt(-2 ln L_B/L_SB).
A local significance overstates the evidence for a peak found by looking everywhere: the bump
hunt (``lhcad.fit.bumphunt``) gives the global one.
"""

from lhcad.fit.binned import FitResult, expected_from_dict, fit_resonance

__all__ = ["FitResult", "expected_from_dict", "fit_resonance"]
