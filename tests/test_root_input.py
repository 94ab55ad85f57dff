"""ROOT trees as events (uproot): column maps, jagged branches, ready-made maps, a whole analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import lhcad
from lhcad.cli import main
from lhcad.data.columns import JET_COLUMNS, LABEL
from lhcad.data.root import READY_MAPS, describe_root, read_root_events
from lhcad.data.sources import detect_format
from lhcad.data.toy import make_toy_events
from lhcad.errors import DataError

uproot = pytest.importorskip("uproot")
ak = pytest.importorskip("awkward")


def write_tree(path: Path, name: str, branches: dict[str, object], mode: str = "recreate") -> None:
    """A TTree of flat (numpy) and jagged (awkward) branches, written by uproot."""
    with getattr(uproot, mode)(path) as handle:
        types = {key: v.type if isinstance(v, ak.Array) else v.dtype for key, v in branches.items()}  # type: ignore[attr-defined]
        handle.mktree(name, types)
        handle[name].extend(branches)


def write_nanoaod(path: Path, events: pd.DataFrame, single_jet: np.ndarray) -> None:
    """NanoAOD-like jagged ``FatJet_*`` branches: the two jets of ``events``, a soft third jet in
    every third event, and only the leading jet where ``single_jet``."""
    jets: dict[str, list[list[float]]] = {
        k: [] for k in ("pt", "eta", "phi", "mass", "tau1", "tau2", "tau3")
    }
    for i, row in enumerate(events.itertuples(index=False)):
        record = row._asdict()
        n_jets = 1 if single_jet[i] else 2
        for values in jets.values():
            values.append([])
        for j in range(1, n_jets + 1):
            px, py, pz = record[f"pxj{j}"], record[f"pyj{j}"], record[f"pzj{j}"]
            pt = float(np.hypot(px, py))
            for key, value in (
                ("pt", pt),
                ("eta", np.arcsinh(pz / pt)),
                ("phi", np.arctan2(py, px)),
                ("mass", record[f"mj{j}"]),
            ):
                jets[key][-1].append(float(value))
            for k in (1, 2, 3):
                jets[f"tau{k}"][-1].append(float(record[f"tau{k}j{j}"]))
        if i % 3 == 0 and not single_jet[i]:
            for key, value in (
                ("pt", 25.0),
                ("eta", 0.1),
                ("phi", 0.2),
                ("mass", 3.0),
                ("tau1", 1.0),
                ("tau2", 0.5),
                ("tau3", 0.2),
            ):
                jets[key][-1].append(value)
    fatjets = ak.zip({key: ak.Array(values) for key, values in jets.items()})
    write_tree(path, "Events", {"FatJet": fatjets, "label": events[LABEL].to_numpy(np.int32)})


def test_nanoaod_jagged_branches_give_the_lhco_columns_of_the_two_leading_jets(
    tmp_path: Path,
) -> None:
    events = make_toy_events(300, 30, seed=4)
    single = np.zeros(len(events), dtype=bool)
    single[[5, 17]] = True
    path = tmp_path / "nano.root"
    write_nanoaod(path, events, single)
    assert detect_format(path) == "root"
    tree = describe_root(path)["trees"]["Events"]  # what `lhcad inspect` shows
    assert tree["entries"] == len(events) and tree["branches"]["FatJet_pt"] == "double[]"

    read = read_root_events(
        path, "Events", {**READY_MAPS["nanoaod"], LABEL: "label"}, chunk_rows=100
    )
    assert len(read) == len(events)  # one row per entry, in order, read in 4 blocks
    assert read.loc[single, "pxj2"].isna().all() and not read.loc[~single].isna().any().any()
    for column in JET_COLUMNS:  # pt, eta, phi -> px, py, pz: exact up to the float32 of the inputs
        np.testing.assert_allclose(
            read.loc[~single, column], events.loc[~single, column], rtol=1e-5, atol=1e-3
        )
    np.testing.assert_array_equal(read[LABEL], events[LABEL])


@pytest.mark.usefixtures("one_torch_thread")
def test_a_flat_lhco_tree_is_analysed_like_any_events_file(tmp_path: Path) -> None:
    """``data.path: file.root`` with the ready-made ``lhco`` map: read, trained on and scored."""
    events = make_toy_events(900, 90, seed=3)
    path = tmp_path / "events.root"
    write_tree(path, "lhco", {name: events[name].to_numpy() for name in (*JET_COLUMNS, LABEL)})
    write_tree(path, "other", {"x": np.zeros(3)}, mode="update")
    analysis = tmp_path / "root.yaml"
    analysis.write_text(
        f"data:\n  path: {path}\n  tree: lhco\n  columns: lhco\n"
        "train:\n  epochs: 1\n  members: 1\n  device: cpu\npipeline: [data, preprocess, train, score]\n"
    )
    run = lhcad.run(lhcad.load_analysis(analysis), out=tmp_path / "out")
    read = run.events()
    np.testing.assert_array_equal(
        read[list(JET_COLUMNS)].to_numpy(), events[list(JET_COLUMNS)].to_numpy()
    )
    np.testing.assert_array_equal(read[LABEL], events[LABEL])
    scores = run.scores()
    assert (
        len(scores) == len(events) and np.isfinite(scores.select_dtypes("number").to_numpy()).all()
    )


@pytest.mark.parametrize(
    ("tree", "columns", "message"),
    [
        (None, "lhco", "set data.tree: the file has 2 trees (Events, meta)"),
        ("Jets", "lhco", "no tree 'Jets' (trees: Events, meta)"),
        ("Events", "lhco", "tree Events has no branch"),
        (
            "Events",
            {**READY_MAPS["nanoaod"], "ptj1": "FatJet_pt"},
            "FatJet_pt has a list per event: map an element",
        ),
    ],
)
def test_root_mistakes_name_the_tree_or_branch(
    tmp_path: Path, tree: str | None, columns: object, message: str
) -> None:
    path = tmp_path / "nano.root"
    write_nanoaod(path, make_toy_events(20, 0, seed=1), np.zeros(20, dtype=bool))
    write_tree(path, "meta", {"run": np.arange(2)}, mode="update")
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_root_events(path, tree, columns)  # type: ignore[arg-type]


def test_an_incomplete_column_map_is_a_config_error(tmp_path: Path) -> None:
    analysis = tmp_path / "a.yaml"
    analysis.write_text(
        "data:\n  path: x.root\n  columns:\n    pxj1: FatJet_px[0]\n    ptj2: FatJet_pt[1]\n"
    )
    result = CliRunner().invoke(main, ["validate", str(analysis)])
    assert (
        result.exit_code == 2
        and "data.columns" in result.stderr
        and "pyj1 (or etaj1)" in result.stderr
    )


def test_a_damaged_root_file_is_a_one_line_data_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.root"
    path.write_bytes(b"root" + bytes(200))
    assert detect_format(path) == "root"
    analysis = tmp_path / "a.yaml"
    analysis.write_text(f"pipeline: [data]\ndata:\n  path: {path}\n")
    result = CliRunner().invoke(main, ["run", str(analysis), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no TTree in the file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
