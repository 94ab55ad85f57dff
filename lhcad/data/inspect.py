"""``lhcad inspect``: what lhcad sees in a data file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lhcad.data.columns import LABEL
from lhcad.data.lhco import inspect_h5
from lhcad.data.root import describe_root
from lhcad.data.sources import detect_format, read_events, resolve_path


def describe_file(path_text: str | Path, key: str | None = None) -> dict[str, Any]:
    """Format, event count, columns, label counts and NaN/inf counts of an events file."""
    path = resolve_path(str(path_text))
    fmt = detect_format(path, key)
    info: dict[str, Any] = {"path": str(path), "format": fmt}
    if fmt == "raw_h5":
        _, layout = inspect_h5(path, key)
        info.update(n_events=layout.n_rows, n_columns=len(layout.columns), layout=layout.kind)
        return info
    if fmt == "root":  # which branches to map in data.columns
        return {**info, **describe_root(path)}
    events = read_events(path, fmt, key)
    values = events.to_numpy(np.float64)
    info.update(
        n_events=len(events),
        columns=list(events.columns),
        nan=int(np.isnan(values).sum()),
        inf=int(np.isinf(values).sum()),
    )
    if LABEL in events.columns:
        labels, counts = np.unique(events[LABEL].to_numpy(), return_counts=True)
        info["labels"] = {str(int(k)): int(v) for k, v in zip(labels, counts)}
    return info
