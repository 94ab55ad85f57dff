"""The stage registry: stage kind -> what it reads, what it needs upstream, and its run function.

A stage is a small function of a :class:`~lhcad.pipeline.runner.StageContext`: it reads its
config sections and upstream artifacts from the context and writes files into ``ctx.out``.
The runner owns caching, file layout and logging. The stages register themselves when their
modules are imported: :mod:`lhcad.families.registry` imports every family's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from lhcad.config.base import AnalysisBase
    from lhcad.pipeline.runner import StageContext


@dataclass(frozen=True)
class StageSpec:
    """What the runner knows of a stage kind."""

    kind: str
    summary: str
    run: Callable[[StageContext], None]
    version: int = 1
    """Bump when the stage's code changes its outputs: part of the cache key."""
    reads: tuple[str, ...] = ()
    """Config sections the stage reads (part of its cache key); ``section.part`` for a part of
    a section."""
    needs: tuple[str, ...] = ()
    """Upstream stage kinds whose artifacts it reads; they must run before it."""
    optional: tuple[str, ...] = ()
    """Upstream stage kinds it reads when the pipeline has them."""
    publish: Mapping[str, str] = field(default_factory=dict)
    """Artifact file or directory -> path under the output directory where the runner copies it."""
    input_files: Callable[[AnalysisBase], list[Path]] | None = None
    """External files the stage reads (their content hashes enter the cache key)."""


STAGES: dict[str, StageSpec] = {}


def stage(
    kind: str,
    *,
    summary: str,
    version: int = 1,
    reads: tuple[str, ...] | None = None,
    needs: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    publish: Mapping[str, str] | None = None,
    input_files: Callable[[AnalysisBase], list[Path]] | None = None,
) -> Callable[[Callable[[StageContext], None]], Callable[[StageContext], None]]:
    """Register a stage function under ``kind`` (decorator)."""

    def register(run: Callable[[StageContext], None]) -> Callable[[StageContext], None]:
        STAGES[kind] = StageSpec(
            kind=kind,
            summary=summary,
            run=run,
            version=version,
            reads=(kind,) if reads is None else reads,
            needs=needs,
            optional=optional,
            publish=dict(publish or {}),
            input_files=input_files,
        )
        return run

    return register


def available_stages() -> dict[str, StageSpec]:
    """All registered stage kinds (every family's, once :mod:`lhcad.families.registry` is
    imported)."""
    return STAGES
