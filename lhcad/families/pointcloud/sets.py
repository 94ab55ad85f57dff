"""Point sets as padded arrays: sparse digits and the feature scaling the VAE sees.

A batch of sets is ``points`` ``(N, P, F)`` with a boolean ``mask`` ``(N, P)``; valid points come
first (ordered by intensity or pT, descending) and padding rows are zero.

Soft particles: a jet's pT_rel spans four decades (0.5 for the leading particle, 1e-4 for the
softest), so in linear pT a Chamfer loss sees only the hardest few particles and reconstructs
the soft ones badly (the seed's third problem). :class:`FeatureScaler` therefore works on
``log(pT_rel)``, then standardises every feature over the valid training points: a factor 2 in
pT costs the same whether the particle carries 50% or 0.05% of the jet pT, and eta, phi and
log pT weigh equally in the Chamfer distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lhcad.errors import DataError

#: Smallest value taken before a logarithm (pT_rel of generated particles can reach 0).
LOG_FLOOR = 1e-6


def brightest_pixels(images: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_points`` brightest pixels of each image as ``(x, y, I)``.

    ``x`` (column) and ``y`` (row, 0 at the top) are scaled to [0, 1]; ``I`` is the intensity.
    Pixels are ordered by intensity, descending; dark pixels (I = 0) among the brightest are
    padding (mask false, row zero).

    Returns:
        ``points`` ``(N, n_points, 3)`` float32 and ``mask`` ``(N, n_points)`` bool.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3:
        raise DataError(f"expected images of shape (N, H, W), got {images.shape}")
    n, height, width = images.shape
    if not 0 < n_points <= height * width:
        raise DataError(
            f"n_points must be in 1..{height * width} for {height}x{width} images, got {n_points}"
        )
    flat = images.reshape(n, -1)
    order = np.argsort(-flat, axis=1, kind="stable")[:, :n_points]
    intensity = np.take_along_axis(flat, order, axis=1)
    rows, cols = np.divmod(order, width)
    points = np.stack([cols / max(width - 1, 1), rows / max(height - 1, 1), intensity], axis=-1)
    mask = intensity > 0
    return np.where(mask[..., None], points, 0.0).astype(np.float32), mask


def render_image(points: np.ndarray, mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Images ``(N, H, W)`` of sets of ``(x, y, I)`` points: each valid point lights its nearest
    pixel (the brightest wins where several fall on one pixel)."""
    height, width = shape
    points, mask = np.asarray(points), np.asarray(mask, dtype=bool)
    images = np.zeros((len(points), height, width), dtype=np.float32)
    event, slot = np.nonzero(mask)
    cols = np.clip(np.rint(points[event, slot, 0] * (width - 1)), 0, width - 1).astype(int)
    rows = np.clip(np.rint(points[event, slot, 1] * (height - 1)), 0, height - 1).astype(int)
    np.maximum.at(images, (event, rows, cols), np.clip(points[event, slot, 2], 0.0, 1.0))
    return images


@dataclass(frozen=True)
class FeatureScaler:
    """Per-feature standardisation fitted on the valid points, after ``log`` of the features in
    ``log_features`` (see the module docstring).

    Attributes:
        shift: ``(F,)`` mean of each (log-)feature.
        scale: ``(F,)`` its standard deviation.
        log_features: indices of the features taken in log.
    """

    shift: tuple[float, ...]
    scale: tuple[float, ...]
    log_features: tuple[int, ...] = ()

    @classmethod
    def fit(
        cls, points: np.ndarray, mask: np.ndarray, log_features: tuple[int, ...] = ()
    ) -> FeatureScaler:
        """Fit on the valid points of ``points`` ``(N, P, F)``."""
        valid = cls._logged(np.asarray(points, np.float64), log_features)[np.asarray(mask, bool)]
        if len(valid) == 0:
            raise DataError("no valid points to fit the feature scaling on")
        scale = valid.std(axis=0)
        return cls(
            tuple(float(v) for v in valid.mean(axis=0)),
            tuple(float(v) for v in np.where(scale > 0, scale, 1.0)),
            tuple(int(i) for i in log_features),
        )

    @staticmethod
    def _logged(points: np.ndarray, log_features: tuple[int, ...]) -> np.ndarray:
        out = np.array(points, dtype=np.float64)
        for i in log_features:
            out[..., i] = np.log(np.maximum(out[..., i], LOG_FLOOR))
        return out

    def transform(self, points: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Scaled features ``(N, P, F)`` float32; padding rows stay zero."""
        scaled = (self._logged(points, self.log_features) - np.asarray(self.shift)) / np.asarray(
            self.scale
        )
        return np.where(np.asarray(mask, bool)[..., None], scaled, 0.0).astype(np.float32)

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        """Features in physical units from scaled ones (padding rows are not special here)."""
        out = np.asarray(scaled, np.float64) * np.asarray(self.scale) + np.asarray(self.shift)
        for i in self.log_features:
            out[..., i] = np.exp(out[..., i])
        return out.astype(np.float32)

    def to_dict(self) -> dict[str, list[float] | list[int]]:
        return {
            "shift": [float(v) for v in self.shift],
            "scale": [float(v) for v in self.scale],
            "log_features": [int(i) for i in self.log_features],
        }

    @classmethod
    def from_dict(cls, data: dict[str, list]) -> FeatureScaler:
        return cls(tuple(data["shift"]), tuple(data["scale"]), tuple(data["log_features"]))
