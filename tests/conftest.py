"""Shared fixtures: small event files the tests build themselves."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

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


@pytest.fixture()
def one_torch_thread() -> Iterator[None]:
    """Tiny models train fastest single-threaded (and a busy CPU punishes extra threads)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
