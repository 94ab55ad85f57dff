"""The ``gen`` extra (``pythia8mc`` and ``fastjet``), imported only when events are generated or
clustered, and the error raised when it is missing or the generator cannot run as asked."""

from __future__ import annotations

from types import ModuleType

from lhcad.errors import LhcadError

GEN_EXTRA_MESSAGE = "the generator needs the gen extra: pip install 'lhcad[gen]'"


class GeneratorError(LhcadError):
    """The generator cannot run as asked (missing extra, bad option, Pythia failure)."""


def require_gen_extra() -> tuple[ModuleType, ModuleType]:
    """Import ``pythia8mc`` and ``fastjet``.

    Raises:
        GeneratorError: If either is not installed.
    """
    try:
        import fastjet
        import pythia8mc
    except ImportError:
        raise GeneratorError(GEN_EXTRA_MESSAGE) from None
    # FastJet prints a banner on stdout at its first clustering; a null stream silences it.
    fastjet._swig.ClusterSequence.set_fastjet_banner_stream(None)
    return pythia8mc, fastjet
