"""The stage catalogue: importing this package registers every stage kind, in pipeline order."""

from __future__ import annotations

# isort: off
from lhcad.stages import data, preprocess, train, score, select, histogram, fit, bumphunt, extract, export, report  # noqa: F401
# isort: on
