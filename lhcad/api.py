"""lhcad's Python API: the same machinery the CLI uses.

>>> import lhcad.api as api                                  # doctest: +SKIP
>>> config = api.load_analysis("analyses/lhco_rnd.yaml", {"train.epochs": 5})
>>> run = api.run(config, out="outputs/quick")
>>> run.results["masses"]["mjj"]["value"]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lhcad.config import AnalysisConfig
from lhcad.config import load_analysis as _load_analysis
from lhcad.errors import LhcadError
from lhcad.pipeline.artifacts import Artifact
from lhcad.pipeline.runner import RunRecord, run_pipeline

__all__ = ["Run", "load_analysis", "run"]


def load_analysis(path: str | Path, overrides: Mapping[str, Any] | list[str] | None = None) -> AnalysisConfig:
    """Load and validate an analysis YAML; ``overrides`` map dotted keys to values."""
    return _load_analysis(path, overrides)


@dataclass
class Run:
    """A finished run: its output directory, results and cached artifacts."""

    config: AnalysisConfig
    out: Path
    record: RunRecord
    results: dict[str, Any] | None = field(default=None)

    def artifact(self, stage: str) -> Artifact:
        """The cached artifact directory of a stage of this run."""
        try:
            return self.record.artifacts[stage]
        except KeyError:
            raise LhcadError(f"stage {stage!r} did not run (ran: {', '.join(self.record.artifacts)})") from None


def default_output(config: AnalysisConfig) -> Path:
    """``outputs/<analysis name>/`` under the current directory."""
    return Path("outputs") / config.name


def run(
    config: AnalysisConfig,
    out: str | Path | None = None,
    *,
    source: str = "",
    force: bool = False,
    echo: Callable[[str], None] = lambda line: None,
) -> Run:
    """Run an analysis into ``out`` (default ``outputs/<name>/``), reusing cached stages."""
    out_dir = Path(out) if out is not None else default_output(config)
    record = run_pipeline(config, out=out_dir, source=source, force=force, echo=echo)
    results_path = out_dir / "results.json"
    results = json.loads(results_path.read_text()) if "export" in record.artifacts and results_path.exists() else None
    return Run(config=config, out=out_dir, record=record, results=results)
