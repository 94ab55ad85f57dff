"""JSON schema of the analysis YAML, for editors (``configs/lhcad.schema.json``).

Regenerate with ``python -m lhcad.config.schema configs/lhcad.schema.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lhcad.config.models import AnalysisConfig


def analysis_schema() -> dict[str, Any]:
    """The JSON schema of :class:`AnalysisConfig` (``include:`` keys are resolved before validation)."""
    schema = AnalysisConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "lhcad analysis"
    return schema


def schema_text() -> str:
    return json.dumps(analysis_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover
    Path(sys.argv[1]).write_text(schema_text())
