"""The histogram stage writes a valid UHI histograms file (uhi's ``histograms.schema.json``),
into the cache and the output directory, whose histograms read back with ``hist`` are the
events' counts exactly, on named and labelled axes; a weak scorer's background references are
Weight histograms in the same file; runs from before the UHI file still open."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import hist
import jsonschema
import numpy as np
import pytest
import referencing
import yaml

import lhcad
from lhcad.config.section import Binning
from lhcad.data.columns import AXIS_LABELS
from lhcad.families.lhco.artifacts import Histograms
from lhcad.histograms import fill_histogram, histograms_from_json
from lhcad.pipeline.artifacts import Artifact, ArtifactWriter
from lhcad.pipeline.runner import run_pipeline
from tests.conftest import toy_lhco_analysis, write_analysis


def uhi_validator() -> jsonschema.Draft7Validator:
    """A validator of uhi's histograms.schema.json, which refers to histogram.schema.json."""
    schemas = resources.files("uhi") / "resources"
    single = json.loads((schemas / "histogram.schema.json").read_text(encoding="utf-8"))
    many = json.loads((schemas / "histograms.schema.json").read_text(encoding="utf-8"))
    registry = referencing.Registry().with_resources(
        (name, referencing.Resource.from_contents(schema))
        for schema in (single, many)
        for name in (schema["$id"], schema["$id"].rsplit("/", 1)[-1])
    )
    return jsonschema.Draft7Validator(many, registry=registry)


def assert_valid_uhi(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in uhi_validator().iter_errors(data)]
    assert not errors, errors
    return data


def test_the_uhi_schema_rejects_the_old_axis_metadata() -> None:
    """What the stage wrote before (#31): the axis name nested in ``metadata.metadata``."""
    old = {
        "all/mjj": {
            "uhi_schema": 1,
            "axes": [{"type": "regular", "lower": 0.0, "upper": 1.0, "bins": 1, "underflow": True, "overflow": True,
                      "circular": False, "metadata": {"metadata": {"name": "mjj"}}}],
            "storage": {"type": "weighted", "values": [0.0, 1.0, 0.0], "variances": [0.0, 1.0, 0.0]},
        }
    }  # fmt: skip
    assert not uhi_validator().is_valid(old)


@pytest.mark.slow
def test_the_histogram_stage_publishes_a_uhi_file_of_the_events_counts(tmp_path: Path) -> None:
    path = toy_lhco_analysis(tmp_path, 2000, 200, seed=5, select={"top_n": [100, 300]}, name="uhi")
    config = lhcad.load_analysis(path, {"pipeline": ["data", "preprocess", "train", "score", "select", "histogram"]})
    run = lhcad.run(config, out=tmp_path / "out")
    published = tmp_path / "out" / "histograms.json"
    cached = run.artifact("histogram").path(Histograms.FILE)
    assert published.read_bytes() == cached.read_bytes()
    data = assert_valid_uhi(published)
    observables = config.histogram.observables
    assert set(data) == {f"{sel}/{obs}" for sel in ("all", "top100", "top300") for obs in observables}

    events, rows = run.events(), {"all": None, **run.selections()}
    back = histograms_from_json(published.read_text(encoding="utf-8"))
    for key, h in back.items():
        sel, obs = key.split("/")
        binning = config.histogram.binning[obs]
        assert isinstance(h, hist.Hist) and h.name == key
        assert h.axes[0].name == obs and h.axes[0].label == AXIS_LABELS[obs]
        values = events[obs].to_numpy() if rows[sel] is None else events[obs].to_numpy()[rows[sel]]
        edges = np.linspace(binning.lo, binning.hi, binning.bins + 1)
        np.testing.assert_allclose(h.axes[0].edges, edges, rtol=1e-12)
        expected = np.concatenate([[np.sum(values < binning.lo)], np.histogram(values, edges)[0], [np.sum(values >= binning.hi)]])
        assert h.values(flow=True).dtype.kind == "i"
        np.testing.assert_array_equal(h.values(flow=True), expected)  # exact, flow bins included
        assert h.sum(flow=True) == len(values)
        assert h == run.histograms()[sel][obs]


def test_references_share_the_file_and_old_runs_still_open(tmp_path: Path) -> None:
    binning = Binning(bins=4, lo=0.0, hi=400.0)
    rng = np.random.default_rng(1)
    values, weights = rng.uniform(-50, 450, 300), rng.uniform(0.5, 2.0, 300)
    counts = fill_histogram(values[:40], binning, "mj_heavy", name="top40/mj_heavy")
    reference = fill_histogram(values, binning, "mj_heavy", weights, name="reference/top40/mj_heavy")
    writer = ArtifactWriter(tmp_path)
    Histograms({"top40": {"mj_heavy": counts}}, {"top40": {"mj_heavy": reference}}).write(writer)
    data = assert_valid_uhi(tmp_path / Histograms.FILE)
    assert set(data) == {"top40/mj_heavy", "reference/top40/mj_heavy"}
    assert data["reference/top40/mj_heavy"]["storage"]["type"] == "weighted"

    read = Histograms.read(Artifact("histogram", "key", tmp_path))
    assert read.selections() == ["top40"] and read.hists["top40"]["mj_heavy"] == counts
    sumw, sumw2 = read.reference("top40", "mj_heavy") or (None, None)
    inside = (values >= 0.0) & (values < 400.0)
    assert sumw is not None and sumw2 is not None
    np.testing.assert_allclose(sumw, np.histogram(values[inside], 4, (0.0, 400.0), weights=weights[inside])[0], rtol=1e-12)
    np.testing.assert_allclose(sumw2, np.histogram(values[inside], 4, (0.0, 400.0), weights=weights[inside] ** 2)[0], rtol=1e-12)
    assert read.reference("top40", "mjj") is None

    # histogram stage version 2: selection -> observable, axis name in metadata.metadata, the
    # references in their own file
    old = tmp_path / "old"
    old.mkdir()
    for name, h in (("histograms.json", data["top40/mj_heavy"]), ("references.json", data["reference/top40/mj_heavy"])):
        axes = [{**axis, "metadata": {"metadata": {"name": "mj_heavy"}}} for axis in h["axes"]]
        (old / name).write_text(json.dumps({"top40": {"mj_heavy": {**h, "axes": axes, "metadata": {}}}}))
    legacy = Histograms.read(Artifact("histogram", "key", old))
    assert legacy.hists["top40"]["mj_heavy"].axes[0].name == "mj_heavy"
    np.testing.assert_array_equal(legacy.hists["top40"]["mj_heavy"].values(flow=True), counts.values(flow=True))
    np.testing.assert_array_equal(legacy.reference("top40", "mj_heavy")[0], sumw)  # type: ignore[index]


@pytest.mark.slow
def test_a_weak_scorers_references_are_weighted_histograms_in_the_uhi_file(tmp_path: Path, toy_parquet: Path) -> None:
    analysis = {
        "name": "weak",
        "pipeline": ["data", "preprocess", "score", "select", "histogram"],
        "data": {"path": str(toy_parquet)},
        "score": {"method": "cwola", "folds": 2, "ensemble": 1,
                  "windows": {"start": 3500, "stop": 3500, "width": 0.12, "min_events": 50, "sideband": 1.5}},
        "select": {"top_n": [50]},
    }  # fmt: skip
    path = write_analysis(tmp_path, yaml.safe_dump(analysis, sort_keys=False))
    record = run_pipeline(lhcad.load_analysis(path), out=tmp_path / "out")
    data = assert_valid_uhi(tmp_path / "out" / "histograms.json")
    references = sorted(key for key in data if key.startswith("reference/"))
    assert references == [f"reference/top50/{obs}" for obs in ("mj_heavy", "mj_light", "mjj")]
    assert all(data[key]["storage"]["type"] == "weighted" for key in references)
    histograms = Histograms.read(record.artifacts["histogram"])
    sumw, sumw2 = histograms.reference("top50", "mj_heavy") or (None, None)
    assert sumw is not None and sumw2 is not None and sumw.sum() > 0
    assert ((sumw2 > 0) == (sumw > 0)).all()  # a weighted histogram: its own sums of squared weights
