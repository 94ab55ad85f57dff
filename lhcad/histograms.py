"""Histograms as ``hist.Hist`` with named, labelled axes, and the UHI JSON histograms file.

A histogram's axis is named after the observable's column (``mjj``) and labelled for plots
(``$m_{jj}$ [GeV]``, :data:`lhcad.data.columns.AXIS_LABELS`). Event counts use Int64 storage;
weighted histograms (a background reference) Weight storage, sums of weights and of their
squares. A set of histograms is written as one UHI histograms file
(``uhi/resources/histograms.schema.json``): a JSON object of flat keys (``top500/mjj``), each a
UHI histogram, which ``hist``, ``boost-histogram``, ``uproot`` and ROOT read back.

>>> from lhcad.config.section import Binning
>>> h = fill_histogram([1600.0, 2500.0, 2600.0, 7000.0], Binning(bins=45, lo=1500.0, hi=6000.0), "mjj")
>>> h.axes[0].name, h.axes[0].label, int(h.sum()), int(h.sum(flow=True))
('mjj', '$m_{jj}$ [GeV]', 3, 4)
>>> back = histograms_from_json(histograms_to_json({"top500/mjj": h}))["top500/mjj"]
>>> back == h
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import hist
import numpy as np
import uhi.io.json
from hist import serialization

from lhcad.config.section import Binning
from lhcad.data.columns import AXIS_LABELS


def axis_label(observable: str) -> str:
    """The plot label of an observable's axis (its column name when it has none)."""
    return AXIS_LABELS.get(observable, observable)


def observable_axis(binning: Binning, observable: str) -> hist.axis.Regular:
    """The regular axis of an observable's binning, named after its column, with flow bins."""
    return hist.axis.Regular(binning.bins, binning.lo, binning.hi, name=observable, label=axis_label(observable))


def fill_histogram(
    values: Any, binning: Binning, observable: str, weights: Any = None, *, name: str | None = None, label: str | None = None
) -> hist.Hist:
    """A 1-D histogram of ``values`` on the observable's binning: event counts (Int64 storage),
    or with ``weights`` sums of weights and of squared weights (Weight storage). ``name`` and
    ``label`` name the histogram itself (its key in a file, what it holds)."""
    storage = hist.storage.Int64() if weights is None else hist.storage.Weight()
    h = hist.Hist(observable_axis(binning, observable), storage=storage, name=name, label=label)
    h.fill(np.asarray(values, dtype=np.float64), weight=None if weights is None else np.asarray(weights, dtype=np.float64))
    return h


def histogram_to_uhi(h: hist.Hist) -> dict[str, Any]:
    """The UHI form of a histogram (``histogram.schema.json``), with plain lists for arrays."""
    plain: dict[str, Any] = json.loads(json.dumps(serialization.to_uhi(h), default=uhi.io.json.default, allow_nan=False))
    return plain


def histogram_from_uhi(data: Mapping[str, Any]) -> hist.Hist:
    """Rebuild a ``hist.Hist`` from its UHI form (lists or arrays)."""
    return serialization.from_uhi(uhi.io.json.object_hook(_arrays(data)))


def _arrays(data: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(data)
    out["storage"] = uhi.io.json.object_hook(dict(data["storage"]))
    out["axes"] = [uhi.io.json.object_hook(dict(axis)) for axis in data["axes"]]
    return out


def histograms_to_uhi(hists: Mapping[str, hist.Hist]) -> dict[str, dict[str, Any]]:
    """A UHI histograms file's content (``histograms.schema.json``): key -> UHI histogram."""
    return {key: histogram_to_uhi(h) for key, h in hists.items()}


def histograms_from_uhi(data: Mapping[str, Any]) -> dict[str, hist.Hist]:
    """Key -> ``hist.Hist`` from a UHI histograms file's content."""
    return {key: histogram_from_uhi(h) for key, h in data.items()}


def histograms_to_json(hists: Mapping[str, hist.Hist]) -> str:
    """A UHI histograms file's text."""
    return json.dumps(histograms_to_uhi(hists), indent=2, allow_nan=False) + "\n"


def histograms_from_json(text: str) -> dict[str, hist.Hist]:
    """Key -> ``hist.Hist`` from a UHI histograms file's text."""
    return histograms_from_uhi(json.loads(text))


def counts_variances_and_edges(h: hist.Hist) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of weights, sums of squared weights (without flow bins) and edges."""
    variances = h.variances()
    values = np.asarray(h.values(), dtype=np.float64)
    return values, values.copy() if variances is None else np.asarray(variances, dtype=np.float64), np.asarray(h.axes[0].edges, dtype=np.float64)


def counts_and_edges(h: hist.Hist) -> tuple[np.ndarray, np.ndarray]:
    """Bin contents (without flow bins) and edges, for fitting and plotting."""
    return np.asarray(h.values(), dtype=np.float64), np.asarray(h.axes[0].edges, dtype=np.float64)
