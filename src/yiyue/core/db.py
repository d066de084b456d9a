"""Engine, sessions and the unit of work.

One transaction per request or job: ``Database.session()`` commits when the block ends without error,
rolls back otherwise, and only then runs the callbacks registered with ``after_commit``. Services and
repositories never commit; they ``flush()`` when they need an id.

SQLite (the embedded default) allows one writer at a time. A transaction that reads first and writes
later can fail to upgrade its lock under contention, so a service that is going to write says so up
front with ``begin_write``: on SQLite that queues the request on an in-process lock and opens the
transaction with ``BEGIN IMMEDIATE``; on PostgreSQL it does nothing, row locks do the work there.

Each process keeps a bounded pool of connections (``PoolConfig``, from the settings: decision 0017 and
the README's connection budget). A request that waits too long for one, or that PostgreSQL refuses
because its connections are used up, ends in ``ServiceBusy`` (503 with ``Retry-After``), never a 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from yiyue.core.errors import DomainError

if TYPE_CHECKING:
    from yiyue.core.config import Settings

log = logging.getLogger("yiyue.db")

AfterCommit = Callable[[], Awaitable[None] | None]
Listener = Callable[[list[Any]], Awaitable[None] | None]

# Integer ids that are BIGINT on PostgreSQL and the rowid alias on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC and always hands back aware datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class PoolConfig:
    """One process's share of the database's connections (``Settings.database_pool_*``)."""

    size: int = 10
    """Connections kept open."""
    overflow: int = 5
    """Opened beyond ``size`` at a peak, closed again when given back."""
    timeout: float = 10.0
    """Seconds a unit of work waits for a free connection before it gives up (``ServiceBusy``)."""
    statement_cache_size: int = 100
    """asyncpg's prepared statements cached per connection; 0 behind PgBouncer in transaction mode,
    where a connection's next transaction may run on another server connection."""
    retry_after_seconds: int = 2
    """What a busy answer's ``Retry-After`` says."""

    @classmethod
    def from_settings(cls, settings: Settings, *, worker: bool = False) -> PoolConfig:
        """The server's pool, or (``worker``) the smaller one of each ``yiyue worker`` thread."""
        return cls(
            size=settings.worker_database_pool_size if worker else settings.database_pool_size,
            overflow=settings.worker_database_max_overflow if worker else settings.database_max_overflow,
            timeout=settings.database_pool_timeout_seconds,
            statement_cache_size=settings.database_statement_cache_size,
            retry_after_seconds=settings.busy_retry_after_seconds,
        )


class ServiceBusy(DomainError):
    """No database connection to be had in time: the pool stayed exhausted for ``PoolConfig.timeout``,
    or PostgreSQL refused a new connection (its ``max_connections``, or the role's limit, reached)."""

    status = 503
    code = "SERVICE_BUSY"
    message = "服务繁忙，请稍后再试"


# PostgreSQL's too_many_connections and cannot_connect_now (starting up or shutting down).
BUSY_SQLSTATES = frozenset({"53300", "57P03"})


def error_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything behind it, once each: the driver's error a SQLAlchemy error wraps (``orig``),
    its cause and its context."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        stack.extend([orig if isinstance(orig, BaseException) else None, current.__cause__, current.__context__])


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database had no connection for us: a pool checkout
    that timed out, or PostgreSQL refusing to open one."""
    return any(
        isinstance(error, PoolTimeout) or getattr(error, "sqlstate", None) in BUSY_SQLSTATES
        for error in error_chain(exc)
    )


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool: PoolConfig | None = None) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.pool = pool or PoolConfig()
        kwargs: dict[str, Any] = {
            "echo": echo,
            # Issue 13 (decision 0021): a statement's values (names, phones) stay out of its errors' text,
            # which reaches log lines and the outbox's last_error.
            "hide_parameters": True,
            "pool_size": self.pool.size,
            "max_overflow": self.pool.overflow,
            "pool_timeout": self.pool.timeout,
        }
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
            if self.url.get_driver_name() == "asyncpg":
                kwargs["connect_args"] = _asyncpg_statement_cache(self.pool.statement_cache_size)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=UnitOfWorkSession
        )
        self._write_lock: asyncio.Lock | None = None
        self.listeners: dict[str, Listener] = {}
        """By channel: told what units of work published there (``publish_after_commit``) once they commit.
        The job system listens for outbox events, the booking gate for freed slots."""

    @classmethod
    def from_settings(cls, settings: Settings, *, worker: bool = False) -> Database:
        """The database of the settings with the pool they give a server process (or a worker thread)."""
        return cls(settings.database_url, pool=PoolConfig.from_settings(settings, worker=worker))

    def busy(self) -> ServiceBusy:
        return ServiceBusy(headers={"Retry-After": str(self.pool.retry_after_seconds)})

    @property
    def write_lock(self) -> asyncio.Lock:
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """The unit of work: commit on success, roll back on error, then run after-commit callbacks."""
        session = self.sessionmaker()
        session.info["db"] = self
        session.info["after_commit"] = []
        session.info["on_close"] = []
        committed = False
        try:
            yield session
            await session.commit()
            committed = True
        except BaseException as exc:
            await session.rollback()
            if isinstance(exc, Exception) and not isinstance(exc, DomainError) and is_busy(exc):
                log.warning("database busy: %s", exc)
                raise self.busy() from exc
            raise
        finally:
            await session.close()
            lock: asyncio.Lock | None = session.info.pop("write_lock", None)
            if lock is not None:
                lock.release()
            try:
                if committed:
                    await _run_after_commit(session.info["after_commit"])
            finally:
                # Turns are given back last, so whoever waited sees what the after-commit work recorded.
                for release in session.info["on_close"]:
                    release()

    async def dispose(self) -> None:
        await self.engine.dispose()


async def begin_write(session: AsyncSession, *, recheck: Callable[[], Awaitable[None]] | None = None) -> None:
    """Declare that this unit of work will write. Call it before the first write of a use case.

    On SQLite a read-only transaction already open is ended first (``expire_on_commit`` is off, so
    loaded objects stay usable), then the writer waits its turn and begins ``IMMEDIATE``. ``recheck``
    runs when the turn has come, before the transaction begins: it may raise to give the turn up
    cheaply (a schedule that sold out while this request waited).
    """
    db: Database | None = session.info.get("db")
    if db is None or not db.is_sqlite or "write_lock" in session.info:
        if recheck is not None:
            await recheck()
        return
    if session.new or session.dirty or session.deleted or session.info.get("flushed"):
        raise RuntimeError("begin_write() must come before the first write of the unit of work")
    if session.in_transaction():
        await session.commit()
    await db.write_lock.acquire()
    session.info["write_lock"] = db.write_lock
    if recheck is not None:
        await recheck()
    await session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once this unit of work has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(callback)


def publish_after_commit(session: AsyncSession, channel: str, fact: Any) -> None:
    """Tells this process's listener on ``channel`` (``Database.listeners``) of ``fact`` once this unit of
    work has committed; it hears a unit of work's facts together, in the order they were published, and
    nothing if the unit of work rolls back or nobody listens."""
    published: dict[str, list[Any]] = session.info.setdefault("published", {})
    if not published:
        after_commit(session, lambda: _tell_listeners(session, published))
    published.setdefault(channel, []).append(fact)


async def _tell_listeners(session: AsyncSession, published: dict[str, list[Any]]) -> None:
    db: Database | None = session.info.get("db")
    for channel, facts in published.items():
        listener = db.listeners.get(channel) if db is not None else None
        if listener is None:
            continue
        try:  # each channel on its own: one listener failing must not keep the others from hearing
            result = listener(facts)
            if result is not None:
                await result
        except Exception:
            log.exception("after-commit listener on channel %r failed", channel)


def on_close(session: AsyncSession, release: Callable[[], None]) -> None:
    """Run ``release`` when this unit of work ends, committed or not (e.g. to give back a turn)."""
    session.info.setdefault("on_close", []).append(release)


async def _run_after_commit(callbacks: list[AfterCommit]) -> None:
    for callback in callbacks:
        try:
            result = callback()
            if result is not None:
                await result
        except Exception:  # the commit stands; a failed follow-up must not turn it into an error
            log.exception("after-commit callback failed")


class UnitOfWorkSession(Session):
    """The sessions our units of work use: they remember having flushed, for begin_write()."""


@event.listens_for(UnitOfWorkSession, "after_flush")
def _note_flush(session: Session, _context: object) -> None:
    # begin_write() must not commit writes a use case already flushed; this lets it notice them.
    session.info["flushed"] = True


def _asyncpg_statement_cache(size: int) -> dict[str, Any]:
    """asyncpg's statement caches, both its own and SQLAlchemy's adapter's. At 0 (PgBouncer in transaction
    mode) statements still get prepared for one use, so each gets a name no other connection's can clash with."""
    if size > 0:
        return {"statement_cache_size": size, "prepared_statement_cache_size": size}
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__yiyue_{uuid4().hex}__",
    }


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy emit BEGIN itself (below), so the begin mode can be chosen per transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())
