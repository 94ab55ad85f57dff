"""What the stages of a digit study hand on: one small class per stage output, each with
``write(out)`` (into the running stage's :class:`~lhcad.pipeline.artifacts.ArtifactWriter`) and
``read(artifact)`` (from a cached :class:`~lhcad.pipeline.artifacts.Artifact`), in the style
of :mod:`lhcad.families.lhco.artifacts`. The stages and the report
(:mod:`lhcad.families.digits.report`) read every stage's files through these classes only; the
file names and formats are those of every run so far, so old runs still open.

Data flows: :class:`DigitImages` (``digits_data``) -> :class:`Mixture` (``bmm``) and
:class:`LatentVAE` (``digits_vae``) -> the report. :class:`DigitsArtifacts` reads them from a
run's artifacts on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from lhcad.pipeline.artifacts import Artifact, ArtifactWriter, StageOutputs


@dataclass
class DigitImages:
    """The ``digits_data`` stage's output: the images in [0, 1], their digit labels and split
    (``images.npz``) and ``summary.json`` (``source``, ``n_images``, ``shape``, ``n_train``,
    ``n_val``, ``n_test``, ``label_counts``)."""

    images: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    summary: dict[str, Any]

    IMAGES = "images.npz"
    SUMMARY = "summary.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_arrays(self.IMAGES, images=self.images, labels=self.labels, split=self.split)
        out.write_json(self.SUMMARY, self.summary)

    @classmethod
    def read(cls, artifact: Artifact) -> DigitImages:
        arrays = artifact.read_arrays(cls.IMAGES)
        summary = artifact.read_json(cls.SUMMARY)
        return cls(arrays["images"], arrays["labels"], arrays["split"], summary)

    @property
    def shape(self) -> tuple[int, int]:
        """Height and width of an image, in pixels."""
        return int(self.summary["shape"][0]), int(self.summary["shape"][1])


@dataclass
class Mixture:
    """The ``bmm`` stage's output: the fit's numbers (``bmm.json``: ``distribution``,
    ``trials``, ``components``, ``purity``, ``nmi``, the log-likelihood and its history,
    restarts, ``pi``, ``majority_labels``...) and its arrays (``bmm.npz``: component means
    ``mu``, weights ``pi``, each image's cluster, ``samples`` drawn from the components, and the
    means at the recorded EM iterations)."""

    stats: dict[str, Any]
    mu: np.ndarray
    pi: np.ndarray
    clusters: np.ndarray
    samples: np.ndarray
    snapshot_iterations: np.ndarray
    snapshots: np.ndarray

    STATS = "bmm.json"
    ARRAYS = "bmm.npz"
    _ARRAY_NAMES = ("mu", "pi", "clusters", "samples", "snapshot_iterations", "snapshots")

    def write(self, out: ArtifactWriter) -> None:
        out.write_json(self.STATS, self.stats)
        out.write_arrays(self.ARRAYS, **{name: getattr(self, name) for name in self._ARRAY_NAMES})

    @classmethod
    def read(cls, artifact: Artifact) -> Mixture:
        arrays = artifact.read_arrays(cls.ARRAYS)
        return cls(artifact.read_json(cls.STATS), *(arrays[name] for name in cls._ARRAY_NAMES))

    def snapshots_by_iteration(self) -> dict[int, np.ndarray]:
        """EM iteration -> the component means then, the final means included."""
        snapshots = dict(zip(self.snapshot_iterations.tolist(), self.snapshots, strict=True))
        snapshots.setdefault(self.stats["iterations"], self.mu)
        return snapshots


@dataclass
class LatentVAE:
    """The ``digits_vae`` stage's output: the latent means of every image, decoded grid images
    and test reconstructions (``latent.npz``), every member's weights at its best validation loss
    (``weights.pt``), the ensemble's architecture and seeds (``model.json``) and the metrics with
    the training history (``vae.json``)."""

    stats: dict[str, Any]
    z_mean: np.ndarray
    grid_z: np.ndarray
    grid_images: np.ndarray
    originals: np.ndarray
    reconstructions: np.ndarray
    spec: dict[str, Any]
    weights: Any = field(default=None, repr=False)
    """The members' state dicts; read from the artifact on first use (:meth:`states`)."""
    source: Artifact | None = field(default=None, repr=False)

    LATENT = "latent.npz"
    WEIGHTS = "weights.pt"
    SPEC = "model.json"
    STATS = "vae.json"
    _ARRAY_NAMES = ("z_mean", "grid_z", "grid_images", "originals", "reconstructions")

    def write(self, out: ArtifactWriter) -> None:
        out.write_arrays(self.LATENT, **{name: getattr(self, name) for name in self._ARRAY_NAMES})
        out.write_torch(self.WEIGHTS, self.weights)
        out.write_json(self.SPEC, self.spec)
        out.write_json(self.STATS, self.stats)

    @classmethod
    def read(cls, artifact: Artifact) -> LatentVAE:
        arrays = artifact.read_arrays(cls.LATENT)
        return cls(
            artifact.read_json(cls.STATS),
            *(arrays[name] for name in cls._ARRAY_NAMES),
            spec=artifact.read_json(cls.SPEC),
            source=artifact,
        )

    def states(self) -> Any:
        """The members' weights at their best validation loss."""
        if self.weights is None and self.source is not None:
            self.weights = self.source.read_torch(self.WEIGHTS)
        return self.weights


class DigitsArtifacts(StageOutputs):
    """The outputs of a digit study's stages, each read through its class on first use."""

    @cached_property
    def images(self) -> DigitImages:
        return DigitImages.read(self.artifact("digits_data"))

    @cached_property
    def mixture(self) -> Mixture:
        return Mixture.read(self.artifact("bmm"))

    @cached_property
    def vae(self) -> LatentVAE:
        return LatentVAE.read(self.artifact("digits_vae"))
