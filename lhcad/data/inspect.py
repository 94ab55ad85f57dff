"""``lhcad inspect``: what lhcad sees in a data file, and which of its events a run would drop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lhcad.data import columns as col
from lhcad.data.columns import JET_COLUMNS, LABEL
from lhcad.data.features import add_derived_features
from lhcad.data.lhco import inspect_h5
from lhcad.data.root import describe_root
from lhcad.data.sources import detect_format, read_events, resolve_path
from lhcad.data.stage import nonfinite_events

#: How each derived feature can be NaN/inf while the file's own columns are finite.
WHY_NONFINITE: dict[str, str] = {
    col.TAU21_HEAVY: "tau2/tau1 of the heavier jet: undefined where its tau1 = 0 (a one-constituent jet)",
    col.TAU21_LIGHT: "tau2/tau1 of the lighter jet: undefined where its tau1 = 0 (a one-constituent jet)",
    col.TAU32_HEAVY: "tau3/tau2 of the heavier jet: undefined where its tau2 = 0 (at most two constituents)",
    col.TAU32_LIGHT: "tau3/tau2 of the lighter jet: undefined where its tau2 = 0 (at most two constituents)",
}


def describe_file(path_text: str | Path, key: str | None = None) -> dict[str, Any]:
    """Format, event count, columns, label counts and NaN/inf counts of an events file, and
    ``dropped_by_run``: the events a run's data stage drops (NaN/inf in a jet column or a derived
    feature, the rule of :func:`lhcad.data.stage.nonfinite_events`) and which columns why."""
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
    if all(c in events.columns for c in JET_COLUMNS):
        info["dropped_by_run"] = dropped_by_run(events)
    return info


def dropped_by_run(events: Any) -> dict[str, Any]:
    """The events of a file the data stage drops, and why, column by column."""
    bad, spoiled = nonfinite_events(add_derived_features(events))

    def why(column: str) -> str:
        if column in JET_COLUMNS:
            return "NaN/inf in the file"
        return WHY_NONFINITE.get(column, "computed from a NaN/inf jet column")

    return {
        "events": int(bad.sum()),
        "of": len(bad),
        "columns": {column: {"events": n, "why": why(column)} for column, n in spoiled.items()},
        "policy": "data.nan_policy: drop (the default) skips these events; error stops the run at the first",
    }
