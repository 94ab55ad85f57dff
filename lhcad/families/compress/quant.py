"""The physics-aware quantising codec (``lhcad compress --model quant``): every stored quantity
within a chosen precision, no network.

What it stores, for a table with the LHCO jet columns (``pxj1 .. tau3j2``, ``mjj``):

- each jet's momentum as (log pT, eta, phi): pT to a relative step, eta and phi to absolute
  steps; a later jet's log pT and phi as the residual from the first jet's decoded values
  (pT2/pT1 and phi2 - phi1 - pi: the two leading jets balance back to back);
- each jet's mass to a relative step; tau1 as the residual from the decoded mass, tau2 from the
  decoded tau1, tau3 from the decoded tau2 (log ratios: narrow distributions);
- an ``mjj`` column as its relative residual from the dijet mass of the decoded jets;
- every other floating-point column with its mantissa rounded to the bits the precision needs.

With precision ``r``, every decoded pT, mass, tau_N, mjj and other column lies within a
relative ``r`` of its original (``|x' - x| <= r |x|``, plus the rounding of the float32 output,
6e-8), and eta and phi within ``r`` (absolute, radians). Values the transforms cannot take (NaN,
infinities, a zero pT, mass or tau_N, a negative mass) are stored exactly. A residual is taken
from the *decoded* predictor (closed loop), so errors do not accumulate along a chain.

The quantised integers of each stream are taken from their median and zigzagged to unsigned
ones, stored in the narrowest unsigned type as byte planes (all low bytes, then the next ones),
and each stream is one zstd frame
(pyarrow's codec: no new dependency; a frame per stream is 3% smaller than one for all, zstd
fitting its entropy tables to each quantity). Nothing but the ``.lhcz`` file is needed to
decompress: the file's size is the whole cost.

Predictions are computed with numpy from decoded values in the same order on both sides; a
platform whose ``log``/``arctan2`` differ by one ulp decodes a value one step of float64 rounding
away, never outside the precision.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

#: zstd level of the quantised streams (pyarrow accepts 1 .. 22).
ZSTD_LEVEL = 19
#: The codec's version in the file header (a reader refuses newer ones).
QUANT_VERSION = 1
#: The precisions :class:`QuantSettings` accepts (below 1e-6 float32 columns are stored nearly
#: losslessly anyway; above 0.25 the relative error stops meaning anything).
MIN_PRECISION = 1e-6
MAX_PRECISION = 0.25

_TAU = re.compile(r"^tau(\d+)(.+)$")


@dataclass(frozen=True)
class QuantSettings:
    """How the quantising codec compresses.

    Attributes:
        precision: the largest relative error of every stored pT, mass, tau_N, mjj and other
            column, and the largest absolute error of eta and phi (radians).
        level: zstd compression level (1 .. 22).
    """

    precision: float = 0.01
    level: int = ZSTD_LEVEL

    def __post_init__(self) -> None:
        if not MIN_PRECISION <= self.precision <= MAX_PRECISION:
            raise ValueError(
                f"precision must lie in [{MIN_PRECISION:g}, {MAX_PRECISION:g}], "
                f"not {self.precision!r}"
            )
        if not 1 <= self.level <= 22:
            raise ValueError(f"zstd level must lie in 1 .. 22, not {self.level!r}")

    @property
    def relative_step(self) -> float:
        """Step in log space whose half is a relative error of exactly ``precision``."""
        return 2.0 * math.log1p(self.precision)

    @property
    def absolute_step(self) -> float:
        """Step of eta and phi."""
        return 2.0 * self.precision


def mantissa_bits(precision: float, dtype: np.dtype) -> int:
    """Mantissa bits kept so that rounding errs by at most ``precision`` (relative), capped at
    the type's own.

    >>> mantissa_bits(0.01, np.dtype("float32")), mantissa_bits(1e-9, np.dtype("float32"))
    (6, 23)
    """
    needed = max(math.ceil(-math.log2(precision)) - 1, 0)
    return min(needed, int(np.finfo(dtype).nmant))


# -- the plan: which quantity each encoded column becomes -------------------------------------


def plan_entries(encoded: Sequence[str]) -> list[dict[str, Any]]:
    """The streams of a table whose encoded columns are ``encoded``, in decoding order.

    Momentum groups are ``px<S>``, ``py<S>``, ``pz<S>`` (``S``: ``j1``, ...); the first group
    predicts the later ones. ``m<S>`` of a group is a log quantity; ``tau<N><S>`` chains on
    ``tau<N-1><S>`` (``tau1<S>`` on ``m<S>``); ``mjj`` is predicted from the first two groups
    with masses; every other column is mantissa-rounded.

    >>> [e["kind"] for e in plan_entries(["pxj1", "pyj1", "pzj1", "mj1", "tau1j1", "x"])]
    ['momentum', 'log', 'log', 'mantissa']
    """
    present = set(encoded)
    used: set[str] = set()
    entries: list[dict[str, Any]] = []
    groups: list[str] = []
    for name in encoded:
        if name.startswith("px") and len(name) > 2:
            suffix = name[2:]
            columns = [f"px{suffix}", f"py{suffix}", f"pz{suffix}"]
            if all(c in present for c in columns):
                reference = f"momentum:{groups[0]}" if groups else None
                entries.append(
                    {"kind": "momentum", "name": f"momentum:{suffix}", "columns": columns,
                     "reference": reference}
                )  # fmt: skip
                groups.append(suffix)
                used.update(columns)
    for suffix in groups:
        if f"m{suffix}" in present:
            entries.append(_log_entry(f"m{suffix}", None))
            used.add(f"m{suffix}")
    taus = sorted(
        (int(m.group(1)), m.group(2), name)
        for name in encoded
        if name not in used and (m := _TAU.match(name))
    )
    for n, suffix, name in taus:
        previous = f"tau{n - 1}{suffix}" if n > 1 else f"m{suffix}"
        entries.append(_log_entry(name, previous if previous in used else None))
        used.add(name)
    with_mass = [s for s in groups if f"m{s}" in used]
    if "mjj" in present and "mjj" not in used and len(with_mass) >= 2:
        entries.append({**_log_entry("mjj", None), "dijet": with_mass[:2]})
        used.add("mjj")
    for name in encoded:
        if name not in used:
            entries.append({"kind": "mantissa", "name": name, "columns": [name]})
    return entries


def _log_entry(column: str, predictor: str | None) -> dict[str, Any]:
    return {"kind": "log", "name": column, "columns": [column], "predictor": predictor}


# -- quantisation helpers ---------------------------------------------------------------------


def _wrap(angle: np.ndarray) -> np.ndarray:
    """Angles into [-pi, pi)."""
    return np.mod(angle + np.pi, 2 * np.pi) - np.pi


def _quantise(
    target: np.ndarray, prediction: np.ndarray, step: float, valid: np.ndarray, angle: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``(integers, decoded)``: the residual from ``prediction`` in units of ``step`` (0 on
    invalid rows) and what the decoder makes of it."""
    residual = np.where(valid, target - prediction, 0.0)
    if angle:
        residual = _wrap(residual)
    k = np.rint(residual / step).astype(np.int64)
    return k, _dequantise(prediction, k, step)


def _dequantise(prediction: np.ndarray, k: np.ndarray, step: float) -> np.ndarray:
    """What the decoder makes of integers ``k`` (the encoder uses the same, bit for bit)."""
    return prediction + k * step


def _safe_log(values: np.ndarray) -> np.ndarray:
    """``log`` where positive and finite, NaN elsewhere (no warnings)."""
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values) & (values > 0)
    out = np.full(values.shape, np.nan)
    np.log(values, out=out, where=ok)
    return out


def _or_zero(prediction: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(prediction), prediction, 0.0)


def dijet_mass(columns: Mapping[str, np.ndarray], suffixes: Sequence[str]) -> np.ndarray:
    """Invariant mass of two jets from their ``px, py, pz, m`` columns (float64; the codec's own
    copy, so files decode the same whatever :mod:`lhcad.data.features` becomes)."""
    energy = np.zeros(len(columns[f"px{suffixes[0]}"]))
    p = [np.zeros_like(energy) for _ in range(3)]
    with np.errstate(invalid="ignore", over="ignore"):  # exactly stored NaN or inf: NaN here
        for s in suffixes:
            px, py, pz, m = (
                np.asarray(columns[f"{q}{s}"], np.float64) for q in ("px", "py", "pz", "m")
            )
            energy = energy + np.sqrt(px**2 + py**2 + pz**2 + m**2)
            p = [p[0] + px, p[1] + py, p[2] + pz]
        return np.sqrt(np.maximum(energy**2 - p[0] ** 2 - p[1] ** 2 - p[2] ** 2, 0.0))


def _uint(itemsize: int) -> np.dtype:
    return np.dtype(f"<u{itemsize}")


# -- byte planes and zstd ---------------------------------------------------------------------


def pack(k: np.ndarray) -> tuple[bytes, dict[str, int]]:
    """Integers as byte planes of the narrowest unsigned type: their differences from the median,
    zigzagged (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...), so that the bulk of a distribution wider
    than a byte still sits in the low plane and the higher ones are nearly constant (2% smaller
    after zstd than offsetting by the minimum); returns the bytes and ``{"center", "width"}``.

    >>> data, meta = pack(np.array([-3, 0, 300]))
    >>> meta, len(data), unpack(data, 3, meta).tolist()
    ({'center': 0, 'width': 2}, 6, [-3, 0, 300])
    """
    k = np.asarray(k, dtype=np.int64)
    center = int(np.median(k)) if len(k) else 0
    d = k - center
    unsigned = np.where(d >= 0, 2 * d, -2 * d - 1).astype(np.uint64)
    top = int(unsigned.max()) if len(k) else 0
    width = next(w for w in (1, 2, 4, 8) if top < 1 << (8 * w))
    planes = unsigned.astype(_uint(width)).view(np.uint8).reshape(-1, width).T
    return planes.tobytes(), {"center": center, "width": width}


def unpack(data: bytes | memoryview, n: int, meta: Mapping[str, int]) -> np.ndarray:
    """Inverse of :func:`pack` for ``n`` integers."""
    width = int(meta["width"])
    planes = np.frombuffer(data, dtype=np.uint8, count=n * width).reshape(width, n)
    unsigned = np.ascontiguousarray(planes.T).view(_uint(width)).reshape(n).astype(np.int64)
    d = np.where(unsigned % 2 == 0, unsigned // 2, -(unsigned + 1) // 2)
    return d + int(meta["center"])


def zstd_compress(data: bytes, level: int) -> bytes:
    """zstd frame of ``data`` (pyarrow's codec)."""
    return pa.Codec("zstd", compression_level=level).compress(data, asbytes=True)


def zstd_decompress(data: bytes, size: int) -> bytes:
    """Inverse of :func:`zstd_compress`; ``size`` is the decompressed length.

    Raises:
        ValueError: a damaged frame, or one of another length.
    """
    try:
        out = pa.Codec("zstd").decompress(data, decompressed_size=size, asbytes=True)
    except (OSError, pa.ArrowException) as exc:
        raise ValueError(f"damaged zstd frame ({exc})") from None
    if len(out) != size:
        raise ValueError(f"a zstd frame of {len(out)} bytes where {size} were expected")
    return out


# -- encoding and decoding --------------------------------------------------------------------


@dataclass
class Encoded:
    """What :func:`encode` produces: the header section, the compressed payload, the exact
    values of the rows a transform could not take (``exceptions.<i>.rows`` and
    ``exceptions.<i>.<j>``: entry ``i`` of the plan, its column ``j``), and the columns as :func:`decode` will return them (the
    encoder decodes as it goes: its predictions read decoded values)."""

    header: dict[str, Any]
    payload: bytes
    exceptions: dict[str, np.ndarray]
    decoded: dict[str, np.ndarray]


class _Coder:
    """Encodes or decodes the plan in order; ``decoded`` holds each finished column in its
    output dtype, ``state`` the float64 quantities later entries predict from."""

    def __init__(self, n: int, settings: QuantSettings, dtypes: Mapping[str, np.dtype]):
        self.n = n
        self.settings = settings
        self.dtypes = dtypes
        self.decoded: dict[str, np.ndarray] = {}
        self.state: dict[str, dict[str, np.ndarray]] = {}

    # predictions (identical on both sides: they read decoded values only)

    def momentum_prediction(self, entry: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """(log pT, phi) predicted for a momentum group: the reference group's, phi + pi."""
        if entry["reference"] is None:
            return np.zeros(self.n), np.zeros(self.n)
        ref = self.state[entry["reference"]]
        return _or_zero(ref["log_pt"]), _or_zero(ref["phi"] + np.pi)

    def log_prediction(self, entry: Mapping[str, Any]) -> np.ndarray:
        if "dijet" in entry:
            return _or_zero(_safe_log(dijet_mass(self.decoded, entry["dijet"])))
        if entry["predictor"] is None:
            return np.zeros(self.n)
        return _or_zero(_safe_log(self.decoded[entry["predictor"]]))

    # decoded columns (``exact``: the invalid rows' originals, in row order)

    def finish_momentum(
        self,
        entry: Mapping[str, Any],
        valid: np.ndarray,
        log_pt_hat: np.ndarray,
        eta_hat: np.ndarray,
        phi_hat: np.ndarray,
        exact: Mapping[str, np.ndarray],
    ) -> None:
        self.state[entry["name"]] = {
            "log_pt": np.where(valid, log_pt_hat, np.nan),
            "phi": np.where(valid, phi_hat, np.nan),
        }
        columns = entry["columns"]
        dtypes = [self.dtypes[c] for c in columns]
        out = _momentum_columns(log_pt_hat, eta_hat, phi_hat, valid, dtypes)
        for column, values in zip(columns, out, strict=True):
            self.decoded[column] = _with_exact(values, valid, exact[column])

    def finish_log(
        self, column: str, valid: np.ndarray, log_hat: np.ndarray, exact: np.ndarray
    ) -> None:
        out = _log_column(log_hat, valid, self.dtypes[column])
        self.decoded[column] = _with_exact(out, valid, exact)

    def finish_mantissa(
        self, column: str, valid: np.ndarray, k: np.ndarray, bits: int, exact: np.ndarray
    ) -> None:
        out = _mantissa_column(np.where(valid, k, 0), bits, self.dtypes[column])
        self.decoded[column] = _with_exact(out, valid, exact)


def _momentum_quantities(
    px: np.ndarray, py: np.ndarray, pz: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(valid, log pT, eta, phi) of float64 components; invalid rows (non-finite, pT = 0) NaN."""
    with np.errstate(over="ignore"):
        pt = np.hypot(px, py)
    valid = np.isfinite(px) & np.isfinite(py) & np.isfinite(pz) & np.isfinite(pt) & (pt > 0)
    safe_pt = np.where(valid, pt, 1.0)
    log_pt = np.where(valid, np.log(safe_pt), np.nan)
    eta = np.where(valid, np.arcsinh(np.where(valid, pz, 0.0) / safe_pt), np.nan)
    phi = np.where(valid, np.arctan2(np.where(valid, py, 0.0), np.where(valid, px, 1.0)), np.nan)
    return valid, log_pt, eta, phi


def _momentum_columns(
    log_pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    valid: np.ndarray,
    dtypes: Sequence[np.dtype],
) -> list[np.ndarray]:
    """px, py, pz in their output dtypes from decoded (log pT, eta, phi); invalid rows 0."""
    with np.errstate(over="ignore"):
        pt = np.exp(np.where(valid, log_pt, 0.0))
        eta = np.where(valid, eta, 0.0)
        components = (pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta))
        pairs = zip(components, dtypes, strict=True)
        return [np.where(valid, c, 0.0).astype(dtype) for c, dtype in pairs]


def _log_column(log_hat: np.ndarray, valid: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A log quantity's decoded column (invalid rows 0)."""
    with np.errstate(over="ignore"):
        return np.exp(np.where(valid, log_hat, 0.0)).astype(dtype)


def _round_mantissa(values: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """``(valid, integers)``: each finite value's bit pattern rounded to ``bits`` mantissa bits
    and shifted right by the dropped ones (round half away from zero: the carry into the
    exponent is the correct rounding); values that would round to infinity are invalid. With
    :data:`MIN_PRECISION` the integers stay below 2**32 (sign, exponent and at most 19 bits)."""
    values = np.ascontiguousarray(values)
    dtype = values.dtype
    drop = np.uint64(int(np.finfo(dtype).nmant) - bits)
    raw = values.view(_uint(dtype.itemsize)).astype(np.uint64)
    rounded = (raw + ((np.uint64(1) << drop) >> np.uint64(1))) >> drop
    valid = np.isfinite(values) & np.isfinite(_mantissa_column(rounded, bits, dtype))
    return valid, np.where(valid, rounded, 0).astype(np.int64)


def _mantissa_column(k: np.ndarray, bits: int, dtype: np.dtype) -> np.ndarray:
    """The values whose rounded, shifted bit patterns are ``k``."""
    drop = np.uint64(int(np.finfo(dtype).nmant) - bits)
    return (np.asarray(k).astype(np.uint64) << drop).astype(_uint(dtype.itemsize)).view(dtype)


def _with_exact(values: np.ndarray, valid: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """``values`` with the invalid rows replaced by ``exact`` (their originals, in row order)."""
    if valid.all():
        return values
    values = values.copy()
    values[~valid] = exact
    return values


def _exceptions_of(
    index: int, entry: Mapping[str, Any], valid: np.ndarray, raw: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The exact originals of entry ``index``'s invalid rows, as stored in the file (keyed by
    position, so that no column name can collide with another's)."""
    if valid.all():
        return {}
    rows = np.flatnonzero(~valid)
    return {
        f"exceptions.{index}.rows": rows.astype(np.int64),
        **{f"exceptions.{index}.{j}": raw[c][rows] for j, c in enumerate(entry["columns"])},
    }


def encode(
    columns: Mapping[str, np.ndarray], encoded: Sequence[str], settings: QuantSettings
) -> Encoded:
    """Quantise and compress the columns ``encoded`` of ``columns`` (floating-point arrays of
    equal length). Rows whose decoded value would not be finite in the column's dtype are
    exceptions too, so :func:`decode` returns finite values wherever the input was finite."""
    n = len(columns[encoded[0]]) if encoded else 0
    dtypes = {c: np.asarray(columns[c]).dtype for c in encoded}
    coder = _Coder(n, settings, dtypes)
    streams: list[tuple[str, np.ndarray]] = []
    exceptions: dict[str, np.ndarray] = {}
    entries = plan_entries(encoded)
    rel, ab = settings.relative_step, settings.absolute_step
    for index, entry in enumerate(entries):
        name = entry["name"]
        raw = {c: np.asarray(columns[c]) for c in entry["columns"]}
        if entry["kind"] == "momentum":
            valid, log_pt, eta, phi = _momentum_quantities(
                *(raw[c].astype(np.float64) for c in entry["columns"])
            )
            pred_pt, pred_phi = coder.momentum_prediction(entry)
            k_pt, log_pt_hat = _quantise(log_pt, pred_pt, rel, valid)
            k_eta, eta_hat = _quantise(eta, np.zeros(n), ab, valid)
            k_phi, phi_hat = _quantise(phi, pred_phi, ab, valid, angle=True)
            out = _momentum_columns(
                log_pt_hat, eta_hat, phi_hat, valid, [dtypes[c] for c in entry["columns"]]
            )
            valid &= np.logical_and.reduce([np.isfinite(c) for c in out])
            streams += [(f"{name}.log_pt", k_pt), (f"{name}.eta", k_eta), (f"{name}.phi", k_phi)]
            coder.finish_momentum(
                entry, valid, log_pt_hat, eta_hat, phi_hat, {c: v[~valid] for c, v in raw.items()}
            )
        elif entry["kind"] == "log":
            (column,) = entry["columns"]
            target = _safe_log(raw[column])
            valid = np.isfinite(target)
            k, log_hat = _quantise(target, coder.log_prediction(entry), rel, valid)
            valid &= np.isfinite(_log_column(log_hat, valid, dtypes[column]))
            streams.append((name, k))
            coder.finish_log(column, valid, log_hat, raw[column][~valid])
        else:
            (column,) = entry["columns"]
            entry["bits"] = bits = mantissa_bits(settings.precision, dtypes[column])
            valid, k = _round_mantissa(raw[column], bits)
            streams.append((name, k))
            coder.finish_mantissa(column, valid, k, bits, raw[column][~valid])
        exceptions |= _exceptions_of(index, entry, valid, raw)
    frames, table = [], []
    for stream, k in streams:
        data, meta = pack(k)
        frames.append(zstd_compress(data, settings.level))
        table.append({"name": stream, **meta, "bytes": len(frames[-1])})
    header = {
        "version": QUANT_VERSION,
        "precision": settings.precision,
        "level": settings.level,
        "entries": entries,
        "streams": table,
    }
    return Encoded(header, b"".join(frames), exceptions, coder.decoded)


def decode(
    header: Mapping[str, Any],
    payload: bytes,
    exceptions: Mapping[str, np.ndarray],
    n: int,
    dtypes: Mapping[str, np.dtype],
) -> dict[str, np.ndarray]:
    """The decoded columns of an :func:`encode` result (``n`` rows, output ``dtypes``).

    Raises:
        ValueError: a header, payload or exception table that does not fit together.
    """
    if int(header["version"]) > QUANT_VERSION:
        raise ValueError(f"quantising codec version {header['version']} is newer than this lhcad's")
    settings = QuantSettings(precision=float(header["precision"]), level=int(header["level"]))
    entries = header["entries"]
    expected = sum(3 if e["kind"] == "momentum" else 1 for e in entries)
    if len(header["streams"]) != expected:
        raise ValueError(f"{len(header['streams'])} quantised streams for {expected} quantities")
    frames: list[np.ndarray] = []
    position = 0
    for meta in header["streams"]:  # in the order the entries read them
        frame = payload[position : position + int(meta["bytes"])]
        position += int(meta["bytes"])
        frames.append(unpack(zstd_decompress(frame, n * int(meta["width"])), n, meta))
    if position != len(payload):
        raise ValueError("the quantised streams do not fill the payload")
    streams = iter(frames)
    coder = _Coder(n, settings, dtypes)
    rel, ab = settings.relative_step, settings.absolute_step
    for index, entry in enumerate(entries):
        valid = np.ones(n, dtype=bool)
        exact = {c: np.zeros(0) for c in entry["columns"]}
        rows = exceptions.get(f"exceptions.{index}.rows")
        if rows is not None:
            valid[rows] = False
            exact = {
                c: exceptions[f"exceptions.{index}.{j}"] for j, c in enumerate(entry["columns"])
            }
            if any(len(v) != len(rows) for v in exact.values()) or valid.sum() != n - len(rows):
                raise ValueError(f"the exceptions of {entry['name']} do not fit together")
        if entry["kind"] == "momentum":
            pred_pt, pred_phi = coder.momentum_prediction(entry)
            log_pt_hat = _dequantise(pred_pt, next(streams), rel)
            eta_hat = _dequantise(np.zeros(n), next(streams), ab)
            phi_hat = _dequantise(pred_phi, next(streams), ab)
            coder.finish_momentum(entry, valid, log_pt_hat, eta_hat, phi_hat, exact)
        elif entry["kind"] == "log":
            (column,) = entry["columns"]
            log_hat = _dequantise(coder.log_prediction(entry), next(streams), rel)
            coder.finish_log(column, valid, log_hat, exact[column])
        elif entry["kind"] == "mantissa":
            (column,) = entry["columns"]
            bits = int(entry["bits"])
            coder.finish_mantissa(column, valid, next(streams), bits, exact[column])
        else:
            raise ValueError(f"unknown quantity kind {entry['kind']!r}")
    return coder.decoded
