"""What the stages of a jet-image study hand on: one small class per stage output, each with
``write(out)`` (into the running stage's :class:`~lhcad.pipeline.artifacts.ArtifactWriter`) and
``read(artifact)`` (from a cached :class:`~lhcad.pipeline.artifacts.Artifact`), in the style of
:mod:`lhcad.families.lhco.artifacts`. The stages and the report
(:mod:`lhcad.families.jet_images.report`) read every stage's files through these classes only;
the file names and formats are those of every run so far, so old runs still open.

Data flows: :class:`JetImageSample` (``jet_images_data``) -> :class:`TrainedConvVAE`
(``jet_images_train``) -> :class:`JetImageScores` (``jet_images_score``) -> the report.
:class:`JetImagesArtifacts` reads them from a run's artifacts on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from lhcad.pipeline.artifacts import Artifact, ArtifactWriter, StageOutputs


@dataclass
class JetImageSample:
    """The ``jet_images_data`` stage's output: the background then the signal images in one
    CMS-layout HDF5 file (``images.h5``, streamed by the stage into :meth:`images_path`), each
    jet's ``split`` and whether it is ``signal`` (``split.npz``) and ``summary.json``
    (``background``, ``signal``: the samples' settings; ``n_background``, ``n_signal``,
    ``n_train``, ``n_val``, ``n_test``)."""

    split: np.ndarray
    signal: np.ndarray
    summary: dict[str, Any]
    images: Path | None = None
    """The images file (set on reading)."""

    IMAGES = "images.h5"
    SPLIT = "split.npz"
    SUMMARY = "summary.json"

    @classmethod
    def images_path(cls, out: ArtifactWriter) -> Path:
        """Where the running data stage writes the images file."""
        return out.path(cls.IMAGES)

    def write(self, out: ArtifactWriter) -> None:
        """Write the split and the summary (the images are already in :meth:`images_path`)."""
        out.write_arrays(self.SPLIT, split=self.split, signal=self.signal)
        out.write_json(self.SUMMARY, self.summary)

    @classmethod
    def read(cls, artifact: Artifact) -> JetImageSample:
        arrays = artifact.read_arrays(cls.SPLIT)
        summary = artifact.read_json(cls.SUMMARY)
        return cls(arrays["split"], arrays["signal"], summary, artifact.path(cls.IMAGES))

    @property
    def images_file(self) -> Path:
        """The images file of a read artifact."""
        if self.images is None:
            raise ValueError("no images file: the sample was not read from an artifact")
        return self.images

    def rows(self, part: int) -> np.ndarray:
        """The (sorted) rows of the jets in split ``part`` (TRAIN, VAL, TEST)."""
        return np.flatnonzero(self.split == part)


@dataclass
class TrainedConvVAE:
    """The ``jet_images_train`` stage's output: the model's weights (``model.pt``, a state dict
    on the CPU) and ``training.json`` (``history``, ``best_epoch``, ``stopped_epoch``,
    ``seconds``, ``seconds_per_epoch``, ``n_train``, ``n_val``, ``n_parameters``, ``device``,
    ``torch_threads``)."""

    training: dict[str, Any]
    weights: dict[str, Any] | None = field(default=None, repr=False)
    """The state dict; read from the artifact on first use (:meth:`state`)."""
    source: Artifact | None = field(default=None, repr=False)

    WEIGHTS = "model.pt"
    TRAINING = "training.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_torch(self.WEIGHTS, self.weights)
        out.write_json(self.TRAINING, self.training)

    @classmethod
    def read(cls, artifact: Artifact) -> TrainedConvVAE:
        return cls(artifact.read_json(cls.TRAINING), source=artifact)

    def state(self) -> dict[str, Any]:
        """The trained model's state dict."""
        if self.weights is None and self.source is not None:
            self.weights = self.source.read_torch(self.WEIGHTS)
        assert self.weights is not None
        return self.weights


@dataclass
class JetImageScores:
    """The ``jet_images_score`` stage's output: per test jet, every score (reconstruction
    error in all and each channel, KL, latent norm, ``z_mean``), ``jet_type``, ``signal``,
    ``pt``, ``m0`` and, with signal, each anomaly score's ROC (``fpr_<score>``,
    ``tpr_<score>``) (``scores.npz``); example images beside their reconstructions and the mean
    background and signal images (``examples.npz``: ``original``, ``reconstruction``,
    ``jet_type``, ``mean_background``, ``mean_signal``); and ``metrics.json`` (test counts,
    ``quark_gluon`` and ``anomaly`` AUCs when measurable)."""

    scores: dict[str, np.ndarray]
    examples: dict[str, np.ndarray]
    metrics: dict[str, Any]

    SCORES = "scores.npz"
    EXAMPLES = "examples.npz"
    METRICS = "metrics.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_arrays(self.SCORES, **self.scores)
        out.write_arrays(self.EXAMPLES, **self.examples)
        out.write_json(self.METRICS, self.metrics)

    @classmethod
    def read(cls, artifact: Artifact) -> JetImageScores:
        return cls(
            artifact.read_arrays(cls.SCORES),
            artifact.read_arrays(cls.EXAMPLES),
            artifact.read_json(cls.METRICS),
        )

    @property
    def signal(self) -> np.ndarray:
        """Whether each test jet is a signal jet."""
        return self.scores["signal"]

    @property
    def jet_type(self) -> np.ndarray:
        """Each test jet's type (an index into :data:`lhcad.gen.single_jets.JET_TYPES`)."""
        return self.scores["jet_type"]


class JetImagesArtifacts(StageOutputs):
    """The outputs of a jet-image study's stages, each read through its class on first use."""

    @cached_property
    def sample(self) -> JetImageSample:
        return JetImageSample.read(self.artifact("jet_images_data"))

    @cached_property
    def model(self) -> TrainedConvVAE:
        return TrainedConvVAE.read(self.artifact("jet_images_train"))

    @cached_property
    def scores(self) -> JetImageScores:
        return JetImageScores.read(self.artifact("jet_images_score"))
