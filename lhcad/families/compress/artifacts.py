"""What the ``compress`` stage hands on, as a small class with ``write(out)`` (into the running
stage's :class:`~lhcad.pipeline.artifacts.ArtifactWriter`) and ``read(artifact)`` (from a cached
:class:`~lhcad.pipeline.artifacts.Artifact`), in the style of :mod:`lhcad.families.lhco.artifacts`.
The report (:mod:`lhcad.families.compress.report`) reads the stage's files through it only; the
file names and formats are those of every run so far, so old runs still open.

Data flows: :class:`~lhcad.data.stage.Events` (``data``) -> :class:`Compressions`
(``compress``) -> the report. :class:`CompressArtifacts` reads them from a run's artifacts on
first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from lhcad.data.stage import Events
from lhcad.pipeline.artifacts import Artifact, ArtifactWriter, StageOutputs


@dataclass
class Compressions:
    """The ``compress`` stage's output: one ``.lhcz`` file per compressor (``<model>_k<K>.lhcz``,
    written by the stage into :meth:`file_path`) and ``metrics.json`` (``n_events``,
    ``columns``, ``latent_dtype``, ``baselines``, ``float16_zstd`` and ``runs``: per compressor
    its ``name``, ``file``, sizes and ratios, timings, training history and residuals)."""

    metrics: dict[str, Any]
    source: Artifact | None = field(default=None, repr=False)

    METRICS = "metrics.json"
    SUFFIX = ".lhcz"

    @classmethod
    def file_path(cls, out: ArtifactWriter, name: str) -> Path:
        """Where the running stage writes compressor ``name``'s file."""
        return out.path(f"{name}{cls.SUFFIX}")

    def write(self, out: ArtifactWriter) -> None:
        """Write the metrics (the compressed files are already in :meth:`file_path`)."""
        out.write_json(self.METRICS, self.metrics)

    @classmethod
    def read(cls, artifact: Artifact) -> Compressions:
        return cls(artifact.read_json(cls.METRICS), artifact)

    @property
    def runs(self) -> list[dict[str, Any]]:
        """One record per compressor, in the order they ran."""
        return self.metrics["runs"]

    def file(self, run: Mapping[str, Any]) -> Path:
        """The compressed file of one of :attr:`runs`."""
        if self.source is None:
            raise ValueError("no compressed files: the metrics were not read from an artifact")
        return self.source.path(run["file"])


class CompressArtifacts(StageOutputs):
    """The outputs of a compression study's stages, each read through its class on first use."""

    @cached_property
    def events(self) -> Events:
        return Events.read(self.artifact("data"))

    @cached_property
    def compressions(self) -> Compressions:
        return Compressions.read(self.artifact("compress"))
