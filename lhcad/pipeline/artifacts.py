"""Reading and writing a stage's artifacts: parquet tables, npz arrays (no pickle), JSON,
PyTorch state dicts (loaded with ``weights_only=True``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lhcad.errors import LhcadError


def _safe_name(name: str) -> str:
    """Artifact names are plain file names inside the artifact directory."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or name in ("..",):
        raise LhcadError(f"invalid artifact name {name!r}")
    return name


class ArtifactWriter:
    """The (temporary) directory a running stage writes its outputs into."""

    def __init__(self, directory: Path):
        self.dir = directory

    def path(self, name: str) -> Path:
        """Path of a file the stage writes itself (plots, ...)."""
        return self.dir / _safe_name(name)

    def write_json(self, name: str, obj: Any) -> None:
        self.path(name).write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")

    def write_table(self, name: str, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, self.path(name), compression="zstd")

    def write_arrays(self, name: str, **arrays: np.ndarray) -> None:
        with self.path(name).open("wb") as handle:
            np.savez(handle, **{k: np.asarray(v) for k, v in arrays.items()})

    def write_torch(self, name: str, state: Any) -> None:
        import torch

        torch.save(state, self.path(name))


class Artifact:
    """A finished, cached stage output (read-only)."""

    def __init__(self, kind: str, key: str, directory: Path):
        self.kind = kind
        self.key = key
        self.dir = directory

    def path(self, name: str) -> Path:
        return self.dir / _safe_name(name)

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    @property
    def manifest(self) -> dict[str, Any]:
        return self.read_json("manifest.json")

    def read_json(self, name: str) -> Any:
        return json.loads(self.path(name).read_text(encoding="utf-8"))

    def read_table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        return pq.read_table(self.path(name), columns=columns).to_pandas()

    def read_arrays(self, name: str) -> dict[str, np.ndarray]:
        with np.load(self.path(name), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def read_torch(self, name: str) -> Any:
        import torch

        return torch.load(self.path(name), map_location="cpu", weights_only=True)


class StageOutputs:
    """A run's cached stage outputs by stage name, for a family's typed view of them (a
    subclass adds one ``cached_property`` per stage output, read through that output's class).

    Raises:
        LhcadError: on reading the output of a stage the run did not have (:meth:`has` asks).
    """

    def __init__(self, artifacts: Mapping[str, Artifact]):
        self.artifacts = artifacts

    def has(self, kind: str) -> bool:
        """Whether the run had stage ``kind``."""
        return kind in self.artifacts

    def artifact(self, kind: str) -> Artifact:
        """The cached output directory of stage ``kind``."""
        try:
            return self.artifacts[kind]
        except KeyError:
            ran = ", ".join(self.artifacts)
            raise LhcadError(f"stage {kind!r} did not run (ran: {ran})") from None
