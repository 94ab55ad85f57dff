"""The stage catalogue: importing this package registers every stage kind, in pipeline order."""

from __future__ import annotations

from lhcad.stages import data, preprocess  # noqa: F401
