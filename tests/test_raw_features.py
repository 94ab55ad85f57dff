"""Raw LHCO particle files -> jet features with FastJet: one row per event, bounded, resumable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.data.columns import RAW_N_COLUMNS

pytest.importorskip("fastjet")
pytest.importorskip("tables")
pytestmark = pytest.mark.gen


def two_pencil_jets(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Raw events of two narrow back-to-back sprays of particles, and their exact dijet masses."""
    rng = np.random.default_rng(seed)
    values = np.zeros((n, RAW_N_COLUMNS + 1))
    mjj = np.zeros(n)
    for i in range(n):
        p4 = np.zeros(4)
        k = 0
        for eta0, phi0 in ((rng.uniform(-1, 1), 0.0), (rng.uniform(-1, 1), np.pi)):
            m = 30
            pt = rng.dirichlet(np.ones(m)) * rng.uniform(1000, 1600)
            eta = eta0 + rng.normal(0, 0.05, m)
            phi = np.angle(np.exp(1j * (phi0 + rng.normal(0, 0.05, m))))
            values[i, 3 * k : 3 * (k + m)] = np.stack([pt, eta, phi], axis=1).ravel()
            p4 += [
                np.sum(pt * np.cos(phi)),
                np.sum(pt * np.sin(phi)),
                np.sum(pt * np.sinh(eta)),
                np.sum(pt * np.cosh(eta)),
            ]
            k += m
        mjj[i] = np.sqrt(p4[3] ** 2 - p4[0] ** 2 - p4[1] ** 2 - p4[2] ** 2)
        values[i, -1] = i % 2
    values[3, :RAW_N_COLUMNS] = 0.0
    values[3, :3] = [500.0, 0.0, 0.0]  # a single particle: fewer than two jets
    return values, mjj


@pytest.mark.filterwarnings("ignore::Warning")
def test_raw_file_converts_to_one_row_per_event_with_exact_dijet_mass(tmp_path: Path) -> None:
    values, mjj = two_pencil_jets(60)
    raw = tmp_path / "raw.h5"
    pd.DataFrame(values).to_hdf(raw, key="df", format="fixed")
    out = tmp_path / "features.parquet"
    result = CliRunner().invoke(
        main, ["features", str(raw), "--out", str(out), "--chunk-rows", "25", "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert len(frame) == 60
    assert frame["pxj1"].isna().sum() == 1 and np.isnan(frame["pxj1"].iloc[3])
    ok = np.arange(60) != 3
    np.testing.assert_allclose(frame["mjj"].to_numpy()[ok], mjj[ok], rtol=1e-5)
    np.testing.assert_array_equal(frame["label"].to_numpy(), values[:, -1].astype(np.int8))
    assert '"n_without_two_jets": 1' in result.output
    assert not (tmp_path / "features.parquet.parts").exists()


def write_raw(path: Path, values: np.ndarray, labelled: bool) -> None:
    """The official raw layout, written block-free with lhcad's own writer (no PyTables)."""
    from lhcad.data.raw_writer import RawFileWriter

    with RawFileWriter(path, len(values), labelled=labelled) as writer:
        writer.write(0, values[:, :RAW_N_COLUMNS], values[:, RAW_N_COLUMNS] if labelled else None)


def test_black_box_masterkey_labels_follow_their_events_through_features_and_an_analysis(
    tmp_path: Path,
) -> None:
    values, _ = two_pencil_jets(40, seed=2)
    raw, masterkey = tmp_path / "bb.h5", tmp_path / "bb.masterkey"
    write_raw(raw, values, labelled=False)
    labels = np.random.default_rng(1).integers(0, 2, 40)
    masterkey.write_text("".join(f"{v}\n" for v in labels))

    out = tmp_path / "bb.parquet"
    result = CliRunner().invoke(
        main, ["features", str(raw), "--out", str(out), "--masterkey", str(masterkey)]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    np.testing.assert_array_equal(frame["label"], labels)
    assert np.isnan(frame["pxj1"][3])  # event 3 (no dijet) kept as NaN: the labels stay aligned

    first = tmp_path / "first.parquet"  # a quick look at the first events only
    args = [
        "features",
        str(raw),
        "--out",
        str(first),
        "--masterkey",
        str(masterkey),
        "--max-events",
        "12",
    ]
    assert CliRunner().invoke(main, args).exit_code == 0
    np.testing.assert_array_equal(pd.read_parquet(first)["label"], labels[:12])

    analysis = tmp_path / "bb.yaml"
    analysis.write_text(
        f"pipeline: [data]\ndata:\n  path: {raw}\n  labels: {masterkey}\n  raw:\n    chunk_rows: 15\n"
    )
    import lhcad

    events = lhcad.run(lhcad.load_analysis(analysis), out=tmp_path / "run").events()
    assert list(events["event_id"]) == [i for i in range(40) if i != 3]  # the one-jet event dropped
    np.testing.assert_array_equal(events["label"], labels[events["event_id"]])


@pytest.mark.filterwarnings("ignore::Warning")
def test_features_on_a_dask_scheduler_equal_the_local_conversion(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    values, _ = two_pencil_jets(30, seed=4)
    raw = tmp_path / "raw.h5"
    write_raw(raw, values, labelled=True)
    runner = CliRunner()
    assert (
        runner.invoke(
            main,
            ["features", str(raw), "--out", str(tmp_path / "local.parquet"), "--chunk-rows", "10"],
        ).exit_code
        == 0
    )
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        result = runner.invoke(
            main,
            ["features", str(raw), "--out", str(tmp_path / "dask.parquet"), "--chunk-rows", "10",
             "--executor", "dask", "--address", cluster.scheduler_address],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "dask.parquet"), pd.read_parquet(tmp_path / "local.parquet")
    )


def test_an_interrupted_conversion_resumes_from_its_finished_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lhcad.data import raw_features

    values, mjj = two_pencil_jets(30, seed=5)
    raw, out = tmp_path / "raw.h5", tmp_path / "features.parquet"
    write_raw(raw, values, labelled=True)
    real = raw_features._convert_part
    converted: list[int] = []

    def killed_after_one_block(job):  # type: ignore[no-untyped-def]
        if converted:
            raise KeyboardInterrupt
        converted.append(job.start)
        return real(job)

    monkeypatch.setattr(raw_features, "_convert_part", killed_after_one_block)
    with pytest.raises(KeyboardInterrupt):
        raw_features.convert_raw_file(raw, out, chunk_rows=10)
    assert not out.exists() and len(list((tmp_path / "features.parquet.parts").iterdir())) == 1

    monkeypatch.setattr(
        raw_features, "_convert_part", lambda job: (converted.append(job.start), real(job))[1]
    )
    summary = raw_features.convert_raw_file(raw, out, chunk_rows=10)
    assert converted == [0, 10, 20] and summary["n_events"] == 30  # block 0 was not redone
    ok = np.arange(30) != 3
    np.testing.assert_allclose(pd.read_parquet(out)["mjj"].to_numpy()[ok], mjj[ok], rtol=1e-5)
    assert not (tmp_path / "features.parquet.parts").exists()


def test_blocks_of_a_run_with_other_settings_are_never_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lhcad.data import raw_features

    values, _ = two_pencil_jets(20, seed=6)
    raw, out = tmp_path / "raw.h5", tmp_path / "features.parquet"
    write_raw(raw, values, labelled=True)
    real = raw_features._convert_part
    monkeypatch.setattr(raw_features, "_convert_part", lambda job: (real(job), 1 / 0)[0])
    with pytest.raises(ZeroDivisionError):  # killed after writing block [0, 10) with 20 GeV jets
        raw_features.convert_raw_file(raw, out, chunk_rows=10)
    monkeypatch.setattr(raw_features, "_convert_part", real)
    hard = raw_features.convert_raw_file(raw, out, chunk_rows=10, jet_pt_min=5000.0)
    assert hard["n_without_two_jets"] == 20  # no 5 TeV jets: the 20 GeV block was redone
    assert pd.read_parquet(out)["pxj1"].isna().all()
