"""The digit analyses end to end: YAML -> cached stages -> results.json and the HTML report, and
one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lhcad.cli import main
from lhcad.config import config_sha256
from lhcad.families.registry import load_analysis
from lhcad.data.digits import write_idx
from tests.conftest import write_analysis

ANALYSES = Path(__file__).resolve().parent.parent / "analyses"
QUICK_BMM = ["--set", "digits.bmm.restarts=1", "--set", "report.formats=[png]"]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.slow
def test_bmm_analysis_writes_results_and_report_and_reruns_from_cache(tmp_path):
    out = tmp_path / "out"
    first = invoke("run", str(ANALYSES / "digits_bmm.yaml"), "--out", str(out), *QUICK_BMM)
    assert first.exit_code == 0, first.output
    results = json.loads((out / "results.json").read_text())
    config = load_analysis(
        ANALYSES / "digits_bmm.yaml", ["digits.bmm.restarts=1", "report.formats=[png]"]
    )
    assert results["analysis"] == "digits_bmm" and results["config_sha256"] == config_sha256(config)
    assert {"lhcad_version", "created"} <= results.keys()
    bmm = results["bmm"]
    # ten Bernoulli components on the 8x8 digits: most clusters are dominated by one digit
    # (a clustering blind to the digits would have purity ~0.1 and NMI ~0)
    assert bmm["purity"] > 0.5 and bmm["nmi"] > 0.5
    assert bmm["largest_decrease"] == 0.0 and bmm["converged"]
    page = (out / "report" / "index.html").read_text()
    for name in ("bmm_means", "bmm_log_likelihood", "bmm_samples"):
        assert (
            f"figures/{name}.png" in page and (out / "report" / "figures" / f"{name}.png").exists()
        )
    again = invoke("run", str(ANALYSES / "digits_bmm.yaml"), "--out", str(out), *QUICK_BMM)
    assert again.exit_code == 0
    run_record = json.loads((out / "run.json").read_text())
    assert all(stage["cached"] for stage in run_record["stages"])
    # `lhcad report OUT` rebuilds this analysis family's page from the cache too
    (out / "report" / "figures" / "bmm_means.png").unlink()
    rebuilt = invoke("report", str(out))
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (out / "report" / "figures" / "bmm_means.png").exists()
    assert json.loads((out / "results.json").read_text())["bmm"] == bmm


def mnist_like_files(directory: Path, per_class: int = 40) -> tuple[Path, Path]:
    """28x28 uint8 IDX files of three shapes (a horizontal bar, a vertical bar, a ring) with
    10% of the pixels flipped, and their labels."""
    rng = np.random.default_rng(5)
    shapes = np.zeros((3, 28, 28), dtype=bool)
    shapes[0, 12:16, 4:24] = True
    shapes[1, 4:24, 12:16] = True
    yy, xx = np.mgrid[:28, :28]
    shapes[2] = np.abs(np.hypot(yy - 13.5, xx - 13.5) - 8) < 2
    labels = np.repeat(np.arange(3), per_class)
    flips = rng.uniform(size=(len(labels), 28, 28)) < 0.1
    images = ((shapes[labels] ^ flips) * 255).astype(np.uint8)
    write_idx(directory / "train-images-idx3-ubyte.gz", images)
    write_idx(directory / "train-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return directory / "train-images-idx3-ubyte.gz", directory / "train-labels-idx1-ubyte.gz"


def test_mnist_idx_files_run_through_the_binomial_mixture(tmp_path):
    images, labels = mnist_like_files(tmp_path)
    analysis = write_analysis(
        tmp_path,
        f"name: shapes\npipeline: [digits_data, bmm, digits_report]\n"
        f"digits:\n  data: {{source: {images}, labels: {labels}}}\n"
        f"  bmm: {{components: 3, distribution: binomial, trials: 2, restarts: 10}}\n"
        f"report: {{formats: [png]}}\n",
    )
    result = invoke("run", str(analysis), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["data"]["shape"] == [28, 28] and results["data"]["n_images"] == 120
    # three well-separated shapes: the best of 10 starts finds them exactly (about half of the
    # uniform starts end in a local maximum with two shapes in one component and a few images
    # in another; its log-likelihood is lower, so the restarts pick the right fit)
    assert results["bmm"]["purity"] == 1.0 and results["bmm"]["trials"] == 2
    assert results["bmm"]["largest_decrease"] == 0.0


def images_only_analysis(directory: Path, images: Path, labels: Path, name: str) -> Path:
    """An analysis that only loads the images (stage ``digits_data``)."""
    text = f"pipeline: [digits_data]\ndigits:\n  data: {{source: {images}, labels: {labels}}}\n"
    return write_analysis(directory, text, name)


def test_missing_and_corrupt_idx_files_are_one_line_errors(tmp_path):
    _, labels = mnist_like_files(tmp_path, per_class=2)
    missing = images_only_analysis(tmp_path, tmp_path / "gone", labels, "missing.yaml")
    result = invoke("run", str(missing), "--out", str(tmp_path / "out1"))
    assert result.exit_code == 2 and "gone: file not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    (tmp_path / "bad-idx").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x02")
    corrupt = images_only_analysis(tmp_path, tmp_path / "bad-idx", labels, "corrupt.yaml")
    result = invoke("run", str(corrupt), "--out", str(tmp_path / "out2"))
    assert result.exit_code == 2 and "bad-idx: truncated IDX header" in result.stderr


def test_bad_digit_options_name_their_dotted_path(tmp_path):
    result = invoke(
        "validate", str(ANALYSES / "digits_bmm.yaml"), "--set", "digits.bmm.init_range=[0.8, 0.2]"
    )
    assert result.exit_code == 2 and "digits.bmm.init_range" in result.stderr
    result = invoke("validate", str(ANALYSES / "digits_vae.yaml"), "--set", "digits.data.val=0.8")
    assert result.exit_code == 2 and "val + test must be below 1" in result.stderr
