"""What every analysis holds, whatever its family: the ``kind`` that names the family, its name,
description, seed and stage order; and the sections several families share: ``report`` (every
family) and ``executor`` (the families whose stages hand tasks to one).

Each family's analysis model (``lhcad/families/<family>/config.py``) builds on :class:`AnalysisBase` with its
own sections; :mod:`lhcad.families.registry` joins them into one discriminated union on ``kind``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from lhcad.config.section import PositiveInt, Section

#: The pattern of an analysis name (it becomes a directory name).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class ReportConfig(Section):
    """Plots and the HTML page (stage ``report`` and every family's report stage)."""

    formats: list[Literal["png", "pdf"]] = Field(default_factory=lambda: ["png", "pdf"])
    """Figure file formats (the HTML page shows the PNGs)."""
    style: Literal["CMS", "ATLAS", "LHCb2", "ALICE"] = "CMS"
    """mplhep style."""


class ExecutorConfig(Section):
    """Where the work runs."""

    kind: Literal["local", "dask"] = "local"
    """``local``: in-process; ``dask``: on a Dask cluster."""
    address: str | None = None
    """Scheduler address of an existing Dask cluster (``tcp://host:8786``)."""
    n_workers: PositiveInt = 2
    """Workers of the LocalCluster started when no address is given."""
    threads_per_worker: PositiveInt = 1
    """Threads per LocalCluster worker."""
    dashboard_address: str | None = None
    """Serve the LocalCluster's Dask dashboard at this address (``:8787``, ``127.0.0.1:8787``;
    needs bokeh); the run prints its link. None: no dashboard."""


class AnalysisBase(Section):
    """The keys every analysis has; a family's model adds its sections and fixes ``kind``."""

    kind: str
    """The analysis family (``lhco``, ``digits``, ``jet_images``, ``pointcloud``, ``egamma``,
    ``compress``). Without it, the family is the one whose stages the pipeline runs, else
    ``lhco``."""
    name: Annotated[str, Field(min_length=1, pattern=NAME_PATTERN)] = "analysis"
    """Analysis name: the default output directory is ``outputs/<name>/``."""
    description: str = ""
    """Free text shown in the report."""
    seed: int = 0
    """Global seed, part of every stage's cache key."""
    pipeline: list[str]
    """Stages to run, in order."""

    def executor_settings(self) -> ExecutorConfig:
        """Where the stages' independent tasks run: in process, unless the family has an
        ``executor`` section."""
        return ExecutorConfig()

    def stages_to_run(self) -> tuple[list[str], str | None]:
        """The stages a run of this analysis executes, and a note when they differ from
        ``pipeline`` (the runner asks; a family whose settings add or drop stages overrides it,
        like the LHCO search's scorer: :meth:`lhcad.families.lhco.config.AnalysisConfig.stages_to_run`)."""
        return list(self.pipeline), None
