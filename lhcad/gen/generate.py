"""Generate LHCO-format events: in memory (``generate_events``) or to parquet (or the official
raw particle layout, ``fmt="raw"``), in parallel and resumable (``generate_to_parquet``).

A run is cut into chunks of at most ``chunk_size`` selected events. Chunk ``k`` of a run with
seed ``s`` has its own Pythia seed (``1 + 10000 s + k``) and detector seed (``[s, k]``), so its
content does not depend on the number of workers, and runs with different seeds never share a
Pythia seed (their files can be combined). Each finished chunk is written atomically to
``FILE.parts/``; a killed run, started again with the same arguments, reuses them.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lhcad import __version__
from lhcad.data.columns import EXTENDED_COLUMNS, FEATURE_SETS, JET_COLUMNS, LABEL, MJJ, RAW_N_COLUMNS
from lhcad.data.parquet import write_events_parquet
from lhcad.data.raw_writer import RawFileWriter, particles_to_rows
from lhcad.executors import Executor
from lhcad.executors.progress import progress as progress_bar
from lhcad.gen.detector import DETECTORS, DetectorSettings, Particles, apply_detector
from lhcad.gen.extra import GeneratorError, require_gen_extra
from lhcad.gen.pythia import PROCESSES, make_pythia, process_settings, pythia_seed, pythia_version
from lhcad.io.atomic import atomic_path, write_json_atomic

#: Truth columns added by ``generate_events(..., truth=True)``: the hard process's pTHat and mHat.
TRUTH_COLUMNS: tuple[str, ...] = ("pthat", "mhat")
CHUNK_METADATA_KEY = b"lhcad.gen.chunk"
#: Column of a raw run's chunk files holding each event's raw row (700 x (pT, eta, phi)).
RAW_PARTICLES = "particles"
#: What ``lhcad generate --format`` writes: LHCO features (parquet) or the official raw layout (HDF5).
OUTPUT_FORMATS: tuple[str, ...] = ("parquet", "raw")
BATCH_SIZE = 500
MAX_EMPTY_BATCHES = 3


@dataclass(frozen=True)
class GeneratorConfig:
    """Physics settings of one generated sample (everything but the seed and the event count).

    Attributes:
        process: ``qcd`` (label 0) or ``signal`` (label 1).
        mZ: Z' mass, GeV (signal).
        mX: Heavier daughter's mass, GeV (signal).
        mY: Lighter daughter's mass, GeV (signal).
        pthat_min: Minimum pT of the hard QCD scattering, GeV (qcd).
        mpi: Multiple parton interactions (underlying event) on.
        detector: ``simple`` detector response or ``none`` (particle level, |eta| < 2.5).
        jet_radius: Anti-kT radius.
        jet_pt_min: Minimum jet pT, GeV.
        lead_pt_min: Minimum leading-jet pT, GeV (at least two jets are also required).
        jet_response: Apply the jet-level response (``simple`` detector) after clustering; off,
            the features are exactly those of the clustered particles.
        massless: Make the reconstructed particles massless (E = |p|) before clustering, as the
            official raw files do (they hold only pT, eta, phi); always on for raw output.
        feature_set: ``standard`` (the official 14 jet columns) or ``extended``: also
            ``EXTENDED_COLUMNS`` (tau1..tau5 of each jet at beta = 0.5, 1, 2 and the constituent
            multiplicities, :mod:`lhcad.data.columns`); the standard columns are the same.
    """

    process: str
    mZ: float = 3500.0
    mX: float = 500.0
    mY: float = 100.0
    pthat_min: float = 1000.0
    mpi: bool = False
    detector: str = "simple"
    jet_radius: float = 1.0
    jet_pt_min: float = 20.0
    lead_pt_min: float = 1200.0
    jet_response: bool = True
    massless: bool = False
    feature_set: str = "standard"

    def __post_init__(self) -> None:
        if self.process not in PROCESSES:
            raise GeneratorError(f"unknown process {self.process!r} (known: {', '.join(PROCESSES)})")
        if self.detector not in DETECTORS:
            raise GeneratorError(f"unknown detector {self.detector!r} (known: {', '.join(DETECTORS)})")
        if self.feature_set not in FEATURE_SETS:
            raise GeneratorError(f"unknown feature set {self.feature_set!r} (known: {', '.join(FEATURE_SETS)})")
        self.pythia_settings()  # validates the masses and the pTHat cut

    @property
    def label(self) -> int:
        """Truth label of the events: 1 for signal, 0 for QCD."""
        return int(self.process == "signal")

    def pythia_settings(self) -> list[str]:
        """Pythia's settings for this sample (seeds excluded)."""
        return process_settings(
            self.process, mZ=self.mZ, mX=self.mX, mY=self.mY, pthat_min=self.pthat_min, mpi=self.mpi
        )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict, Pythia's included."""
        return {**asdict(self), "pythia_settings": self.pythia_settings()}


#: What ``lhcad generate --process`` accepts: one process, or ``rnd``, QCD plus signal shuffled.
SAMPLE_KINDS: tuple[str, ...] = (*PROCESSES, "rnd")


def plan_samples(
    kind: str, n: int, *, n_signal: int | None = None, **physics: Any
) -> tuple[list[tuple[GeneratorConfig, int]], bool]:
    """The samples of a ``qcd``, ``signal`` or ``rnd`` run, and whether to shuffle them.

    Args:
        kind: ``qcd``, ``signal``, or ``rnd``: ``n`` QCD plus ``n_signal`` signal events.
        n: Selected events (QCD events for ``rnd``).
        n_signal: Signal events of ``rnd`` (default ``n // 10``, S/B = 10% as in the LHCO R&D set).
        **physics: ``GeneratorConfig`` fields shared by the samples (masses, pthat_min, ...).

    Returns:
        ``(config, n)`` pairs for ``generate_to_parquet``, and its ``shuffle`` argument.

    Raises:
        GeneratorError: For an unknown kind, or ``n_signal`` without ``rnd``.
    """
    if kind not in SAMPLE_KINDS:
        raise GeneratorError(f"unknown process {kind!r} (known: {', '.join(SAMPLE_KINDS)})")
    if kind != "rnd":
        if n_signal is not None:
            raise GeneratorError("n_signal (--n-signal) only applies to the rnd process")
        return [(GeneratorConfig(kind, **physics), n)], False
    signal = n // 10 if n_signal is None else n_signal
    return [(GeneratorConfig("qcd", **physics), n), (GeneratorConfig("signal", **physics), signal)], True


class _ParticleTable:
    """Charge and visibility of PDG ids, looked up in Pythia's particle data once per id."""

    def __init__(self, particle_data: Any):
        self._data = particle_data
        self._cache: dict[int, tuple[float, bool]] = {}

    def _entry(self, pid: int) -> tuple[float, bool]:
        if pid not in self._cache:
            self._cache[pid] = (self._data.charge(pid), bool(self._data.isVisible(pid)))
        return self._cache[pid]

    def lookup(self, pid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Charge and visibility of each PDG id in ``pid``."""
        unique, inverse = np.unique(pid, return_inverse=True)
        entries = np.array([self._entry(i) for i in unique.tolist()], dtype=np.float64).reshape(-1, 2)
        return entries[inverse, 0], entries[inverse, 1].astype(bool)


def _reconstruct(
    run: Any, config: GeneratorConfig, rng: np.random.Generator, table: _ParticleTable, raw: bool = False
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """LHCO features of the selected events of a Pythia batch, their indices in the batch and,
    with ``raw``, their particles as rows of the official raw layout."""
    import awkward as ak

    from lhcad.gen.jets import lhco_features, select_dijets  # awkward, fastjet

    final = run["prt"][run["prt"].status > 0]
    flat = ak.flatten(final, axis=1)
    pid = ak.to_numpy(flat.id)
    charge, visible = table.lookup(pid)
    particles = Particles(
        *(ak.to_numpy(flat.p[name]).astype(np.float64) for name in ("px", "py", "pz", "e")),
        counts=ak.to_numpy(ak.num(final, axis=1)),
    ).select(visible)
    reco = apply_detector(particles, charge[visible], pid[visible], rng, config.detector)
    if config.massless:
        reco = _massless(reco)
    dijets = select_dijets(
        reco,
        radius=config.jet_radius,
        jet_pt_min=config.jet_pt_min,
        lead_pt_min=config.lead_pt_min,
        extended=config.feature_set == "extended",
    )
    smear = config.detector == "simple" and config.jet_response
    frame = lhco_features(dijets, rng if smear else None)
    info = run["info"][dijets.events]
    frame["pthat"] = np.sqrt(ak.to_numpy(info.pT2Hat)).astype(np.float32)
    frame["mhat"] = ak.to_numpy(info.mHat).astype(np.float32)
    return frame, dijets.events, _raw_rows(reco, dijets.events) if raw else None


def _massless(particles: Particles) -> Particles:
    """The same momenta with E = |p| (what pT, eta, phi alone describe)."""
    energy = np.sqrt(particles.px**2 + particles.py**2 + particles.pz**2)
    return Particles(particles.px, particles.py, particles.pz, energy, particles.counts)


def _raw_rows(particles: Particles, events: np.ndarray) -> np.ndarray:
    """The particles of ``events`` as rows of the official raw layout (pT, eta, phi; float64)."""
    chosen = np.zeros(len(particles.counts), dtype=bool)
    chosen[events] = True
    kept = particles.select(np.repeat(chosen, particles.counts))
    pt = np.hypot(kept.px, kept.py)
    return particles_to_rows(pt, np.arcsinh(kept.pz / pt), np.arctan2(kept.py, kept.px), kept.counts[events])


def _generate_chunk(
    config: GeneratorConfig, n: int, seed: int, chunk: int, raw: bool = False
) -> tuple[pd.DataFrame, dict[str, Any], np.ndarray | None]:
    """``n`` selected events of chunk ``chunk`` (features, truth columns and label), counts and,
    with ``raw``, the events' particles as rows of the official raw layout."""
    start = time.perf_counter()
    seed_pythia = pythia_seed(seed, chunk)
    pythia = make_pythia(config.pythia_settings(), seed_pythia)
    rng = np.random.default_rng([seed, chunk])
    table = _ParticleTable(pythia.particleData)
    frames: list[pd.DataFrame] = []
    raw_blocks: list[np.ndarray] = []
    n_selected = n_generated = empty_batches = 0
    while n_selected < n:
        run = pythia.nextBatch(BATCH_SIZE)
        if len(run) == 0:
            empty_batches += 1
            if empty_batches >= MAX_EMPTY_BATCHES:
                raise GeneratorError(f"Pythia failed to generate {BATCH_SIZE * MAX_EMPTY_BATCHES} events in a row")
            continue
        frame, events, rows = _reconstruct(run, config, rng, table, raw)
        need = n - n_selected
        if len(frame) >= need:
            frame = frame.iloc[:need]
            n_generated += int(events[need - 1]) + 1
        else:
            n_generated += len(run)
        frames.append(frame)
        if rows is not None:
            raw_blocks.append(rows[: len(frame)])
        n_selected += len(frame)
    info = pythia.infoPython()
    result = pd.concat(frames, ignore_index=True)
    result[LABEL] = np.int8(config.label)
    stats = {
        "chunk": chunk,
        "pythia_seed": seed_pythia,
        "detector_seed": [seed, chunk],
        "n_selected": n_selected,
        "n_generated": n_generated,
        "sigma_gen_mb": info.sigmaGen(),
        "sigma_err_mb": info.sigmaErr(),
        "wall_s": round(time.perf_counter() - start, 3),
    }
    rows = np.concatenate(raw_blocks) if raw else None
    if rows is not None:
        # events using all 700 slots of the raw layout: any particle beyond (the softest) is lost
        stats["n_raw_full"] = int((rows[:, RAW_N_COLUMNS - 3] > 0).sum())
    return result, stats, rows


def _output_columns(truth: bool, feature_set: str = "standard") -> list[str]:
    extended = EXTENDED_COLUMNS if feature_set == "extended" else ()
    return [*JET_COLUMNS, MJJ, *extended, *(TRUTH_COLUMNS if truth else ()), LABEL]


def generate_events(
    process: str,
    n: int,
    *,
    mZ: float = 3500.0,
    mX: float = 500.0,
    mY: float = 100.0,
    seed: int = 0,
    pthat_min: float = 1000.0,
    mpi: bool = False,
    detector: str = "simple",
    chunk: int = 0,
    truth: bool = False,
    feature_set: str = "standard",
) -> pd.DataFrame:
    """Generate ``n`` selected events in this process.

    Args:
        process: ``qcd`` or ``signal``.
        n: Number of events passing the dijet selection.
        mZ: Z' mass, GeV (signal).
        mX: Heavier daughter's mass, GeV (signal).
        mY: Lighter daughter's mass, GeV (signal).
        seed: Run seed (0 .. 89999).
        pthat_min: Minimum pT of the hard QCD scattering, GeV (qcd).
        mpi: Switch multiple parton interactions on.
        detector: ``simple`` or ``none``.
        chunk: Chunk number within the run (seeds chunk ``chunk`` of ``generate_to_parquet``).
        truth: Also return the truth columns ``pthat`` and ``mhat`` (GeV).
        feature_set: ``standard`` or ``extended`` (adds ``EXTENDED_COLUMNS`` after ``mjj``).

    Returns:
        The LHCO feature columns (float32), ``mjj`` and ``label`` (int8); ``attrs["generation"]``
        holds the settings and counts (events generated, cross section).

    Raises:
        GeneratorError: Without the ``gen`` extra, or for invalid settings.
    """
    require_gen_extra()
    if n <= 0:
        raise GeneratorError(f"the number of events must be positive, got {n}")
    config = GeneratorConfig(
        process, mZ=mZ, mX=mX, mY=mY, pthat_min=pthat_min, mpi=mpi, detector=detector, feature_set=feature_set
    )
    frame, stats, _ = _generate_chunk(config, n, seed, chunk)
    frame = frame[_output_columns(truth, feature_set)]
    frame.attrs["generation"] = {"config": config.to_dict(), "seed": seed, **stats}
    return frame


@dataclass(frozen=True)
class _Task:
    sample: int
    config: GeneratorConfig
    n: int
    seed: int
    chunk: int
    path: Path
    raw: bool = False
    """Also keep the events' particles (column ``particles``) for the raw output format."""

    def identity(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "n": self.n, "seed": self.seed, "chunk": self.chunk, "raw": self.raw}


def _plan_tasks(
    samples: Sequence[tuple[GeneratorConfig, int]], seed: int, chunk_size: int, parts: Path, raw: bool = False
) -> list[_Task]:
    """The chunks of a run, numbered across its samples."""
    tasks: list[_Task] = []
    for sample, (config, n) in enumerate(samples):
        for start in range(0, n, chunk_size):
            k = len(tasks)
            pythia_seed(seed, k)  # validates the seed and the number of chunks
            path = parts / f"chunk_{k:05d}.parquet"
            tasks.append(_Task(sample, config, min(chunk_size, n - start), seed, k, path, raw))
    return tasks


def _done_stats(task: _Task) -> dict[str, Any] | None:
    """The stats of a chunk file written earlier for exactly this task, else None."""
    if not task.path.exists():
        return None
    try:
        meta = pq.read_schema(task.path).metadata or {}
        record = json.loads(meta[CHUNK_METADATA_KEY])
    except (pa.ArrowException, OSError, KeyError, ValueError):
        return None
    return record["stats"] if record.get("task") == task.identity() else None


def _run_task(task: _Task) -> dict[str, Any]:
    """Generate one chunk and write it atomically (runs in a worker process)."""
    frame, stats, rows = _generate_chunk(task.config, task.n, task.seed, task.chunk, task.raw)
    table = pa.Table.from_pandas(frame[_output_columns(False, task.config.feature_set)], preserve_index=False)
    if rows is not None:
        particles = pa.FixedSizeListArray.from_arrays(pa.array(rows.ravel()), RAW_N_COLUMNS)
        table = table.append_column(RAW_PARTICLES, particles)
    record = json.dumps({"task": task.identity(), "stats": stats}).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), CHUNK_METADATA_KEY: record})
    with atomic_path(task.path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return stats


def _parts_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


def provenance_path(out: Path) -> Path:
    """The provenance sidecar of an output file: ``FILE.provenance.json`` next to ``FILE.parquet``."""
    return out.with_suffix(".provenance.json")


def _versions() -> dict[str, str]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "unknown"

    return {
        "lhcad": __version__,
        "pythia": pythia_version(),
        "pythia8mc": version("pythia8mc"),
        "fastjet": version("fastjet"),
        "numpy": version("numpy"),
        "python": sys.version.split()[0],
    }


def _sample_summary(config: GeneratorConfig, n: int, chunk_stats: list[dict[str, Any]]) -> dict[str, Any]:
    n_generated = sum(s["n_generated"] for s in chunk_stats)
    sigma = sum(s["sigma_gen_mb"] * s["n_generated"] for s in chunk_stats) / max(n_generated, 1)
    efficiency = n / n_generated if n_generated else float("nan")
    return {
        "process": config.process,
        "label": config.label,
        "n_selected": n,
        "n_generated": n_generated,
        "selection_efficiency": efficiency,
        "sigma_gen_mb": sigma,
        "sigma_selected_fb": sigma * efficiency * 1e12,
        "config": config.to_dict(),
        "chunks": chunk_stats,
    }


def _run_tasks(
    tasks: list[_Task], workers: int, on_done: Callable[[_Task, dict[str, Any]], None], executor: Executor | None = None
) -> None:
    if executor is not None and executor.kind != "local":
        executor.map(_run_task, tasks, on_result=lambda index, chunk_stats: on_done(tasks[index], chunk_stats))
        return
    if workers == 1:
        for task in tasks:
            on_done(task, _run_task(task))
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
    try:
        pending = {pool.submit(_run_task, task): task for task in tasks}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                on_done(pending.pop(future), future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _write_raw(tasks: list[_Task], out: Path, order: np.ndarray | None) -> None:
    """Stream the chunks' particles into the raw file, in the order of ``order`` (one chunk in memory)."""
    total = sum(t.n for t in tasks)
    position = np.arange(total) if order is None else np.argsort(order)  # row of each event
    with RawFileWriter(out, total, labelled=True) as writer:
        offset = 0
        for task in tasks:
            table = pq.read_table(task.path, columns=[RAW_PARTICLES, LABEL])
            rows = table.column(RAW_PARTICLES).combine_chunks().flatten().to_numpy().reshape(-1, RAW_N_COLUMNS)
            labels = table.column(LABEL).to_numpy()
            writer.write_rows(position[offset : offset + len(rows)], rows, labels)
            offset += len(rows)


def generate_to_parquet(
    out: str | Path,
    samples: Sequence[tuple[GeneratorConfig, int]],
    *,
    seed: int = 0,
    workers: int = 1,
    chunk_size: int = 1000,
    shuffle: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    command: str | None = None,
    executor: Executor | None = None,
    fmt: str = "parquet",
) -> dict[str, Any]:
    """Generate samples into one parquet file (zstd), or a raw particle file in the official
    LHCO layout (``fmt="raw"``), plus ``FILE.provenance.json``.

    Args:
        out: Output parquet file.
        samples: ``(config, n)`` pairs: ``n`` selected events of each sample, concatenated.
        seed: Run seed (0 .. 89999); chunks are numbered across all samples.
        workers: Worker processes, each running its own Pythia on one chunk at a time.
        chunk_size: Selected events per chunk (the unit of resumption and parallelism).
        shuffle: Shuffle the events (seeded by ``seed``), e.g. to mix signal into background.
        overwrite: Replace an existing output file.
        progress: Show the progress (:mod:`lhcad.executors.progress`: a bar on a terminal, a
            few log lines elsewhere).
        command: The command line to record in the provenance.
        executor: Run the chunks as tasks of this executor (e.g. Dask) instead of local
            processes; the workers must see the output's directory.
        fmt: ``parquet`` (LHCO features, ``mjj``, the extended columns of samples whose
            ``feature_set`` is ``extended``, ``label``) or ``raw``: each event's
            reconstructed particles (massless, so the file holds exactly what was clustered),
            700 x (pT, eta, phi) zero padded plus ``label``, pandas ``fixed`` HDF5 layout.

    Returns:
        The provenance record (also written next to the output).

    Raises:
        GeneratorError: Without the ``gen`` extra, for invalid settings or an existing output.
    """
    require_gen_extra()
    out = Path(out)
    if out.exists() and not overwrite:
        raise GeneratorError("output exists (use --overwrite to replace it)", source=out)
    if workers < 1 or chunk_size < 1:
        raise GeneratorError(f"workers and chunk_size must be positive, got {workers} and {chunk_size}")
    if not samples or any(n < 0 for _, n in samples) or sum(n for _, n in samples) == 0:
        raise GeneratorError("nothing to generate: give a positive number of events")
    if fmt not in OUTPUT_FORMATS:
        raise GeneratorError(f"unknown output format {fmt!r} (known: {', '.join(OUTPUT_FORMATS)})")
    raw = fmt == "raw"
    if raw and any(config.feature_set != "standard" for config, _ in samples):
        raise GeneratorError(
            "the raw format holds particles, not features: convert it with "
            "`lhcad features --feature-set extended` instead"
        )
    if raw:
        samples = [(replace(config, massless=True), n) for config, n in samples]
    parts = _parts_dir(out)
    tasks = _plan_tasks(samples, seed, chunk_size, parts, raw)
    parts.mkdir(parents=True, exist_ok=True)

    begin = time.perf_counter()
    stats = {task.chunk: done for task in tasks if (done := _done_stats(task)) is not None}
    todo = [task for task in tasks if task.chunk not in stats]
    total = sum(t.n for t in tasks)
    initial = total - sum(t.n for t in todo)
    with progress_bar(total, initial=initial, desc="generate", unit="ev", enabled=progress, leave=True) as bar:
        if stats:
            bar.set_postfix_str(f"resumed {len(stats)} chunks")

        def on_done(task: _Task, chunk_stats: dict[str, Any]) -> None:
            stats[task.chunk] = chunk_stats
            bar.update(task.n)

        _run_tasks(todo, workers, on_done, executor)

    order = np.random.default_rng(seed).permutation(total) if shuffle else None
    if raw:
        _write_raw(tasks, out, order)
        columns = {f"0 .. {RAW_N_COLUMNS - 1}": "float64", LABEL: "float64"}
    else:
        frame = pd.concat([pq.read_table(t.path).to_pandas() for t in tasks], ignore_index=True)
        if order is not None:
            frame = frame.iloc[order].reset_index(drop=True)
        write_events_parquet(frame, out)
        columns = {name: str(dtype) for name, dtype in frame.dtypes.items()}

    provenance = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "versions": _versions(),
        "output": {
            "file": out.name,
            "format": fmt,
            "rows": total,
            "columns": columns,
            "shuffled": shuffle,
            "compression": None if raw else "zstd",
        },
        "seed": seed,
        "chunk_size": chunk_size,
        "workers": workers,
        "detector_settings": DetectorSettings().to_dict(),
        "samples": [
            _sample_summary(config, n, [stats[t.chunk] for t in tasks if t.sample == sample])
            for sample, (config, n) in enumerate(samples)
            if n
        ],
        "wall_s": round(time.perf_counter() - begin, 1),
        "cpu_s_in_chunks": round(sum(s["wall_s"] for s in stats.values()), 1),
        "chunks_resumed": len(tasks) - len(todo),
    }
    write_json_atomic(provenance_path(out), provenance)
    shutil.rmtree(parts)
    return provenance

