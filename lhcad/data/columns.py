"""Every column name and physics constant lhcad uses, in one place."""

from __future__ import annotations

#: Centre-of-mass energy of the LHC Run 2 data the LHCO 2020 datasets emulate, in GeV.
SQRT_S_GEV = 13000.0

#: Jet-level columns of the official LHCO features files, in file order (j1, j2 = two leading-pT jets).
JET_COLUMNS: tuple[str, ...] = (
    "pxj1", "pyj1", "pzj1", "mj1", "tau1j1", "tau2j1", "tau3j1",
    "pxj2", "pyj2", "pzj2", "mj2", "tau1j2", "tau2j2", "tau3j2",
)  # fmt: skip

LABEL = "label"
EVENT_ID = "event_id"

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

#: The observables whose peaks give the resonance masses: m_Z from mjj, m_X from the heavy jet,
#: m_Y from the light jet.
MASS_OBSERVABLES: tuple[str, ...] = (MJJ, MJ_HEAVY, MJ_LIGHT)

#: Default VAE/classifier inputs: mjj is never an input by default (it is the bump-hunt variable).
DEFAULT_INPUTS: tuple[str, ...] = (MJ_HEAVY, DELTA_M, TAU21_HEAVY, TAU21_LIGHT)

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
