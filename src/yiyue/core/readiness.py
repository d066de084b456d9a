"""Readiness (``GET /readyz``): whether this process should be sent traffic now (decision 0022).

``/healthz`` says the process is alive (a failing one is restarted); ``/readyz`` says what it depends on
answers, so a load balancer or Kubernetes sends it requests only then (a failing one is taken out of the
rotation, not restarted). The checks, each with its own time limit and all at once:

- ``database``: the primary answers ``SELECT 1``. A pool whose every connection is in use is ``busy``,
  which counts as ready: the database is there and working, and taking every busy process out at the
  08:00 rush would turn a queue into an outage;
- ``migrations``: the database is at the migration head this code was written for. Behind it (a new
  image started before ``yiyue migrate`` ran) the process is not ready; ahead of it (the migration of a
  newer release, during a rolling deploy) it is, since migrations add before they take away;
- ``redis``: when ``YIYUE_REDIS_URL`` is set, Redis answers ``PING``. Reported but not required: without
  Redis the app degrades (rate limits unenforced, every cache read a miss, the gate's decision left to the
  database), and one shared Redis blip must not take every API process out at once;
- ``queue``: the job queue's storage (Huey: the SQLite file or Redis) answers, added by the server that
  runs the job system (``add``). Reported but not required either: an enqueue that fails is logged after
  the commit and the outbox delivers the event again later;
- ``replica``: when ``YIYUE_DATABASE_REPLICA_URL`` is set, the replica answers, and a PostgreSQL standby
  whose replay is more than ``database_replica_lag_seconds`` behind answers ``lagging: N s``. Reported but not
  required: without it the catalog's reads fail, but booking, paying and the console still work, and a
  replica down must not take every API process out at once.

A check's answer is a short state (``ok``, ``busy``, ``ahead``); a failing check says only what kind of
failure it was (the probe may be reachable from outside; the full error goes to the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from yiyue.core.db import Database, error_chain, is_busy
from yiyue.core.errors import DomainError, responses

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("yiyue.readiness")

Check = Callable[[], Awaitable[str]]
"""Answers its state (``ok`` or a ready variant of it), or raises ``NotReady`` / any error when failing."""

CHECK_TIMEOUT_SECONDS = 2.0
"""Each check's limit: a probe's own timeout is a few seconds, and a dependency that answers slower than
this is as good as down for a request."""


class NotReady(Exception):
    """A check that ran and found the dependency not fit (e.g. migrations behind): ``state`` is shown."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


@dataclass
class _Entry:
    check: Check
    required: bool


REQUIRED = frozenset({"database", "migrations"})
"""The checks a process needs to pass to be ready (unless ``add`` says otherwise). The others (``redis``,
``queue``, ``replica``) are reported but not required: the app degrades without them, and a dependency
every process shares must not take them all out of the rotation at once (decision 0022)."""


@dataclass
class Readiness:
    """The process's checks by name; ``run`` answers them all."""

    timeout: float = CHECK_TIMEOUT_SECONDS
    _checks: dict[str, _Entry] = field(default_factory=dict)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def add(self, name: str, check: Check, *, required: bool | None = None) -> None:
        """``required``: by default whether ``name`` is one of ``REQUIRED``."""
        self._checks[name] = _Entry(check, name in REQUIRED if required is None else required)

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    async def run(self) -> tuple[bool, dict[str, str]]:
        """Whether every required check passed, and each check's state."""
        names = list(self._checks)
        states = await asyncio.gather(*(self._one(name) for name in names))
        ready = all(ok or not self._checks[name].required for name, (ok, _) in zip(names, states, strict=True))
        return ready, {name: state for name, (_, state) in zip(names, states, strict=True)}

    async def _one(self, name: str) -> tuple[bool, str]:
        try:
            return True, await asyncio.wait_for(self._checks[name].check(), self.timeout)
        except NotReady as exc:
            return False, exc.state
        except TimeoutError:
            log.warning("readiness: %s did not answer within %.1f s", name, self.timeout)
            return False, "timeout"
        except Exception as exc:
            log.warning("readiness: %s failed: %s", name, exc)
            return False, f"failing: {type(exc).__name__}"

    async def aclose(self) -> None:
        for closer in self._closers:
            await closer()


# --- the checks ------------------------------------------------------------------------------------


def _saturated(db: Database) -> bool:
    """Every connection the pool may open is checked out: a probe would only queue behind the requests."""
    checkedout = getattr(db.engine.pool, "checkedout", None)
    return checkedout is not None and checkedout() >= db.pool.size + db.pool.overflow


def database_check(db: Database) -> Check:
    async def check() -> str:
        if _saturated(db):
            return "busy"
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            if is_busy(exc):  # PostgreSQL is at its connection limit: there, and fully used
                return "busy"
            raise
        return "ok"

    return check


@functools.cache
def script_revisions() -> tuple[frozenset[str], frozenset[str]]:
    """This code's migration heads and every revision it knows (read once per process: parsing the
    migration scripts costs tens of milliseconds)."""
    from alembic.script import ScriptDirectory

    from yiyue.core.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(script.get_heads()), frozenset(r.revision for r in script.walk_revisions())


def migration_state(applied: set[str]) -> str:
    """``ok`` at this code's head, ``ahead`` at a revision this code does not know (a newer release's
    migration); raises ``NotReady`` when behind (including a database never migrated)."""
    heads, known = script_revisions()
    if applied == heads:
        return "ok"
    if applied - known:
        return "ahead"
    raise NotReady(f"behind: at {','.join(sorted(applied)) or 'none'}, head {','.join(sorted(heads))}")


def _no_version_table(exc: BaseException) -> bool:
    """``alembic_version`` does not exist: PostgreSQL's undefined_table (SQLSTATE 42P01) or SQLite's "no
    such table", anywhere in the error's chain."""
    return any(
        getattr(error, "sqlstate", None) == "42P01" or "no such table: alembic_version" in str(error)
        for error in error_chain(exc)
    )


def migrations_check(db: Database) -> Check:
    async def check() -> str:
        if _saturated(db):
            return "busy"
        try:
            async with db.engine.connect() as conn:
                applied = set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
        except (ProgrammingError, DBAPIError) as exc:
            if is_busy(exc):
                return "busy"
            if not _no_version_table(exc):
                raise  # e.g. permission denied for table alembic_version: a failure, not "behind"
            applied = set()  # the table is made by the first migration: none ran yet
        return migration_state(applied)

    return check


def redis_check(readiness: Readiness, url: str, *, timeout: float = CHECK_TIMEOUT_SECONDS) -> Check:
    """PING on a connection of its own (opened at the first probe, closed with the app)."""
    client: Redis | None = None

    async def check() -> str:
        nonlocal client
        if client is None:
            import redis.asyncio as aioredis

            client = aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        await client.ping()
        return "ok"

    async def close() -> None:
        if client is not None:
            await client.aclose()

    readiness.on_close(close)
    return check


class _QueueStorage(Protocol):
    def queue_size(self) -> int: ...


def queue_check(storage: _QueueStorage) -> Check:
    """The job queue's storage answers (Huey's ``storage``: a SQLite file or Redis). Huey's calls block, so
    the probe asks in a thread of its own, not in the shared default executor: a timed-out call keeps its
    thread until the storage answers (up to the TCP timeout for a blackholed Redis), and the default
    executor also hashes staff passwords and renders exports. While the previous probe's call still runs,
    the check answers ``timeout`` at once instead of blocking another thread. The thread is a daemon, so a
    call stuck on a dead storage does not hold up the process's exit."""
    running: asyncio.Future[None] | None = None

    async def check() -> str:
        nonlocal running
        if running is not None and not running.done():
            raise TimeoutError
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if answer.cancelled():
                return
            if error is None:
                answer.set_result(None)
            else:
                answer.set_exception(error)

        def ask() -> None:
            error: BaseException | None = None
            try:
                storage.queue_size()
            except Exception as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits for this answer
                loop.call_soon_threadsafe(settle, error)

        answer.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved, even after a timeout
        running = answer
        threading.Thread(target=ask, name="yiyue-queue-probe", daemon=True).start()
        await asyncio.shield(answer)
        return "ok"

    return check


REPLAY_LAG = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL"
    " WHEN pg_last_wal_receive_lsn() IS NOT NULL AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
)
"""Seconds the standby's replay is behind: 0 when it replayed all it received (an idle primary sends no
transactions, so the last replayed one's age alone would look like lag), NULL when it is no standby."""


def replica_check(replica: Database) -> Check:
    """``database_check`` on the replica, then (a PostgreSQL standby) its replay lag against the lag the
    operator allows it (``ReplicaDatabase.max_lag``): a standby whose replay stalled answers ``SELECT 1``
    while the catalog it serves goes stale."""
    answers = database_check(replica)
    max_lag = getattr(replica, "max_lag", None)

    async def check() -> str:
        state = await answers()
        if state != "ok" or replica.is_sqlite or max_lag is None:
            return state
        async with replica.engine.connect() as conn:
            lag = await conn.scalar(REPLAY_LAG)
        if lag is not None and float(lag) > max_lag:
            return f"lagging: {float(lag):.0f} s"
        return state

    return check


def for_app(db: Database, *, redis_url: str, replica: Database | None) -> Readiness:
    """The checks ``create_app`` knows of; the server adds the queue's."""
    readiness = Readiness()
    readiness.add("database", database_check(db))
    readiness.add("migrations", migrations_check(db))
    if redis_url:
        readiness.add("redis", redis_check(readiness, redis_url))
    if replica is not None:
        readiness.add("replica", replica_check(replica))
    return readiness


class MigrationsBehind(Exception):
    """``wait_for_migrations`` gave up: the database stayed behind this code's migration head."""


async def wait_for_migrations(
    db: Database,
    *,
    give_up_after: float,
    interval: float = 2.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> str:
    """Waits until the database is at this code's migration head or ahead of it (answers that state), for
    ``yiyue worker``: its jobs select columns a newer migration adds, so a worker started before
    ``yiyue migrate`` ran (Kubernetes applies the migration Job and the Deployments together) would fail
    every job and dead-letter their events. A database that cannot be reached counts as behind. Raises
    ``MigrationsBehind`` after ``give_up_after`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    check = migrations_check(db)
    said = ""
    while True:
        try:
            state = await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
            if state != "busy":
                return state
            why = "busy"
        except NotReady as exc:
            why = exc.state
        except Exception as exc:
            why = f"failing: {type(exc).__name__}: {exc}"
        if why != said:
            log.warning("waiting for the migrations (yiyue migrate) before handling jobs: %s", why)
            said = why
        if loop.time() >= deadline:
            raise MigrationsBehind(f"the database is not at the migration head after {give_up_after:g} s: {why}")
        await sleep(min(interval, max(0.0, deadline - loop.time())))


# --- the endpoint ----------------------------------------------------------------------------------

router = APIRouter()


class ServiceNotReady(DomainError):
    """What ``/readyz`` answers when a required check fails (its ``detail`` names each check's state)."""

    status = 503
    code = "NOT_READY"
    message = "服务尚未就绪，请稍后再试"


@router.get("/readyz", tags=["运维"], summary="就绪检查", responses=responses(ServiceNotReady))
async def readyz(request: Request) -> JSONResponse:
    readiness: Readiness = request.app.state.readiness
    ready, checks = await readiness.run()
    if ready:
        return JSONResponse({"status": "ok", "checks": checks})
    return JSONResponse(
        status_code=503,
        content={"code": ServiceNotReady.code, "message": ServiceNotReady.message, "detail": {"checks": checks}},
        headers={"Retry-After": "5"},
    )
