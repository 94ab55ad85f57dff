"""The settings of a weak scan, as plain frozen dataclasses: what the LHCO search's ``score``
section (``score.windows``, ``score.flow``, ...) holds for a weak scorer, without the config
models (the scorers, :mod:`lhcad.families.lhco.scorers`, hand them over)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class WindowSettings:
    """Sliding signal regions in mjj with a sideband on either side (:func:`lhcad.weak.windows.make_windows`)."""

    start: float | None = None
    """Centre of the first signal region in GeV (None: the lowest whose lower sideband starts
    above ``min_mjj``)."""
    stop: float | None = None
    """Centre of the last signal region in GeV (None: the highest whose upper sideband ends below
    the mjj quantile ``1 - edge_quantile``)."""
    width: float = 0.1
    """Signal-region width relative to its centre."""
    step: float = 0.5
    """Step between centres, in signal-region widths."""
    sideband: float = 1.0
    """Sideband width on either side, in signal-region widths."""
    min_mjj: float | None = None
    """Lowest mjj a sideband may reach (None: the mjj spectrum's peak)."""
    edge_quantile: float = 0.01
    """The mjj quantile of the upper end of the scan."""
    min_events: int = 1000
    """Fewest events a window needs to be scanned."""
    efficiencies: Sequence[float] = (0.005, 0.002)
    """Sideband efficiencies at which a window's excess is counted."""


@dataclass(frozen=True)
class FlowSettings:
    """CATHODE's conditional normalizing flow (:mod:`lhcad.weak.cathode`)."""

    transforms: int = 6
    hidden: Sequence[int] = (64, 64)
    sideband: float = 2.0
    max_events: int = 150_000
    epochs: int = 20
    batch_size: int = 2048
    lr: float = 1e-3
    patience: int = 10
    val_fraction: float = 0.2
    conditional_transform: bool = True
    checkpoints: int = 5
    mjj_sampling: Literal["kde", "fit"] = "kde"
    device: Literal["auto", "cpu", "cuda"] = "auto"


@dataclass(frozen=True)
class ScanSettings:
    """A weak scan of every window (:func:`lhcad.weak.scan.run_scan`)."""

    method: Literal["cwola", "cathode"]
    """``cwola``: signal region against sidebands; ``cathode``: against synthetic background."""
    windows: WindowSettings = field(default_factory=WindowSettings)
    folds: int = 5
    """k-fold cross-training per window."""
    classifier: Literal["hgb", "mlp"] = "hgb"
    ensemble: int = 3
    """Classifiers per fold."""
    oversample: int = 4
    """CATHODE: synthetic events per signal-region event."""
    flow: FlowSettings = field(default_factory=FlowSettings)
    seed: int = 0
    threads: int | None = 1
    """CPU threads of each task (None: the libraries' defaults)."""
