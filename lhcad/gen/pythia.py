"""Pythia 8 settings of the LHCO 2020 R&D-like processes, and a seeded, initialised generator.

* ``qcd``: QCD dijets (``HardQCD:all``) above a pTHat cut.
* ``signal``: q qbar -> Z' (Pythia's hidden-valley Zv, PDG 4900023, width 1%) -> X Y, with X and Y
  new neutral scalars (PDG 9000005 and 9000006, widths 0.1%) decaying to u, d, s or c quark
  pairs with equal branching ratios.

Both use pp collisions at 13 TeV with the default tune, hadronisation on and multiple parton
interactions off (as in the LHCO R&D sample) unless ``mpi`` is set.
"""

from __future__ import annotations

from typing import Any

from lhcad.data.columns import SQRT_S_GEV
from lhcad.gen.extra import GeneratorError, require_gen_extra

PROCESSES: tuple[str, ...] = ("qcd", "signal")

ZPRIME_ID = 4900023
X_ID = 9000005
Y_ID = 9000006
LIGHT_QUARKS: tuple[int, ...] = (1, 2, 3, 4)

ZPRIME_RELATIVE_WIDTH = 0.01
XY_RELATIVE_WIDTH = 0.001
#: Z' generated in [0.5, 1.5] m_Z: the Breit-Wigner tail times the steeply falling parton
#: luminosity would otherwise put events far below the peak.
ZPRIME_MASS_WINDOW = (0.5, 1.5)
XY_MASS_WINDOW = (0.98, 1.02)

#: Pythia accepts seeds 1..900,000,000; each (seed, chunk) pair gets its own (see pythia_seed).
MAX_CHUNKS_PER_SEED = 10_000
MAX_SEED = 900_000_000 // MAX_CHUNKS_PER_SEED - 1


def _new_scalar(pid: int, name: str, mass: float) -> list[str]:
    """A neutral colourless scalar resonance decaying to light-quark pairs with equal rates."""
    lo, hi = (f * mass for f in XY_MASS_WINDOW)
    lines = [
        f"{pid}:all = {name} void 1 0 0 {mass:g} {XY_RELATIVE_WIDTH * mass:g} {lo:g} {hi:g} 0",
        f"{pid}:isResonance = on",
    ]
    fraction = 1.0 / len(LIGHT_QUARKS)
    for i, quark in enumerate(LIGHT_QUARKS):
        verb = "oneChannel" if i == 0 else "addChannel"
        lines.append(f"{pid}:{verb} = 1 {fraction:g} 100 {quark} {-quark}")
    return lines


def process_settings(
    process: str,
    *,
    mZ: float = 3500.0,
    mX: float = 500.0,
    mY: float = 100.0,
    pthat_min: float = 1000.0,
    mpi: bool = False,
) -> list[str]:
    """Every Pythia ``readString`` line of a process (seeds excluded).

    Args:
        process: ``qcd`` or ``signal``.
        mZ: Z' mass in GeV (signal).
        mX: Mass of X, the heavier daughter, in GeV (signal).
        mY: Mass of Y, the lighter daughter, in GeV (signal).
        pthat_min: Minimum pT of the hard 2 -> 2 scattering in GeV (qcd).
        mpi: Switch multiple parton interactions (the underlying event) on.

    Raises:
        GeneratorError: For an unknown process or impossible masses.
    """
    common = [
        f"Beams:eCM = {SQRT_S_GEV:g}",
        f"PartonLevel:MPI = {'on' if mpi else 'off'}",
        "HadronLevel:all = on",
        "Print:quiet = on",
    ]
    if process == "qcd":
        if pthat_min <= 0:
            raise GeneratorError(f"pthat_min must be positive, got {pthat_min:g}")
        return [*common, "HardQCD:all = on", f"PhaseSpace:pTHatMin = {pthat_min:g}"]
    if process == "signal":
        if not 0 < mY <= mX:
            raise GeneratorError(f"need 0 < mY <= mX, got mX={mX:g}, mY={mY:g}")
        if mX + mY >= ZPRIME_MASS_WINDOW[0] * mZ:
            raise GeneratorError(f"mX + mY = {mX + mY:g} GeV is too heavy for mZ = {mZ:g} GeV")
        lo, hi = (f * mZ for f in ZPRIME_MASS_WINDOW)
        return [
            *common,
            "HiddenValley:ffbar2Zv = on",
            f"{ZPRIME_ID}:m0 = {mZ:g}",
            f"{ZPRIME_ID}:mWidth = {ZPRIME_RELATIVE_WIDTH * mZ:g}",
            f"{ZPRIME_ID}:doForceWidth = on",
            f"{ZPRIME_ID}:mMin = {lo:g}",
            f"{ZPRIME_ID}:mMax = {hi:g}",
            # The q qbar channels must stay in the table (switched off): the production rate
            # is computed from the Zv partial width into the incoming quarks.
            f"{ZPRIME_ID}:onMode = off",
            f"{ZPRIME_ID}:addChannel = 1 1 100 {X_ID} {Y_ID}",
            *_new_scalar(X_ID, "X", mX),
            *_new_scalar(Y_ID, "Y", mY),
        ]
    raise GeneratorError(f"unknown process {process!r} (known: {', '.join(PROCESSES)})")


def pythia_seed(seed: int, chunk: int) -> int:
    """Pythia's seed of chunk ``chunk`` of a run with seed ``seed``: distinct for every pair.

    Raises:
        GeneratorError: If ``seed`` or ``chunk`` is out of range.
    """
    if not 0 <= seed <= MAX_SEED:
        raise GeneratorError(f"seed must be in [0, {MAX_SEED}], got {seed}")
    if not 0 <= chunk < MAX_CHUNKS_PER_SEED:
        raise GeneratorError(f"at most {MAX_CHUNKS_PER_SEED} chunks per run (chunk {chunk} requested)")
    return 1 + seed * MAX_CHUNKS_PER_SEED + chunk


def make_pythia(settings: list[str], seed: int) -> Any:
    """An initialised ``pythia8mc.Pythia`` with ``settings`` and the random seed ``seed``.

    Raises:
        GeneratorError: If Pythia rejects a setting or fails to initialise.
    """
    pythia8mc, _ = require_gen_extra()
    pythia = pythia8mc.Pythia("", False)
    for line in [*settings, "Random:setSeed = on", f"Random:seed = {seed}"]:
        if not pythia.readString(line):
            raise GeneratorError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise GeneratorError("Pythia failed to initialise (see its messages above)")
    return pythia


def pythia_version() -> str:
    """Pythia's version number, e.g. ``8.317``."""
    pythia8mc, _ = require_gen_extra()
    return f"{pythia8mc.Pythia('', False).parm('Pythia:versionNumber'):.3f}"
