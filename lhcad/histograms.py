"""boost-histogram helpers: filling with Weight storage and UHI JSON (de)serialisation."""

from __future__ import annotations

from typing import Any

import boost_histogram as bh
import numpy as np
from boost_histogram import serialization

from lhcad.config.section import Binning


def fill_histogram(values: np.ndarray, binning: Binning, name: str, weights: np.ndarray | None = None) -> bh.Histogram:
    """A 1-D histogram with Weight storage (sums of weights and of squared weights)."""
    hist = bh.Histogram(bh.axis.Regular(binning.bins, binning.lo, binning.hi, metadata={"name": name}), storage=bh.storage.Weight())
    hist.fill(np.asarray(values, dtype=np.float64), weight=None if weights is None else np.asarray(weights, dtype=np.float64))
    return hist


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def histogram_to_uhi(hist: bh.Histogram) -> dict[str, Any]:
    """The UHI JSON standard form of a histogram, with plain lists instead of arrays."""
    return _plain(serialization.to_uhi(hist))


def histogram_from_uhi(data: dict[str, Any]) -> bh.Histogram:
    """Rebuild a histogram from :func:`histogram_to_uhi` output."""
    storage = data["storage"]
    arrays = {k: np.asarray(v) for k, v in storage.items() if k != "type"}
    return serialization.from_uhi({**data, "storage": {**storage, **arrays}})


def counts_variances_and_edges(hist: bh.Histogram) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of weights, sums of squared weights (without flow bins) and edges."""
    variances = hist.variances()
    values = np.asarray(hist.values(), dtype=np.float64)
    return values, values.copy() if variances is None else np.asarray(variances, dtype=np.float64), np.asarray(hist.axes[0].edges, dtype=np.float64)


def counts_and_edges(hist: bh.Histogram) -> tuple[np.ndarray, np.ndarray]:
    """Bin contents (without flow bins) and edges, for fitting and plotting."""
    return np.asarray(hist.values(), dtype=np.float64), np.asarray(hist.axes[0].edges, dtype=np.float64)
