"""Image mosaics of the digit figures."""

from __future__ import annotations

import numpy as np

from lhcad.families.digits.plots import tile


def test_tile_places_each_image_in_its_cell_with_nan_gaps():
    images = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2)
    mosaic = tile(images, gap=1)
    assert mosaic.shape == (2 * 3 - 1, 3 * 3 - 1)
    for r in range(2):
        for c in range(3):
            cell = mosaic[3 * r : 3 * r + 2, 3 * c : 3 * c + 2]
            np.testing.assert_array_equal(cell, images[r, c])
    assert np.isnan(mosaic[2]).all()
    assert np.isnan(mosaic[:, 2]).all() and np.isnan(mosaic[:, 5]).all()
    assert np.isfinite(mosaic).sum() == images.size
