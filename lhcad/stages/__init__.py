"""The stages of the LHCO resonance search: importing this package registers them, in pipeline
order. The other families' stages are in ``lhcad/families/<family>/stages.py``;
:mod:`lhcad.families.registry` imports them all.
"""

from __future__ import annotations

# isort: off
from lhcad.stages import data, preprocess, train, score, select, histogram, fit, bumphunt, extract, export, report  # noqa: F401
# isort: on
