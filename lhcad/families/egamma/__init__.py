"""The e/gamma family: electrons against photons in a crystal calorimeter, by supervised
classification of labelled images (or table rows).

Calorimetry:

- :mod:`lhcad.families.egamma.egamma_file`: read and write the CMS open-data e/gamma HDF5 layout
  (``X``: ``(N, 32, 32, 2)`` float32 energy and time, ``y``: labels).
- :mod:`lhcad.families.egamma.constants`: every parameter of the simulation, with its value's origin.
- :mod:`lhcad.families.egamma.showers`: the vectorised, seeded simulation of single electrons and
  photons in a PbWO4 crystal calorimeter behind a tracker (``lhcad simulate-showers``:
  :mod:`lhcad.families.egamma.cli`).

Classification (the networks, the labelled samples and their split, training with the fast
single-model trainer and early stopping on the validation AUC, the ROC with a bootstrap
uncertainty):

- :mod:`lhcad.families.egamma.samples`, :mod:`~lhcad.families.egamma.networks`,
  :mod:`~lhcad.families.egamma.fit`, :mod:`~lhcad.families.egamma.plots`,
  :mod:`~lhcad.families.egamma.report`.
- :mod:`lhcad.families.egamma.shapes` (shower-shape variables of the images) and
  :mod:`lhcad.families.egamma.ceiling` (what the simulated showers allow: trees on shower shapes
  and on the generator's truth, and a classifier's paired gap to them).

Its config is :mod:`lhcad.families.egamma.config` (sections ``labelled``, ``classify`` and
``ceiling``), its
stages :mod:`lhcad.families.egamma.stages` (``labelled``, ``classify``, ``ceiling``,
``classify_report``).
"""
