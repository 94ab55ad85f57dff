"""The stages of the LHCO resonance search, one module each: importing this package registers
them, in pipeline order (``data``, shared with the compression family, is
:mod:`lhcad.data.stage`). What each hands on is a class of :mod:`lhcad.families.lhco.artifacts`.
"""

from __future__ import annotations

# isort: off
from lhcad.data import stage as data  # noqa: F401
from lhcad.families.lhco.stages import preprocess, train, score, select, histogram, fit, bumphunt, extract, export, report  # noqa: F401
# isort: on
