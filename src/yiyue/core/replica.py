"""The read replica (``YIYUE_DATABASE_REPLICA_URL``): reads that may lag the primary go there (decision 0022).

What reads from the replica: the catalog (hospitals, departments, doctors, search: ``ReplicaSessionDep``),
the console's exports (their rows; the audit record of the export is written to the primary) and
future analytics. Everything else stays on the primary: every unit of work (``SessionDep``), the jobs,
and the reads that must see the caller's own write or the latest count (availability, the booking path,
the front desk's day). With no replica configured the replica's sessions are the primary's read sessions.

The replica is read-only from here, even when it is only a second database (tests, or a logical copy):
every connection it opens is made read-only, so a write sent there by mistake fails at once instead of
landing in the wrong database.

A catalog answer read from a lagging replica just after a staff edit could be the old one, and the read
cache would keep it (its invalidation moved on when the primary committed). So with a replica every
invalidation of the regions read from it is repeated ``database_replica_lag_seconds`` later: what was
cached from the replica in that window is dropped again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from yiyue.core.cache import ANY_TABLE, WRITTEN, ReadCache, Region, read_sessionmaker
from yiyue.core.config import Settings
from yiyue.core.db import Database, PoolConfig, is_busy
from yiyue.core.errors import DomainError

log = logging.getLogger("yiyue.replica")


class ReplicaDatabase(Database):
    """The replica's database, with the lag the operator allows it (``database_replica_lag_seconds``):
    ``/readyz`` reports a standby whose replay is further behind as ``lagging``."""

    def __init__(self, url: str, *, pool: PoolConfig, max_lag: float) -> None:
        super().__init__(url, pool=pool)
        self.max_lag = max_lag


def replica_from_settings(settings: Settings) -> ReplicaDatabase | None:
    """The replica's database (its own pool, as large as a server process's primary pool), or None."""
    if not settings.database_replica_url:
        return None
    replica = ReplicaDatabase(
        settings.database_replica_url,
        pool=PoolConfig.from_settings(settings),
        max_lag=settings.database_replica_lag_seconds,
    )
    _read_only(replica)
    return replica


def _read_only(replica: Database) -> None:
    statement = "PRAGMA query_only = ON" if replica.is_sqlite else "SET default_transaction_read_only = on"

    @event.listens_for(replica.engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if not replica.is_sqlite:
            dbapi_connection.commit()  # a SET inside the driver's open transaction would be rolled back with it


class LagGuard:
    """Repeats the invalidation of ``regions`` ``lag`` seconds after a committed write touched them."""

    def __init__(self, cache: ReadCache, *, regions: Iterable[Region], lag: float) -> None:
        self._cache = cache
        self._regions = list(regions)
        self._lag = lag
        self._pending: set[asyncio.Task[None]] = set()

    async def heard(self, written: list[set[str]]) -> None:
        await self._cache.heard(written)
        tables: set[str] = set().union(*written)
        again = [r for r in self._regions if ANY_TABLE in tables or not r.tables.isdisjoint(tables)]
        if again and self._lag > 0:
            task = asyncio.get_running_loop().create_task(self._drop_later(again))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _drop_later(self, regions: list[Region]) -> None:
        await asyncio.sleep(self._lag)
        for region in regions:
            await self._cache.store(region).invalidate()

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)


class ReplicaUnavailable(DomainError):
    """The replica cannot be reached (refused, reset, timed out): the catalog answers 503 with
    ``Retry-After``, not a 500 with a stack trace per request (review 13b M6). Booking, paying and the
    console, on the primary, go on; ``/readyz`` reports the replica."""

    status = 503
    code = "SERVICE_UNAVAILABLE"
    message = "服务暂时不可用，请稍后再试"


REPLICA_RETRY_AFTER_SECONDS = 5
REPLICA_WARNING_INTERVAL_SECONDS = 10.0
"""A replica that is down is logged (one line, no stack trace) at most this often per process."""


def _replica_down(exc: BaseException) -> bool:
    """The replica's connection failed, as opposed to a bad statement (a bug: a 500)."""
    if is_busy(exc):
        return False  # the app answers those SERVICE_BUSY already
    if isinstance(exc, OSError | TimeoutError | OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class ReplicaReads:
    """The app's way to the replica (``app.state.replica``): its database (None: there is none), the
    pure-read sessions on it (on the primary without one) and the lag guard of the cache."""

    def __init__(self, db: Database, replica: Database | None, guard: LagGuard | None) -> None:
        self.database = replica
        self._sessionmaker: async_sessionmaker[AsyncSession] = read_sessionmaker(replica or db)
        self._guard = guard
        self._warned_at = float("-inf")

    def sessions(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A pure-read session; on the replica, a connection failure in it raises ``ReplicaUnavailable``."""
        if self.database is None:
            return self._sessionmaker()
        return self._replica_session()

    @asynccontextmanager
    async def _replica_session(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self._sessionmaker() as session:
                yield session
        except Exception as exc:
            if not _replica_down(exc):
                raise
            now = time.monotonic()
            if now - self._warned_at >= REPLICA_WARNING_INTERVAL_SECONDS:
                self._warned_at = now
                log.warning("the read replica cannot be reached: %s: %s", type(exc).__name__, exc)
            raise ReplicaUnavailable(headers={"Retry-After": str(REPLICA_RETRY_AFTER_SECONDS)}) from exc

    @classmethod
    def install(cls, settings: Settings, db: Database, cache: ReadCache, *, regions: Iterable[Region]) -> ReplicaReads:
        """After ``core.cache.install``: ``regions`` are the cache's regions built from the replica."""
        replica = replica_from_settings(settings)
        guard = None
        if replica is not None:
            guard = LagGuard(cache, regions=regions, lag=settings.database_replica_lag_seconds)
            db.listeners[WRITTEN] = guard.heard
        return cls(db, replica, guard)

    async def aclose(self) -> None:
        if self._guard is not None:
            await self._guard.aclose()
        if self.database is not None:
            await self.database.dispose()
