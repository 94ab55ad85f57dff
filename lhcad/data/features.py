"""Derived physics features of dijet events: mjj, mass-ordered jets, N-subjettiness ratios.

The official LHCO files give the two leading-pT jets as (px, py, pz, m) plus tau1..tau3; the
anomaly search works with the jets ordered by mass (X is the heavier, Y the lighter) and with
ratios of the tau's, which are dimensionless and less correlated with the jet mass.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lhcad.data import columns as col
from lhcad.errors import DataError


def jet_energy(px: np.ndarray, py: np.ndarray, pz: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Energy of a jet from its three-momentum and mass."""
    return np.sqrt(px**2 + py**2 + pz**2 + m**2)


def dijet_mass(events: pd.DataFrame) -> np.ndarray:
    """Invariant mass of the two jets, computed in float64.

    >>> import pandas as pd
    >>> row = dict(pxj1=1000., pyj1=0., pzj1=0., mj1=0., pxj2=-1000., pyj2=0., pzj2=0., mj2=0.)
    >>> float(dijet_mass(pd.DataFrame([row]))[0])
    2000.0
    """
    p = {name: events[name].to_numpy(np.float64) for name in ("pxj1", "pyj1", "pzj1", "mj1", "pxj2", "pyj2", "pzj2", "mj2")}
    e = jet_energy(p["pxj1"], p["pyj1"], p["pzj1"], p["mj1"]) + jet_energy(p["pxj2"], p["pyj2"], p["pzj2"], p["mj2"])
    px, py, pz = p["pxj1"] + p["pxj2"], p["pyj1"] + p["pyj2"], p["pzj1"] + p["pzj2"]
    return np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator/denominator, NaN where the denominator is 0 (e.g. a one-constituent jet)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = numerator / denominator
    out[denominator == 0] = np.nan
    return out


def add_derived_features(events: pd.DataFrame) -> pd.DataFrame:
    """Return ``events`` with mjj, mass-ordered jet masses, tau ratios, delta_m and jet pT added,
    and, for events with the extended substructure columns, the extended ratios and
    multiplicities (:func:`extended_ratio_features`; not checked for NaN by the data stage, since
    only the extended weak-scorer inputs read them).

    A column ``mjj`` already in the input is ignored and recomputed from the jets (the official
    files have none, and one must never trust a precomputed value blindly).
    """
    m1 = events["mj1"].to_numpy(np.float64)
    m2 = events["mj2"].to_numpy(np.float64)
    first_heavier = m1 >= m2
    pt1 = np.hypot(events["pxj1"].to_numpy(np.float64), events["pyj1"].to_numpy(np.float64))
    pt2 = np.hypot(events["pxj2"].to_numpy(np.float64), events["pyj2"].to_numpy(np.float64))
    tau = {f"{t}{j}": events[f"{t}j{j}"].to_numpy(np.float64) for t in ("tau1", "tau2", "tau3") for j in (1, 2)}
    tau21 = {j: _ratio(tau[f"tau2{j}"], tau[f"tau1{j}"]) for j in (1, 2)}
    tau32 = {j: _ratio(tau[f"tau3{j}"], tau[f"tau2{j}"]) for j in (1, 2)}

    def heavy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(first_heavier, a, b)

    def light(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(first_heavier, b, a)

    derived = {
        col.MJJ: dijet_mass(events),
        col.MJ_HEAVY: heavy(m1, m2),
        col.MJ_LIGHT: light(m1, m2),
        col.DELTA_M: np.abs(m1 - m2),
        col.TAU21_HEAVY: heavy(tau21[1], tau21[2]),
        col.TAU21_LIGHT: light(tau21[1], tau21[2]),
        col.TAU32_HEAVY: heavy(tau32[1], tau32[2]),
        col.TAU32_LIGHT: light(tau32[1], tau32[2]),
        col.PT_HEAVY: heavy(pt1, pt2),
        col.PT_LIGHT: light(pt1, pt2),
    }
    extended = has_extended_columns(events)
    recomputed = (*col.DERIVED_COLUMNS, *(col.EXTENDED_DERIVED_COLUMNS if extended else ()))
    base = events.drop(columns=[c for c in recomputed if c in events.columns])
    parts = [base.reset_index(drop=True), pd.DataFrame(derived)]
    return pd.concat([*parts, extended_ratio_features(events)] if extended else parts, axis=1)


def tau_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """tau_{N+1}/tau_N, NaN where tau_N = 0 (a jet with at most N constituents), as for tau21.

    >>> tau_ratio(np.array([1.0, 0.0]), np.array([2.0, 0.0]))
    array([0.5, nan])
    """
    return _ratio(np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64))


def has_extended_columns(events: pd.DataFrame) -> bool:
    """Whether ``events`` has every extended column (``lhcad.data.columns.EXTENDED_COLUMNS``)."""
    return all(name in events.columns for name in col.EXTENDED_COLUMNS)


def extended_ratio_features(events: pd.DataFrame) -> pd.DataFrame:
    """The derived features of the extended set (``EXTENDED_DERIVED_COLUMNS``), mass-ordered.

    For each beta of ``EXTENDED_BETAS`` and N = 1 .. ``EXTENDED_N_MAX`` - 1, tau_{N+1}/tau_N of
    the heavier and the lighter jet (``tau32_heavy_b05``, ...; NaN where tau_N = 0, like
    ``tau21_heavy``, which equals ``tau21_heavy_b1``), and the constituent multiplicities
    ``nconst_heavy``, ``nconst_light``. The heavier jet is chosen as in
    :func:`add_derived_features` (j1 when ``mj1 >= mj2``).

    Args:
        events: Events with the jet masses and every column of ``EXTENDED_COLUMNS``.

    Returns:
        A frame of ``EXTENDED_DERIVED_COLUMNS`` (float64), one row per event, index reset.

    Raises:
        DataError: If ``events`` lacks extended columns (an official features file, or one
            made with the standard feature set).
    """
    missing = [name for name in col.EXTENDED_COLUMNS if name not in events.columns]
    if missing:
        raise DataError(
            f"no extended substructure columns (missing {', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): "
            "make the file with `lhcad generate` or `lhcad features` and --feature-set extended"
        )
    first_heavier = events["mj1"].to_numpy(np.float64) >= events["mj2"].to_numpy(np.float64)
    derived: dict[str, np.ndarray] = {}
    for side, heavy in (("heavy", first_heavier), ("light", ~first_heavier)):
        for beta in col.EXTENDED_BETAS:
            for n in range(1, col.EXTENDED_N_MAX):
                ratios = [
                    tau_ratio(
                        events[col.tau_column(n + 1, jet, beta)].to_numpy(np.float64),
                        events[col.tau_column(n, jet, beta)].to_numpy(np.float64),
                    )
                    for jet in (1, 2)
                ]
                derived[col.tau_ratio_column(n, side, beta)] = np.where(heavy, ratios[0], ratios[1])
    nconst = [events[name].to_numpy(np.float64) for name in col.NCONST_COLUMNS]
    derived[col.NCONST_HEAVY] = np.where(first_heavier, nconst[0], nconst[1])
    derived[col.NCONST_LIGHT] = np.where(first_heavier, nconst[1], nconst[0])
    return pd.DataFrame({name: derived[name] for name in col.EXTENDED_DERIVED_COLUMNS})
