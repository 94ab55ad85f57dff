"""A non-editable install works outside the checkout (#31): the wheel ships ``configs/`` as
``lhcad/_configs``, and ``include:`` finds the presets there, so every shipped analysis, copied
to a directory of the user's, validates from yet another directory.

The wheel is built without build isolation (hatchling comes with the ``test`` extra) and
installed with ``--no-deps --no-index`` into a fresh venv that sees this environment's installed
dependencies through a ``.pth`` file: no network is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin/`` of a fresh venv holding lhcad installed from its wheel (not editable)."""
    pytest.importorskip("hatchling", reason="the test extra's hatchling builds the wheel")
    root = tmp_path_factory.mktemp("wheel-install")
    wheels = root / "wheels"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels), str(REPO)],
        cwd=root,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("lhcad-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], cwd=root
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # The dependencies already installed here (torch, numpy, ...), without a network.
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root)
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(purelib.stdout.strip()) / "lhcad-test-deps.pth").write_text("".join(f"{d}\n" for d in deps))
    return venv / "bin"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MPLBACKEND"] = "Agg"
    return env


def test_the_wheel_ships_the_configs_and_imports_from_the_install(installed: Path, tmp_path: Path) -> None:
    where = _run([str(installed / "python"), "-c", "import lhcad, pathlib; print(pathlib.Path(lhcad.__file__).parent)"], tmp_path, _env())
    package = Path(where.stdout.strip())
    assert where.returncode == 0, where.stderr
    assert REPO not in package.parents, f"lhcad imported from the checkout: {package}"
    shipped = sorted(p.relative_to(package / "_configs").as_posix() for p in (package / "_configs").rglob("*.yaml"))
    assert shipped == sorted(p.relative_to(REPO / "configs").as_posix() for p in (REPO / "configs").rglob("*.yaml"))


def test_every_shipped_analysis_validates_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    """Each analyses/*.yaml copied into a directory of its own (no configs/ beside it or above
    it) validates from another directory: its includes come from the installed package."""
    mine = tmp_path / "my_study"
    elsewhere = tmp_path / "elsewhere"
    mine.mkdir()
    elsewhere.mkdir()
    analyses = sorted((REPO / "analyses").glob("*.yaml"))
    assert analyses
    for analysis in analyses:
        shutil.copy(analysis, mine / analysis.name)
    for analysis in analyses:
        result = _run([str(installed / "lhcad"), "validate", str(mine / analysis.name)], elsewhere, _env())
        assert result.returncode == 0, f"{analysis.name}: {result.stderr}"
        assert result.stdout.startswith("kind: "), result.stdout[:200]
    included = _run([str(installed / "lhcad"), "validate", str(mine / "lhco_rnd.yaml")], elsewhere, _env())
    assert "members: 3" in included.stdout and "rule: most_precise" in included.stdout  # analyses/lhco_study.yaml
    assert not any(elsewhere.iterdir()), "validate wrote files"
