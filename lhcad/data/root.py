"""ROOT ntuples (CMS/ATLAS open data, NanoAOD, private trees) as LHCO events, read with uproot.

A column map says where each LHCO column comes from: ``{pxj1: FatJet_px[0], ...}``. A value is
a branch name, or ``BRANCH[i]`` for element ``i`` of a jagged (variable-length) branch; an event
whose list is too short gets NaN there (the ``data`` stage then drops it with a count, never
silently). A jet may be given in polar coordinates instead (``ptj1``, ``etaj1``, ``phij1``
instead of ``pxj1``, ``pyj1``, ``pzj1``); ``label`` is optional. Ready-made maps (both take
the truth label from a flat ``label`` branch when the tree has one):

- ``lhco``: flat branches named like the LHCO columns (``pxj1`` ... ``tau3j2``, ``label``);
- ``nanoaod``: CMS NanoAOD's ``FatJet_pt/eta/phi/mass/tau1/tau2/tau3``, elements 0 and 1 (the
  two leading-pT large-radius jets).

The tree is read in blocks of ``chunk_rows`` entries (only the mapped branches), so memory is
bounded by the block, not the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lhcad.data.columns import JET_COLUMNS, LABEL
from lhcad.errors import DataError

ROOT_EXTRA_MESSAGE = "ROOT input needs the root extra: pip install 'lhcad[root]'"
_POLAR = {"px": "pt", "py": "eta", "pz": "phi"}
_EXPRESSION = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?:\[\s*(\d+)\s*\])?\s*$")


def _nanoaod_map() -> dict[str, str]:
    columns = {}
    for j in (1, 2):
        for name, branch in (
            ("pt", "pt"),
            ("eta", "eta"),
            ("phi", "phi"),
            ("m", "mass"),
            *((f"tau{k}", f"tau{k}") for k in (1, 2, 3)),
        ):
            columns[f"{name}j{j}"] = f"FatJet_{branch}[{j - 1}]"
    return columns


#: The ready-made column maps ``data.columns`` accepts by name.
READY_MAPS: dict[str, dict[str, str]] = {
    "lhco": {name: name for name in JET_COLUMNS},
    "nanoaod": _nanoaod_map(),
}


@dataclass(frozen=True)
class Source:
    """One mapped column: a branch and, for a jagged branch, the element taken."""

    branch: str
    index: int | None


def parse_column_map(columns: str | Mapping[str, str]) -> dict[str, Source]:
    """Check a column map (or a ready-made map's name) and parse its branch expressions.

    >>> parse_column_map({"pxj1": "FatJet_px[0]"} | {c: c for c in READY_MAPS["lhco"] if c != "pxj1"})["pxj1"]
    Source(branch='FatJet_px', index=0)
    """
    if isinstance(columns, str):
        if columns not in READY_MAPS:
            raise DataError(
                f"unknown column map {columns!r} (ready-made: {', '.join(READY_MAPS)})",
                source="data.columns",
            )
        columns = READY_MAPS[columns]
    sources: dict[str, Source] = {}
    for name, expression in columns.items():
        match = _EXPRESSION.match(str(expression))
        if match is None:
            raise DataError(
                f"{name}: expected BRANCH or BRANCH[index], got {expression!r}",
                source="data.columns",
            )
        sources[name] = Source(match[1], None if match[2] is None else int(match[2]))
    allowed = {
        *JET_COLUMNS,
        LABEL,
        *(f"{_POLAR[c[:2]]}{c[2:]}" for c in JET_COLUMNS if c[:2] in _POLAR),
    }
    unknown = sorted(set(sources) - allowed)
    if unknown:
        raise DataError(
            f"unknown columns {', '.join(unknown)} (LHCO columns, ptj/etaj/phij, label)",
            source="data.columns",
        )
    missing = []
    for column in JET_COLUMNS:
        polar = f"{_POLAR[column[:2]]}{column[2:]}" if column[:2] in _POLAR else None
        if column not in sources and (polar is None or polar not in sources):
            missing.append(column if polar is None else f"{column} (or {polar})")
    if missing:
        raise DataError(f"no source for {', '.join(missing)}", source="data.columns")
    for j in (1, 2):
        polar = [f"{name}j{j}" in sources for name in _POLAR.values()]
        if any(polar) and not all(polar):
            raise DataError(
                f"jet {j} in polar coordinates needs ptj{j}, etaj{j} and phij{j}",
                source="data.columns",
            )
    return sources


def _uproot() -> Any:
    try:
        import uproot
    except ImportError:
        raise DataError(ROOT_EXTRA_MESSAGE) from None
    return uproot


def _read_errors() -> tuple[type[Exception], ...]:
    """What uproot raises for a file that is not ROOT or for a damaged basket."""
    deserialization = _uproot().deserialization.DeserializationError
    return (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, deserialization)


def _open_tree(path: Path, tree: str | None) -> Any:
    uproot = _uproot()
    try:
        handle = uproot.open(path)
    except _read_errors() as exc:
        raise DataError(
            f"not a readable ROOT file ({type(exc).__name__}: {exc})", source=path
        ) from None
    kinds = {key.split(";")[0]: kind for key, kind in handle.classnames().items()}
    trees = sorted(name for name, kind in kinds.items() if kind == "TTree")
    if not trees:
        rntuple = (
            " (only RNTuples, which lhcad does not read yet)"
            if "ROOT::RNTuple" in kinds.values()
            else ""
        )
        raise DataError(f"no TTree in the file{rntuple}", source=path)
    if tree is None:
        if len(trees) > 1:
            raise DataError(
                f"set data.tree: the file has {len(trees)} trees ({', '.join(trees)})", source=path
            )
        tree = trees[0]
    if tree not in trees:
        raise DataError(f"no tree {tree!r} (trees: {', '.join(trees) or 'none'})", source=path)
    return handle[tree]


def _column(values: Any, source: Source, path: Path) -> np.ndarray:
    import awkward as ak

    jagged = values.ndim > 1
    if source.index is None:
        if jagged:
            raise DataError(
                f"branch {source.branch} has a list per event: map an element, e.g. {source.branch}[0]",
                source=path,
            )
        return ak.to_numpy(values).astype(np.float64)
    if not jagged:
        raise DataError(
            f"branch {source.branch} has one value per event: drop the [{source.index}]",
            source=path,
        )
    padded = ak.pad_none(values, source.index + 1, axis=1)[:, source.index]
    return ak.to_numpy(ak.fill_none(padded, np.nan)).astype(np.float64)


def read_root_events(
    path: Path,
    tree: str | None = None,
    columns: str | Mapping[str, str] = "lhco",
    chunk_rows: int = 200_000,
) -> pd.DataFrame:
    """The LHCO jet columns (float64) and ``label`` (if mapped) of a ROOT tree, read in blocks."""
    sources = parse_column_map(columns)
    handle = _open_tree(path, tree)
    names = set(handle.keys())
    if isinstance(columns, str) and LABEL in names:
        sources[LABEL] = Source(LABEL, None)
    branches = sorted({s.branch for s in sources.values()})
    absent = [b for b in branches if b not in names]
    if absent:
        raise DataError(f"tree {handle.name} has no branch {', '.join(absent)}", source=path)
    blocks = []
    try:
        for chunk in handle.iterate(branches, step_size=chunk_rows, library="ak"):
            blocks.append(
                pd.DataFrame(
                    {name: _column(chunk[s.branch], s, path) for name, s in sources.items()}
                )
            )
    except _read_errors() as exc:  # decompression or deserialisation of a damaged basket
        raise DataError(f"corrupt ROOT data ({type(exc).__name__}: {exc})", source=path) from None
    frame = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=list(sources))
    for j in (1, 2):
        if f"ptj{j}" in frame:
            pt, eta, phi = (frame.pop(f"{name}j{j}") for name in ("pt", "eta", "phi"))
            frame[f"pxj{j}"], frame[f"pyj{j}"], frame[f"pzj{j}"] = (
                pt * np.cos(phi),
                pt * np.sin(phi),
                pt * np.sinh(eta),
            )
    result = frame[list(JET_COLUMNS)].copy()
    if LABEL in frame:
        labels = frame[LABEL].to_numpy()
        if not np.isin(labels, (0, 1)).all():
            raise DataError("the label branch must hold 0 or 1", source=path)
        result[LABEL] = labels.astype(np.int8)
    return result


def describe_root(path: Path) -> dict[str, Any]:
    """The trees of a ROOT file with their entries and branch types (for ``lhcad inspect``)."""
    uproot = _uproot()
    try:
        handle = uproot.open(path)
        return {
            "trees": {
                key.split(";")[0]: {
                    "entries": int(handle[key].num_entries),
                    "branches": {
                        name: str(branch.typename) for name, branch in handle[key].items()
                    },
                }
                for key, kind in handle.classnames().items()
                if kind == "TTree"
            }
        }
    except _read_errors() as exc:
        raise DataError(
            f"not a readable ROOT file ({type(exc).__name__}: {exc})", source=path
        ) from None
