"""The ``lhcad`` command line: a thin layer over the Python API, one module per command group.

- :mod:`~lhcad.cli.analysis`: ``run``, ``validate``, ``report``, ``stages``, ``inspect``
- :mod:`~lhcad.cli.data`: ``features`` (an official LHCO raw file to jet features)
- :mod:`~lhcad.cli.gen`: ``generate`` (Pythia 8 + FastJet events, jet images, JetNet jets)
- :mod:`~lhcad.cli.bench`: ``bench``
- ``null`` (:mod:`lhcad.nullstudy`), and the families' own commands, registered here:
  ``compress``/``decompress`` (:mod:`lhcad.families.compress.cli`), ``simulate-showers``
  (:mod:`lhcad.families.egamma.cli`). The CLI imports the families, never the reverse.

Exit status: 0 success, 2 bad input (one line ``FILE: dotted.path: message`` on stderr),
1 internal error (``--debug``, before or after the command's name, shows the traceback;
:func:`lhcad.errors.handle_errors`).
"""

from __future__ import annotations

import click

from lhcad import __version__
from lhcad.cli import analysis, bench, data, gen
from lhcad.cli.options import LhcadGroup
from lhcad.families.compress.cli import compress_command, decompress_command
from lhcad.families.egamma.cli import simulate_showers_command
from lhcad.nullstudy import null_command

__all__ = ["main"]


@click.group(cls=LhcadGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lhcad")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def main(debug: bool) -> None:
    """lhcad: anomaly detection for LHC data, from events to fitted resonance masses."""


for _command in (analysis.run, analysis.validate, analysis.inspect, analysis.stages, bench.bench):
    main.add_command(_command)
main.add_command(analysis.report_command, "report")
main.add_command(data.features_command, "features")
main.add_command(compress_command, "compress")
main.add_command(decompress_command, "decompress")
main.add_command(gen.generate_command, "generate")
main.add_command(null_command, "null")
main.add_command(simulate_showers_command, "simulate-showers")
