"""Progress of long work, one facility for every loop that can take minutes: trainers' epochs,
executor tasks, generated and converted events, bump-hunt pseudo-experiments.

Where it goes depends on stderr (or the stream given):

* a terminal: a tqdm bar, cleared when the work ends (``leave=False``), so the runner's stage
  lines stay readable; bars opened inside another one's work stack below it;
* anything else (a pipe, a CI log, a notebook, pytest): no bar; the outermost piece of work
  writes a few plain lines to the ``lhcad.progress`` logger (a quarter done, half...), which a
  run sends to ``OUT/lhcad.log``;
* off: ``enabled=False``, and everything inside :func:`quiet` (the executors run their remote
  tasks quietly: a worker's progress would only garble the client's terminal).

Progress never changes a number: it only counts what its caller did.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any, Literal, TypeVar

log = logging.getLogger("lhcad.progress")

R = TypeVar("R")

Mode = Literal["bar", "log", "off"]

_QUIET: ContextVar[bool] = ContextVar("lhcad_progress_quiet", default=False)
_DEPTH: ContextVar[int] = ContextVar("lhcad_progress_depth", default=0)

#: Fractions of the work at which a plain (non-terminal) progress logs a line.
MILESTONES = (0.25, 0.5, 0.75)


def is_terminal(stream: IO[str] | Any) -> bool:
    """Whether ``stream`` is an interactive terminal (False for a closed or odd stream)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


@contextmanager
def quiet() -> Iterator[None]:
    """No progress of any kind inside this block (this thread or task only)."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def run_quietly(func: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """``func(*args, **kwargs)`` inside :func:`quiet` (what an executor ships to a worker)."""
    with quiet():
        return func(*args, **kwargs)


def _stderr() -> IO[str]:
    """Where progress goes by default: the current ``sys.stderr``."""
    return sys.stderr


def progress_mode(enabled: bool = True, stream: IO[str] | Any | None = None) -> Mode:
    """What a progress opened now would show: ``bar``, ``log`` or ``off``."""
    if not enabled or _QUIET.get():
        return "off"
    return "bar" if is_terminal(_stderr() if stream is None else stream) else "log"


class Progress:
    """Counts work done out of ``total`` (see the module docstring for where it shows).

    Use it as a context manager and call :meth:`update` as work finishes::

        with Progress(total=len(items), desc="tasks", unit="task") as bar:
            for item in items:
                work(item)
                bar.update()
    """

    def __init__(
        self,
        total: int | None = None,
        *,
        desc: str = "",
        unit: str = "it",
        initial: int = 0,
        enabled: bool = True,
        leave: bool = False,
        stream: IO[str] | Any | None = None,
    ):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.mode: Mode = progress_mode(enabled, stream)
        self._bar: Any = None
        depth = _DEPTH.get()
        self._outermost = depth == 0
        self._token = _DEPTH.set(depth + 1) if self.mode != "off" else None
        self._t0 = time.perf_counter()
        self._logged = 0  # milestones passed
        self._closed = False
        if self.mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, initial=initial, desc=desc or None, unit=unit, leave=leave,
                file=_stderr() if stream is None else stream, smoothing=0.1, dynamic_ncols=True,
            )  # fmt: skip
        elif self.mode == "log" and total:
            self._logged = sum(initial >= m * total for m in MILESTONES)

    def update(self, n: int = 1) -> None:
        """``n`` more units done."""
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "log" and self._outermost and self.total:
            passed = sum(self.n >= m * self.total for m in MILESTONES)
            if passed > self._logged and self.n < self.total:
                self._logged = passed
                self._line()

    def set_postfix(self, **values: Any) -> None:
        """Figures shown after a bar (a loss...); nothing elsewhere."""
        if self._bar is not None:
            self._bar.set_postfix(values, refresh=False)

    def set_postfix_str(self, text: str) -> None:
        """Text shown after a bar; nothing elsewhere."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    def close(self) -> None:
        """End the progress (a plain progress logs its last line)."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self.mode == "log" and self._outermost and (self.n or self.total):
            self._line()
        if self._token is not None:
            try:
                _DEPTH.reset(self._token)
            except ValueError:  # closed in another context than the one that opened it
                _DEPTH.set(max(_DEPTH.get() - 1, 0))

    def _line(self) -> None:
        done = f"{self.n}/{self.total}" if self.total else str(self.n)
        percent = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        log.info("%s: %s %s%s, %.1f s", self.desc or "progress", done, self.unit, percent, time.perf_counter() - self._t0)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(
    total: int | None = None,
    *,
    desc: str = "",
    unit: str = "it",
    initial: int = 0,
    enabled: bool = True,
    leave: bool = False,
    stream: IO[str] | Any | None = None,
) -> Progress:
    """A :class:`Progress` (the one way lhcad shows long work)."""
    return Progress(total, desc=desc, unit=unit, initial=initial, enabled=enabled, leave=leave, stream=stream)


def task_progress(n_tasks: int, desc: str) -> Progress:
    """The progress of an executor's tasks: shown when there are at least two."""
    return progress(n_tasks, desc=desc, unit="task", enabled=n_tasks > 1)


def describe(func: Callable[..., Any]) -> str:
    """A task function's name as words: ``_fit_problem_fold`` -> ``fit problem fold``."""
    name = getattr(func, "__name__", None) or type(func).__name__
    return name.strip("_").replace("_", " ") or "tasks"
