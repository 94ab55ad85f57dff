"""The quantising codec (``lhcad compress --model quant``) on small tables built here: every
stored quantity comes back within the chosen precision (jet pT, mass, tau_N and mjj relative,
eta and phi absolute), values the transforms cannot take come back exactly, the file decodes
bit for bit to what the encoder predicted from, and its size is the whole cost."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lhcad.data.columns import JET_COLUMNS
from lhcad.data.toy import make_toy_events
from lhcad.errors import DataError
from lhcad.families.compress import quant
from lhcad.families.compress.codec import CompressionSettings, compress_table, decompress_file
from lhcad.families.compress.container import read_lhcz, write_lhcz
from lhcad.families.compress.metrics import derived_differences, parquet_bytes

#: float32 output rounding on top of the precision (relative), and eta/phi from float32 px, py, pz.
FLOAT32 = 1e-6


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    """Toy dijet events with an mjj column (as the shared background file has) and a label."""
    table = make_toy_events(1800, 200, seed=7)
    return table.assign(mjj=derived_mjj(table).astype(np.float32))


def derived_mjj(table: pd.DataFrame) -> np.ndarray:
    return quant.dijet_mass({c: table[c].to_numpy() for c in JET_COLUMNS}, ["j1", "j2"])


def kinematics(table: pd.DataFrame, jet: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    px, py, pz = (table[f"{q}j{jet}"].to_numpy(np.float64) for q in ("px", "py", "pz"))
    pt = np.hypot(px, py)
    return pt, np.arcsinh(pz / pt), np.arctan2(py, px)


def relative(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    return np.abs(after - before) / np.abs(before)


@pytest.mark.parametrize("precision", [0.001, 0.02])
def test_every_quantity_comes_back_within_the_precision(
    tmp_path: Path, events: pd.DataFrame, precision: float
) -> None:
    path = tmp_path / "q.lhcz"
    compress_table(events, path, CompressionSettings(kind="quant", precision=precision))
    restored = decompress_file(path)
    bound = precision + FLOAT32
    for jet in (1, 2):
        (pt, eta, phi), (pt2, eta2, phi2) = kinematics(events, jet), kinematics(restored, jet)
        assert relative(pt, pt2).max() <= bound
        assert np.abs(eta2 - eta).max() <= bound
        assert np.abs(np.angle(np.exp(1j * (phi2 - phi)))).max() <= bound
        for name in (f"mj{jet}", f"tau1j{jet}", f"tau2j{jet}", f"tau3j{jet}"):
            assert relative(events[name], restored[name]).max() <= bound, name
    assert relative(events["mjj"], restored["mjj"]).max() <= bound
    np.testing.assert_array_equal(restored["label"], events["label"])
    # uniform rounding: mean errors about half the bound, and mjj from the jets as well
    derived = derived_differences(events, restored)
    for name in ("mjj", "mj_heavy", "mj_light"):
        assert 0.3 * precision < derived[name]["mean_abs_percent"] / 100 < 0.7 * precision
    assert derived["mjj"]["median_abs_percent"] / 100 < precision


def test_jet_two_is_stored_relative_to_jet_one_and_mjj_to_the_decoded_jets() -> None:
    entries = quant.plan_entries([*JET_COLUMNS, "mjj", "other"])
    by_name = {e["name"]: e for e in entries}
    assert by_name["momentum:j2"]["reference"] == "momentum:j1"
    assert by_name["tau1j1"]["predictor"] == "mj1" and by_name["tau3j2"]["predictor"] == "tau2j2"
    assert by_name["mjj"]["dijet"] == ["j1", "j2"]
    assert by_name["other"]["kind"] == "mantissa"
    assert [e["name"] for e in entries][-2:] == ["mjj", "other"]  # after everything it reads


def test_values_no_transform_takes_come_back_exactly(tmp_path: Path) -> None:
    table = make_toy_events(300, 0, seed=3).drop(columns="label")
    rows = {
        0: {"mj1": 0.0, "tau1j1": 0.0, "tau2j1": 0.0},  # a one-particle jet
        1: {"pxj2": 0.0, "pyj2": 0.0},  # pT = 0: no eta or phi
        2: {"pzj1": np.nan, "mj2": np.inf, "tau3j2": -np.inf},
        3: {"mj1": -1.5},  # a negative mass (rounding upstream)
    }
    for row, values in rows.items():
        for name, value in values.items():
            table.loc[row, name] = value
    table["weight"] = np.array([-2.5, 0.0, -0.0, np.nan, 1e-30, 3e38] + [1.0] * 294, np.float32)
    table["score"] = np.linspace(-1, 1, 300)  # float64 stays float64
    table["rows"] = np.full(300, np.nan, np.float32)  # a name the file's own keys use
    path = tmp_path / "special.lhcz"
    compress_table(table, path, CompressionSettings(kind="quant", precision=0.01))
    restored = decompress_file(path)
    assert list(restored.dtypes) == list(table.dtypes)
    for row, values in rows.items():
        for name in values:
            np.testing.assert_array_equal(restored.loc[row, name], table.loc[row, name])
    weight, back = table["weight"].to_numpy(), restored["weight"].to_numpy()
    np.testing.assert_array_equal(np.signbit(back[:3]), np.signbit(weight[:3]))  # -0.0 stays
    assert np.isnan(back[3]) and back[5] == pytest.approx(3e38, rel=0.01)
    finite = np.isfinite(weight) & (weight != 0)
    assert relative(weight[finite], back[finite]).max() <= 0.01
    assert relative(table["score"], restored["score"]).max() <= 0.01
    assert restored["rows"].isna().all()
    # the other rows still within the precision: an exception is local to its row
    assert relative(table["mj1"][4:], restored["mj1"][4:]).max() <= 0.01 + FLOAT32


def test_the_file_decodes_bit_for_bit_to_what_the_encoder_predicted_from(
    tmp_path: Path, events: pd.DataFrame
) -> None:
    """Closed loop: the decoder's columns are the encoder's own decoded columns, so no error
    accumulates along jet 1 -> jet 2 -> mjj or m -> tau1 -> tau2 -> tau3; the container gives
    back every array and the header as written."""
    columns = [*JET_COLUMNS, "mjj"]
    values = {c: events[c].to_numpy() for c in columns}
    encoded = quant.encode(values, columns, quant.QuantSettings())
    path = tmp_path / "q.lhcz"
    compress_table(events, path, CompressionSettings(kind="quant"))
    restored = decompress_file(path)
    for name in columns:
        np.testing.assert_array_equal(restored[name].to_numpy(), encoded.decoded[name])
    content = read_lhcz(path)
    assert content.header["quant"] == encoded.header
    assert content.arrays["quant.payload"].tobytes() == encoded.payload
    assert content.header["format_version"] == 2  # an lhcad before quant refuses the file
    again = decompress_file(path)
    pd.testing.assert_frame_equal(again, restored)


def test_the_size_is_the_whole_file_and_beats_zstd_parquet(
    tmp_path: Path, events: pd.DataFrame
) -> None:
    path = tmp_path / "q.lhcz"
    record = compress_table(events, path, CompressionSettings(kind="quant", precision=0.01))
    assert record.n_bytes == path.stat().st_size
    content = read_lhcz(path)
    assert not any("decoder" in name for name in content.arrays)  # no network, no weights
    with zipfile.ZipFile(path) as archive:  # the members and the zip's own directory: all of it
        members = {i.filename: i.compress_size for i in archive.infolist()}
    assert sum(members.values()) < record.n_bytes < sum(members.values()) + 200 * len(members)
    assert content.arrays["quant.payload"].nbytes < record.n_bytes
    assert record.train_seconds == 0 and record.epochs == 0
    jets = events[[*JET_COLUMNS, "mjj"]]
    assert parquet_bytes(jets, "zstd") / record.n_bytes > 3
    # a finer precision costs more bytes: about log2(10) = 3.3 bits per quantity per event
    finer_settings = CompressionSettings(kind="quant", precision=0.001)
    finer = compress_table(events, tmp_path / "f.lhcz", finer_settings)
    extra_bits = 8 * (finer.n_bytes - record.n_bytes) / len(events) / 15
    assert 2.5 < extra_bits < 4.5


def test_a_table_without_jets_is_mantissa_rounded(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    a = rng.lognormal(0, 3, 500).astype(np.float32)
    table = pd.DataFrame({"a": a, "b": rng.normal(size=500)})
    path = tmp_path / "plain.lhcz"
    compress_table(table, path, CompressionSettings(kind="quant", precision=0.004))
    restored = decompress_file(path)
    for name in ("a", "b"):
        assert relative(table[name], restored[name]).max() <= 0.004
    header = read_lhcz(path).header["quant"]
    assert [e["bits"] for e in header["entries"]] == [7, 7]  # 2**-8 <= 0.004


def test_a_damaged_payload_or_a_bad_precision_is_a_one_line_error(
    tmp_path: Path, events: pd.DataFrame
) -> None:
    path = tmp_path / "q.lhcz"
    compress_table(events, path, CompressionSettings(kind="quant"))
    content = read_lhcz(path)
    written = ("format", "format_version", "arrays")  # write_lhcz adds them
    header = {k: v for k, v in content.header.items() if k not in written}
    arrays = dict(content.arrays)
    arrays["quant.payload"] = arrays["quant.payload"][:-5]  # checksums agree, the frame does not
    write_lhcz(path, header, arrays, version=2)
    with pytest.raises(DataError, match="damaged .lhcz file: .*zstd"):
        decompress_file(path)
    with pytest.raises(DataError, match="precision"):
        coarse = CompressionSettings(kind="quant", precision=0.5)
        compress_table(events, tmp_path / "x.lhcz", coarse)


def test_bench_reports_the_codec_beside_zstd_parquet() -> None:
    """``lhcad bench --compress N``'s figures are there (their values are the bench's business,
    not a test's)."""
    from lhcad.families.compress.bench import bench_compress

    figures = bench_compress(2000)
    for key in ("quant_compress_events_per_s", "quant_decompress_events_per_s",
                "parquet_zstd_write_events_per_s", "parquet_zstd_read_events_per_s"):  # fmt: skip
        assert figures[key] > 0, key
    assert figures["compress_events"] == 2000
    assert figures["quant_bytes"] < figures["parquet_zstd_bytes"]
