"""Where independent tasks run: in this process (``local``) or on a Dask cluster (``dask``).

Stages hand the executor a function and a list of inputs (ensemble member groups, scoring
chunks, generator seed ranges) and get the results back in order. The executor never enters a
cache key: a Dask run and a local run of the same config share artifacts.

Two or more tasks show their progress (:mod:`lhcad.executors.progress`) task by task: Dask's
results are taken as they complete (``distributed.as_completed``) and put back in input order.
Tasks on Dask workers run quietly (their own bars would garble the client's terminal).

On a Dask cluster the workers must see the same filesystem as the client for the stages that
read files; the arrays a task needs travel with it (scattered once per map).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from lhcad.config.base import ExecutorConfig
from lhcad.errors import LhcadError
from lhcad.executors.progress import describe, run_quietly, task_progress

log = logging.getLogger("lhcad.executors")

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``func(item, **shared)`` for every item and returns the results in order.

    ``desc`` names the tasks on their progress (default: the function's name); ``on_result``,
    when given, is called here with ``(index, result)`` of each task as it finishes (completion
    order), and then the caller shows the progress (the executor shows none): a generator
    counting events, a converter counting blocks.
    """

    kind: str
    n_workers: int

    def map(
        self,
        func: Callable[..., R],
        items: Sequence[Any],
        /,
        desc: str | None = None,
        on_result: Callable[[int, R], None] | None = None,
        **shared: Any,
    ) -> list[R]: ...


class LocalExecutor:
    """Everything in this process, one item after the other (vectorized code does the rest)."""

    kind = "local"
    n_workers = 1

    def map(
        self,
        func: Callable[..., R],
        items: Sequence[Any],
        /,
        desc: str | None = None,
        on_result: Callable[[int, R], None] | None = None,
        **shared: Any,
    ) -> list[R]:
        results = []
        with _tasks_progress(len(items), desc, func, on_result) as done:
            for index, item in enumerate(items):
                results.append(func(item, **shared))
                done(index, results[-1])
        return results


class DaskExecutor:
    """Tasks on a Dask cluster: an existing scheduler, or a LocalCluster of processes."""

    kind = "dask"

    def __init__(self, client: Any):
        self.client = client
        self.n_workers = max(len(client.scheduler_info().get("workers", {})), 1)

    def map(
        self,
        func: Callable[..., R],
        items: Sequence[Any],
        /,
        desc: str | None = None,
        on_result: Callable[[int, R], None] | None = None,
        **shared: Any,
    ) -> list[R]:
        from distributed import as_completed

        scattered = {k: self.client.scatter(v, broadcast=True) for k, v in shared.items()}
        name = getattr(func, "__name__", "task")
        futures = [
            self.client.submit(run_quietly, func, item, **scattered, key=f"{name}-{uuid.uuid4().hex}")
            for item in items
        ]
        position = {future.key: i for i, future in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        try:
            with _tasks_progress(len(futures), desc, func, on_result) as done:
                for future, result in as_completed(futures, with_results=True, loop=self.client.loop):
                    index = position[future.key]
                    results[index] = result
                    done(index, result)
        except BaseException:
            self.client.cancel(futures)
            raise
        return results


@contextmanager
def _tasks_progress(
    n_tasks: int, desc: str | None, func: Callable[..., Any], on_result: Callable[[int, Any], None] | None
) -> Iterator[Callable[[int, Any], None]]:
    """What to call as each task finishes: the caller's ``on_result``, else a task progress."""
    if on_result is not None:
        yield on_result
        return
    with task_progress(n_tasks, desc or describe(func)) as bar:
        yield lambda index, result: bar.update()


@contextmanager
def open_executor(cfg: ExecutorConfig, echo: Callable[[str], None] = lambda line: None) -> Iterator[Executor]:
    """The executor an analysis asks for; a Dask cluster started here is shut down on exit.
    ``echo`` receives the Dask dashboard's address when ``cfg.dashboard_address`` asks for one."""
    if cfg.kind == "local":
        yield LocalExecutor()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise LhcadError("executor.kind: dask needs the dask extra: pip install 'lhcad[dask]'") from None
    if cfg.address:
        try:
            client = Client(cfg.address, timeout="20s")
        except OSError as exc:
            raise LhcadError(f"cannot reach the Dask scheduler ({exc})", where="executor.address") from None
        try:
            if cfg.dashboard_address:
                _announce_dashboard(client, echo)
            yield DaskExecutor(client)
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=cfg.n_workers,
        threads_per_worker=cfg.threads_per_worker,
        processes=True,
        # without a dashboard the scheduler still serves HTTP (metrics), by default on port 8787:
        # a free port instead, so two clusters (parallel tests, a user's own) never collide
        dashboard_address=cfg.dashboard_address or ":0",
    )
    client = Client(cluster)
    try:
        if cfg.dashboard_address:
            _announce_dashboard(client, echo)
        yield DaskExecutor(client)
    finally:
        client.close()
        cluster.close()


def _announce_dashboard(client: Any, echo: Callable[[str], None]) -> None:
    link = client.dashboard_link if "dashboard" in client.scheduler_info().get("services", {}) else None
    line = f"Dask dashboard: {link}" if link else "Dask dashboard: not served (it needs bokeh: pip install bokeh)"
    log.info("%s", line)
    echo(line)


def split_evenly(items: Sequence[T], parts: int) -> list[list[T]]:
    """Split ``items`` into at most ``parts`` contiguous, nearly equal, non-empty groups.

    >>> split_evenly([0, 1, 2, 3, 4], 2)
    [[0, 1, 2], [3, 4]]
    """
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    groups, start = [], 0
    for i in range(parts):
        stop = start + size + (1 if i < extra else 0)
        groups.append(list(items[start:stop]))
        start = stop
    return groups
