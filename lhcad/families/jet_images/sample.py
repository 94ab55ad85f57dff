"""Generated jet-image samples: Pythia jets (:mod:`lhcad.gen.single_jets`) made into images
and written in the CMS layout (:mod:`.hdf5`), in bounded memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lhcad.gen import GeneratorError
from lhcad.gen.single_jets import JetSample, generate_jets
from lhcad.families.jet_images import IMAGE_PROCESS_NAMES
from lhcad.families.jet_images.geometry import jet_images
from lhcad.families.jet_images.hdf5 import ImageFileWriter, JetImages

#: ``--process`` of image generation -> the jet types it makes.
IMAGE_PROCESSES: dict[str, tuple[str, ...]] = {
    "qg": ("q", "g"),
    "top": ("t",),
    "w": ("w",),
    "z": ("z",),
}
#: Default jet pT windows (GeV): quark/gluon near the CMS open-data set's jets (of order
#: 100 GeV); boosted top/W/Z where a top's decay fits into an R = 0.8 jet (pT > 2 m / R).
DEFAULT_PT_RANGES: dict[str, tuple[float, float]] = {
    "qg": (80.0, 120.0),
    "top": (500.0, 700.0),
    "w": (500.0, 700.0),
    "z": (500.0, 700.0),
}
IMAGE_BLOCK = 512
assert tuple(IMAGE_PROCESSES) == IMAGE_PROCESS_NAMES == tuple(DEFAULT_PT_RANGES)


def generate_jet_sample(
    process: str, n: int, pt_range: tuple[float, float] | None, seed: int
) -> JetSample:
    """``n`` jets of an image process (``qg``: n/2 quark and n/2 gluon jets, rounded up), shuffled."""
    if process not in IMAGE_PROCESSES:
        raise GeneratorError(
            f"unknown image process {process!r} (known: {', '.join(IMAGE_PROCESSES)})"
        )
    types = IMAGE_PROCESSES[process]
    per_type = -(-n // len(types))
    sample = generate_jets(types, per_type, pt_range or DEFAULT_PT_RANGES[process], seed=seed)
    order = np.random.default_rng(seed).permutation(len(sample))[:n]
    return JetSample(sample.particles[order], sample.jets[order], sample.labels[order])


def images_of(sample: JetSample) -> JetImages:
    """The images of jets (all in memory: 190 kB per jet)."""
    return JetImages(
        jet_images(sample.particles, sample.jets),
        sample.jets[:, 3],
        sample.jets[:, 0],
        sample.labels,
    )


def append_jet_sample_images(
    writer: ImageFileWriter, sample: JetSample, *, block: int = IMAGE_BLOCK
) -> None:
    """Append the images of ``sample`` to an image file, ``block`` jets in memory at a time."""
    for start in range(0, len(sample), block):
        part = slice(start, start + block)
        writer.append(
            images_of(JetSample(sample.particles[part], sample.jets[part], sample.labels[part]))
        )


def write_jet_sample_images(
    path: str | Path, sample: JetSample, *, block: int = IMAGE_BLOCK
) -> None:
    """Write the images of ``sample`` to a new CMS-layout file (bounded memory)."""
    with ImageFileWriter(path) as writer:
        append_jet_sample_images(writer, sample, block=block)
