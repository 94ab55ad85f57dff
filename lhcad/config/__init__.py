"""The analysis configuration: typed models, YAML loading, overrides, semantic checks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lhcad.config.loader import apply_overrides, load_raw, parse_override, validate_raw
from lhcad.config.models import STANDARD_PIPELINE, AnalysisConfig
from lhcad.data.columns import DERIVED_COLUMNS, JET_COLUMNS
from lhcad.errors import ConfigError

__all__ = [
    "STANDARD_PIPELINE",
    "AnalysisConfig",
    "config_sha256",
    "load_analysis",
    "parse_override",
]

KNOWN_COLUMNS: frozenset[str] = frozenset((*JET_COLUMNS, *DERIVED_COLUMNS))


def _check_semantics(config: AnalysisConfig, source: str) -> None:
    """Checks the types cannot express: column names exist, stages are known and ordered."""
    from lhcad.pipeline.registry import check_pipeline

    for i, name in enumerate(config.preprocess.features):
        if name not in KNOWN_COLUMNS:
            raise ConfigError(
                f"unknown feature {name!r} (choose from: {', '.join(sorted(KNOWN_COLUMNS))})",
                source=source,
                where=f"preprocess.features[{i}]",
            )
    for i, name in enumerate(config.histogram.observables):
        if name not in KNOWN_COLUMNS:
            raise ConfigError(f"unknown observable {name!r}", source=source, where=f"histogram.observables[{i}]")
    for name in config.fit.models:
        if name not in config.histogram.observables:
            raise ConfigError(
                f"fit model for {name!r}, which is not histogrammed (histogram.observables)",
                source=source,
                where=f"fit.models.{name}",
            )
    check_pipeline(config.pipeline, source)


def load_analysis(
    path: str | Path, overrides: Mapping[str, Any] | list[str] | tuple[str, ...] | None = None
) -> AnalysisConfig:
    """Load, override and validate an analysis YAML.

    Args:
        path: the analysis file.
        overrides: ``{"select.top_n": [500]}`` or CLI-style ``["select.top_n=[500]"]``.

    Raises:
        ConfigError: one line naming the file and the dotted path of the first problem.
    """
    path = Path(path)
    if isinstance(overrides, (list, tuple)):
        overrides = dict(parse_override(item) for item in overrides)
    overrides = dict(overrides or {})
    raw = load_raw(path)
    raw = apply_overrides(raw, overrides)
    config = validate_raw(raw, path, overrides)
    _check_semantics(config, str(path))
    return config


def config_sha256(config: AnalysisConfig) -> str:
    """sha256 of the canonical JSON of a validated config (provenance in results.json)."""
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
