"""Official LHCO raw particle files -> LHCO jet features, with FastJet (the ``gen`` extra).

Every event's particles (massless; pT, eta, phi) are clustered with anti-kT R = 1.0; jets above
``jet_pt_min`` are kept and the two leading-pT jets give px, py, pz, m and tau1..tau3 (beta = 1,
R0 = 1, one-pass exclusive-kT axes: the definition of the official features files). The output
has exactly one row per input event, in order, so black-box ``.masterkey`` files stay aligned:
an event with fewer than two jets gets NaN features (counted and reported; the ``data`` stage's
``nan_policy`` then drops it with a count, never silently).

Large files are converted in row blocks, each written atomically as its own part, so memory is
bounded and an interrupted conversion resumes where it stopped.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lhcad.data.columns import JET_COLUMNS, LABEL, MJJ
from lhcad.data.lhco import inspect_h5, iter_raw_chunks
from lhcad.pipeline.atomic import atomic_path, write_json_atomic


def particles_from_raw(block: np.ndarray):  # -> lhcad.gen.detector.Particles
    """Flat massless four-momenta of the non-zero particles of a raw block ``(n, 700, 3)``."""
    from lhcad.gen.detector import Particles

    pt, eta, phi = block[..., 0], block[..., 1], block[..., 2]
    present = pt > 0
    counts = present.sum(axis=1)
    pt, eta, phi = pt[present], eta[present], phi[present]
    return Particles(px=pt * np.cos(phi), py=pt * np.sin(phi), pz=pt * np.sinh(eta), e=pt * np.cosh(eta), counts=counts)


def features_of_block(block: np.ndarray, labels: np.ndarray | None, jet_pt_min: float = 20.0) -> pd.DataFrame:
    """One row of LHCO features per event of a raw block (NaN where there are fewer than two jets)."""
    from lhcad.gen.jets import lhco_features, select_dijets

    dijets = select_dijets(particles_from_raw(block), jet_pt_min=jet_pt_min, lead_pt_min=0.0)
    found = lhco_features(dijets, rng=None)
    frame = pd.DataFrame(np.full((len(block), len(JET_COLUMNS) + 1), np.nan, dtype=np.float32), columns=[*JET_COLUMNS, MJJ])
    frame.iloc[dijets.events] = found[[*JET_COLUMNS, MJJ]].to_numpy()
    if labels is not None:
        frame[LABEL] = labels
    return frame


@dataclass(frozen=True)
class _Job:
    path: str
    key: str | None
    start: int
    stop: int
    part: str
    jet_pt_min: float


def _convert_part(job: _Job) -> int:
    """Convert rows [start, stop) into one part file; returns its events without two jets."""
    from lhcad.data.lhco import _open, frame_layout

    with _open(Path(job.path)) as handle:
        layout = frame_layout(handle, job.key, Path(job.path))
        values = np.asarray(handle[layout.key][layout.blocks[0][0]][job.start : job.stop], dtype=np.float64)
    n_particles = 700 * 3
    block = values[:, :n_particles].reshape(len(values), -1, 3)
    labels = values[:, n_particles].astype(np.int8) if values.shape[1] > n_particles else None
    frame = features_of_block(block, labels, job.jet_pt_min)
    with atomic_path(Path(job.part)) as tmp:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
    return int(frame["pxj1"].isna().sum())


def convert_raw_file(
    raw: Path, out: Path, *, key: str | None = None, chunk_rows: int = 20_000, workers: int = 1, jet_pt_min: float = 20.0
) -> dict[str, int | str]:
    """Convert a raw LHCO file to a features parquet file (resumable); returns a summary."""
    _, layout = inspect_h5(raw, key)
    if layout.kind != "fixed" or len(layout.blocks) != 1:
        # the table layout or mixed dtypes: fall back to the generic block reader, in this process
        return _convert_sequential(raw, out, key, chunk_rows, jet_pt_min)
    parts_dir = out.with_name(out.name + ".parts")
    parts_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        _Job(str(raw), key, start, min(start + chunk_rows, layout.n_rows), str(parts_dir / f"part-{i:05d}.parquet"), jet_pt_min)
        for i, start in enumerate(range(0, layout.n_rows, chunk_rows))
    ]
    todo = [job for job in jobs if not Path(job.part).exists()]
    if workers > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_convert_part, todo))
    else:
        for job in todo:
            _convert_part(job)
    return _join_parts([Path(job.part) for job in jobs], out, raw)


def _convert_sequential(raw: Path, out: Path, key: str | None, chunk_rows: int, jet_pt_min: float) -> dict[str, int | str]:
    parts_dir = out.with_name(out.name + ".parts")
    parts_dir.mkdir(parents=True, exist_ok=True)
    parts = []
    for i, (block, labels) in enumerate(iter_raw_chunks(raw, key, chunk_rows)):
        part = parts_dir / f"part-{i:05d}.parquet"
        if not part.exists():
            frame = features_of_block(block, labels, jet_pt_min)
            with atomic_path(part) as tmp:
                pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
        parts.append(part)
    return _join_parts(parts, out, raw)


def _join_parts(parts: list[Path], out: Path, raw: Path) -> dict[str, int | str]:
    """Concatenate the parts into ``out`` (streamed, atomic), then remove them."""
    n_events = n_without_two_jets = 0
    with atomic_path(out) as tmp:
        writer = None
        for part in parts:
            table = pq.read_table(part)
            n_events += table.num_rows
            n_without_two_jets += int(np.isnan(table.column("pxj1").to_numpy(zero_copy_only=False)).sum())
            writer = writer or pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
        if writer is not None:
            writer.close()
    for part in parts:
        part.unlink(missing_ok=True)
    if parts and not any(parts[0].parent.iterdir()):
        parts[0].parent.rmdir()
    summary: dict[str, int | str] = {"raw": str(raw), "features": str(out), "n_events": n_events, "n_without_two_jets": n_without_two_jets}
    write_json_atomic(out.with_name(out.name + ".summary.json"), summary)
    return summary
