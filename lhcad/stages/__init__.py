"""The stage catalogue: importing this package registers every stage kind, in pipeline order.

First the LHC anomaly search, then the stages of the other analyses lhcad runs (digits, jet
images, point clouds, e/gamma classification, compression).
"""

from __future__ import annotations

# isort: off
from lhcad.stages import data, preprocess, train, score, select, histogram, fit, bumphunt, extract, export, report  # noqa: F401
from lhcad.stages import digits, jet_images, pointcloud, classify, compress  # noqa: F401
# isort: on
