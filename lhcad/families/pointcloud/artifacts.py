"""What the stages of a point-cloud VAE study hand on: one small class per stage output, each
with ``write(out)`` (into the running stage's :class:`~lhcad.pipeline.artifacts.ArtifactWriter`)
and ``read(artifact)`` (from a cached :class:`~lhcad.pipeline.artifacts.Artifact`), in the style
of :mod:`lhcad.families.lhco.artifacts`. The stages and the report
(:mod:`lhcad.families.pointcloud.report`) read every stage's files through these classes only;
the file names and formats are those of every run so far, so old runs still open.

Data flows: :class:`PointSets` (``pointcloud_data``) -> :class:`TrainedModel`
(``pointcloud_train``) and :class:`TrainedGenerator` (``pointcloud_generator``, optional) -> the
report. :class:`PointCloudArtifacts` reads them from a run's
artifacts on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from lhcad.pipeline.artifacts import Artifact, ArtifactWriter, StageOutputs
from lhcad.preprocessing import TEST

if TYPE_CHECKING:
    from lhcad.families.pointcloud.evaluate import TrainedPointCloudVAE
    from lhcad.families.pointcloud.generator import TrainedSetGenerator


@dataclass
class Sets:
    """Padded point sets: ``points`` ``(n, n_points, n_features)``, which points are real
    (``mask``) and each set's ``labels`` (an index into the summary's ``label_names``, or, for
    anomalies, ``anomaly_names``)."""

    points: np.ndarray
    mask: np.ndarray
    labels: np.ndarray

    def take(self, rows: np.ndarray) -> Sets:
        """The sets of ``rows`` (indices or a boolean mask)."""
        return Sets(self.points[rows], self.mask[rows], self.labels[rows])


@dataclass
class PointSets:
    """The ``pointcloud_data`` stage's output: the sets and each set's ``split`` (``sets.npz``:
    ``points``, ``mask``, ``labels``, ``split``), with anomaly files the anomalous jets'
    sets (``anomalies.npz``) and ``summary.json`` (``kind``, ``features``, ``label_names``,
    ``anomaly_names``, ``n_anomalies``, ``n_sets``, the split's counts, ``mean_points``,
    ``label_counts``...)."""

    sets: Sets
    split: np.ndarray
    summary: dict[str, Any]
    anomalies: Sets | None = None

    SETS = "sets.npz"
    ANOMALIES = "anomalies.npz"
    SUMMARY = "summary.json"

    def write(self, out: ArtifactWriter) -> None:
        if self.anomalies is not None:
            a = self.anomalies
            out.write_arrays(self.ANOMALIES, points=a.points, mask=a.mask, labels=a.labels)
        s = self.sets
        out.write_arrays(self.SETS, points=s.points, mask=s.mask, labels=s.labels, split=self.split)
        out.write_json(self.SUMMARY, self.summary)

    @classmethod
    def read(cls, artifact: Artifact) -> PointSets:
        arrays = artifact.read_arrays(cls.SETS)
        anomalies = None
        if artifact.exists(cls.ANOMALIES):
            a = artifact.read_arrays(cls.ANOMALIES)
            anomalies = Sets(a["points"], a["mask"], a["labels"])
        sets = Sets(arrays["points"], arrays["mask"], arrays["labels"])
        return cls(sets, arrays["split"], artifact.read_json(cls.SUMMARY), anomalies)

    def part(self, which: int) -> Sets:
        """The sets of split ``which`` (TRAIN, VAL, TEST)."""
        return self.sets.take(self.split == which)

    def test(self) -> Sets:
        """The test sets."""
        return self.part(TEST)

    def anomalies_by_name(self) -> dict[str, Sets]:
        """Anomaly type -> its sets (empty without anomaly files)."""
        if self.anomalies is None:
            return {}
        names = self.summary["anomaly_names"]
        anomalies = self.anomalies
        return {name: anomalies.take(anomalies.labels == i) for i, name in enumerate(names)}


@dataclass
class TrainedModel:
    """The ``pointcloud_train`` stage's output: what
    :meth:`~lhcad.families.pointcloud.evaluate.TrainedPointCloudVAE.from_state` needs
    (``model.pt``) and ``training.json`` (``best_epoch``, ``stopped_epoch``, ``epochs_run``,
    ``seconds``, ``seconds_per_epoch``, ``device``, ``n_parameters``, ``history``)."""

    state: dict[str, Any]
    training: dict[str, Any]

    STATE = "model.pt"
    TRAINING = "training.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_torch(self.STATE, self.state)
        out.write_json(self.TRAINING, self.training)

    @classmethod
    def read(cls, artifact: Artifact) -> TrainedModel:
        return cls(artifact.read_torch(cls.STATE), artifact.read_json(cls.TRAINING))

    def model(self) -> TrainedPointCloudVAE:
        """The trained VAE, on the CPU."""
        from lhcad.families.pointcloud.evaluate import TrainedPointCloudVAE

        return TrainedPointCloudVAE.from_state(self.state)


@dataclass
class TrainedGenerator:
    """The ``pointcloud_generator`` stage's output: what
    :meth:`~lhcad.families.pointcloud.generator.TrainedSetGenerator.from_state` needs
    (``generator.pt``) and ``training.json`` (as :class:`TrainedModel`'s, plus ``kind``)."""

    state: dict[str, Any]
    training: dict[str, Any]

    STATE = "generator.pt"
    TRAINING = "training.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_torch(self.STATE, self.state)
        out.write_json(self.TRAINING, self.training)

    @classmethod
    def read(cls, artifact: Artifact) -> TrainedGenerator:
        return cls(artifact.read_torch(cls.STATE), artifact.read_json(cls.TRAINING))

    def model(self) -> TrainedSetGenerator:
        """The trained generator, on the CPU."""
        from lhcad.families.pointcloud.generator import TrainedSetGenerator

        return TrainedSetGenerator.from_state(self.state)


class PointCloudArtifacts(StageOutputs):
    """The outputs of a point-cloud study's stages, each read through its class on first use."""

    @cached_property
    def sets(self) -> PointSets:
        return PointSets.read(self.artifact("pointcloud_data"))

    @cached_property
    def trained(self) -> TrainedModel:
        return TrainedModel.read(self.artifact("pointcloud_train"))

    @cached_property
    def generator(self) -> TrainedGenerator | None:
        """The flow-matching generator, when the run had ``pointcloud_generator``."""
        if not self.has("pointcloud_generator"):
            return None
        return TrainedGenerator.read(self.artifact("pointcloud_generator"))
