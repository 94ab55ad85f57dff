"""Signal injection: a chosen number of signal events mixed into a background sample."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lhcad.data.columns import EVENT_ID, LABEL
from lhcad.errors import DataError


def inject_signal(
    background: pd.DataFrame,
    signal: pd.DataFrame,
    *,
    n_signal: int | None = None,
    signal_fraction: float | None = None,
    seed: int = 0,
    signal_source: str = "signal file",
) -> pd.DataFrame:
    """Mix ``n_signal`` (or ``signal_fraction`` x background) signal events into the background.

    Signal already in ``background`` (label 1) is dropped first; signal events are drawn
    without replacement with ``seed``; the result is shuffled. Labels mark the origin
    (0 background, 1 injected signal) and serve evaluation only. ``event_id`` keeps the row of
    the source file; injected events are numbered after the background file's rows.
    """
    rng = np.random.default_rng(seed)
    if LABEL in background.columns:
        background = background[background[LABEL] != 1]
    if LABEL in signal.columns:
        signal = signal[signal[LABEL] == 1]
    if n_signal is None:
        n_signal = int(round((signal_fraction or 0.0) * len(background)))
    if n_signal > len(signal):
        raise DataError(f"asked to inject {n_signal} signal events but it has only {len(signal)}", source=signal_source)
    offset = int(background[EVENT_ID].max()) + 1 if len(background) else 0
    chosen = signal.iloc[np.sort(rng.choice(len(signal), size=n_signal, replace=False))].copy()
    chosen[EVENT_ID] = chosen[EVENT_ID] + offset
    chosen[LABEL] = 1
    background = background.copy()
    background[LABEL] = 0
    mixed = pd.concat([background, chosen], ignore_index=True)
    mixed[LABEL] = mixed[LABEL].astype(np.int8)
    return mixed.iloc[rng.permutation(len(mixed))].reset_index(drop=True)
