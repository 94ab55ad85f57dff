"""Every column name and physics constant lhcad uses, in one place."""

from __future__ import annotations

from collections.abc import Sequence

#: Centre-of-mass energy of the LHC Run 2 data the LHCO 2020 datasets emulate, in GeV.
SQRT_S_GEV = 13000.0

#: Jet-level columns of the official LHCO features files, in file order (j1, j2 = two leading-pT jets).
JET_COLUMNS: tuple[str, ...] = (
    "pxj1", "pyj1", "pzj1", "mj1", "tau1j1", "tau2j1", "tau3j1",
    "pxj2", "pyj2", "pzj2", "mj2", "tau1j2", "tau2j2", "tau3j2",
)  # fmt: skip

#: Extended substructure columns (``lhcad generate`` / ``lhcad features`` with
#: ``--feature-set extended``), written after the official columns; official files lack them.
#: ``tau{N}j{J}_{tag}``: unnormalised N-subjettiness tau_N of jet J in GeV, N = 1 ..
#: ``EXTENDED_N_MAX``, at angular exponent beta with tag ``BETA_TAGS[beta]`` (``b05`` for 0.5,
#: ``b1``, ``b2``), the same axes, R0 and measure as ``tau{N}j{J}`` (which is the ``b1`` value:
#: ``tau2j1_b1 == tau2j1``); ``nconstj{J}``: the number of constituents of jet J.
EXTENDED_BETAS: tuple[float, ...] = (0.5, 1.0, 2.0)
BETA_TAGS: dict[float, str] = {0.5: "b05", 1.0: "b1", 2.0: "b2"}
EXTENDED_N_MAX = 5


def tau_column(n: int, jet: int, beta: float) -> str:
    """Name of the extended column of tau_n of jet ``jet`` (1 or 2) at angular exponent ``beta``.

    >>> tau_column(4, 2, 0.5)
    'tau4j2_b05'
    """
    return f"tau{n}j{jet}_{BETA_TAGS[beta]}"


NCONST_COLUMNS: tuple[str, ...] = ("nconstj1", "nconstj2")

#: All extended columns, in file order: jet 1's taus (beta, then N), jet 2's, then the multiplicities.
EXTENDED_COLUMNS: tuple[str, ...] = (
    *(tau_column(n, j, b) for j in (1, 2) for b in EXTENDED_BETAS for n in range(1, EXTENDED_N_MAX + 1)),
    *NCONST_COLUMNS,
)

#: What ``--feature-set`` (and ``data.generate.feature_set``) accepts: the official 14 jet
#: columns, or those plus ``EXTENDED_COLUMNS``.
FEATURE_SETS: tuple[str, ...] = ("standard", "extended")

LABEL = "label"
EVENT_ID = "event_id"


def event_columns(names: Sequence[str]) -> list[str]:
    """The columns lhcad reads from a file with columns ``names``: the official jet columns,
    the extended ones it has (``EXTENDED_COLUMNS``, in their canonical order) and ``label``;
    anything else (``mjj``, truth columns) is left out.

    >>> event_columns(["mjj", "nconstj2", "label", *JET_COLUMNS])[14:]
    ['nconstj2', 'label']
    """
    present = set(names)
    extended = [c for c in EXTENDED_COLUMNS if c in present]
    return [*JET_COLUMNS, *extended, *([LABEL] if LABEL in present else [])]


# Derived features (lhcad.data.features computes them).
MJJ = "mjj"
MJ_HEAVY = "mj_heavy"
MJ_LIGHT = "mj_light"
DELTA_M = "delta_m"
TAU21_HEAVY = "tau21_heavy"
TAU21_LIGHT = "tau21_light"
TAU32_HEAVY = "tau32_heavy"
TAU32_LIGHT = "tau32_light"
PT_HEAVY = "pt_heavy"
PT_LIGHT = "pt_light"

DERIVED_COLUMNS: tuple[str, ...] = (
    MJJ, MJ_HEAVY, MJ_LIGHT, DELTA_M, TAU21_HEAVY, TAU21_LIGHT, TAU32_HEAVY, TAU32_LIGHT,
    PT_HEAVY, PT_LIGHT,
)  # fmt: skip


def tau_ratio_column(n: int, jet: str, beta: float) -> str:
    """Name of the derived ratio tau_{n+1}/tau_n of the ``heavy`` or ``light`` jet at ``beta``
    (:func:`lhcad.data.features.extended_ratio_features`).

    >>> tau_ratio_column(1, "heavy", 2.0)
    'tau21_heavy_b2'
    """
    return f"tau{n + 1}{n}_{jet}_{BETA_TAGS[beta]}"


NCONST_HEAVY = "nconst_heavy"
NCONST_LIGHT = "nconst_light"

#: Derived features of the extended set, mass-ordered like ``tau21_heavy``: tau_{N+1}/tau_N for
#: N = 1 .. EXTENDED_N_MAX - 1 at every beta (``tau21_heavy_b1`` equals ``tau21_heavy``), and the
#: multiplicities.
EXTENDED_DERIVED_COLUMNS: tuple[str, ...] = (
    *(tau_ratio_column(n, jet, b) for jet in ("heavy", "light") for b in EXTENDED_BETAS
      for n in range(1, EXTENDED_N_MAX)),
    NCONST_HEAVY, NCONST_LIGHT,
)  # fmt: skip

#: The observables whose peaks give the resonance masses: m_Z from mjj, m_X from the heavy jet,
#: m_Y from the light jet.
MASS_OBSERVABLES: tuple[str, ...] = (MJJ, MJ_HEAVY, MJ_LIGHT)

#: Default VAE/classifier inputs: mjj is never an input by default (it is the bump-hunt variable).
DEFAULT_INPUTS: tuple[str, ...] = (MJ_HEAVY, DELTA_M, TAU21_HEAVY, TAU21_LIGHT)

#: The weak scorers' inputs per ``score.feature_set``. ``standard``: the CATHODE paper's four
#: (the lighter jet's mass, the mass difference, both tau21). ``extended``: those plus every
#: tau_{N+1}/tau_N of both jets at each beta and both multiplicities (arXiv:2309.13111's idea:
#: tree ensembles tolerate many features, few of which carry the signal); tau21 at beta = 1 is
#: ``tau21_heavy`` itself, so it is not repeated.
WEAK_FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "standard": (MJ_LIGHT, DELTA_M, TAU21_HEAVY, TAU21_LIGHT),
    "extended": (
        MJ_LIGHT, DELTA_M, TAU21_HEAVY, TAU21_LIGHT,
        *(name for name in EXTENDED_DERIVED_COLUMNS if name not in (tau_ratio_column(1, "heavy", 1.0), tau_ratio_column(1, "light", 1.0))),
    ),
}  # fmt: skip

#: Official raw LHCO files: 700 particles x (pT, eta, phi), zero padded.
RAW_MAX_PARTICLES = 700
RAW_VALUES_PER_PARTICLE = 3
RAW_N_COLUMNS = RAW_MAX_PARTICLES * RAW_VALUES_PER_PARTICLE

#: Nominal masses of the LHCO 2020 R&D signal, W' (or Z') -> X Y, in GeV.
RND_TRUTH_GEV: dict[str, float] = {MJJ: 3500.0, MJ_HEAVY: 500.0, MJ_LIGHT: 100.0}

#: LaTeX axis labels for plots.
AXIS_LABELS: dict[str, str] = {
    MJJ: r"$m_{jj}$ [GeV]",
    MJ_HEAVY: r"$m_{j,\mathrm{heavy}}$ [GeV]",
    MJ_LIGHT: r"$m_{j,\mathrm{light}}$ [GeV]",
    DELTA_M: r"$\Delta m$ [GeV]",
    TAU21_HEAVY: r"$\tau_{21}^{\mathrm{heavy}}$",
    TAU21_LIGHT: r"$\tau_{21}^{\mathrm{light}}$",
    TAU32_HEAVY: r"$\tau_{32}^{\mathrm{heavy}}$",
    TAU32_LIGHT: r"$\tau_{32}^{\mathrm{light}}$",
    PT_HEAVY: r"$p_T^{\mathrm{heavy}}$ [GeV]",
    PT_LIGHT: r"$p_T^{\mathrm{light}}$ [GeV]",
}
