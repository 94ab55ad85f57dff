"""Throughput and memory of ``lhcad features`` on a synthetic file in the official raw layout.

The synthetic events look like the LHCO R&D events to FastJet: two hard back-to-back sprays of
particles (jet pT 1.2-2 TeV shared among ~60 particles each, spread 0.15 in eta and phi) on top
of ~60 soft particles (exponential pT, |eta| < 2.5), about 180 particles per event, zero padded
to 700, float64, written block by block (no 16 GB array in memory).

The conversion runs as ``python -m lhcad features`` in a child process, exactly as a user runs
it; its peak memory is the peak of the summed RSS of the process tree (sampled with psutil
every 50 ms when it is installed, e.g. with the ``dask`` extra) and the largest single
process (the kernel's ``ru_maxrss``).
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from lhcad.data.raw_features import DEFAULT_CHUNK_ROWS
from lhcad.data.raw_writer import RawFileWriter, particles_to_rows

#: Events of the R&D file, for the extrapolated conversion time.
RND_FILE_EVENTS = 1_100_000
_SOFT_PARTICLES = 60
_JET_PARTICLES = 60


def synthetic_raw_events(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic raw rows ``(n, 2100)`` (two hard jets + soft particles) and 0/1 labels."""
    n_jet = rng.poisson(_JET_PARTICLES, (n, 2)) + 5
    n_soft = rng.poisson(_SOFT_PARTICLES, n)
    counts = n_jet.sum(axis=1) + n_soft
    eta_axis = rng.uniform(-1.5, 1.5, (n, 2))
    phi1 = rng.uniform(-np.pi, np.pi, n)
    phi_axis = np.stack([phi1, phi1 + np.pi], axis=1)
    jet_pt = rng.uniform(1200.0, 2000.0, (n, 2))
    # per particle: which event, which jet (0, 1) or soft (2), in event order
    event = np.repeat(np.arange(n), counts)
    slot = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    kind = (slot >= n_jet[event, 0]).astype(np.int64) + (slot >= n_jet[event].sum(axis=1))
    in_jet = kind < 2
    weights = rng.exponential(1.0, len(kind))
    group = event * 3 + kind
    share = weights / np.bincount(group, weights, minlength=3 * n)[group]
    jet = np.minimum(kind, 1)
    pt = np.where(in_jet, share * jet_pt[event, jet], rng.exponential(1.5, len(kind)) + 0.5)
    eta = np.where(
        in_jet,
        eta_axis[event, jet] + rng.normal(0, 0.15, len(kind)),
        rng.uniform(-2.5, 2.5, len(kind)),
    )
    phi = np.where(
        in_jet,
        phi_axis[event, jet] + rng.normal(0, 0.15, len(kind)),
        rng.uniform(-np.pi, np.pi, len(kind)),
    )
    phi = np.angle(np.exp(1j * phi))
    return particles_to_rows(pt, eta, phi, counts), rng.integers(0, 2, n)


def write_synthetic_raw_file(path: Path, n_events: int, seed: int = 0, block: int = 10_000) -> None:
    """A labelled raw file of ``n_events`` synthetic events, written ``block`` events at a time."""
    rng = np.random.default_rng(seed)
    with RawFileWriter(path, n_events, labelled=True) as writer:
        for start in range(0, n_events, block):
            rows, labels = synthetic_raw_events(min(block, n_events - start), rng)
            writer.write(start, rows, labels)


def _tree_rss_mb(psutil: Any, process: Any) -> tuple[float, float]:
    """Summed and largest RSS of a process and its descendants, in MB."""
    sizes = []
    try:
        family = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, 0.0
    for proc in family:
        with contextlib.suppress(
            psutil.NoSuchProcess, psutil.AccessDenied
        ):  # a worker that just exited
            sizes.append(proc.memory_info().rss / 2**20)
    return sum(sizes), max(sizes, default=0.0)


def _run_measured(command: list[str]) -> tuple[float, float | None, float, str]:
    """Run ``command``: wall seconds, peak summed RSS of its process tree, peak RSS of its
    largest process (MB) and its stdout. Without psutil only the largest process is known
    (the kernel's ``ru_maxrss`` of waited-for children)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_tree, peak_single = None, 0.0
    if psutil is not None:
        watched = psutil.Process(child.pid)
        peak_tree = 0.0
        while child.poll() is None:
            total, single = _tree_rss_mb(psutil, watched)
            peak_tree, peak_single = max(peak_tree, total), max(peak_single, single)
            time.sleep(0.05)
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise RuntimeError(f"lhcad features failed ({child.returncode}): {stderr.strip()[-500:]}")
    if psutil is None:
        peak_single = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return wall, peak_tree, peak_single, stdout


def bench_raw_conversion(
    n_events: int,
    *,
    workers: int = 2,
    chunk_rows: int | None = None,
    convert_events: int | None = None,
    directory: Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Write a synthetic raw file of ``n_events`` and time ``lhcad features`` on it (on its first
    ``convert_events`` only, when given: ``--max-events``, the same code path).

    Returns the JSON-ready figures: ``raw_events``, ``raw_events_converted``, ``raw_file_gb``, ``raw_write_s``,
    ``raw_convert_s``, ``raw_events_per_s``, ``raw_peak_rss_mb`` (process tree, summed),
    ``raw_peak_rss_mb_largest_process``, ``raw_n_without_two_jets`` and
    ``raw_rnd_file_minutes`` (the 1.1M-event R&D file at the measured rate); on a shared
    machine also ``raw_cpu_s`` (CPU time of the conversion's processes), ``raw_events_per_cpu_s``
    and ``raw_rnd_file_minutes_on_2_free_cores`` (the R&D file at that CPU rate on two cores
    nobody else uses).
    """
    chunk_rows = chunk_rows or DEFAULT_CHUNK_ROWS
    with tempfile.TemporaryDirectory(dir=directory, prefix="lhcad-raw-bench-") as tmp:
        raw, out = Path(tmp) / "raw.h5", Path(tmp) / "features.parquet"
        start = time.perf_counter()
        write_synthetic_raw_file(raw, n_events, seed)
        write_s = time.perf_counter() - start
        command = [sys.executable, "-m", "lhcad", "features", str(raw), "--out", str(out), "--workers", str(workers),
                   "--chunk-rows", str(chunk_rows), "--no-progress"]  # fmt: skip
        if convert_events is not None:
            command += ["--max-events", str(convert_events)]
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall, peak_tree, largest, stdout = _run_measured(command)
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        summary = json.loads(stdout)
        size_gb = raw.stat().st_size / 1e9
    converted = summary["n_events"]
    rate = converted / wall
    cpu_s = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    per_cpu_s = converted / cpu_s
    return {
        "raw_events": n_events,
        "raw_events_converted": converted,
        "raw_workers": workers,
        "raw_chunk_rows": chunk_rows,
        "raw_file_gb": round(size_gb, 2),
        "raw_write_s": round(write_s, 1),
        "raw_convert_s": round(wall, 1),
        "raw_events_per_s": round(rate, 1),
        "raw_peak_rss_mb": None if peak_tree is None else round(peak_tree, 1),
        "raw_peak_rss_mb_largest_process": round(largest, 1),
        "raw_n_without_two_jets": summary["n_without_two_jets"],
        "raw_rnd_file_minutes": round(RND_FILE_EVENTS / rate / 60, 1),
        "raw_cpu_s": round(cpu_s, 1),
        "raw_events_per_cpu_s": round(per_cpu_s, 1),
        "raw_rnd_file_minutes_on_2_free_cores": round(RND_FILE_EVENTS / (2 * per_cpu_s) / 60, 1),
    }
