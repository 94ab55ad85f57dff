"""`pip install lhcad` without extras runs every analysis that needs no extra: importing the
stage catalogue and the analysis families never imports an optional package."""

from __future__ import annotations

import subprocess
import sys

OPTIONAL = ("awkward", "uproot", "fastjet", "pythia8mc", "mkdocs", "nbclient", "dask", "distributed", "tables", "pyBumpHunter")

PROBE = f"""
import sys
for name in {OPTIONAL!r}:
    sys.modules[name] = None  # any import of it now fails
import lhcad.cli, lhcad.families.lhco.stages, lhcad.api
import lhcad.families.jet_images.report, lhcad.families.jet_images.sample, lhcad.families.pointcloud.jetnet, lhcad.families.egamma.showers, lhcad.families.compress.codec
from lhcad.pipeline.registry import available_stages
print(len(available_stages()))
"""


def test_the_stage_catalogue_and_every_family_import_without_the_extras() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 27
