"""lhcad's exception types.

Every error a user can cause (a bad config, a bad data file, bad data values) is a
:class:`LhcadError`; the CLI prints it as one line and exits with status 2. Anything else
is a bug in lhcad and exits with status 1.
"""

from __future__ import annotations

from pathlib import Path


class LhcadError(Exception):
    """Base class of the errors a user's input can cause (CLI exit status 2)."""

    def __init__(self, message: str, *, source: str | Path | None = None, where: str | None = None):
        self.message = message
        self.source = str(source) if source is not None else None
        self.where = where
        super().__init__(self.line())

    def line(self) -> str:
        """The one-line form ``FILE: dotted.path: message`` shown to users."""
        parts = [p for p in (self.source, self.where) if p]
        return ": ".join([*parts, self.message])


class ConfigError(LhcadError):
    """The analysis YAML (or a ``--set`` override) is invalid."""


class DataError(LhcadError):
    """A data file is missing, unreadable, of the wrong format, or holds bad values."""


class StageError(LhcadError):
    """A stage met input it cannot work with (e.g. an empty selection)."""
