"""Shared fixtures: small event files the tests build themselves."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from lhcad.data.parquet import write_events_parquet
from lhcad.data.toy import make_toy_events

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def toy_events() -> pd.DataFrame:
    """6000 QCD-like + 600 resonance events (S/B 10%)."""
    return make_toy_events(6000, 600, seed=7)


@pytest.fixture()
def toy_parquet(tmp_path: Path, toy_events: pd.DataFrame) -> Path:
    path = tmp_path / "events.parquet"
    write_events_parquet(toy_events, path)
    return path


def write_analysis(directory: Path, text: str, name: str = "analysis.yaml") -> Path:
    """Write an analysis YAML into ``directory``."""
    path = directory / name
    path.write_text(text)
    return path


#: The LHCO search from events to masses without the report: the fastest whole pipeline.
FAST_LHCO_PIPELINE = "data preprocess train score select histogram fit extract export".split()


def toy_lhco_analysis(
    directory: Path, n_background: int, n_signal: int, seed: int, **sections: Any
) -> Path:
    """A toy events file (:func:`make_toy_events`) and ``directory/a.yaml``, the LHCO search of
    :data:`FAST_LHCO_PIPELINE` on it with two members trained for two epochs on the CPU;
    ``sections`` add or replace top-level keys (``select={"top_n": [200]}``, ``name="crash"``)."""
    events = directory / "events.parquet"
    write_events_parquet(make_toy_events(n_background, n_signal, seed=seed), events)
    analysis = {
        "pipeline": FAST_LHCO_PIPELINE,
        "data": {"path": str(events)},
        "train": {"epochs": 2, "members": 2, "device": "cpu"},
        **sections,
    }
    return write_analysis(directory, yaml.safe_dump(analysis, sort_keys=False), "a.yaml")


def cli_options(**options: Any) -> list[str]:
    """Command-line options from keywords: ``n=10`` -> ``--n 10``, ``jet_type="g"`` ->
    ``--jet-type g``, ``pt_range=(400, 600)`` -> ``--pt-range 400 600``, ``images=True`` ->
    ``--images``."""
    args: list[str] = []
    for key, value in options.items():
        args.append("--" + key.replace("_", "-"))
        if isinstance(value, tuple | list):
            args += [str(v) for v in value]
        elif value is not True:
            args.append(str(value))
    return args


@pytest.fixture()
def one_torch_thread() -> Iterator[None]:
    """Tiny models train fastest single-threaded (and a busy CPU punishes extra threads)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
