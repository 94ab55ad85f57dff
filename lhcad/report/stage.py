"""The report stage of a family, made by one factory (:func:`report_stage`).

Every family other than the LHCO search ends with a report stage of the same shape: it reads its
inputs' artifacts, draws figures into ``report/figures/`` in the report's style, writes
``report/index.html`` (the family's sections, then the resolved configuration and the
provenance) and ``results.json``, and publishes both into the output directory. The family
gives only what is its own: a :data:`PageBuilder` that returns the sections, the one-line
summary and the results (:class:`ReportPage`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lhcad.pipeline.registry import stage
from lhcad.pipeline.runner import StageContext, versions
from lhcad.report.html import Section, render_page

if TYPE_CHECKING:
    from lhcad.report.parts import FigureWriter


@dataclass
class ReportPage:
    """What a family's report holds.

    Attributes:
        sections: the family's sections (the configuration and provenance sections follow them).
        summary: the result in a line (or lines), under the title.
        results: the content of ``results.json``.
        configuration: the configuration section, where the family shows less than the whole
            resolved analysis (default: :func:`lhcad.report.parts.config_section`).
    """

    sections: list[Section]
    summary: str | Sequence[str]
    results: dict[str, Any]
    configuration: Section | None = None


#: ``build(ctx, figures)`` -> the page; ``figures`` saves figures into the report (called inside
#: the report's plot style).
PageBuilder = Callable[[StageContext, "FigureWriter"], ReportPage]


def report_stage(
    kind: str,
    *,
    summary: str,
    subject: str,
    needs: tuple[str, ...],
    optional: tuple[str, ...] = (),
    reads: tuple[str, ...] = (),
    builder: Callable[[], PageBuilder],
) -> Callable[[StageContext], None]:
    """Register the report stage ``kind`` of a family and return its function.

    Args:
        kind: the stage's name (``<family>_report``).
        summary: the stage's one-line description.
        subject: the page's subtitle when the analysis has no description.
        needs: the stages whose artifacts the report reads; optional: those it reads if they ran.
        reads: config sections the report depends on besides ``report`` and ``analysis``.
        builder: returns the family's :data:`PageBuilder`; called when the stage runs, so that the
            family's report module (and matplotlib) is imported only then.
    """

    @stage(
        kind,
        summary=summary,
        reads=(*reads, "report", "analysis"),
        needs=needs,
        optional=optional,
        publish={"report": "report", "results.json": "results.json"},
    )
    def run_report(ctx: StageContext) -> None:
        from lhcad.plots.style import plot_style  # matplotlib: only when a report is drawn
        from lhcad.report.parts import FigureWriter, config_section, provenance_section

        analysis = ctx.config("analysis")
        directory = ctx.out.path("report")
        directory.mkdir()
        figures = FigureWriter.for_report(directory, analysis)
        with plot_style(analysis.report.style):
            page = builder()(ctx, figures)
        known = versions()
        configuration = page.configuration or config_section(analysis)
        sections = [*page.sections, configuration, provenance_section(analysis, ctx.inputs, known)]
        subtitle = f"{analysis.description or subject} — lhcad {known.get('lhcad', '')}"
        html = render_page(f"lhcad report: {analysis.name}", subtitle, sections, summary=page.summary)
        (directory / "index.html").write_text(html, encoding="utf-8")
        ctx.out.write_json("results.json", page.results)

    return run_report
