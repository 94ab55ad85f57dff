"""Jet images in the geometry of the CMS quark-gluon open-data set.

An image is ``(125, 125, 3)`` float32 in (eta, phi) centred on the jet axis: row ``i`` is
eta - eta_jet, column ``j`` is phi - phi_jet (wrapped), both in ECAL-crystal pixels of 0.0174;
pixel ``(62, 62)`` holds the axis. The channels are

* 0, Tracks: the summed pT (GeV) of the charged particles in the pixel;
* 1, ECAL: the summed energy (GeV) of the photons and electrons in the pixel;
* 2, HCAL: the energy of the neutral hadrons, summed in HCAL towers of 0.087 = 5 x 5 pixels
  (tower ``(a, b)`` covers rows ``5a .. 5a + 4`` and columns ``5b .. 5b + 4``, so the central
  tower is centred on the axis too) and spread evenly over the tower's 25 pixels: the image
  keeps the tower granularity and the channel's sum is still the deposited energy.

Particles outside the 2.175 x 2.175 window are dropped. The particles come in the
:mod:`lhcad.gen.single_jets` layout: ``(N, P, 4)`` pt, eta, phi, category.
"""

from __future__ import annotations

import numpy as np

IMAGE_SIZE = 125
PIXEL = 0.0174
TOWER_PIXELS = 5
CHANNELS: tuple[str, ...] = ("Tracks", "ECAL", "HCAL")
#: Particle category (lhcad.gen.single_jets.PARTICLE_CATEGORIES) -> image channel.
CATEGORY_CHANNEL = {1: 0, 2: 1, 3: 2}
CENTRE = IMAGE_SIZE // 2


def pixel_index(delta: np.ndarray) -> np.ndarray:
    """The pixel row (or column) of an offset from the jet axis; may fall outside the image."""
    return np.floor(delta / PIXEL + 0.5).astype(np.int64) + CENTRE


def jet_images(particles: np.ndarray, jets: np.ndarray) -> np.ndarray:
    """The 3-channel images of jets.

    Args:
        particles: ``(N, P, 4)`` pt (GeV), eta, phi, category; category 0 rows are padding.
        jets: ``(N, >=3)`` jet pt, eta, phi (, mass): the axis each image is centred on.

    Returns:
        ``(N, 125, 125, 3)`` float32 images (see the module docstring).
    """
    n = len(particles)
    images = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE, len(CHANNELS)), dtype=np.float64)
    pt, eta, phi, category = (particles[..., k].astype(np.float64) for k in range(4))
    d_eta = eta - jets[:, 1:2]
    d_phi = np.angle(np.exp(1j * (phi - jets[:, 2:3])))
    row, col = pixel_index(d_eta), pixel_index(d_phi)
    inside = (row >= 0) & (row < IMAGE_SIZE) & (col >= 0) & (col < IMAGE_SIZE) & (pt > 0)
    event = np.broadcast_to(np.arange(n)[:, None], pt.shape)
    energy = pt * np.cosh(eta)
    for cat, channel in CATEGORY_CHANNEL.items():
        mine = inside & (category == cat)
        value = pt[mine] if channel == 0 else energy[mine]
        if channel == 2:
            # towers: add at the tower's first pixel, spread over its 5 x 5 pixels below
            r = row[mine] // TOWER_PIXELS * TOWER_PIXELS
            c = col[mine] // TOWER_PIXELS * TOWER_PIXELS
        else:
            r, c = row[mine], col[mine]
        np.add.at(images, (event[mine], r, c, channel), value)
    towers = images[:, ::TOWER_PIXELS, ::TOWER_PIXELS, 2] / TOWER_PIXELS**2
    images[..., 2] = np.repeat(np.repeat(towers, TOWER_PIXELS, axis=1), TOWER_PIXELS, axis=2)
    return images.astype(np.float32)
