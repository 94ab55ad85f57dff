"""The family registry: every analysis family lhcad runs, its config model, its stages and its
report, and the analysis config as a discriminated union of the families' models.

An analysis YAML names its family with a top-level ``kind:``. A YAML without one (every file
written before families had names) belongs to the family whose stages its pipeline runs, and
without a pipeline to the LHCO resonance search. Importing this module registers every stage
kind with :mod:`lhcad.pipeline.registry`.

Examples:
    >>> family_of({"pipeline": ["digits_data", "bmm", "digits_report"]}).kind
    'digits'
    >>> family_of({"pipeline": ["data", "compress", "compress_report"]}).kind
    'compress'
    >>> family_of({}).kind
    'lhco'
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from lhcad.config.base import AnalysisBase
from lhcad.config.loader import apply_overrides, load_raw, parse_override, validate_raw
from lhcad.data.stage import Events
from lhcad.errors import ConfigError
from lhcad.families.compress import stages as _compress_stages  # noqa: F401
from lhcad.families.compress.config import COMPRESS_PIPELINE, CompressAnalysis
from lhcad.families.digits import stages as _digits_stages  # noqa: F401
from lhcad.families.digits.config import DIGITS_PIPELINE, DigitsAnalysis
from lhcad.families.egamma import stages as _egamma_stages  # noqa: F401
from lhcad.families.egamma.config import EGAMMA_PIPELINE, EgammaAnalysis
from lhcad.families.jet_images import stages as _jet_images_stages  # noqa: F401
from lhcad.families.jet_images.config import JET_IMAGES_PIPELINE, JetImagesAnalysis
from lhcad.families.lhco import stages as _lhco_stages  # noqa: F401
from lhcad.families.lhco.config import STANDARD_PIPELINE, AnalysisConfig, check_columns
from lhcad.families.lhco.stages.report import rebuild_search_report
from lhcad.families.pointcloud import stages as _pointcloud_stages  # noqa: F401
from lhcad.families.pointcloud.config import POINTCLOUD_PIPELINE, PointCloudAnalysis
from lhcad.pipeline.artifacts import Artifact
from lhcad.pipeline.registry import available_stages
from lhcad.pipeline.runner import STAGE_CHECKS

#: Rebuilds a finished run's report from its cached artifacts: (output directory, artifacts of
#: the run's stages, run.json, its analysis) -> the path of ``report/index.html``.
RebuildReport = Callable[[Path, dict[str, Artifact], Mapping[str, Any], AnalysisBase], Path]
#: Checks of an analysis that its model's types cannot express: (analysis, its file) -> None,
#: or a :class:`ConfigError` naming the dotted path.
CheckAnalysis = Callable[[Any, str], None]
#: Checks of an analysis against a stage's artifact, run as soon as the stage has it, before the
#: stages after it: (analysis, stage kind, artifact, its file) -> None, or an error naming the key.
CheckAfterStage = Callable[[Any, str, Artifact, str], None]


@dataclass(frozen=True)
class Family:
    """What lhcad knows of an analysis family."""

    kind: str
    """The ``kind:`` of its analysis YAML."""
    model: type[AnalysisBase]
    """Its analysis model: the sections its stages read."""
    stages: tuple[str, ...]
    """The stage kinds its pipelines may hold, in order."""
    report: str
    """The stage that builds its report."""
    rebuild_report: RebuildReport | None = None
    """How ``lhcad report OUT`` rebuilds its report; None: rerun its report stage on the cached
    artifacts of its inputs (:func:`lhcad.families.rebuild.rerun_report_stage`)."""
    check: CheckAnalysis | None = None
    """Checks of its analyses beyond the model's types (run on load, after the stage checks)."""
    after_stage: CheckAfterStage | None = None
    """Pre-flight checks against what a stage made (run by the runner right after the stage,
    so that a setting the data cannot satisfy fails before the expensive stages)."""


def check_search(config: AnalysisConfig, source: str) -> None:
    """The LHCO search's checks on load: its column names (:func:`check_columns`), and no
    ``select.top_n`` above ``data.max_events``."""
    check_columns(config, source)
    limit = config.data.max_events
    if limit is not None and "select" in config.stages_to_run()[0]:
        for n in config.select.top_n:
            if n > limit:
                raise ConfigError(
                    f"top_n {n} is larger than data.max_events ({limit}): the selection cannot hold more events "
                    "than the run reads",
                    source=source,
                    where="select.top_n",
                )


def check_search_after_stage(config: AnalysisConfig, kind: str, artifact: Artifact, source: str) -> None:
    """Right after the data stage, before any training: every ``select.top_n`` fits in the
    events the data stage kept (after ``data.max_events`` and the NaN/inf policy)."""
    if kind != "data" or "select" not in config.stages_to_run()[0]:
        return
    summary = artifact.read_json(Events.SUMMARY)
    kept = int(summary["n_events"])
    for n in config.select.top_n:
        if n > kept:
            read, limit = int(summary["n_read"]), config.data.max_events
            way = [f"{read} read"]
            if limit is not None and limit < read:
                way.append(f"{limit} of them sampled (data.max_events)")
            if summary.get("n_nonfinite"):
                way.append(f"{int(summary['n_nonfinite'])} dropped for NaN/inf features")
            raise ConfigError(
                f"top_n {n} is larger than the {kept} events the data stage kept ({', '.join(way)}): lower it",
                source=source,
                where="select.top_n",
            )


#: Every family, the default (the LHCO resonance search) first.
FAMILIES: dict[str, Family] = {
    family.kind: family
    for family in (
        Family("lhco", AnalysisConfig, STANDARD_PIPELINE, "report", rebuild_search_report, check_search, check_search_after_stage),
        Family("digits", DigitsAnalysis, DIGITS_PIPELINE, "digits_report"),
        Family("jet_images", JetImagesAnalysis, JET_IMAGES_PIPELINE, "jet_images_report"),
        Family("pointcloud", PointCloudAnalysis, POINTCLOUD_PIPELINE, "pointcloud_report"),
        Family("egamma", EgammaAnalysis, EGAMMA_PIPELINE, "classify_report"),
        Family("compress", CompressAnalysis, COMPRESS_PIPELINE, "compress_report"),
    )
}
DEFAULT_FAMILY = "lhco"

#: The stage kind -> the family it belongs to (a stage two families run, like ``data``, belongs
#: to the first of them).
STAGE_FAMILY: dict[str, str] = {}
for _family in FAMILIES.values():
    for _kind in _family.stages:
        STAGE_FAMILY.setdefault(_kind, _family.kind)

#: Any analysis: one family's model, chosen by ``kind``.
Analysis = Annotated[
    AnalysisConfig | DigitsAnalysis | JetImagesAnalysis | PointCloudAnalysis | EgammaAnalysis | CompressAnalysis,
    Field(discriminator="kind"),
]
ANALYSIS_ADAPTER: TypeAdapter[AnalysisBase] = TypeAdapter(Analysis)


def _check_after_stage(config: AnalysisBase, kind: str, artifact: Artifact, source: str) -> None:
    """The runner's hook (:data:`lhcad.pipeline.runner.STAGE_CHECKS`): the family's own."""
    family = FAMILIES.get(config.kind)
    if family is not None and family.after_stage is not None:
        family.after_stage(config, kind, artifact, source)


if _check_after_stage not in STAGE_CHECKS:
    STAGE_CHECKS.append(_check_after_stage)


def did_you_mean(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """``"; did you mean X?"`` when one of ``choices`` is close to ``name``, else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


def family_of(raw: Mapping[str, Any], source: str | Path = "") -> Family:
    """The family of a raw analysis mapping: its ``kind``, else the family whose stages its
    pipeline runs (the first such stage's when several), else the LHCO search."""
    kind = raw.get("kind")
    if kind is not None:
        if kind not in FAMILIES:
            hint = did_you_mean(str(kind), tuple(FAMILIES))
            raise ConfigError(f"unknown analysis kind {kind!r} (choose from: {', '.join(FAMILIES)}){hint}", source=source, where="kind")
        return FAMILIES[kind]
    pipeline = raw.get("pipeline")
    owners = [STAGE_FAMILY[s] for s in pipeline if isinstance(s, str) and s in STAGE_FAMILY] if isinstance(pipeline, list) else []
    others = [owner for owner in owners if owner != DEFAULT_FAMILY]
    return FAMILIES[others[0] if others else DEFAULT_FAMILY]


def validate_analysis(raw: Mapping[str, Any], source: str | Path = "", overridden: list[str] | tuple[str, ...] = ()) -> AnalysisBase:
    """Validate a raw mapping as its family's analysis (one-line :class:`ConfigError` naming the
    first problem's dotted path), then check what the types cannot express."""
    family = family_of(raw, source)
    config = validate_raw({**raw, "kind": family.kind}, family.model, source, overridden)
    check_semantics(config, family, str(source))
    return config


def check_semantics(config: AnalysisBase, family: Family, source: str) -> None:
    """The family's own checks (:attr:`Family.check`: the LHCO search's column names), then
    stages exist, belong to the family and come after what they need."""
    if family.check is not None:
        family.check(config, source)
    stages = available_stages()
    seen: set[str] = set()
    for i, kind in enumerate(config.pipeline):
        where = f"pipeline[{i}]"
        if kind not in stages:
            hint = did_you_mean(kind, family.stages)
            raise ConfigError(f"unknown stage kind {kind!r} (choose from: {', '.join(family.stages)}){hint}", source=source, where=where)
        if kind not in family.stages:
            raise ConfigError(
                f"stage {kind!r} is not a stage of a {family.kind} analysis (kind: {family.kind}; "
                f"choose from: {', '.join(family.stages)})",
                source=source,
                where=where,
            )
        if kind in seen:
            raise ConfigError(f"stage {kind!r} appears twice", source=source, where=where)
        missing = [need for need in stages[kind].needs if need not in seen]
        if missing:
            later = [need for need in missing if need in config.pipeline]
            problem = "which comes after it" if later else "which the pipeline lacks"
            raise ConfigError(f"stage {kind!r} needs {', '.join(missing)}, {problem}", source=source, where=where)
        seen.add(kind)


def unused_sections(config: AnalysisBase) -> list[str]:
    """The sections of ``config`` that no stage of its run reads (a digits analysis's ``train``
    when it only fits the mixture, the LHCO search's ``train`` with a weak scorer): ``lhcad
    validate`` leaves them out. The keys every analysis has and ``executor`` always count."""
    stages = available_stages()
    read = {name.split(".")[0] for kind in config.stages_to_run()[0] if kind in stages for name in stages[kind].reads}
    always = {*AnalysisBase.model_fields, "executor"}
    return [name for name in type(config).model_fields if name not in always and name not in read]


def load_analysis(
    path: str | Path, overrides: Mapping[str, Any] | list[str] | tuple[str, ...] | None = None
) -> AnalysisBase:
    """Load, override and validate an analysis YAML into its family's model.

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
    raw = apply_overrides(load_raw(path), overrides)
    return validate_analysis(raw, path, list(overrides))


def recorded_analysis(artifacts: Mapping[str, Artifact], run: Mapping[str, Any]) -> AnalysisBase:
    """The analysis of a finished run, from its stages' manifests: the whole analysis when a
    stage recorded it (``analysis`` among its reads), otherwise the sections the stages read,
    with defaults for the others; the family from its ``kind`` or its stages."""
    sections: dict[str, Any] = {"name": run.get("analysis", "analysis"), "pipeline": list(artifacts)}
    for artifact in artifacts.values():
        recorded = artifact.manifest.get("config", {})
        if "analysis" in recorded:
            return ANALYSIS_ADAPTER.validate_python(_with_kind(recorded["analysis"]))
        for name, value in recorded.items():
            *parents, leaf = name.split(".")
            node = sections
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        sections["seed"] = artifact.manifest.get("seed", 0)
    return ANALYSIS_ADAPTER.validate_python(_with_kind(sections))


def _with_kind(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded analysis with its ``kind``, and only its family's sections (runs of an lhcad
    before the families recorded no kind and every family's sections)."""
    family = family_of(raw)
    return {"kind": family.kind, **{k: v for k, v in raw.items() if k in family.model.model_fields}}
