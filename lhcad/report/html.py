"""The static HTML page of a report: sections of paragraphs, tables, code blocks and figures.

Everything is self-contained (inline CSS, no script, no network resource); figures are linked
by relative paths (``figures/<name>.png``); every text is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field


def escape(text: object) -> str:
    """HTML-escape any text that goes into the page."""
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Code:
    """A preformatted block (configuration, provenance)."""

    text: str
    caption: str = ""


@dataclass(frozen=True)
class Flagged:
    """A table cell shown in red (a fit that is not valid, a parameter at its limit); ``note``
    is the tooltip."""

    text: str
    note: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    id: str = ""
    caption: str = ""
    flagged_rows: frozenset[int] = frozenset()
    """Rows (0-based, without the header) shown in red."""


@dataclass(frozen=True)
class FigureRef:
    """A figure: ``figures/<name>.png`` on the page, the other formats linked."""

    name: str
    caption: str
    formats: Sequence[str] = ("png",)
    wide: bool = True
    """Wide figures (grids) take the full width; others sit ``columns`` per row."""
    columns: int = 2
    min_width: int | None = None
    """Instead of ``columns``: as many per row as fit at least this many pixels of image each
    (one per row on a narrower page)."""


Block = Paragraph | Code | Table | FigureRef


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)


CSS = """
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #d9dce1; --accent: #1f5fa8; --bg-alt: #f5f6f8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); }
header { background: #0f2747; color: #fff; padding: 18px 24px 12px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #c9d6ea; }
header p.summary { color: #fff; font-weight: 600; margin-top: 4px; }
nav { position: sticky; top: 0; z-index: 1; background: #fff; border-bottom: 1px solid var(--line); padding: 6px 24px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 16px; font-weight: 600; }
main { max-width: 1320px; margin: 0 auto; padding: 8px 24px 48px; }
section { border-bottom: 1px solid var(--line); padding: 12px 0 20px; }
h2 { font-size: 21px; margin: 12px 0 8px; }
.table-wrap { overflow-x: auto; margin: 8px 0 12px; }
table { border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; color: var(--muted); padding-bottom: 4px; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: right; white-space: nowrap; }
th { background: var(--bg-alt); text-align: left; white-space: normal; vertical-align: bottom; min-width: 4em; }
td.text, th:first-child { text-align: left; }
td.text { white-space: normal; overflow-wrap: anywhere; }
table.kv td { text-align: left; }
pre { background: var(--bg-alt); border: 1px solid var(--line); padding: 10px; overflow-x: auto; font-size: 13px; max-height: 480px; }
.figures { display: grid; grid-template-columns: repeat(var(--columns, 2), minmax(0, 1fr)); gap: 12px; margin: 8px 0; }
figure { margin: 0; border: 1px solid var(--line); padding: 8px; background: #fff; }
figure.wide { grid-column: 1 / -1; }
figure img { width: 100%; height: auto; display: block; }
figure.wide img { max-width: 1200px; margin: 0 auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.figures.fill { grid-template-columns: repeat(auto-fill, minmax(min(100%, calc(var(--min-width) + 18px)), 1fr)); }
.figures.fill img { max-width: 900px; margin: 0 auto; }
tr.flagged td, td.flagged { color: #b00020; }
td.flagged { font-weight: 600; }
@media (max-width: 900px) { .figures { grid-template-columns: 1fr; } }
"""


NUMBER = re.compile(r"^[\d\s.,+\-−±/e]*\d[\d\s.,+\-−±/e]*$|^–$")
"""Cells that read as numbers (``1,234``, ``3.2e-05``, ``−10.0 / +12.0``, ``100 ± 15``, ``–``)."""


def _cell(value: object) -> str:
    """A table cell: numbers right-aligned (the column's default), text left-aligned; flagged
    cells red, with their note as the tooltip."""
    text = str(value)
    classes = [] if NUMBER.match(text) else ["text"]
    title = ""
    if isinstance(value, Flagged):
        classes.append("flagged")
        title = f' title="{escape(value.note)}"' if value.note else ""
    css = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{css}{title}>{escape(text)}</td>"


def _table(table: Table) -> str:
    ident = f' id="{escape(table.id)}"' if table.id else ""
    ident += "" if table.columns else ' class="kv"'
    head = "<thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in table.columns) + "</tr></thead>" if table.columns else ""
    body = "".join(
        ('<tr class="flagged">' if i in table.flagged_rows else "<tr>") + "".join(_cell(v) for v in row) + "</tr>"
        for i, row in enumerate(table.rows)
    )
    caption = f"<caption>{escape(table.caption)}</caption>" if table.caption else ""
    return f'<div class="table-wrap"><table{ident}>{caption}{head}<tbody>{body}</tbody></table></div>'


def _figure(fig: FigureRef) -> str:
    src = escape(f"figures/{fig.name}.png")
    others = " ".join(f'<a href="{escape(f"figures/{fig.name}.{fmt}")}">{escape(fmt.upper())}</a>' for fmt in fig.formats if fmt != "png")
    links = f" [{others}]" if others else ""
    css = ' class="wide"' if fig.wide else ""
    return (
        f'<figure{css} id="fig-{escape(fig.name)}"><a href="{src}"><img src="{src}" alt="{escape(fig.caption)}"></a>'
        f"<figcaption>{escape(fig.caption)}{links}</figcaption></figure>"
    )


def _blocks(blocks: Sequence[Block]) -> str:
    parts: list[str] = []
    figures: list[str] = []
    layout: tuple[int, int | None] = (2, None)

    def flush() -> None:
        if figures:
            columns, min_width = layout
            grid = (
                f'<div class="figures fill" style="--min-width: {min_width}px">'
                if min_width
                else f'<div class="figures" style="--columns: {columns}">'
            )
            parts.append(grid + "".join(figures) + "</div>")
            figures.clear()

    for block in blocks:
        if isinstance(block, FigureRef):
            if (block.columns, block.min_width) != layout:
                flush()
                layout = (block.columns, block.min_width)
            figures.append(_figure(block))
            continue
        flush()
        if isinstance(block, Paragraph):
            parts.append(f"<p>{escape(block.text)}</p>")
        elif isinstance(block, Code):
            caption = f"<p>{escape(block.caption)}</p>" if block.caption else ""
            parts.append(f"{caption}<pre>{escape(block.text)}</pre>")
        else:
            parts.append(_table(block))
    flush()
    return "\n".join(parts)


def render_page(title: str, subtitle: str, sections: Sequence[Section], summary: str | Sequence[str] = "") -> str:
    """The whole page; ``summary`` (the result, a line or a list of lines) goes under the title."""
    lines = [summary] if isinstance(summary, str) else list(summary)
    nav = "".join(f'<a href="#{escape(s.id)}">{escape(s.title)}</a>' for s in sections)
    body = "\n".join(
        f'<section id="{escape(s.id)}"><h2>{escape(s.title)}</h2>\n{_blocks(s.blocks)}</section>' for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
        f"<body><header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p>"
        + "".join(f'<p class="summary">{escape(line)}</p>' for line in lines if line)
        + "</header>\n"
        f"<nav>{nav}</nav>\n<main>\n{body}\n</main></body></html>\n"
    )
