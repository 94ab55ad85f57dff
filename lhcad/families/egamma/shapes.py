"""Shower-shape variables of crystal images centred on their most energetic crystal: the
energy sums, profiles and moments that e/gamma identification uses, computed for every image at
once.

Electrons and photons differ in these images mainly by how far the energy spreads in phi
(bremsstrahlung photons and conversion legs bent apart by the field), so the phi profile is kept
crystal by crystal; every variable is symmetric under reflections about the central crystal in
eta and in phi (the profile is folded: per distance from the centre, the larger and the smaller
side), like the detector.
"""

from __future__ import annotations

import numpy as np

PHI_PROFILE_CRYSTALS = 12
"""Distances from the central crystal (in phi) at which the folded phi profile is kept."""
ETA_PROFILE_CRYSTALS = 4
"""Distances from the central crystal (in eta) at which the folded eta profile is kept."""
STRIP_HALF_WIDTH = 2
"""The profiles sum a strip of 2 x 2 + 1 = 5 crystals across their direction."""


def _folded(profile: np.ndarray, centre: int, distances: int) -> tuple[np.ndarray, np.ndarray]:
    """Per distance 1..``distances`` from ``centre``, the larger and the smaller of the profile's
    two sides (0 beyond the image)."""
    padded = np.pad(profile, ((0, 0), (distances, distances)))
    at = centre + distances
    left = padded[:, at - distances : at][:, ::-1]
    right = padded[:, at + 1 : at + 1 + distances]
    return np.maximum(left, right), np.minimum(left, right)


def shape_names() -> list[str]:
    """The names of :func:`shower_shapes`'s columns, in order."""
    names = ["log_energy", "e1", "e9", "e25"]
    names += [f"phi_max_{d}" for d in range(1, PHI_PROFILE_CRYSTALS + 1)]
    names += [f"phi_min_{d}" for d in range(1, PHI_PROFILE_CRYSTALS + 1)]
    names += [f"eta_{d}" for d in range(1, ETA_PROFILE_CRYSTALS + 1)]
    return names + ["sigma_phi", "sigma_eta", "abs_mean_phi", "abs_mean_eta", "crystals_hit", "phi_tail"]


def shower_shapes(energy: np.ndarray) -> np.ndarray:
    """``(N, F)`` shower-shape variables (:func:`shape_names`) of ``(N, H, W)`` crystal energies
    (rows eta, columns phi, most energetic crystal at ``(H // 2, W // 2)``): the log of the
    total energy; the central crystal's, the 3x3 and the 5x5 windows' energy fractions; the
    folded phi profile of a 5-crystal eta strip and the folded eta profile of a 5-crystal phi
    strip, as fractions of the total; the energy-weighted standard deviations and absolute mean
    offsets in phi and eta (crystals); the crystals read out; the fraction of the energy in the
    eta strip beyond the 5x5 window in phi.

    >>> image = np.zeros((1, 9, 9)); image[0, 4, 4], image[0, 4, 6] = 3.0, 1.0
    >>> shapes = dict(zip(shape_names(), shower_shapes(image)[0]))
    >>> float(shapes["e1"]), float(shapes["phi_max_2"]), float(shapes["sigma_phi"])
    (0.75, 0.25, 0.8660254037844386)
    """
    e = np.asarray(energy, dtype=np.float64)
    n, height, width = e.shape
    row, col = height // 2, width // 2
    total = e.sum(axis=(1, 2))
    safe = np.where(total > 0, total, 1.0)
    half = STRIP_HALF_WIDTH
    columns = [np.log(np.maximum(total, 1e-6)), e[:, row, col] / safe]
    for k in (1, 2):
        columns.append(e[:, max(row - k, 0) : row + k + 1, max(col - k, 0) : col + k + 1].sum(axis=(1, 2)) / safe)
    phi_strip = e[:, max(row - half, 0) : row + half + 1, :].sum(axis=1) / safe[:, None]
    high, low = _folded(phi_strip, col, PHI_PROFILE_CRYSTALS)
    eta_strip = e[:, :, max(col - half, 0) : col + half + 1].sum(axis=2) / safe[:, None]
    eta_high, eta_low = _folded(eta_strip, row, ETA_PROFILE_CRYSTALS)
    columns += [*high.T, *low.T, *(eta_high + eta_low).T]
    weights = e / safe[:, None, None]
    for axis, centre in ((1, col), (2, row)):  # phi (sum over rows), then eta
        profile = weights.sum(axis=axis)
        offset = np.arange(profile.shape[1]) - centre
        mean = (profile * offset).sum(axis=1)
        columns.append(np.sqrt(np.maximum((profile * offset**2).sum(axis=1) - mean**2, 0.0)))
        columns.append(np.abs(mean))
    sigma_phi, mean_phi, sigma_eta, mean_eta = columns[-4:]
    columns[-4:] = [sigma_phi, sigma_eta, mean_phi, mean_eta]
    columns.append((e > 0).sum(axis=(1, 2)).astype(np.float64))
    columns.append(phi_strip.sum(axis=1) - phi_strip[:, max(col - half, 0) : col + half + 1].sum(axis=1))
    return np.column_stack(columns)


def standardised_shapes(energy: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`shower_shapes` of ``(N, H, W)`` crystal energies, standardised with the mean and
    standard deviation over the events that ``train`` (a mask) selects: ``(N, F)`` float32,
    then the centre and the width used."""
    shapes = shower_shapes(energy)
    centre, width = shapes[train].mean(axis=0), shapes[train].std(axis=0)
    width = np.where(width > 0, width, 1.0)
    return ((shapes - centre) / width).astype(np.float32), centre.astype(np.float32), width.astype(np.float32)
