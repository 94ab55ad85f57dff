"""What every family's report is built from besides the page (:mod:`lhcad.report.html`): table
cells (:func:`fmt`), figures saved in the configured formats (:class:`FigureWriter`), and the
configuration and provenance sections every report ends with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lhcad.config import AnalysisBase, config_sha256
from lhcad.config.base import ReportConfig
from lhcad.pipeline.artifacts import Artifact
from lhcad.plots.style import save_figure
from lhcad.report.html import Code, FigureRef, Section, Table


def fmt(value: Any, digits: int = 1) -> str:
    """A table cell: fixed-point number, en dash for missing values."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return f"{float(value):.{digits}f}"


@dataclass
class FigureWriter:
    """Saves figures into the report and hands back their page references."""

    directory: Path
    formats: Sequence[str]
    analysis: str
    written: list[str] = field(default_factory=list)

    @classmethod
    def for_report(cls, directory: Path, analysis: AnalysisBase) -> FigureWriter:
        """Figures of the report in ``directory``: PNGs for the page plus ``report.formats``."""
        report: ReportConfig = getattr(analysis, "report", ReportConfig())
        formats = tuple(dict.fromkeys(["png", *report.formats]))
        return cls(directory / "figures", formats, analysis.name)

    def add(
        self, fig: Any, name: str, caption: str, *, wide: bool = True, columns: int = 2, min_width: int | None = None
    ) -> FigureRef:
        save_figure(fig, self.directory, name, self.formats)
        self.written.append(name)
        return FigureRef(
            name=name, caption=caption, formats=tuple(self.formats), wide=wide, columns=columns, min_width=min_width
        )


def config_section(analysis: AnalysisBase) -> Section:
    """The resolved analysis, as YAML."""
    text = yaml.safe_dump(analysis.model_dump(mode="json"), sort_keys=False)
    return Section("configuration", "Configuration", [Code(text, "The resolved analysis configuration (YAML).")])


def provenance_section(analysis: AnalysisBase, artifacts: Mapping[str, Artifact], versions: Mapping[str, str]) -> Section:
    """The config's hash, the data files' hashes (of a ``data`` stage), the versions and the
    cache key of every stage the run executed, in order."""
    data_files = artifacts["data"].manifest.get("files", {}) if "data" in artifacts else {}
    rows = [["config sha256", config_sha256(analysis)]]
    rows += [[f"data sha256 ({Path(p).name})", h] for p, h in data_files.items()]
    rows += [[f"version of {name}", v] for name, v in versions.items()]
    ran = analysis.stages_to_run()[0]
    rows += [[f"stage {kind} key", artifacts[kind].key] for kind in ran if kind in artifacts]
    return Section("provenance", "Provenance", [Table([], rows, id="provenance")])
