"""The documentation site builds in strict mode (any warning fails) without network, and its
generated pages cover the code: every config field, every stage, every CLI command."""

from __future__ import annotations

import html
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once by ``mkdocs build --strict`` as CI and a user would run it."""
    site_dir = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict"]
    command += ["--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site_dir)]
    build = subprocess.run(
        command, check=False, capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert build.returncode == 0, build.stderr[-4000:]
    return site_dir


def _page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


def _schema_keys(node: dict[str, Any], defs: dict[str, Any], path: str = "") -> Iterator[str]:
    """Every dotted key of a JSON schema, read from pydantic's own schema of the models (not from
    lhcad's reference generator): ``.<name>`` for the entries of a mapping, ``[]`` of a list."""
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    for branch in (*node.get("anyOf", ()), *node.get("oneOf", ()), *node.get("allOf", ())):
        yield from _schema_keys(branch, defs, path)
    for name, sub in node.get("properties", {}).items():
        key = f"{path}.{name}" if path else name
        yield key
        yield from _schema_keys(sub, defs, key)
    if isinstance(node.get("additionalProperties"), dict):
        yield from _schema_keys(node["additionalProperties"], defs, f"{path}.<name>")
    if isinstance(node.get("items"), dict):
        yield from _schema_keys(node["items"], defs, f"{path}[]")


@pytest.mark.slow
def test_yaml_reference_page_lists_every_field_of_the_config_models(site: Path) -> None:
    from lhcad.families.lhco.config import AnalysisConfig
    from lhcad.families.schema import analysis_schema

    schema = analysis_schema()
    keys = set(_schema_keys(schema, schema.get("$defs", {})))
    assert {"train.epochs", "select.top_n", "fit.models.<name>.signal", "data.generate.mZ", "digits.bmm.components"} <= keys
    page = _page(site, "configuration")
    missing = sorted(
        key for key in keys if f"<code>{html.escape(key, quote=False)}</code>" not in page
    )
    assert missing == []
    # with the meaning of each field, from its docstring
    epochs = AnalysisConfig.model_fields["train"].annotation.model_fields["epochs"].description
    assert html.escape(epochs, quote=False) in page


@pytest.mark.slow
def test_stage_and_cli_pages_cover_the_registry_and_the_click_app(site: Path) -> None:
    from lhcad.cli import main
    from lhcad.pipeline.registry import available_stages

    stages = _page(site, "stages")
    assert all(f"<code>{kind}</code>" in stages for kind in available_stages())

    cli = _page(site, "cli")
    root = click.Context(main, info_name="lhcad")
    for name in main.list_commands(root):
        assert f"<code>lhcad {name}</code>" in cli, name
        for param in main.get_command(root, name).params:
            if isinstance(param, click.Option) and not param.hidden:
                assert html.escape(param.opts[0], quote=False) in cli, (name, param.opts)


@pytest.mark.slow
def test_pages_have_no_unexpanded_markers_and_the_api_reference_is_generated(site: Path) -> None:
    pages = list(site.rglob("*.html"))
    assert not [p for p in pages if "<!-- lhcad:" in p.read_text(encoding="utf-8")]
    from lhcad import api as api_module

    api = _page(site, "api")
    for name in [*api_module.__all__, "Run.fits", "Run.report"]:
        assert f'id="lhcad.api.{name}"' in api, name
    assert 'id="lhcad.errors.ConfigError"' in api
    assert ":class:" not in api and ":func:" not in api  # Sphinx roles turned into code
    assert (site / "tutorial.ipynb").exists()
    physics = _page(site, "physics")
    for paper in ("2101.08320", "1805.02664", "1902.02634", "2109.00546", "1101.0390", "1005.1891"):
        assert f"arxiv.org/abs/{paper}" in physics


def test_a_missing_readme_section_is_an_error_not_an_empty_page() -> None:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    assert "pip install" in hooks.expand("<!-- lhcad:readme-block test-command -->")
    with pytest.raises(ValueError, match="no section"):
        hooks.expand("<!-- lhcad:readme-section No Such Heading -->")
    with pytest.raises(ValueError, match="unknown docs marker"):
        hooks.expand("<!-- lhcad:nonsense -->")
