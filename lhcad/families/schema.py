"""JSON schema of the analysis YAML, for editors (``configs/lhcad.schema.json``): one branch per
family, chosen by ``kind``.

Regenerate with ``python -m lhcad.families.schema configs/lhcad.schema.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lhcad.families.registry import ANALYSIS_ADAPTER


def analysis_schema() -> dict[str, Any]:
    """The JSON schema of an analysis of any family (``include:`` keys are resolved before
    validation; a file without ``kind`` belongs to the LHCO search or its pipeline's family)."""
    schema = ANALYSIS_ADAPTER.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "lhcad analysis"
    return schema


def schema_text() -> str:
    return json.dumps(analysis_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover
    Path(sys.argv[1]).write_text(schema_text())
