"""Toy dijet events with the LHCO columns: fast, seeded, for tests, tutorials and benchmarks.

Not a physics generator (that is :mod:`lhcad.gen`, Pythia 8 + FastJet): background has a falling
mjj spectrum and jet masses that grow with mjj like QCD's; signal is a resonance
``Z -> X Y`` with Gaussian-smeared masses and two-prong jets (low tau21).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lhcad.data.columns import JET_COLUMNS, LABEL, MJ_HEAVY, MJ_LIGHT, MJJ, RND_TRUTH_GEV


def _transverse_momentum(mjj: np.ndarray, m1: np.ndarray, m2: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """pT of two back-to-back jets with masses m1, m2 and rapidity gap dy that make ``mjj`` (bisection)."""
    lo = np.zeros_like(mjj)
    hi = np.full_like(mjj, 1e8)
    target = mjj**2
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        value = m1**2 + m2**2 + 2 * (np.sqrt((mid + m1**2) * (mid + m2**2)) * np.cosh(dy) + mid)
        below = value < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.sqrt(0.5 * (lo + hi))


def _jets(mjj: np.ndarray, m1: np.ndarray, m2: np.ndarray, tau21: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(mjj)
    y_boost = rng.normal(0.0, 0.5, n)
    dy = np.abs(rng.normal(0.0, 0.7, n))
    pt = _transverse_momentum(mjj, m1, m2, dy)
    phi = rng.uniform(-np.pi, np.pi, n)
    out: dict[str, np.ndarray] = {}
    for j, (m, y, ph) in enumerate(((m1, y_boost + dy / 2, phi), (m2, y_boost - dy / 2, phi + np.pi)), start=1):
        mt = np.sqrt(pt**2 + m**2)
        out[f"pxj{j}"] = pt * np.cos(ph)
        out[f"pyj{j}"] = pt * np.sin(ph)
        out[f"pzj{j}"] = mt * np.sinh(y)
        out[f"mj{j}"] = m
        tau1 = m * rng.uniform(0.15, 0.35, n)
        t21 = np.clip(tau21[:, j - 1], 0.02, 0.98)
        out[f"tau1j{j}"] = tau1
        out[f"tau2j{j}"] = tau1 * t21
        out[f"tau3j{j}"] = tau1 * t21 * np.clip(rng.normal(0.75, 0.1, n), 0.05, 0.98)
    return out


def make_toy_events(
    n_background: int,
    n_signal: int = 0,
    *,
    seed: int = 0,
    masses: dict[str, float] | None = None,
    resolution: dict[str, float] | None = None,
) -> pd.DataFrame:
    """A shuffled table of toy dijet events with the LHCO jet columns, ``mjj`` and ``label``.

    Args:
        n_background: QCD-like events.
        n_signal: resonance events.
        seed: random seed.
        masses: signal peaks (default: the R&D truth, mjj 3500, heavy 500, light 100 GeV).
        resolution: relative Gaussian widths per mass (default 5%, 8%, 10%).
    """
    rng = np.random.default_rng(seed)
    masses = {**RND_TRUTH_GEV, **(masses or {})}
    resolution = {MJJ: 0.05, MJ_HEAVY: 0.08, MJ_LIGHT: 0.10, **(resolution or {})}

    mjj_b = 1800.0 + rng.exponential(600.0, n_background)
    scale = 0.04 * mjj_b
    ma, mb = rng.gamma(2.0, scale / 2.0), rng.gamma(2.0, scale / 2.0)
    tau_b = rng.normal(0.62, 0.12, (n_background, 2))

    mjj_s = masses[MJJ] * (1 + resolution[MJJ] * rng.standard_normal(n_signal))
    mx = masses[MJ_HEAVY] * (1 + resolution[MJ_HEAVY] * rng.standard_normal(n_signal))
    my = masses[MJ_LIGHT] * (1 + resolution[MJ_LIGHT] * rng.standard_normal(n_signal))
    swap = rng.random(n_signal) < 0.5  # which of the two leading-pT jets is the heavy one
    tau_s = rng.normal(0.30, 0.08, (n_signal, 2))

    jets_b = _jets(mjj_b, ma, mb, tau_b, rng)
    jets_s = _jets(mjj_s, np.where(swap, my, mx), np.where(swap, mx, my), tau_s, rng)
    frame = pd.DataFrame({c: np.concatenate([jets_b[c], jets_s[c]]).astype(np.float32) for c in JET_COLUMNS})
    frame[LABEL] = np.concatenate([np.zeros(n_background, np.int8), np.ones(n_signal, np.int8)])
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
