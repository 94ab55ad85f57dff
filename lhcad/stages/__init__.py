"""The stage catalogue: importing this package registers every stage kind, in pipeline order.

First the LHC anomaly search, then the stages of the other analyses lhcad runs (digits, jet
images, point clouds, e/gamma classification, compression).
"""

from __future__ import annotations

# isort: off
from lhcad.stages import data, preprocess, train, score, select, histogram, fit, bumphunt, extract, export, report  # noqa: F401
from lhcad.families.digits import stages as _digits  # noqa: F401
from lhcad.families.jet_images import stages as _jet_images  # noqa: F401
from lhcad.families.pointcloud import stages as _pointcloud  # noqa: F401
from lhcad.families.egamma import stages as _egamma  # noqa: F401
from lhcad.families.compress import stages as _compress  # noqa: F401
# isort: on
