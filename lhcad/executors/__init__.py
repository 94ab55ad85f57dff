"""Where independent tasks run: in this process (``local``) or on a Dask cluster (``dask``).

Stages hand the executor a function and a list of inputs (ensemble member groups, scoring
chunks, generator seed ranges) and get the results back in order. The executor never enters a
cache key: a Dask run and a local run of the same config share artifacts.

On a Dask cluster the workers must see the same filesystem as the client for the stages that
read files; the arrays a task needs travel with it (scattered once per map).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from lhcad.config.base import ExecutorConfig
from lhcad.errors import LhcadError

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``func(item, **shared)`` for every item and returns the results in order."""

    kind: str
    n_workers: int

    def map(self, func: Callable[..., R], items: Sequence[Any], **shared: Any) -> list[R]: ...


class LocalExecutor:
    """Everything in this process, one item after the other (vectorized code does the rest)."""

    kind = "local"
    n_workers = 1

    def map(self, func: Callable[..., R], items: Sequence[Any], **shared: Any) -> list[R]:
        return [func(item, **shared) for item in items]


class DaskExecutor:
    """Tasks on a Dask cluster: an existing scheduler, or a LocalCluster of processes."""

    kind = "dask"

    def __init__(self, client: Any):
        self.client = client
        self.n_workers = max(len(client.scheduler_info().get("workers", {})), 1)

    def map(self, func: Callable[..., R], items: Sequence[Any], **shared: Any) -> list[R]:
        scattered = {k: self.client.scatter(v, broadcast=True) for k, v in shared.items()}
        futures = [self.client.submit(func, item, **scattered, pure=False) for item in items]
        return list(self.client.gather(futures))


@contextmanager
def open_executor(cfg: ExecutorConfig) -> Iterator[Executor]:
    """The executor an analysis asks for; a Dask cluster started here is shut down on exit."""
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
            yield DaskExecutor(client)
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=cfg.n_workers, threads_per_worker=cfg.threads_per_worker, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    try:
        yield DaskExecutor(client)
    finally:
        client.close()
        cluster.close()


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
