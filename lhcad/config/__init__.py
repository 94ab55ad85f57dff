"""The analysis configuration's base layer: the models every family builds on, the sections
several families share (``data``, ``train``, binning), YAML loading, ``include:`` blocks and
``--set`` overrides. The families' models and the union of them that an analysis YAML validates
into are in :mod:`lhcad.families.registry`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lhcad.config.base import AnalysisBase
from lhcad.config.loader import apply_overrides, load_raw, parse_override, validate_raw

__all__ = [
    "AnalysisBase",
    "apply_overrides",
    "config_sha256",
    "load_raw",
    "parse_override",
    "path_key",
    "validate_raw",
]


def config_sha256(config: AnalysisBase) -> str:
    """sha256 of the canonical JSON of a validated config (provenance in results.json)."""
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def path_key(config: AnalysisBase, path: str | Path) -> tuple[str, str] | None:
    """The dotted key of ``config`` whose value names the file ``path`` (``~`` expanded,
    relative to the current directory), and that value as written; None when no key does.

    Errors about a file name the key that holds it (``data.path: nothere.h5: file not found``).
    """
    target = _resolved(str(path))
    if target is None:
        return None
    for dotted, value in _string_leaves(config.model_dump(mode="json")):
        if _resolved(value) == target:
            return dotted, value
    return None


def _resolved(text: str) -> Path | None:
    if not text:
        return None
    try:
        return Path(text).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def _string_leaves(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _string_leaves(value, f"{where}.{key}".lstrip("."))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _string_leaves(value, f"{where}[{i}]")
    elif isinstance(node, str):
        yield where, node
