"""lhcad: anomaly detection for LHC data, from events to fitted resonance masses.

>>> import lhcad                                                     # doctest: +SKIP
>>> config = lhcad.load_analysis("analyses/lhco_rnd.yaml", {"select.top_n": [500]})
>>> run = lhcad.run(config, out="outputs/notebook")
>>> run.results["masses"]["mjj"]["value"]
>>> run.scores()                      # pandas DataFrame, one row per event
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "LhcadError",
    "Results",
    "Run",
    "StageError",
    "__version__",
    "load_analysis",
    "open_run",
    "run",
]

if TYPE_CHECKING:
    from lhcad.api import Results, Run, load_analysis, open_run, run
    from lhcad.errors import ConfigError, DataError, LhcadError, StageError


def __getattr__(name: str) -> Any:
    """Import the API on first use, so ``import lhcad`` stays cheap."""
    if name in ("Results", "Run", "load_analysis", "open_run", "run"):
        from lhcad import api

        return getattr(api, name)
    if name in ("ConfigError", "DataError", "LhcadError", "StageError"):
        from lhcad import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'lhcad' has no attribute {name!r}")
