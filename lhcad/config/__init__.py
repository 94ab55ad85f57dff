"""The analysis configuration's base layer: the models every family builds on, YAML loading,
``include:`` blocks and ``--set`` overrides. The families' models and the union of them that
an analysis YAML validates into are in :mod:`lhcad.families.registry`."""

from __future__ import annotations

import hashlib
import json

from lhcad.config.base import AnalysisBase
from lhcad.config.loader import apply_overrides, load_raw, parse_override, validate_raw
from lhcad.config.models import STANDARD_PIPELINE, AnalysisConfig
from lhcad.data.columns import DERIVED_COLUMNS, JET_COLUMNS

__all__ = [
    "STANDARD_PIPELINE",
    "AnalysisBase",
    "AnalysisConfig",
    "apply_overrides",
    "config_sha256",
    "load_raw",
    "parse_override",
    "validate_raw",
]

#: Columns of the events table an LHCO analysis may name (features, observables).
KNOWN_COLUMNS: frozenset[str] = frozenset((*JET_COLUMNS, *DERIVED_COLUMNS))


def config_sha256(config: AnalysisBase) -> str:
    """sha256 of the canonical JSON of a validated config (provenance in results.json)."""
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
