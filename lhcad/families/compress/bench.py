"""``lhcad bench --compress N``: compress and decompress speed of the quantising codec on N toy
dijet events (the 14 jet columns and mjj), beside zstd parquet of the same columns, written and
read in the same process (the reference a user already has). Each figure is the median of a few
passes; events per second count rows of the whole table."""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: Timed passes per figure (the median is reported).
REPEATS = 3


def _median_seconds(action: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        action()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench_compress(n_events: int, precision: float = 0.01) -> dict[str, Any]:
    """Events per second of ``compress_table``/``decompress_file`` with ``--model quant`` (file
    written and read on local disk) and of zstd parquet in memory, with both sizes."""
    from lhcad.data.columns import JET_COLUMNS
    from lhcad.data.toy import make_toy_events
    from lhcad.families.compress.codec import CompressionSettings, compress_table, decompress_file
    from lhcad.families.compress.quant import dijet_mass

    events = make_toy_events(int(n_events * 0.9), n_events - int(n_events * 0.9), seed=0)
    table = events[list(JET_COLUMNS)].copy()
    columns = {c: table[c].to_numpy() for c in JET_COLUMNS}
    table["mjj"] = dijet_mass(columns, ["j1", "j2"]).astype(np.float32)
    settings = CompressionSettings(kind="quant", precision=precision)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.lhcz"
        compress_table(table, path, settings)  # warm-up: imports, allocator
        decompress_file(path)
        compress_s = _median_seconds(lambda: compress_table(table, path, settings))
        decompress_s = _median_seconds(lambda: decompress_file(path))
        n_bytes = path.stat().st_size

    def write_parquet() -> bytes:
        sink = io.BytesIO()
        pq.write_table(arrow, sink, compression="zstd")
        return sink.getvalue()

    parquet = write_parquet()
    write_s = _median_seconds(write_parquet)
    read_s = _median_seconds(lambda: pq.read_table(io.BytesIO(parquet)).to_pandas())
    n = len(table)
    return {
        "compress_events": n,
        "compress_precision": precision,
        "quant_compress_events_per_s": n / compress_s,
        "quant_decompress_events_per_s": n / decompress_s,
        "quant_bytes": n_bytes,
        "parquet_zstd_write_events_per_s": n / write_s,
        "parquet_zstd_read_events_per_s": n / read_s,
        "parquet_zstd_bytes": len(parquet),
    }
