"""docs/tutorial.ipynb executes from top to bottom with the current code (so it cannot rot), and
shows what it says: the shipped sample's resonance, plots, and a rerun that reuses the cache."""

from __future__ import annotations

import json
from pathlib import Path

import nbclient
import nbformat
import pytest

pytestmark = pytest.mark.slow  # executes the notebook: the R&D study on the shipped sample

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"


def test_tutorial_notebook_runs_the_rnd_study_and_reruns_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv("LHCAD_TUTORIAL_OUT", str(out))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # tiny models: one thread is fastest on a busy CPU
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "Warning" not in stderr, stderr
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 2  # the scores and the mass fit
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "unknown key 'epoch'" in text  # the ConfigError cell

    # the second run: the selection changed, the training did not
    rerun = "".join(json.dumps(o.get("data", {})) for o in notebook.cells[-3].outputs)
    assert "'train': True" in rerun and "'select': False" in rerun
    results = json.loads((out / "results.json").read_text())
    assert [s["name"] for s in results["selections"]] == ["top300", "top800", "eff0.01", "eff0.1"]
    assert (
        19_900 < results["data"]["n_events"] <= 20_000
    )  # a few events with NaN features are dropped
    m_z = results["masses"]["mjj"]
    assert m_z["valid"] and abs(m_z["value"] - 3500) < 150  # the shipped resonance, m_Z = 3500 GeV
