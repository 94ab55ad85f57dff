"""The stage runner: content-keyed caching, exact invalidation, atomic artifacts, locks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lhcad.families.registry import load_analysis
from lhcad.errors import LhcadError
from lhcad.pipeline import runner
from lhcad.pipeline.runner import output_lock, run_pipeline
from tests.conftest import write_analysis


def analysis(tmp_path: Path, data: Path, extra: str = "") -> Path:
    return write_analysis(tmp_path, f"name: t\npipeline: [data, preprocess]\ndata:\n  path: {data}\n{extra}")


def cached_flags(out: Path) -> dict[str, bool]:
    return {s["name"]: s["cached"] for s in json.loads((out / "run.json").read_text())["stages"]}


def test_second_identical_run_reuses_every_stage(tmp_path: Path, toy_parquet: Path) -> None:
    config = load_analysis(analysis(tmp_path, toy_parquet))
    out = tmp_path / "out"
    first = run_pipeline(config, out=out)
    assert not any(s.cached for s in first.stages)
    second = run_pipeline(config, out=out)
    assert all(s.cached for s in second.stages)
    assert [s.key for s in first.stages] == [s.key for s in second.stages]
    assert cached_flags(out) == {"data": True, "preprocess": True}
    assert (out / "lhcad.log").read_text().count("cached") >= 2


def test_changing_one_stage_recomputes_it_and_only_what_follows(tmp_path: Path, toy_parquet: Path) -> None:
    path = analysis(tmp_path, toy_parquet)
    out = tmp_path / "out"
    run_pipeline(load_analysis(path), out=out)
    run_pipeline(load_analysis(path, {"preprocess.n_quantiles": 50}), out=out)
    assert cached_flags(out) == {"data": True, "preprocess": False}
    run_pipeline(load_analysis(path, {"data.max_events": 3000}), out=out)
    assert cached_flags(out) == {"data": False, "preprocess": False}


def test_force_recomputes_everything(tmp_path: Path, toy_parquet: Path) -> None:
    config = load_analysis(analysis(tmp_path, toy_parquet))
    out = tmp_path / "out"
    run_pipeline(config, out=out)
    run_pipeline(config, out=out, force=True)
    assert cached_flags(out) == {"data": False, "preprocess": False}


def test_editing_the_input_file_invalidates_the_data_stage(tmp_path: Path, toy_events, toy_parquet: Path) -> None:
    from lhcad.data.parquet import write_events_parquet

    config = load_analysis(analysis(tmp_path, toy_parquet))
    out = tmp_path / "out"
    run_pipeline(config, out=out)
    write_events_parquet(toy_events.iloc[:5000], toy_parquet)
    run_pipeline(config, out=out)
    assert cached_flags(out)["data"] is False


def test_a_failing_stage_leaves_no_artifact_and_a_failed_run_record(tmp_path: Path, toy_parquet: Path, monkeypatch) -> None:
    config = load_analysis(analysis(tmp_path, toy_parquet))
    out = tmp_path / "out"
    spec = runner.available_stages()["preprocess"]

    def explode(ctx: runner.StageContext) -> None:
        ctx.out.write_json("half.json", {"partial": True})
        raise RuntimeError("killed mid-stage")

    monkeypatch.setitem(runner.available_stages(), "preprocess", type(spec)(**{**spec.__dict__, "run": explode}))
    with pytest.raises(RuntimeError):
        run_pipeline(config, out=out)
    assert list((out / "cache" / "preprocess").iterdir()) == []
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    monkeypatch.undo()
    run_pipeline(config, out=out)
    assert cached_flags(out) == {"data": True, "preprocess": False}


def test_a_second_run_on_the_same_output_stops_with_a_clear_error(tmp_path: Path, toy_parquet: Path) -> None:
    config = load_analysis(analysis(tmp_path, toy_parquet))
    out = tmp_path / "out"
    out.mkdir()
    with output_lock(out), pytest.raises(LhcadError, match="another lhcad run"):
        run_pipeline(config, out=out)


def test_a_stage_reading_part_of_a_section_is_not_rerun_when_another_part_changes(tmp_path: Path) -> None:
    """Dotted reads: the image generator's key covers jet_images.data only, so a new training
    setting retrains without regenerating the images."""
    from lhcad.families.jet_images.config import JetImagesAnalysis
    from lhcad.pipeline.registry import available_stages
    from lhcad.pipeline.runner import stage_key

    spec = available_stages()["jet_images_data"]
    assert spec.reads == ("jet_images.data",)
    base = JetImagesAnalysis()
    retrained = JetImagesAnalysis.model_validate({"jet_images": {"train": {"epochs": 3}}})
    more_jets = JetImagesAnalysis.model_validate({"jet_images": {"data": {"background": {"n": 10}}}})
    assert stage_key(spec, base, {}, {}) == stage_key(spec, retrained, {}, {})
    assert stage_key(spec, base, {}, {}) != stage_key(spec, more_jets, {}, {})


def test_the_scorer_decides_whether_the_vae_is_trained(tmp_path: Path, toy_parquet: Path) -> None:
    """A weak scorer drops the train stage, the VAE scorer adds it where the pipeline lacks it
    (so ``--set score.method=...`` works on every LHCO analysis); the run says so."""
    weak = load_analysis(analysis(tmp_path, toy_parquet), {"pipeline": ["data", "preprocess", "train", "score"], "score.method": "cwola"})
    assert weak.stages_to_run() == (["data", "preprocess", "score"], "score.method cwola: the train stage (VAE training) is skipped")
    plain = load_analysis(analysis(tmp_path, toy_parquet), {"pipeline": ["data", "preprocess", "train"]})
    assert plain.stages_to_run() == (["data", "preprocess", "train"], None)  # no scorer, nothing to decide
    vae = load_analysis(
        analysis(tmp_path, toy_parquet), {"pipeline": ["data", "preprocess", "score"], "train.epochs": 1, "train.members": 1}
    )
    lines: list[str] = []
    record = run_pipeline(vae, out=tmp_path / "out", echo=lines.append)
    assert [s.name for s in record.stages] == ["data", "preprocess", "train", "score"]
    assert lines[0] == "score.method vae: the train stage (VAE training) is added before score"
    assert "added before score" in (tmp_path / "out" / "lhcad.log").read_text()
