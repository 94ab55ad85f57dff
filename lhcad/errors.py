"""lhcad's exception types.

Every error a user can cause (a bad config, a bad data file, bad data values) is a
:class:`LhcadError`; the CLI prints it as one line and exits with status 2. Anything else
is a bug in lhcad and exits with status 1: :func:`handle_errors` is that rule, shared by every
command (those of :mod:`lhcad.cli` and those the families define next to their code).
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


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


def handle_errors(func: F) -> F:
    """Turn lhcad's errors into one stderr line and exit 2; anything else exits 1.

    With ``--debug`` (on the ``lhcad`` group or on the command) the traceback is printed too.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(click.get_current_context().find_root().params.get("debug"))
        try:
            return func(*args, **kwargs)
        except LhcadError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {exc.line()}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except click.exceptions.Exit:
            raise
        except Exception as exc:  # a bug in lhcad
            if debug:
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
