"""Electromagnetic calorimetry: the CMS e/gamma image files and a parametric fast simulation
of single electrons and photons in a PbWO4 crystal calorimeter behind a tracker.

- :mod:`lhcad.calo.egamma_file`: read and write the CMS open-data e/gamma HDF5 layout
  (``X``: ``(N, 32, 32, 2)`` float32 energy and time, ``y``: labels).
- :mod:`lhcad.calo.constants`: every parameter of the simulation, with its value's origin.
- :mod:`lhcad.calo.showers`: the vectorised, seeded simulation itself.
"""
