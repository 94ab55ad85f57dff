"""Stage ``score``: per-event anomaly scores from the scorer ``score.method`` names
(:mod:`lhcad.families.lhco.scorers`: the VAE ensemble, CWoLa or CATHODE)."""

from __future__ import annotations

from pathlib import Path

from lhcad.config.base import AnalysisBase
from lhcad.families.lhco.artifacts import SearchArtifacts
from lhcad.families.lhco.config import AnalysisConfig, ScoreConfig
from lhcad.families.lhco.scorers import scorer_of
from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext


def score_input_files(config: AnalysisBase) -> list[Path]:
    """The external files the scorer reads (a weak scorer's template)."""
    assert isinstance(config, AnalysisConfig)
    return scorer_of(config.score).input_files()


@stage(
    "score",
    version=4,
    summary="per-event anomaly scores: the VAE ensemble's latent scores, or a weak scorer (CWoLa, CATHODE) per mjj window",
    needs=("data", "preprocess"),
    optional=("train",),
    input_files=score_input_files,
)
def run_score(ctx: StageContext) -> None:
    cfg: ScoreConfig = ctx.config()
    scorer_of(cfg).score(SearchArtifacts(ctx.inputs), ctx.executor, ctx.log).write(ctx.out)
