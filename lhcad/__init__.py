"""lhcad: anomaly detection for LHC data, from events to fitted resonance masses."""

from __future__ import annotations

__version__ = "0.1.0"
