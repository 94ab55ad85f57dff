"""The analysis YAML: validated by typed models, errors that name the file and the dotted path."""

from __future__ import annotations

from pathlib import Path

import pytest

from lhcad.config import parse_override
from lhcad.families.registry import load_analysis
from lhcad.families.schema import schema_text
from lhcad.errors import ConfigError
from tests.conftest import write_analysis

REPO = Path(__file__).resolve().parents[1]


def error_of(path: Path, overrides: list[str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_analysis(path, overrides)
    return info.value.line()


def test_defaults_give_the_standard_analysis(tmp_path: Path) -> None:
    config = load_analysis(write_analysis(tmp_path, "name: demo\n"))
    assert config.pipeline[0] == "data" and config.pipeline[-1] == "report"
    assert "mjj" not in config.preprocess.features
    assert config.select.top_n == [500, 1000, 2000]


def test_misspelled_key_three_levels_deep_names_file_and_path(tmp_path: Path) -> None:
    path = write_analysis(tmp_path, "name: demo\npreprocess:\n  split:\n    sed: 3\n")
    line = error_of(path)
    assert line.startswith(f"{path}: preprocess.split.sed: unknown key 'sed'")
    assert "seed" in line and "\n" not in line


def test_wrong_type_and_range_are_reported_with_their_path(tmp_path: Path) -> None:
    path = write_analysis(tmp_path, "train:\n  epochs: 0\n")
    assert "train.epochs" in error_of(path)
    path = write_analysis(tmp_path, "train:\n  members: many\n")
    assert "train.members" in error_of(path)


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = write_analysis(tmp_path, "name: demo\ntrain:\n  epochs: [1,\n")
    assert "line" in error_of(path) and "YAML syntax error" in error_of(path)


def test_set_overrides_parse_yaml_values_and_unknown_keys_fail(tmp_path: Path) -> None:
    path = write_analysis(tmp_path, "name: demo\n")
    config = load_analysis(path, ["select.top_n=[1000, 500]", "train.device=cpu"])
    assert config.select.top_n == [500, 1000]
    assert parse_override("data.max_events=1000") == ("data.max_events", 1000)
    assert "(from --set)" in error_of(path, ["select.topn=[5]"])


def test_include_blocks_with_overrides_on_top(tmp_path: Path) -> None:
    (tmp_path / "configs" / "models").mkdir(parents=True)
    (tmp_path / "configs" / "models" / "small.yaml").write_text("hidden: [8, 4]\nlatent_dim: 3\n")
    path = write_analysis(tmp_path, "train:\n  model:\n    include: models/small.yaml\n    latent_dim: 1\n")
    config = load_analysis(path)
    assert config.train.model.hidden == [8, 4]
    assert config.train.model.latent_dim == 1
    missing = write_analysis(tmp_path, "train:\n  model:\n    include: models/nope.yaml\n", "b.yaml")
    assert "train.model.include" in error_of(missing)


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ("[data, magic]", "unknown stage kind 'magic'"),
        ("[data, data]", "appears twice"),
        ("[preprocess, data]", "needs data, which comes after it"),
    ],
)
def test_impossible_pipelines_are_rejected(tmp_path: Path, pipeline: str, message: str) -> None:
    path = write_analysis(tmp_path, f"pipeline: {pipeline}\n")
    assert message in error_of(path)


def test_unknown_feature_is_a_config_error(tmp_path: Path) -> None:
    path = write_analysis(tmp_path, "preprocess:\n  features: [mj_heavy, mass_of_the_universe]\n")
    assert "preprocess.features[1]" in error_of(path)


def test_shipped_json_schema_is_in_sync_with_the_models() -> None:
    shipped = (REPO / "configs" / "lhcad.schema.json").read_text()
    assert shipped == schema_text(), "run: python -m lhcad.families.schema configs/lhcad.schema.json"


def test_every_config_field_has_a_docstring() -> None:
    from lhcad.families.schema import analysis_schema

    undocumented = [
        f"{name}.{field}"
        for name, model in analysis_schema()["$defs"].items()
        for field, spec in model.get("properties", {}).items()
        if not spec.get("description")
    ]
    assert undocumented == []


def test_readme_yaml_reference_is_generated_from_the_models() -> None:
    from lhcad.families.reference import BEGIN, END, iter_fields, reference_markdown

    readme = (REPO / "README.md").read_text()
    embedded = readme[readme.index(BEGIN) + len(BEGIN) : readme.index(END)].strip()
    assert embedded == reference_markdown().strip(), "regenerate with python -m lhcad.families.reference"
    assert all(f"`{dotted}`" in embedded for dotted, _ in iter_fields())


def test_kind_picks_the_family_and_its_sections_only(tmp_path: Path) -> None:
    from lhcad.families.digits.config import DigitsAnalysis

    config = load_analysis(write_analysis(tmp_path, "kind: digits\nname: d\ndigits: {bmm: {components: 3}}\n"))
    assert isinstance(config, DigitsAnalysis) and config.digits.bmm.components == 3
    assert set(config.model_dump()) == {"kind", "name", "description", "seed", "pipeline", "digits", "train", "report"}
    line = error_of(write_analysis(tmp_path, "kind: digits\nname: d\nselect: {top_n: [5]}\n"))
    assert line.endswith("select: unknown key 'select' (allowed: kind, name, description, seed, pipeline, digits, train, report)")
    assert "kind: unknown analysis kind 'lhc' (choose from: lhco, digits" in error_of(write_analysis(tmp_path, "kind: lhc\n"))


def test_a_file_without_kind_belongs_to_its_pipelines_family(tmp_path: Path) -> None:
    """Files written before families had names keep working."""
    assert load_analysis(write_analysis(tmp_path, "name: d\npipeline: [digits_data, bmm]\n")).kind == "digits"
    assert load_analysis(write_analysis(tmp_path, "name: c\npipeline: [data, compress]\n")).kind == "compress"
    assert load_analysis(write_analysis(tmp_path, "name: s\npipeline: [data, preprocess]\n")).kind == "lhco"
    assert load_analysis(write_analysis(tmp_path, "name: s\n")).kind == "lhco"
    line = error_of(write_analysis(tmp_path, "name: m\npipeline: [digits_data, bmm, pointcloud_data]\n"))
    assert "pipeline[2]: stage 'pointcloud_data' is not a stage of a digits analysis" in line


def test_every_shipped_analysis_names_its_family() -> None:
    import yaml

    for path in sorted((REPO / "analyses").glob("*.yaml")):
        kind = yaml.safe_load(path.read_text())["kind"]
        assert load_analysis(path).kind == kind == load_analysis(path, {"kind": None}).kind, path
