"""The results.json contract: its JSON schema (shipped in the package) and validation."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

from lhcad.errors import LhcadError

if TYPE_CHECKING:
    from lhcad.config.base import AnalysisBase

SCHEMA_VERSION = 2
SCHEMA_PATH = Path(__file__).parent / "schemas" / f"results-{SCHEMA_VERSION}.json"


@cache
def results_schema() -> dict[str, Any]:
    """The JSON schema of results.json."""
    return json.loads(SCHEMA_PATH.read_text())


def validate_results(results: dict[str, Any]) -> None:
    """Raise if ``results`` does not follow the schema (a bug in lhcad, not in the input)."""
    try:
        jsonschema.validate(results, results_schema())
    except jsonschema.ValidationError as exc:
        path = ".".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise LhcadError(f"results.json violates its schema at {path}: {exc.message}") from None


def results_header(analysis: AnalysisBase) -> dict[str, Any]:
    """The fields every analysis's results.json starts with: which analysis, with which
    configuration (its canonical hash), by which lhcad, when."""
    from lhcad import __version__
    from lhcad.config import config_sha256

    return {
        "analysis": analysis.name,
        "config_sha256": config_sha256(analysis),
        "lhcad_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
