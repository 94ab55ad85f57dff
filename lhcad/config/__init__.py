"""The analysis configuration's base layer: the models every family builds on, the sections
several families share (``data``, ``train``, binning), YAML loading, ``include:`` blocks and
``--set`` overrides. The families' models and the union of them that an analysis YAML validates
into are in :mod:`lhcad.families.registry`."""

from __future__ import annotations

import hashlib
import json

from lhcad.config.base import AnalysisBase
from lhcad.config.loader import apply_overrides, load_raw, parse_override, validate_raw

__all__ = [
    "AnalysisBase",
    "apply_overrides",
    "config_sha256",
    "load_raw",
    "parse_override",
    "validate_raw",
]


def config_sha256(config: AnalysisBase) -> str:
    """sha256 of the canonical JSON of a validated config (provenance in results.json)."""
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
