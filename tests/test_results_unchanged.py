"""Every shipped analysis gives the same results.json numbers as it did before the families moved
into folders of their own (issue #29), on small data the test builds itself and quick settings:

* the four LHCO analyses: ``tests/data/lhco_results.json``, recorded at the commit before the LHCO
  search became a family (5a1a345), on a toy events file;
* every other analysis in ``analyses/`` (digits, jet images, point clouds, e/gamma, compression):
  ``tests/data/analyses_results.json``, recorded at 6f09c53, the commit before the side families
  moved, on scikit-learn's digits, lhcad's shower simulation, the embedded R&D-like sample and
  jet-image and JetNet files written here with h5py (their layout, not lhcad's writers, so the
  same bytes at any commit). These families write results.json from their report stage, which
  therefore runs.

Numbers are compared to a relative 1e-3: networks trained on another CPU differ in float
rounding (PyTorch, MKL and oneDNN pick kernels by instruction set), and a few epochs carry it
into what the networks give. Measured between the machine that recorded them and a fresh CI
machine (AVX-512; MKL_CBWR alone changes the numbers there): selection thresholds 3e-7, a
member's AUC 1e-5 (a tie in the ranking), a compressed file one byte in 8600 (1.2e-4); a change
of behaviour moves numbers by far more.

Rerecord them (only when a change of numbers is intended, and say so in the commit):
``.venv/bin/python tests/test_results_unchanged.py [lhco|other]``; the other analyses at an
older commit ``git worktree add --detach /tmp/before 6f09c53`` and
``PYTHONPATH=/tmp/before .venv/bin/python tests/test_results_unchanged.py other --strip-kind``
(code before the analysis config's ``kind:`` key rejects it).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORDED = Path(__file__).parent / "data" / "lhco_results.json"
RECORDED_OTHERS = Path(__file__).parent / "data" / "analyses_results.json"
ANALYSES = ("lhco_rnd", "lhco_blackbox", "lhco_rnd_cathode", "lhco_rnd_cwola")
QUICK = {
    "train.members": 2,
    "train.epochs": 2,
    "score.folds": 2,
    "score.ensemble": 1,
    "score.oversample": 1,
    "score.flow": {"transforms": 2, "hidden": [16], "epochs": 1, "checkpoints": 1},
    "score.windows": {"start": 3300, "stop": 3500, "width": 0.12, "step": 1.0, "min_events": 50},
    "select.top_n": [300, 600],
    "select.efficiencies": [],
    "fit.n_starts": 2,
    "bumphunt.n_toys": 50,
}
#: What differs between two runs of the same analysis on the same data: when and by which lhcad
#: (``created``, ``lhcad_version``, ``timing``), where the data file lay (``data.path``, and the
#: ``config_sha256`` of a config that holds it) and the bytes of the events file the test writes
#: (``data.sha256``: pandas records its own version in a parquet file's metadata, so the same
#: events hash differently under pandas 3.1.1 and 3.1.2).
UNCOMPARED = ("created", "lhcad_version", "timing", "config_sha256")
#: Relative difference within which two numbers are the same result (the float rounding of
#: another CPU, module docstring).
NUMBER_TOLERANCE = 1e-3


def results_of_every_analysis(directory: Path) -> dict[str, Any]:
    """results.json of each shipped LHCO analysis (its own scorer, no report) on the toy sample."""
    from lhcad.api import load_analysis, run
    from lhcad.data.parquet import write_events_parquet
    from lhcad.data.toy import make_toy_events

    events = directory / "events.parquet"
    write_events_parquet(make_toy_events(5000, 500, seed=3), events)
    found: dict[str, Any] = {}
    for name in ANALYSES:
        path = ROOT / "analyses" / f"{name}.yaml"
        config = load_analysis(path, {"data.path": str(events), **QUICK})
        pipeline = [s for s in config.pipeline if s != "report"]
        config = config.model_copy(update={"pipeline": pipeline})
        results = run(config, out=directory / "out").results
        assert results is not None
        found[name] = comparable(dict(results))
    return found


def quick_settings(data: Path) -> dict[str, dict[str, Any]]:
    """Each other shipped analysis's overrides: small data (``data`` holds the files of
    :func:`write_jet_files`), small models, one or two epochs, on the CPU."""
    jet_images = {
        "jet_images.train.model.channels": [4, 8],
        "jet_images.train.model.latent_dim": 4,
        "jet_images.train.epochs": 2,
        "jet_images.train.device": "cpu",
        "jet_images.evaluate": {"examples": 1, "classifier_folds": 3},
    }
    pointcloud = {
        "pointcloud.model.latent_dim": 2,
        "pointcloud.model.hidden": 16,
        "pointcloud.model.point_hidden": 8,
        "pointcloud.train.epochs": 2,
        "pointcloud.train.device": "cpu",
        "pointcloud.evaluate.n_shown": 2,
    }
    return {
        "compress_features": {
            "data.max_events": 600,
            "compress.latent_dims": [4],
            "compress.hidden": [16, 8],
            "compress.epochs": 2,
            "compress.device": "cpu",
        },
        "digits_bmm": {
            "digits.data.max_images": 400,
            "digits.bmm.restarts": 2,
            "digits.bmm.max_iterations": 10,
            "digits.bmm.snapshots": [1, 5],
        },
        "digits_vae": {
            "digits.data.max_images": 400,
            "digits.vae.grid_size": 4,
            "train.model.hidden": [16],
            "train.epochs": 2,
        },
        "egamma": {
            "labelled.simulate.n": 120,
            "classify.cnn": {"channels": [4, 8], "hidden": 8, "dropout": 0.2},
            "classify.dense.hidden": [16, 8],
            "classify.epochs": 2,
            "classify.device": "cpu",
            "classify.bootstrap": 20,
        },
        "jet_images_qg": {
            "jet_images.data.background": {"path": str(data / "qg.h5"), "n": 80},
            **jet_images,
        },
        "jet_images_top": {
            "jet_images.data.background": {"path": str(data / "qg.h5"), "n": 80},
            "jet_images.data.signal": {"path": str(data / "top.h5"), "n": 30},
            **jet_images,
        },
        "pointcloud_digits": {
            "pointcloud.data.digits": [3, 8],
            "pointcloud.data.n_points": 12,
            **pointcloud,
        },
        "pointcloud_jetnet": {
            "pointcloud.data.train_files": [str(data / "g.hdf5"), str(data / "q.hdf5")],
            "pointcloud.data.anomaly_files": {"t": str(data / "t.hdf5"), "w": str(data / "w.hdf5")},
            "pointcloud.data.n_points": 8,
            **pointcloud,
        },
    }


def write_jet_files(directory: Path) -> None:
    """Toy jet-image files (CMS layout) and JetNet files, written with h5py and numpy only."""
    import h5py
    import numpy as np

    def images(path: Path, n: int, seed: int, prongs: int, jet_types: list[int]) -> None:
        rng = np.random.default_rng(seed)
        x = np.zeros((n, 125, 125, 3), dtype=np.float32)
        for jet in range(n):
            axes = rng.normal(0.0, 8.0 * (prongs > 1), (prongs, 2))
            where = axes[rng.integers(0, prongs, 30)] + rng.normal(0.0, 3.0, (30, 2))
            row, col = np.clip(np.rint(where + 62), 0, 124).astype(int).T
            np.add.at(x[jet], (row, col, rng.integers(0, 3, 30)), rng.exponential(3.0, 30))
        jet_type = rng.choice(jet_types, n)
        with h5py.File(path, "w") as f:
            f.create_dataset("X_jets", data=x)
            f.create_dataset("m0", data=rng.uniform(10, 40, n).astype(np.float32))
            f.create_dataset("pt", data=x.sum((1, 2, 3)))
            f.create_dataset("y", data=(jet_type == 0).astype(np.float32))
            f.create_dataset("jet_type", data=jet_type.astype(np.int64))

    def jetnet(path: Path, n: int, seed: int, prongs: int) -> None:
        rng = np.random.default_rng(seed)
        features = np.zeros((n, 10, 4), dtype=np.float32)
        for jet in range(n):
            k = rng.integers(5, 11)
            axes = rng.normal(0.0, 0.2 * (prongs > 1), (prongs, 2))
            features[jet, :k, :2] = axes[rng.integers(0, prongs, k)] + rng.normal(0.0, 0.05, (k, 2))
            features[jet, :k, 2] = np.sort(rng.dirichlet(np.ones(k)))[::-1]
            features[jet, :k, 3] = 1.0
        jets = np.stack(
            [
                rng.uniform(900, 1100, n),
                rng.normal(0, 1, n),
                rng.uniform(20, 200, n),
                features[..., 3].sum(1),
            ],
            axis=1,
        )
        with h5py.File(path, "w") as f:
            f.create_dataset("particle_features", data=features)
            f.create_dataset("jet_features", data=jets.astype(np.float32))

    images(directory / "qg.h5", 80, 1, 1, [0, 1])
    images(directory / "top.h5", 30, 2, 3, [2])
    for seed, (name, prongs) in enumerate((("g", 1), ("q", 1), ("t", 3), ("w", 2))):
        jetnet(directory / f"{name}.hdf5", 60, 10 + seed, prongs)


def other_analyses() -> list[str]:
    """Every shipped analysis that is not an LHCO search."""
    return sorted(p.stem for p in (ROOT / "analyses").glob("*.yaml") if p.stem not in ANALYSES)


def results_of_other_analysis(
    name: str, directory: Path, strip_kind: bool = False
) -> dict[str, Any]:
    """results.json of one shipped analysis that is not an LHCO search, with quick settings on
    small data, paths inside ``directory`` written ``<tmp>``; ``strip_kind``: without the YAML's
    top-level ``kind:`` (for code older than that key)."""
    from lhcad.api import load_analysis, run

    data = directory / "data"
    if not data.exists():
        data.mkdir(parents=True)
        write_jet_files(data)
    path = ROOT / "analyses" / f"{name}.yaml"
    if strip_kind:
        lines = path.read_text().splitlines(keepends=True)
        path = directory / f"{name}.yaml"
        path.write_text("".join(line for line in lines if not line.startswith("kind:")))
    config = load_analysis(path, quick_settings(data)[name])
    results = run(config, out=directory / name).results
    assert results is not None
    text = json.dumps(dict(results)).replace(str(directory), "<tmp>")
    return without_timing(comparable(json.loads(text)))


def without_timing(tree: Any) -> Any:
    """A JSON tree without the training and (de)compression times (keys ``*seconds*``)."""
    if isinstance(tree, dict):
        return {k: without_timing(v) for k, v in tree.items() if "seconds" not in k}
    if isinstance(tree, list):
        return [without_timing(v) for v in tree]
    return tree


def comparable(results: dict[str, Any]) -> dict[str, Any]:
    """results.json without what differs between two runs of the same analysis."""
    kept = {k: v for k, v in results.items() if k not in UNCOMPARED}
    if isinstance(kept.get("data"), dict):
        kept["data"] = {k: v for k, v in kept["data"].items() if k not in ("path", "sha256")}
    return kept


def differences(before: Any, after: Any, where: str = "") -> list[str]:
    """Where two JSON trees differ (numbers to a relative ``NUMBER_TOLERANCE``)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = [
            f"{where}.{k}: only {'before' if k in before else 'after'}"
            for k in before.keys() ^ after.keys()
        ]
        for key in before.keys() & after.keys():
            found += differences(before[key], after[key], f"{where}.{key}")
        return found
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{where}: {len(before)} items before, {len(after)} after"]
        pairs = enumerate(zip(before, after, strict=True))
        return [d for i, (b, a) in pairs for d in differences(b, a, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(before, numbers) and isinstance(after, numbers) and not isinstance(before, bool):
        if math.isclose(before, after, rel_tol=NUMBER_TOLERANCE, abs_tol=1e-9):
            return []
    elif before == after:
        return []
    return [f"{where}: {before!r} before, {after!r} after"]


def test_a_change_beyond_float_rounding_is_a_difference() -> None:
    recorded = {"mass": 487.1, "n": 550, "model": "asymmetric_crystal_ball"}
    rounded = {"mass": 487.1 * (1 + 3e-7), "n": 550, "model": "asymmetric_crystal_ball"}
    assert differences(recorded, rounded) == []
    assert differences(recorded, {**rounded, "mass": 487.8}) == [".mass: 487.1 before, 487.8 after"]
    assert differences(recorded, {**rounded, "n": 551}) == [".n: 550 before, 551 after"]
    assert differences(recorded, {**rounded, "model": "crystal_ball"}) != []


@pytest.mark.slow
def test_every_lhco_analysis_gives_the_recorded_numbers(
    tmp_path: Path, one_torch_thread: None
) -> None:
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    found = results_of_every_analysis(tmp_path)
    assert differences(recorded, found) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", other_analyses())
def test_every_other_analysis_gives_the_recorded_numbers(
    name: str, tmp_path: Path, one_torch_thread: None
) -> None:
    recorded = json.loads(RECORDED_OTHERS.read_text(encoding="utf-8"))
    assert name in recorded, f"no numbers recorded for analyses/{name}.yaml"
    found = results_of_other_analysis(name, tmp_path)
    assert differences(recorded[name], found, name) == []


if __name__ == "__main__":
    import tempfile

    import torch

    torch.set_num_threads(1)
    which = sys.argv[1] if len(sys.argv) > 1 else "lhco"
    with tempfile.TemporaryDirectory() as tmp:
        if which == "lhco":
            path, found = RECORDED, results_of_every_analysis(Path(tmp))
        else:
            strip_kind = "--strip-kind" in sys.argv
            path = RECORDED_OTHERS
            found = {
                n: results_of_other_analysis(n, Path(tmp), strip_kind) for n in other_analyses()
            }
        path.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"recorded {path}", file=sys.stderr)
