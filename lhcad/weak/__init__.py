"""Weakly supervised anomaly scorers: CWoLa hunting and CATHODE in sliding mjj windows.

Both scan signal regions (SR) in mjj with sidebands (SB) on either side. Per window a
classifier is cross-trained (k folds, an ensemble per fold) between the SR data and a
background-like reference sample, and every SR event gets an out-of-fold score:

- CWoLa hunting (:mod:`~lhcad.weak.cwola`): the reference is the sideband data. Simple, but
  features that shift with mjj let the classifier learn "SR-like" instead of "anomalous", and
  the selection sculpts the background.
- CATHODE (:mod:`~lhcad.weak.cathode`): the reference is synthetic background sampled in the SR
  from a conditional normalizing flow p(features | mjj) trained on the sidebands, which
  interpolates the mjj dependence into the SR.

Modules: :mod:`~lhcad.weak.windows` (SR/SB definitions), :mod:`~lhcad.weak.transform`
(flow-friendly invertible feature transform), :mod:`~lhcad.weak.classifier` (k-fold
cross-trained ensembles), :mod:`~lhcad.weak.cwola`, :mod:`~lhcad.weak.cathode`,
:mod:`~lhcad.weak.scan` (all windows through an executor, the choice of the best window, SIC).
"""

from __future__ import annotations
