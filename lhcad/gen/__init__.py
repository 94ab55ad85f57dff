"""Event generation: Pythia 8 + a simple detector + FastJet, to LHCO-format jet features.

Needs the ``gen`` extra (``pip install 'lhcad[gen]'``: ``pythia8mc`` and ``fastjet``); importing
this package does not, only generating events does (:mod:`lhcad.gen.extra`).
"""

from __future__ import annotations

from lhcad.gen.extra import GEN_EXTRA_MESSAGE, GeneratorError, require_gen_extra
from lhcad.gen.generate import GeneratorConfig, generate_events, generate_to_parquet

__all__ = [
    "GEN_EXTRA_MESSAGE",
    "GeneratorConfig",
    "GeneratorError",
    "generate_events",
    "generate_to_parquet",
    "require_gen_extra",
]
