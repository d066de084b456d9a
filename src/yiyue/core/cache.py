"""Cheap reads: catalog and availability answers from a cache, with a strong ETag (decision 0018).

An endpoint hands its answer's builder to ``Reads.answer`` (dependency ``ReadsDep``). The answer is kept
as the JSON body itself, keyed by the request's path and query, in a *region*:

- ``catalog`` (hospitals, departments, doctors): shared, in Redis when ``YIYUE_REDIS_URL`` is set (else in
  the process's memory), kept ``read_cache_catalog_seconds``;
- ``availability`` (remaining numbers): in each process's memory, kept at most
  ``read_cache_availability_seconds`` (1 s), so no process answers a count more than a second old.

Invalidation follows the writes themselves: every unit of work notes the tables it writes (ORM flushes
and DML statements through the session) and, once it commits, each region that reads one of them is
dropped, by moving its generation on (an INCR in Redis, seen by every process at its next read). A
builder reads the generation before it asks the database and stores its answer only if the generation
is still the same, so an answer read before a change never outlives it.

Every answer carries ``ETag`` (a hash of the body) and ``Cache-Control: no-cache``; a request whose
``If-None-Match`` names it gets ``304`` without a body.

Pure reads use ``ReadSessionDep`` (``core.deps``): on PostgreSQL an autocommit connection (no BEGIN, no
COMMIT round trips), and no connection at all when the answer comes from the cache.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol, cast
from urllib.parse import urlencode

import pydantic_core
from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.elements import TextClause

from yiyue.core import metrics
from yiyue.core.clock import Clock
from yiyue.core.config import Settings
from yiyue.core.db import Database, UnitOfWorkSession, publish_after_commit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("yiyue.cache")

WRITTEN = "core.cache.written"
"""The channel (``Database.listeners``) on which a committed unit of work tells the tables it wrote."""

ANY_TABLE = "*"
"""Written by a statement whose table is not known (raw SQL): every region is dropped."""

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "未修改：If-None-Match 与当前 ETag 相同（无响应体）"}
}
"""``responses=`` entry of a cached read (merge it with the route's error responses)."""


@dataclass(frozen=True)
class Region:
    """A kind of answer, dropped when any of ``tables`` is written."""

    name: str
    tables: frozenset[str]
    shared: bool
    """Kept in Redis (every process sees one copy and its invalidation) when Redis is configured."""


# --- stores ----------------------------------------------------------------------------------------


class CacheStore(Protocol):
    async def get(self, key: str) -> tuple[bytes | None, str | None]:
        """The value kept under ``key`` (None: none) and the region's generation now (None: the store
        cannot be written, e.g. Redis is down)."""
        ...

    async def put(self, key: str, value: bytes, *, generation: str, ttl: float) -> None:
        """Keeps ``value`` for ``ttl`` seconds, unless the generation has moved on since ``generation``."""
        ...

    async def invalidate(self) -> None:
        """Drops every value kept (moves the generation on)."""
        ...


class MemoryStore:
    """One process's memory, least recently used first out past ``max_entries``."""

    def __init__(self, *, max_entries: int = 4096, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[int, float, bytes]] = OrderedDict()
        self._generation = 0
        self._max = max_entries
        self._monotonic = monotonic

    async def get(self, key: str) -> tuple[bytes | None, str | None]:
        entry = self._entries.get(key)
        if entry is None:
            return None, str(self._generation)
        generation, expires, value = entry
        if generation != self._generation or expires <= self._monotonic():
            del self._entries[key]
            return None, str(self._generation)
        self._entries.move_to_end(key)
        return value, str(self._generation)

    async def put(self, key: str, value: bytes, *, generation: str, ttl: float) -> None:
        if generation != str(self._generation) or ttl <= 0:
            return
        self._entries[key] = (self._generation, self._monotonic() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def invalidate(self) -> None:
        self._generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class RedisStore:
    """A region in Redis: ``<prefix><region>:gen`` counts its generations; values live under
    ``<prefix><region>:<generation>:<key>`` with a TTL, so moving the generation on drops them all at once
    (the old ones expire on their own). A Redis that is down or slow makes every read a miss: the
    database answers, nothing is stored, nobody waits more than ``timeout``."""

    _GET = """
local g = redis.call('GET', KEYS[1]) or '0'
return {g, redis.call('GET', ARGV[1] .. g .. ':' .. ARGV[2])}
"""
    _PUT = """
if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] then
  redis.call('SET', ARGV[2] .. ARGV[1] .. ':' .. ARGV[3], ARGV[4], 'PX', ARGV[5])
end
return 0
"""

    def __init__(self, url: str, *, prefix: str, region: str, timeout: float = 0.25) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._get = self._redis.register_script(self._GET)
        self._put = self._redis.register_script(self._PUT)
        self._values = f"{prefix}{region}:"
        self._generation = f"{prefix}{region}:gen"
        self._complained = 0.0

    def _down(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._complained > 10:  # once in a while, not once per request
            self._complained = now
            log.warning("read cache: Redis unavailable (%s); reads go to the database", exc)

    async def get(self, key: str) -> tuple[bytes | None, str | None]:
        try:
            generation, value = await self._get(keys=[self._generation], args=[self._values, key])
        except Exception as exc:  # any Redis failure is a miss, never an error
            self._down(exc)
            return None, None
        return value, generation.decode() if isinstance(generation, bytes) else str(generation)

    async def put(self, key: str, value: bytes, *, generation: str, ttl: float) -> None:
        if ttl <= 0:
            return
        try:
            await self._put(
                keys=[self._generation], args=[generation, self._values, key, value, max(1, int(ttl * 1000))]
            )
        except Exception as exc:
            self._down(exc)

    async def invalidate(self) -> None:
        try:
            await self._redis.incr(self._generation)
        except Exception as exc:
            # Values stored before stay until their TTL: the catalog's bound when Redis was down at a write.
            self._down(exc)

    async def aclose(self) -> None:
        await self._redis.aclose()


# --- answers ---------------------------------------------------------------------------------------


def etag_of(body: bytes) -> str:
    """A strong validator: the same body, the same tag."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` (a list of tags, or ``*``) names ``etag``; compared weakly, as RFC 9110 asks for
    this header."""
    if not if_none_match:
        return False
    bare = etag.removeprefix("W/")
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == bare:
            return True
    return False


def respond(request: Request, body: bytes, etag: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


def _encode(at: float, etag: str, body: bytes) -> bytes:
    return f"{at!r}\n{etag}\n".encode() + body


def _decode(value: bytes) -> tuple[float, str, bytes] | None:
    try:
        at, etag, body = value.split(b"\n", 2)
        return float(at), etag.decode(), body
    except ValueError:
        return None


def request_key(request: Request) -> str:
    """The path and the query parameters the route declares, in a fixed order (parameters it ignores do
    not change the answer, so they make no new entry: nobody fills the cache with ``?x=1``, ``?x=2``...)."""
    declared = _declared_query(request.scope.get("route"))
    query = sorted((k, v) for k, v in request.query_params.multi_items() if declared is None or k in declared)
    return request.url.path + ("?" + urlencode(query) if query else "")


_DECLARED: dict[int, frozenset[str] | None] = {}


def _declared_query(route: object) -> frozenset[str] | None:
    """The query parameter names of ``route`` and of its dependencies (None: not known, keep them all)."""
    if route is None:
        return None
    found = _DECLARED.get(id(route), ...)
    if found is ...:
        dependant = getattr(route, "dependant", None)
        found = None if dependant is None else frozenset(_query_names(dependant))
        _DECLARED[id(route)] = found
    return found


def _query_names(dependant: Any) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


Build = Callable[[], Awaitable[BaseModel]]


class ReadCache:
    """A process's read cache: a store per region, the clock its answers are dated by, and the builds in
    flight (concurrent misses of one answer ask the database once)."""

    def __init__(self, *, clock: Clock, stores: dict[Region, tuple[CacheStore, float]], enabled: bool = True) -> None:
        self._clock = clock
        self._stores = {region.name: entry for region, entry in stores.items()}
        self._regions = list(stores)
        self.enabled = enabled
        self._building: dict[tuple[str, str, str], asyncio.Future[bytes]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock, regions: dict[Region, float]) -> ReadCache:
        """``regions``: each with how long its answers are kept."""
        stores: dict[Region, tuple[CacheStore, float]] = {}
        for region, ttl in regions.items():
            store: CacheStore
            if region.shared and settings.redis_url:
                store = RedisStore(settings.redis_url, prefix=settings.read_cache_key_prefix, region=region.name)
            else:
                store = MemoryStore(max_entries=settings.read_cache_max_entries)
            stores[region] = (store, ttl)
        return cls(clock=clock, stores=stores, enabled=settings.read_cache)

    def store(self, region: Region) -> CacheStore:
        return self._stores[region.name][0]

    async def body(self, region: Region, key: str, build: Build) -> tuple[bytes, str]:
        """The answer's body and ETag: kept, or built (and kept if nothing changed meanwhile)."""
        entry = self._stores.get(region.name) if self.enabled else None
        if entry is None:
            body = await _render(build)
            return body, etag_of(body)
        store, ttl = entry
        now = self._clock.now().timestamp()
        value, generation = await store.get(key)
        if value is not None and (kept := _decode(value)) is not None:
            at, etag, body = kept
            if 0 <= now - at < ttl:  # also dated by the app's clock: a moved clock never sees old answers
                metrics.cache_looked_up(region.name, hit=True)
                return body, etag
        metrics.cache_looked_up(region.name, hit=False)
        if generation is None:
            body = await _render(build)
            return body, etag_of(body)
        body = await self._build_once((region.name, key, generation), build)
        etag = etag_of(body)
        await store.put(key, _encode(now, etag, body), generation=generation, ttl=ttl)
        return body, etag

    async def _build_once(self, flight: tuple[str, str, str], build: Build) -> bytes:
        pending = self._building.get(flight)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request itself was cancelled
            # The request that was building went away: build for ourselves.
            return await _render(build)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._building[flight] = future
        try:
            body = await _render(build)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # retrieved here, so nobody waiting is not an "unretrieved" error
            else:
                future.cancel()
            raise
        else:
            future.set_result(body)
            return body
        finally:
            del self._building[flight]

    async def heard(self, written: list[set[str]]) -> None:
        """The listener of ``WRITTEN``: drops each region that reads a table these units of work wrote."""
        tables: set[str] = set().union(*written)
        for region in self._regions:
            if ANY_TABLE in tables or not region.tables.isdisjoint(tables):
                await self.store(region).invalidate()

    async def aclose(self) -> None:
        for store, _ in self._stores.values():
            if isinstance(store, RedisStore):
                await store.aclose()


async def _render(build: Build) -> bytes:
    return pydantic_core.to_json(await build(), by_alias=True)


def install(db: Database, cache: ReadCache) -> None:
    """Makes ``cache`` hear of the tables every committed unit of work of ``db`` wrote (once per process)."""
    track_writes()
    db.listeners[WRITTEN] = cache.heard


# --- which tables a unit of work writes ------------------------------------------------------------


def _note(session: Session, tables: Iterable[str]) -> None:
    written: set[str] | None = session.info.get("cache_written")
    if written is None:
        written = session.info["cache_written"] = set()
        # publish_after_commit only uses ``info``, which the sync session shares with its AsyncSession.
        publish_after_commit(cast("AsyncSession", session), WRITTEN, written)
    written.update(tables)


def _after_flush(session: Session, _context: object) -> None:
    tables = {
        getattr(type(obj), "__tablename__", ANY_TABLE) for obj in (*session.new, *session.dirty, *session.deleted)
    }
    if tables:
        _note(session, tables)


def _on_execute(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        _note(state.session, [getattr(table, "name", None) or ANY_TABLE])
    elif isinstance(statement, TextClause) and not statement.text.lstrip()[:6].upper().startswith(("SELECT", "WITH")):
        _note(state.session, [ANY_TABLE])


def track_writes() -> None:
    """Every unit of work notes the tables it writes (idempotent)."""
    if not event.contains(UnitOfWorkSession, "after_flush", _after_flush):
        event.listen(UnitOfWorkSession, "after_flush", _after_flush)
        event.listen(UnitOfWorkSession, "do_orm_execute", _on_execute)


# --- pure reads --------------------------------------------------------------------------------------


def read_sessionmaker(db: Database) -> async_sessionmaker[AsyncSession]:
    """Sessions for pure reads: on PostgreSQL each statement runs on its own (autocommit: no BEGIN and
    COMMIT round trips around a single SELECT); SQLite's BEGIN costs no round trip and stays."""
    bind = db.engine if db.is_sqlite else db.engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(bind, expire_on_commit=False, sync_session_class=UnitOfWorkSession)


# --- the dependency ----------------------------------------------------------------------------------


class Reads:
    """One request's way to its cached answer."""

    def __init__(self, cache: ReadCache, request: Request) -> None:
        self._cache = cache
        self._request = request

    async def answer(self, region: Region, build: Build) -> Response:
        body, etag = await self._cache.body(region, request_key(self._request), build)
        return respond(self._request, body, etag)


async def _reads(request: Request) -> Reads:
    cache: ReadCache = request.app.state.reads
    return Reads(cache, request)


ReadsDep = Annotated[Reads, Depends(_reads)]
