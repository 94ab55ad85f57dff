"""What the stages of a classification study hand on: one small class per stage output, each with
``write(out)`` (into the running stage's :class:`~lhcad.pipeline.artifacts.ArtifactWriter`) and
``read(artifact)`` (from a cached :class:`~lhcad.pipeline.artifacts.Artifact`), in the style of
:mod:`lhcad.families.lhco.artifacts`. The stages and the report
(:mod:`lhcad.families.egamma.report`) read every stage's files through these classes only; the
file names and formats are those of every run so far, so old runs still open.

Data flows: :class:`Labelled` (``labelled``) -> :class:`Classifiers` (``classify``) and
:class:`Ceiling` (``ceiling``) -> the report. :class:`ClassificationArtifacts` reads them from a
run's artifacts on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from lhcad.pipeline.artifacts import Artifact, ArtifactWriter, StageOutputs


@dataclass
class Labelled:
    """The ``labelled`` stage's output: the inputs ``x`` (images or table rows), labels ``y``
    and ``split`` (``samples.npz``, compressed) and ``summary.json`` (``source``, ``sources``,
    ``classes``, ``channels``, ``images``, ``shape``, ``events``: split -> events per class).
    Simulated showers add the generator's truth per event (``truth.npz``: one array per field
    of :class:`lhcad.families.egamma.showers.ShowerTruth`, in the order of ``x``). The simulated
    samples' HDF5 files, which the stage publishes, are written beside them by the stage
    itself."""

    x: np.ndarray
    y: np.ndarray
    split: np.ndarray
    summary: dict[str, Any]
    truth: dict[str, np.ndarray] | None = None

    SAMPLES = "samples.npz"
    SUMMARY = "summary.json"
    TRUTH = "truth.npz"

    def write(self, out: ArtifactWriter) -> None:
        with out.path(self.SAMPLES).open("wb") as handle:
            np.savez_compressed(handle, x=self.x, y=self.y, split=self.split)
        out.write_json(self.SUMMARY, self.summary)
        if self.truth is not None:
            out.write_arrays(self.TRUTH, **self.truth)

    @classmethod
    def read(cls, artifact: Artifact) -> Labelled:
        arrays = artifact.read_arrays(cls.SAMPLES)
        truth = artifact.read_arrays(cls.TRUTH) if artifact.exists(cls.TRUTH) else None
        return cls(arrays["x"], arrays["y"], arrays["split"], artifact.read_json(cls.SUMMARY), truth)

    @property
    def images(self) -> bool:
        """Whether the inputs are images (else table rows)."""
        return bool(self.summary["images"])

    def part(self, which: int) -> tuple[np.ndarray, np.ndarray]:
        """``x`` and ``y`` of split ``which`` (TRAIN, VAL, TEST)."""
        chosen = self.split == which
        return self.x[chosen], self.y[chosen]


@dataclass
class Classifiers:
    """The ``classify`` stage's output: each model's weights (``<kind>.pt``), the test events'
    labels ``y`` and every model's scores ``score_<kind>`` (``scores.npz``), the input scaling
    fitted on the training events (``scaling.npz``) and ``metrics.json`` (``models``: kind ->
    AUCs, epochs, seconds, history; ``device``)."""

    metrics: dict[str, Any]
    scores: dict[str, np.ndarray]
    scaling: dict[str, np.ndarray]
    weights: dict[str, Any] = field(default_factory=dict, repr=False)
    """Model kind -> state dict (written; not read back)."""

    SCORES = "scores.npz"
    SCALING = "scaling.npz"
    METRICS = "metrics.json"

    def write(self, out: ArtifactWriter) -> None:
        for kind, state in self.weights.items():
            out.write_torch(f"{kind}.pt", state)
        out.write_arrays(self.SCORES, **self.scores)
        out.write_arrays(self.SCALING, **self.scaling)
        out.write_json(self.METRICS, self.metrics)

    @classmethod
    def read(cls, artifact: Artifact) -> Classifiers:
        return cls(
            artifact.read_json(cls.METRICS),
            artifact.read_arrays(cls.SCORES),
            artifact.read_arrays(cls.SCALING),
        )

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        """Model kind -> its metrics, in training order."""
        return self.metrics["models"]

    @property
    def labels(self) -> np.ndarray:
        """The test events' labels."""
        return self.scores["y"]

    def model_scores(self) -> dict[str, np.ndarray]:
        """Model kind -> its scores of the test events."""
        return {kind: self.scores[f"score_{kind}"] for kind in self.models}


@dataclass
class Ceiling:
    """The ``ceiling`` stage's output: the test events' labels ``y`` and every ceiling
    classifier's scores ``score_<kind>`` (``scores.npz``, the test events of :class:`Labelled`
    in their order, as :class:`Classifiers` scores them) and ``metrics.json`` (``models``: kind
    -> test AUC, its bootstrap 95% interval, training showers, iterations, seconds;
    ``showers_per_class``: the showers simulated per class for training)."""

    metrics: dict[str, Any]
    scores: dict[str, np.ndarray]

    SCORES = "scores.npz"
    METRICS = "metrics.json"

    def write(self, out: ArtifactWriter) -> None:
        out.write_arrays(self.SCORES, **self.scores)
        out.write_json(self.METRICS, self.metrics)

    @classmethod
    def read(cls, artifact: Artifact) -> Ceiling:
        return cls(artifact.read_json(cls.METRICS), artifact.read_arrays(cls.SCORES))

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        """Ceiling classifier kind -> its metrics."""
        return self.metrics["models"]

    def model_scores(self) -> dict[str, np.ndarray]:
        """Ceiling classifier kind -> its scores of the test events."""
        return {kind: self.scores[f"score_{kind}"] for kind in self.models}


class ClassificationArtifacts(StageOutputs):
    """The outputs of a classification study's stages, each read through its class on first
    use."""

    @cached_property
    def labelled(self) -> Labelled:
        return Labelled.read(self.artifact("labelled"))

    @cached_property
    def classifiers(self) -> Classifiers:
        return Classifiers.read(self.artifact("classify"))

    @cached_property
    def ceiling(self) -> Ceiling:
        return Ceiling.read(self.artifact("ceiling"))
