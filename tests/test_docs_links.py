"""README.md and the documentation pages hold together: every relative link (and image) points to
a file that exists, with the heading its ``#anchor`` names, and docs/tutorial.md is the tutorial
notebook as it is now (docs/tutorial_export.py). Cheap: nothing is built or executed."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

FENCED = re.compile(r"^(```+|~~~+).*?^\1\s*$", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"(`+).+?\1", re.DOTALL)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""<(?:a|img)\b[^>]*?\b(?:href|src)=["']([^"']+)["']""")


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def links(page: Path) -> list[str]:
    """The targets of a page's Markdown and HTML links and images, code left out."""
    text = INLINE_CODE.sub("", FENCED.sub("", page.read_text(encoding="utf-8")))
    return [*LINK.findall(text), *HTML_LINK.findall(text)]


def slug(heading: str) -> str:
    """The anchor MkDocs' ``toc`` extension gives a heading (its default slugify)."""
    text = re.sub(r"<[^>]+>|`", "", heading)
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings, with the generated content of its markers
    (docs/hooks.py, as the site build sees them) and its ``{#id}`` attributes."""
    text = page.read_text(encoding="utf-8")
    if page.parent == DOCS:
        text = _load(DOCS / "hooks.py").expand(text)
    text = FENCED.sub("", text)
    found = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", text, flags=re.MULTILINE):
        explicit = re.search(r"\{#([\w-]+)\}\s*$", heading)
        found.add(explicit[1] if explicit else slug(heading))
    return found


def test_link_extraction_sees_markdown_html_and_images_but_not_code(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "[a](x.md#b) ![i](img/y.png) [web](https://e.org) <img src=\"z.png\">\n"
        "`[not](code.md)`\n```\n[not](block.md)\n```\n"
    )
    assert links(page) == ["x.md#b", "img/y.png", "https://e.org", "z.png"]
    assert slug("Raw particle files: clustered into jets for you") == (
        "raw-particle-files-clustered-into-jets-for-you"
    )
    assert slug("`lhcad run`, fast") == "lhcad-run-fast"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file_and_heading(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (https:, mailto:) or an anchor of the page itself (mkdocs checks those)
        path_text, _, anchor = target.partition("#")
        path = (page.parent / path_text).resolve()
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {path.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_the_tutorial_page_is_the_notebook_as_it_is_now() -> None:
    """docs/tutorial.md, its outputs removed, is what docs/tutorial_export.py makes of the
    notebook's cells: a changed cell fails here until the page is exported again."""
    pytest.importorskip("nbformat")
    export = _load(DOCS / "tutorial_export.py")
    assert export.is_current(), "docs/tutorial.md is out of date: run python docs/tutorial_export.py"
    page = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\(img/tutorial/([\w.-]+\.png)\)", page))
    assert shown, "the exported page shows the notebook's figures"
    assert shown == {path.name for path in (DOCS / "img" / "tutorial").glob("*.png")}


def test_the_export_check_sees_a_changed_cell() -> None:
    pytest.importorskip("nbformat")
    export = _load(DOCS / "tutorial_export.py")
    notebook = export.read_notebook()
    for cell in notebook.cells:
        cell.pop("outputs", None)
    page = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    assert export.source_of(page) == export.render(notebook)
    notebook.cells[1].source += "\nprint('changed')"
    assert export.source_of(page) != export.render(notebook)
