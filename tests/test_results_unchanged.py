"""Every shipped LHCO analysis gives the same results.json numbers as it did before the LHCO search
became a family (issue #29): the numbers recorded in ``tests/data/lhco_results.json`` at the
commit before the move, on a small toy sample with quick settings.

Rerecord them (only when a change of numbers is intended, and say so in the commit):
``.venv/bin/python tests/test_results_unchanged.py``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORDED = Path(__file__).parent / "data" / "lhco_results.json"
ANALYSES = ("lhco_rnd", "lhco_blackbox", "lhco_rnd_cathode", "lhco_rnd_cwola")
QUICK = {
    "train.members": 2,
    "train.epochs": 2,
    "score.folds": 2,
    "score.ensemble": 1,
    "score.oversample": 1,
    "score.flow": {"transforms": 2, "hidden": [16], "epochs": 1, "checkpoints": 1},
    "score.windows": {"start": 3300, "stop": 3500, "width": 0.12, "step": 1.0, "min_events": 50},
    "select.top_n": [300, 600],
    "select.efficiencies": [],
    "fit.n_starts": 2,
    "bumphunt.n_toys": 50,
}
#: What differs between two runs of the same analysis on the same data: when and by which lhcad
#: (``created``, ``lhcad_version``, ``timing``) and where the data file lay (``data.path``, and the
#: ``config_sha256`` of a config that holds it).
UNCOMPARED = ("created", "lhcad_version", "timing", "config_sha256")


def results_of_every_analysis(directory: Path) -> dict[str, Any]:
    """results.json of each shipped LHCO analysis (its own scorer, no report) on the toy sample."""
    from lhcad.api import load_analysis, run
    from lhcad.data.parquet import write_events_parquet
    from lhcad.data.toy import make_toy_events

    events = directory / "events.parquet"
    write_events_parquet(make_toy_events(5000, 500, seed=3), events)
    found: dict[str, Any] = {}
    for name in ANALYSES:
        config = load_analysis(ROOT / "analyses" / f"{name}.yaml", {"data.path": str(events), **QUICK})
        config = config.model_copy(update={"pipeline": [s for s in config.pipeline if s != "report"]})
        results = run(config, out=directory / "out").results
        assert results is not None
        found[name] = comparable(dict(results))
    return found


def comparable(results: dict[str, Any]) -> dict[str, Any]:
    """results.json without what differs between two runs of the same analysis."""
    kept = {k: v for k, v in results.items() if k not in UNCOMPARED}
    kept["data"] = {k: v for k, v in kept["data"].items() if k != "path"}
    return kept


def differences(before: Any, after: Any, where: str = "") -> list[str]:
    """Where two JSON trees differ (numbers to a relative 1e-9)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = [f"{where}.{k}: only {'before' if k in before else 'after'}" for k in before.keys() ^ after.keys()]
        for key in before.keys() & after.keys():
            found += differences(before[key], after[key], f"{where}.{key}")
        return found
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{where}: {len(before)} items before, {len(after)} after"]
        return [d for i, (b, a) in enumerate(zip(before, after)) for d in differences(b, a, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(before, numbers) and isinstance(after, numbers) and not isinstance(before, bool):
        if math.isclose(before, after, rel_tol=1e-9, abs_tol=1e-12):
            return []
    elif before == after:
        return []
    return [f"{where}: {before!r} before, {after!r} after"]


@pytest.mark.slow
def test_every_lhco_analysis_gives_the_recorded_numbers(tmp_path: Path, one_torch_thread: None) -> None:
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    found = results_of_every_analysis(tmp_path)
    assert differences(recorded, found) == []


if __name__ == "__main__":
    import tempfile

    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        RECORDED.write_text(json.dumps(results_of_every_analysis(Path(tmp)), indent=1, sort_keys=True) + "\n")
    print(f"recorded {RECORDED}", file=sys.stderr)
