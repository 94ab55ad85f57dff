"""Jet images: 125 x 125 x 3 (Tracks, ECAL, HCAL) calorimeter images of single jets, their
HDF5 file in the CMS open-data layout, and the convolutional VAE that learns them."""

from __future__ import annotations

#: ``lhcad generate --process`` values that make jet images (``--images``): quark and gluon
#: jets, or boosted top, W, Z jets (kept here, light, for the CLI).
IMAGE_PROCESS_NAMES: tuple[str, ...] = ("qg", "top", "w", "z")
