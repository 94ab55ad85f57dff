"""The labelled events of a classification study: read (HDF5 image files, simulated showers or
a table), subsampled and split per class, and scaled for the networks.

Images stay in the CMS layout ``(N, H, W, C)`` until :class:`InputScaling` turns them into the
networks' ``(N, C, H, W)``; table rows are ``(N, F)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lhcad.families.egamma.egamma_file import CHANNELS, read_egamma_file, write_egamma_file
from lhcad.families.egamma.config import LabelledConfig, LabelledTableConfig, ShowerSimulationConfig
from lhcad.families.egamma.showers import ShowerSettings, ShowerTruth, simulate_showers
from lhcad.data.sources import resolve_path
from lhcad.errors import DataError
from lhcad.preprocessing import TRAIN
from lhcad.preprocessing import stratified_split as split_by_class

SPLIT_NAMES = ("train", "validation", "test")


@dataclass
class LabelledSamples:
    """Events with 0/1 labels.

    Attributes:
        x: images ``(N, H, W, C)`` or table rows ``(N, F)``, float32.
        y: labels, int64.
        classes: the names of classes 0 and 1.
        channels: names of the image channels, or of the table's features.
        images: whether ``x`` holds images.
        sources: what was read, for the report.
        truth: simulated showers only: the generator's truth per event, field by field
            (:class:`lhcad.families.egamma.showers.ShowerTruth`), in the order of ``x``.
    """

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, str]
    channels: list[str]
    images: bool
    sources: list[dict[str, Any]] = field(default_factory=list)
    truth: dict[str, np.ndarray] | None = None


def labelled_input_files(cfg: LabelledConfig) -> list[Path]:
    """The external files a ``labelled`` section reads (they must exist)."""
    paths = [resolve_path(f.path) for f in cfg.files] if cfg.source == "files" else []
    paths += [resolve_path(cfg.table.path)] if cfg.source == "table" and cfg.table else []
    for path in paths:
        if not path.is_file():
            raise DataError("file not found" if not path.exists() else "not a file", source=path)
    return paths


def _channel_indices(cfg: LabelledConfig) -> tuple[list[int] | None, list[str] | None]:
    if cfg.channels is None:
        return None, None
    indices = [CHANNELS.index(c) if isinstance(c, str) else c for c in cfg.channels]
    names = [CHANNELS[i] if i < len(CHANNELS) else f"channel {i}" for i in indices]
    return indices, names


def shower_settings(sim: ShowerSimulationConfig) -> ShowerSettings:
    """The simulation settings of a ``labelled.simulate`` block."""
    return ShowerSettings(
        pt_min=sim.pt_min, pt_max=sim.pt_max, eta_max=sim.eta_max, material_scale=sim.material_scale,
        noise=sim.noise, resolution=sim.resolution,
    )  # fmt: skip


def simulate_files(cfg: LabelledConfig, directory: Path) -> tuple[list[tuple[Path, int, str]], ShowerTruth]:
    """Simulate the ``simulate`` block's electrons and photons into CMS-layout files in
    ``directory``; returns (path, label, name) per file and the generator's truth of their
    showers, file after file."""
    sim = cfg.simulate
    files, truths = [], []
    for particle in ("electron", "photon"):
        sample = simulate_showers(particle, sim.n, seed=sim.seed, settings=shower_settings(sim))
        path = write_egamma_file(directory / f"{particle}s.hdf5", sample.images, sample.labels)
        files.append((path, int(sample.labels[0]), particle))
        truths.append(sample.truth)
    return files, ShowerTruth.concatenate(truths)


def _read_image_files(cfg: LabelledConfig, files: list[tuple[Path, int, str, str]]) -> LabelledSamples:
    indices, names = _channel_indices(cfg)
    xs, ys, sources = [], [], []
    classes = ["class 0", "class 1"]
    for path, label, name, key in files:
        images, _ = read_egamma_file(path, channels=indices, image_key=key, label_key=None)
        if xs and images.shape[1:] != xs[0].shape[1:]:
            raise DataError(f"images of shape {images.shape[1:]} differ from the first file's {xs[0].shape[1:]}", source=path)
        xs.append(images)
        ys.append(np.full(len(images), label, dtype=np.int64))
        classes[label] = name
        sources.append({"path": str(path), "label": label, "class": name, "events": len(images)})
    n_channels = xs[0].shape[-1]
    channel_names = names or [CHANNELS[i] if n_channels == len(CHANNELS) else f"channel {i}" for i in range(n_channels)]
    return LabelledSamples(np.concatenate(xs), np.concatenate(ys), (classes[0], classes[1]), channel_names, True, sources)


def read_labelled_table(table: LabelledTableConfig) -> LabelledSamples:
    """Feature columns and 0/1 labels of a parquet or CSV table."""
    import pandas as pd

    path = resolve_path(table.path)
    try:
        frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the table ({exc})", source=path) from None
    if table.label not in frame.columns:
        raise DataError(f"no label column {table.label!r}", source=path, where="labelled.table.label")
    features = table.features or [c for c in frame.columns if c != table.label and pd.api.types.is_numeric_dtype(frame[c])]
    missing = [c for c in features if c not in frame.columns]
    if missing or not features:
        raise DataError(f"missing feature columns: {', '.join(missing) or 'none numeric'}", source=path, where="labelled.table.features")
    labels = frame[table.label].to_numpy()
    if not np.isin(labels, (0, 1)).all():
        raise DataError("labels must be 0 or 1", source=path, where="labelled.table.label")
    x = frame[features].to_numpy(np.float32)
    if not np.isfinite(x).all():
        raise DataError("features hold NaN or infinite values", source=path)
    source = {"path": str(path), "events": len(frame), "label column": table.label}
    return LabelledSamples(x, labels.astype(np.int64), table.names, list(features), False, [source])


def load_labelled(cfg: LabelledConfig, scratch: Path) -> LabelledSamples:
    """The events of a ``labelled`` section (simulated files are written into ``scratch``)."""
    if cfg.source == "table" and cfg.table is not None:
        samples = read_labelled_table(cfg.table)
    else:
        truth = None
        if cfg.source == "simulate":
            simulated, truth = simulate_files(cfg, scratch)
            files = [(path, label, name, "X") for path, label, name in simulated]
        else:
            files = [(resolve_path(f.path), f.label, f.name or Path(f.path).stem, f.key) for f in cfg.files]
        samples = _read_image_files(cfg, files)
        samples.truth = truth.arrays() if truth is not None else None
    if len(np.unique(samples.y)) != 2:
        raise DataError("the labelled events must hold both classes, 0 and 1")
    return samples


def subsample_per_class(y: np.ndarray, max_per_class: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subsample of at most ``max_per_class`` events per class."""
    if max_per_class is None:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    keep = [rng.permutation(np.flatnonzero(y == label))[:max_per_class] for label in np.unique(y)]
    return np.sort(np.concatenate(keep))


def stratified_split(y: np.ndarray, val: float, test: float, seed: int) -> np.ndarray:
    """Per event TRAIN, VAL or TEST: each class split in the given fractions (seeded), with
    training events left in every class.

    >>> from lhcad.preprocessing import TEST, VAL
    >>> split = stratified_split(np.repeat([0, 1], [100, 300]), 0.2, 0.25, 0)
    >>> [int(((split == TEST) & (np.arange(400) >= 100)).sum()), int((split == VAL).sum())]
    [75, 80]
    """
    split = split_by_class(y, val, test, np.random.SeedSequence([seed, 1]))
    for label in np.unique(y):
        members = split[y == label]
        if not (members == TRAIN).any():
            raise DataError(f"class {label} has too few events ({len(members)}) for a train/validation/test split")
    return split


@dataclass
class InputScaling:
    """Per channel (images) or column (tables), fitted on the training events: an optional
    signed log compression ``sign(v) log(1 + |v| / s)``, then a division by the standard
    deviation (images) or standardisation (tables: the mean is subtracted too; images keep
    empty crystals at zero)."""

    log_scale: np.ndarray | None
    centre: np.ndarray
    width: np.ndarray
    images: bool

    @classmethod
    def fit(cls, x: np.ndarray, images: bool, log: bool) -> InputScaling:
        axes = tuple(range(x.ndim - 1))
        log_scale = None
        if log and images:
            magnitude = np.abs(x.reshape(-1, x.shape[-1]))
            log_scale = np.array(
                [np.median(m[m > 0]) if (m > 0).any() else 1.0 for m in magnitude.T], dtype=np.float32
            )
            x = cls._compress(x, log_scale)
        centre = np.zeros(x.shape[-1], np.float32) if images else x.mean(axis=axes).astype(np.float32)
        width = np.sqrt(((x - centre) ** 2).mean(axis=axes)).astype(np.float32)
        return cls(log_scale, centre, np.where(width > 0, width, 1.0).astype(np.float32), images)

    @staticmethod
    def _compress(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
        return (np.sign(x) * np.log1p(np.abs(x) / scale)).astype(np.float32)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Network inputs: ``(N, C, H, W)`` for images, ``(N, F)`` for table rows."""
        if self.log_scale is not None:
            x = self._compress(x, self.log_scale)
        scaled = ((x - self.centre) / self.width).astype(np.float32)
        return np.ascontiguousarray(np.moveaxis(scaled, -1, 1)) if self.images else scaled

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted numbers (to store with the trained networks)."""
        arrays = {"centre": self.centre, "width": self.width, "images": np.array(self.images)}
        return arrays | ({"log_scale": self.log_scale} if self.log_scale is not None else {})
