"""MkDocs hooks: the generated parts of the documentation, filled in at build time.

A page asks for generated content with a marker comment ``<!-- lhcad:NAME ARGUMENT -->``:

- ``yaml-reference``: every key of the analysis YAML, from the pydantic models
  (:func:`lhcad.families.reference.reference_markdown`, the table README.md embeds too);
- ``stages``: the stage catalogue, from the stage registry;
- ``analyses``: the analyses shipped in ``analyses/``, validated;
- ``cli``: every command of the click app with its usage and options;
- ``readme-block MARKER``: the code block after ``<!-- MARKER -->`` in README.md;
- ``readme-section HEADING``: README.md's ``## HEADING`` section, without its heading.

So nothing is written twice by hand: the reference follows the models, the CLI pages follow the
click app, new stages and config sections of new analyses appear on their own. An unknown
marker, heading or block fails the build.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"<!-- lhcad:([a-z-]+)(?: (.*?))? -->")


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _code_cell(text: str) -> str:
    """Inline code safe inside a Markdown table cell (a ``|`` in a code span would show as ``\\|``)."""
    return f"<code>{html.escape(text, quote=False).replace('|', '&#124;')}</code>"


def yaml_reference(_: str | None) -> str:
    """The reference table of :mod:`lhcad.families.reference`, cut into one table per top-level
    key (a heading each, so the page's contents list the sections)."""
    from lhcad.families.reference import reference_markdown

    header, separator, *rows = reference_markdown().splitlines()
    groups: dict[str, list[str]] = {}
    for row in rows:
        key = row.split("`")[1]
        groups.setdefault(key.split(".")[0], []).append(row)
    top_level = [row for name, group in groups.items() if len(group) == 1 for row in group]
    parts = ["### Top-level keys", "", header, separator, *top_level, ""]
    for name, group in groups.items():
        if len(group) > 1:
            parts += [f"### `{name}`", "", header, separator, *group, ""]
    return "\n".join(parts)


def stage_catalogue(_: str | None) -> str:
    import lhcad.families.registry  # noqa: F401  (registers every family's stages)
    from lhcad.pipeline.registry import available_stages

    lines = [
        "| stage | what it does | config it reads | needs | publishes |",
        "|---|---|---|---|---|",
    ]
    for kind, spec in available_stages().items():
        needs = [*spec.needs, *(f"({name})" for name in spec.optional)]
        published = ", ".join(f"`{target}`" for target in spec.publish.values())
        reads = ", ".join(f"`{name}`" for name in spec.reads)
        lines.append(
            f"| `{kind}` | {_cell(spec.summary)} | {reads} | {', '.join(needs)} | {published} |"
        )
    return "\n".join(lines) + "\n"


def shipped_analyses(_: str | None) -> str:
    from lhcad.families.registry import load_analysis

    lines = ["| file | description | pipeline |", "|---|---|---|"]
    for path in sorted((ROOT / "analyses").glob("*.yaml")):
        config = load_analysis(path)
        pipeline = " → ".join(config.pipeline)
        lines.append(f"| `analyses/{path.name}` | {_cell(config.description)} | {pipeline} |")
    return "\n".join(lines) + "\n"


def _commands(group: click.Group, ctx: click.Context) -> list[tuple[click.Command, click.Context]]:
    """Every command under ``group``, depth first, each with its context (for usage lines)."""
    found: list[tuple[click.Command, click.Context]] = []
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = click.Context(command, info_name=name, parent=ctx)
        found.append((command, sub))
        if isinstance(command, click.Group):
            found.extend(_commands(command, sub))
    return found


def _command_markdown(command: click.Command, ctx: click.Context) -> str:
    path = ctx.command_path
    lines = [
        f"## `{path}`",
        "",
        click.unstyle(command.help or command.short_help or "").strip(),
        "",
    ]
    lines += ["```text", command.get_usage(ctx).strip(), "```", ""]
    options = [
        p.get_help_record(ctx) for p in command.get_params(ctx) if isinstance(p, click.Option)
    ]
    rows = [record for record in options if record is not None]
    if rows:
        lines += ["| option | meaning |", "|---|---|"]
        lines += [f"| {_code_cell(names)} | {_cell(text)} |" for names, text in rows]
        lines.append("")
    return "\n".join(lines)


def cli_reference(_: str | None) -> str:
    from lhcad.cli import main

    root = click.Context(main, info_name="lhcad")
    parts = [_command_markdown(main, root)]
    parts += [_command_markdown(command, ctx) for command, ctx in _commands(main, root)]
    return "\n".join(parts)


def readme_block(marker: str | None) -> str:
    """The fenced code block right after ``<!-- marker -->`` in README.md."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {re.escape(marker or '')} -->\s*\n(```.*?\n```)", text, re.DOTALL)
    if found is None:
        raise ValueError(f"README.md has no code block after <!-- {marker} -->")
    return found[1] + "\n"


def readme_section(heading: str | None) -> str:
    """README.md's ``## heading`` section (up to the next ``## ``), without the heading."""
    text = README.read_text(encoding="utf-8")
    found = re.search(
        rf"^## {re.escape(heading or '')}\n(.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE
    )
    if found is None:
        raise ValueError(f"README.md has no section '## {heading}'")
    return found[1].strip() + "\n"


GENERATORS = {
    "yaml-reference": yaml_reference,
    "stages": stage_catalogue,
    "analyses": shipped_analyses,
    "cli": cli_reference,
    "readme-block": readme_block,
    "readme-section": readme_section,
}


def expand(markdown: str) -> str:
    """Replace every marker of ``markdown`` by its generated content."""

    def generate(match: re.Match[str]) -> str:
        name, argument = match[1], match[2]
        if name not in GENERATORS:
            raise ValueError(f"unknown docs marker lhcad:{name} (known: {', '.join(GENERATORS)})")
        return GENERATORS[name](argument)

    return MARKER.sub(generate, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: expand the markers of each page."""
    return expand(markdown)
