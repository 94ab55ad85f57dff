"""Official LHCO raw particle files -> LHCO jet features, with FastJet (the ``gen`` extra).

Every event's particles (massless; pT, eta, phi) are clustered with anti-kT R = 1.0; jets above
``jet_pt_min`` are kept and the two leading-pT jets give px, py, pz, m and tau1..tau3 (beta = 1,
R0 = 1, unnormalised, one-pass exclusive-kT axes: the definition the official features files
use, chosen so that features from a converted raw file and from an official features file mean
the same and can be mixed, and the same code as lhcad's generator). With the ``extended``
feature set the extended columns follow (``EXTENDED_COLUMNS``: tau1..tau5 at beta = 0.5, 1, 2
and the constituent multiplicities, :mod:`lhcad.data.columns`). The output
has exactly one row per input event, in order, so black-box ``.masterkey`` files stay aligned:
an event with fewer than two jets gets NaN features (counted and reported; the ``data`` stage's
``nan_policy`` then drops it with a count, never silently).

Large files are converted in row blocks, each written atomically as its own part, so memory is
bounded and an interrupted conversion resumes where it stopped (a finished block is reused only
if it was made from the same file, rows and settings). A block is clustered ``CLUSTER_EVENTS``
events per FastJet call (the awkward-array interface), never one Python call per event.
The blocks run in parallel in local processes (``workers``) or as tasks of a Dask executor.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lhcad.data.columns import EXTENDED_COLUMNS, FEATURE_SETS, JET_COLUMNS, LABEL, MJJ, RAW_N_COLUMNS
from lhcad.data.lhco import _open, frame_layout, inspect_h5, iter_raw_chunks, read_masterkey
from lhcad.errors import DataError
from lhcad.executors.progress import progress as progress_bar
from lhcad.gen.detector import Particles
from lhcad.io.atomic import atomic_path, write_json_atomic

if TYPE_CHECKING:
    from lhcad.executors import Executor

#: Events per block of ``lhcad features`` (84 MB of float64 particles per worker).
DEFAULT_CHUNK_ROWS = 5_000
#: Events per FastJet call: bounds clustering's and N-subjettiness' memory (~100 kB per event).
CLUSTER_EVENTS = 1_000


def particles_from_raw(block: np.ndarray) -> Particles:
    """Flat massless four-momenta of the non-zero particles of a raw block ``(n, 700, 3)``."""
    pt, eta, phi = block[..., 0], block[..., 1], block[..., 2]
    present = pt > 0
    counts = present.sum(axis=1)
    pt, eta, phi = pt[present], eta[present], phi[present]
    return Particles(
        px=pt * np.cos(phi),
        py=pt * np.sin(phi),
        pz=pt * np.sinh(eta),
        e=pt * np.cosh(eta),
        counts=counts,
    )


def feature_columns(feature_set: str = "standard") -> list[str]:
    """The feature columns written for ``feature_set`` (``standard`` or ``extended``), in order.

    Raises:
        DataError: For an unknown feature set.
    """
    if feature_set not in FEATURE_SETS:
        raise DataError(f"unknown feature set {feature_set!r} (choose: {', '.join(FEATURE_SETS)})")
    return [*JET_COLUMNS, MJJ, *(EXTENDED_COLUMNS if feature_set == "extended" else ())]


def features_of_block(
    block: np.ndarray,
    labels: np.ndarray | None,
    jet_pt_min: float = 20.0,
    feature_set: str = "standard",
) -> pd.DataFrame:
    """One row of LHCO features per event of a raw block (NaN where there are fewer than two jets).

    The events are clustered ``CLUSTER_EVENTS`` at a time, one FastJet call each;
    ``feature_set="extended"`` adds ``EXTENDED_COLUMNS``.
    """
    from lhcad.gen.jets import lhco_features, select_dijets  # awkward, fastjet

    names = feature_columns(feature_set)
    values = np.full((len(block), len(names)), np.nan, dtype=np.float32)
    for start in range(0, len(block), CLUSTER_EVENTS):
        particles = particles_from_raw(block[start : start + CLUSTER_EVENTS])
        dijets = select_dijets(
            particles, jet_pt_min=jet_pt_min, lead_pt_min=0.0, extended=feature_set == "extended"
        )
        values[start + dijets.events] = lhco_features(dijets, rng=None)[names].to_numpy()
    frame = pd.DataFrame(values, columns=names)
    if labels is not None:
        frame[LABEL] = labels
    return frame


PART_METADATA_KEY = b"lhcad.raw.part"


@dataclass(frozen=True)
class _Job:
    """Rows ``[start, stop)`` of a raw file, converted into the parquet file ``part``."""

    path: str
    key: str | None
    start: int
    stop: int
    part: str
    jet_pt_min: float
    source: tuple[int, int]
    """Size and modification time (ns) of the raw file: a changed file is converted again."""
    feature_set: str = "standard"

    def identity(self) -> dict[str, Any]:
        """What a finished part must have been made from to be reused."""
        return {
            "path": self.path, "key": self.key, "start": self.start, "stop": self.stop,
            "jet_pt_min": self.jet_pt_min, "source": list(self.source), "feature_set": self.feature_set,
        }  # fmt: skip

    def done(self) -> bool:
        """Whether ``part`` holds exactly this job's output (from an earlier, interrupted run)."""
        try:
            meta = pq.read_schema(self.part).metadata or {}
            return json.loads(meta[PART_METADATA_KEY]) == self.identity()
        except (pa.ArrowException, OSError, KeyError, ValueError):
            return False


def _plan_jobs(
    raw: Path, key: str | None, n_rows: int, chunk_rows: int, parts_dir: Path, jet_pt_min: float,
    feature_set: str = "standard",
) -> list[_Job]:  # fmt: skip
    stat = raw.stat()
    return [
        _Job(
            str(raw),
            key,
            start,
            min(start + chunk_rows, n_rows),
            str(parts_dir / f"part-{i:05d}.parquet"),
            jet_pt_min,
            (stat.st_size, stat.st_mtime_ns),
            feature_set,
        )
        for i, start in enumerate(range(0, n_rows, chunk_rows))
    ]


def _write_part(job: _Job, frame: pd.DataFrame) -> int:
    """Write a job's features atomically, tagged with its identity; its events without two jets."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    record = json.dumps(job.identity()).encode()
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), PART_METADATA_KEY: record}
    )
    with atomic_path(Path(job.part)) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return int(frame["pxj1"].isna().sum())


def _convert_part(job: _Job) -> int:
    """Convert rows [start, stop) into one part file; returns its events without two jets."""
    with _open(Path(job.path)) as handle:
        layout = frame_layout(handle, job.key, Path(job.path))
        values = np.asarray(
            handle[layout.key][layout.blocks[0][0]][job.start : job.stop], dtype=np.float64
        )
    block = values[:, :RAW_N_COLUMNS].reshape(len(values), -1, 3)
    labels = values[:, RAW_N_COLUMNS].astype(np.int8) if values.shape[1] > RAW_N_COLUMNS else None
    return _write_part(job, features_of_block(block, labels, job.jet_pt_min, job.feature_set))


def convert_raw_file(
    raw: Path,
    out: Path,
    *,
    key: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    workers: int = 1,
    jet_pt_min: float = 20.0,
    executor: Executor | None = None,
    progress: bool = False,
    masterkey: Path | None = None,
    max_events: int | None = None,
    feature_set: str = "standard",
) -> dict[str, int | str]:
    """Convert a raw LHCO file to a features parquet file (resumable); returns a summary.

    Args:
        raw: Official raw particle file (pandas ``fixed`` or ``table`` HDF5 layout).
        out: Features parquet file to write (``out.parts/`` holds finished blocks meanwhile).
        key: HDF5 key of the frame (``None``: the only one).
        chunk_rows: Events per block: the unit of memory, parallelism and resumption.
        workers: Local worker processes (ignored with a Dask ``executor``).
        jet_pt_min: Minimum jet pT in GeV.
        executor: Run the blocks as tasks of this executor (e.g. Dask; the workers must see
            ``raw`` and ``out``'s directory); ``None`` or ``local``: local processes.
        progress: Show the progress (events; :mod:`lhcad.executors.progress`: a bar on a
            terminal, a few log lines elsewhere).
        masterkey: A black box's ``.masterkey``: its 0/1 labels become the ``label`` column,
            event by event (the file itself must be unlabelled).
        max_events: Convert only the first ``max_events`` events (a quick look at a big file).
        feature_set: ``standard`` (the official 14 jet columns and ``mjj``) or ``extended``
            (those plus ``EXTENDED_COLUMNS``: tau1..tau5 at beta = 0.5, 1, 2, multiplicities).
    """
    feature_columns(feature_set)  # validates it before any work
    _, layout = inspect_h5(raw, key)
    n_rows = layout.n_rows if max_events is None else min(max_events, layout.n_rows)
    labels = None
    if masterkey is not None:
        if len(layout.columns) != RAW_N_COLUMNS:
            raise DataError(
                "the raw file has its own label column: no masterkey needed", source=masterkey
            )
        labels = read_masterkey(masterkey, layout.n_rows)[:n_rows]
    parts_dir = out.with_name(out.name + ".parts")
    parts_dir.mkdir(parents=True, exist_ok=True)
    jobs = _plan_jobs(raw, key, n_rows, chunk_rows, parts_dir, jet_pt_min, feature_set)
    todo = [job for job in jobs if not job.done()]
    with progress_bar(n_rows, initial=n_rows - sum(j.stop - j.start for j in todo), desc="convert raw events",
                      unit="ev", enabled=progress, leave=True) as bar:  # fmt: skip
        if layout.kind != "fixed" or len(layout.blocks) != 1:
            # the table layout or mixed dtypes: the generic block reader, in this process
            for job, _ in zip(todo, _convert_sequential(raw, key, jobs, {job.part for job in todo})):
                bar.update(job.stop - job.start)
        else:
            _run_jobs(todo, workers, executor, lambda job: bar.update(job.stop - job.start))
    return _join_parts([Path(job.part) for job in jobs], out, raw, labels)


def _run_jobs(jobs: list[_Job], workers: int, executor: Executor | None, done: Callable[[_Job], None]) -> None:
    """Convert the jobs' blocks; ``done(job)`` as each finishes (Dask: in completion order)."""
    if executor is not None and executor.kind != "local":
        executor.map(_convert_part, jobs, on_result=lambda index, _: done(jobs[index]))
        return
    for job, _ in zip(jobs, _finished_in_order(jobs, workers)):
        done(job)


def _finished_in_order(jobs: list[_Job], workers: int) -> Iterable[int]:
    """Each job's count of events without two jets, in order, as the jobs finish."""
    if workers > 1 and len(jobs) > 1:
        return _pool_map(jobs, workers)
    return map(_convert_part, jobs)


def _pool_map(jobs: list[_Job], workers: int) -> Iterable[int]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_convert_part, jobs)


def _convert_sequential(
    raw: Path, key: str | None, jobs: list[_Job], todo: set[str]
) -> Iterable[int]:
    """The jobs in ``todo`` through the generic block reader (every layout), in this process."""
    blocks = iter_raw_chunks(raw, key, jobs[0].stop - jobs[0].start) if jobs else iter(())
    for job, (block, file_labels) in zip(jobs, blocks):
        if job.part in todo:
            yield _write_part(job, features_of_block(block, file_labels, job.jet_pt_min, job.feature_set))


def _join_parts(
    parts: list[Path], out: Path, raw: Path, labels: np.ndarray | None
) -> dict[str, int | str]:
    """Concatenate the parts into ``out`` (streamed, atomic; ``labels`` of a ``.masterkey``
    become the ``label`` column), then remove them."""
    n_events = n_without_two_jets = 0
    with atomic_path(out) as tmp:
        writer = None
        for part in parts:
            table = pq.read_table(part).replace_schema_metadata(None)  # drop the part's identity
            if labels is not None:
                table = table.append_column(
                    LABEL, pa.array(labels[n_events : n_events + table.num_rows])
                )
            n_events += table.num_rows
            n_without_two_jets += int(
                np.isnan(table.column("pxj1").to_numpy(zero_copy_only=False)).sum()
            )
            writer = writer or pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
        if writer is not None:
            writer.close()
    if parts:
        shutil.rmtree(parts[0].parent, ignore_errors=True)  # with any stale part of an older run
    summary: dict[str, int | str] = {
        "raw": str(raw),
        "features": str(out),
        "n_events": n_events,
        "n_without_two_jets": n_without_two_jets,
    }
    write_json_atomic(out.with_name(out.name + ".summary.json"), summary)
    return summary
