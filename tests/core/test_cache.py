"""The read cache's parts (``core.cache``): stores, validators, the generation guard, one build for many
concurrent misses, the tables a unit of work writes, and pure reads without a transaction."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
from pydantic import BaseModel
from sqlalchemy import select, text, update

from tests.conftest import NOW
from tests.factories import make_catalog, make_schedule
from yiyue.core.cache import (
    ANY_TABLE,
    WRITTEN,
    MemoryStore,
    ReadCache,
    RedisStore,
    Region,
    etag_of,
    matches,
    read_sessionmaker,
)
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.hospitals.models import Hospital
from yiyue.scheduling.models import Slot

REDIS_URL = os.environ.get("YIYUE_TEST_REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="set YIYUE_TEST_REDIS_URL to test the Redis store")

REGION = Region("things", tables=frozenset({"hospitals"}), shared=False)


def private_redis(url: str = REDIS_URL, db: int = 3) -> str:
    """The reads helper's own Redis database (3) on the server CI names; keys get a per-test prefix too."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


class Thing(BaseModel):
    name: str


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestMemoryStore:
    async def test_keeps_a_value_until_its_ttl(self) -> None:
        ticks = Ticks()
        store = MemoryStore(monotonic=ticks)
        _, generation = await store.get("k")
        assert generation is not None
        await store.put("k", b"v", generation=generation, ttl=1.0)
        assert (await store.get("k"))[0] == b"v"
        ticks.now += 0.99
        assert (await store.get("k"))[0] == b"v"
        ticks.now += 0.02
        assert (await store.get("k"))[0] is None

    async def test_an_answer_read_before_an_invalidation_is_not_kept(self) -> None:
        store = MemoryStore()
        _, generation = await store.get("k")
        assert generation is not None
        await store.invalidate()  # a write committed while the answer was being built
        await store.put("k", b"old", generation=generation, ttl=60)
        assert (await store.get("k"))[0] is None

    async def test_invalidation_drops_what_was_kept(self) -> None:
        store = MemoryStore()
        _, generation = await store.get("k")
        assert generation is not None
        await store.put("k", b"v", generation=generation, ttl=60)
        await store.invalidate()
        assert (await store.get("k"))[0] is None

    async def test_keeps_at_most_max_entries_least_recently_used_first_out(self) -> None:
        store = MemoryStore(max_entries=2)
        _, g = await store.get("a")
        assert g is not None
        for key in ("a", "b"):
            await store.put(key, key.encode(), generation=g, ttl=60)
        await store.get("a")  # used: b is now the oldest
        await store.put("c", b"c", generation=g, ttl=60)
        assert len(store) == 2
        assert (await store.get("b"))[0] is None
        assert (await store.get("a"))[0] == b"a"


class TestValidators:
    def test_the_same_body_has_the_same_strong_tag(self) -> None:
        assert etag_of(b'{"a":1}') == etag_of(b'{"a":1}')
        assert etag_of(b'{"a":1}') != etag_of(b'{"a":2}')
        assert etag_of(b"x").startswith('"') and not etag_of(b"x").startswith("W/")

    def test_if_none_match_names_the_tag_in_a_list_weakly_or_with_a_star(self) -> None:
        tag = etag_of(b"x")
        assert matches(tag, tag)
        assert matches(f'"other", {tag}', tag)
        assert matches(f"W/{tag}", tag)
        assert matches("*", tag)
        assert not matches('"other"', tag)
        assert not matches(None, tag)
        assert not matches("", tag)


class TestReadCache:
    @pytest.fixture
    def cache(self) -> ReadCache:
        return ReadCache(clock=FrozenClock(NOW), stores={REGION: (MemoryStore(), 60.0)})

    async def test_builds_once_then_answers_from_memory(self, cache: ReadCache) -> None:
        built = 0

        async def build() -> Thing:
            nonlocal built
            built += 1
            return Thing(name="协和")

        first = await cache.body(REGION, "/x", build)
        again = await cache.body(REGION, "/x", build)
        assert first == again == (b'{"name":"\xe5\x8d\x8f\xe5\x92\x8c"}', etag_of(first[0]))
        assert built == 1

    async def test_concurrent_misses_of_one_answer_build_it_once(self, cache: ReadCache) -> None:
        built = 0

        async def build() -> Thing:
            nonlocal built
            built += 1
            await asyncio.sleep(0.05)
            return Thing(name="a")

        bodies = await asyncio.gather(*(cache.body(REGION, "/x", build) for _ in range(50)))
        assert built == 1
        assert len(set(bodies)) == 1

    async def test_a_failed_build_fails_everyone_waiting_and_keeps_nothing(self, cache: ReadCache) -> None:
        calls = 0

        async def build() -> Thing:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.02)
            raise LookupError("gone")

        results = await asyncio.gather(*(cache.body(REGION, "/x", build) for _ in range(5)), return_exceptions=True)
        assert calls == 1 and all(isinstance(r, LookupError) for r in results)
        with pytest.raises(LookupError):
            await cache.body(REGION, "/x", build)
        assert calls == 2

    async def test_answers_are_dated_by_the_app_clock(self) -> None:
        clock = FrozenClock(NOW)
        cache = ReadCache(clock=clock, stores={REGION: (MemoryStore(), 1.0)})
        names = iter(["before", "after"])

        async def build() -> Thing:
            return Thing(name=next(names))

        assert b"before" in (await cache.body(REGION, "/x", build))[0]
        clock.advance(timedelta(seconds=2))  # tests move time: an answer from before is not shown
        assert b"after" in (await cache.body(REGION, "/x", build))[0]

    async def test_heard_writes_drop_the_regions_that_read_them(self) -> None:
        other = Region("other", tables=frozenset({"slots"}), shared=False)
        cache = ReadCache(clock=FrozenClock(NOW), stores={REGION: (MemoryStore(), 60), other: (MemoryStore(), 60)})

        async def build() -> Thing:
            return Thing(name="x")

        for region in (REGION, other):
            await cache.body(region, "/x", build)
        await cache.heard([{"slots"}, {"appointments"}])
        assert (await cache.store(REGION).get("/x"))[0] is not None
        assert (await cache.store(other).get("/x"))[0] is None
        await cache.heard([{ANY_TABLE}])
        assert (await cache.store(REGION).get("/x"))[0] is None

    async def test_off_it_builds_every_time(self) -> None:
        cache = ReadCache(clock=FrozenClock(NOW), stores={REGION: (MemoryStore(), 60)}, enabled=False)
        built = 0

        async def build() -> Thing:
            nonlocal built
            built += 1
            return Thing(name="x")

        await cache.body(REGION, "/x", build)
        body, tag = await cache.body(REGION, "/x", build)
        assert built == 2 and tag == etag_of(body)


class TestWrittenTables:
    """A committed unit of work tells the cache which tables it wrote; a rolled-back one tells nothing."""

    @pytest.fixture
    def heard(self, app: object, db: Database) -> list[set[str]]:
        told: list[set[str]] = []
        db.listeners[WRITTEN] = lambda written: told.extend(set(w) for w in written)
        return told

    async def test_an_orm_change_and_a_core_update_are_heard_after_commit(
        self, db: Database, heard: list[set[str]]
    ) -> None:
        catalog = await make_catalog(db)
        schedule = await make_schedule(db, catalog)
        heard.clear()
        async with db.session() as session:
            hospital = await session.get_one(Hospital, catalog.hospital.id)
            hospital.intro = "新简介"
            await session.flush()
            await session.execute(update(Slot).where(Slot.schedule_id == schedule.id).values(member_only=False))
            assert heard == []  # not before the commit
        assert heard == [{"hospitals", "slots"}]

    async def test_a_rolled_back_change_is_not_heard(self, db: Database, heard: list[set[str]]) -> None:
        catalog = await make_catalog(db)
        heard.clear()
        with pytest.raises(RuntimeError):
            async with db.session() as session:
                hospital = await session.get_one(Hospital, catalog.hospital.id)
                hospital.intro = "不算"
                await session.flush()
                raise RuntimeError("rolled back")
        assert heard == []

    async def test_raw_sql_that_writes_drops_everything_and_a_read_drops_nothing(
        self, db: Database, heard: list[set[str]]
    ) -> None:
        await make_catalog(db)
        heard.clear()
        async with db.session() as session:
            await session.execute(select(Hospital.id))
            await session.execute(text("SELECT 1"))
        assert heard == []
        async with db.session() as session:
            await session.execute(text("UPDATE hospitals SET intro = 'x'"))
        assert heard == [{ANY_TABLE}]


@pytest.mark.skipif(
    not os.environ.get("YIYUE_TEST_DATABASE_URL", "").startswith("postgresql"), reason="PostgreSQL only"
)
async def test_a_pure_read_on_postgresql_opens_no_transaction(db: Database) -> None:
    await make_catalog(db)
    async with read_sessionmaker(db)() as session:
        assert await session.scalar(select(Hospital.name)) == "测试人民医院"
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        assert raw.driver_connection is not None
        assert not raw.driver_connection.is_in_transaction()  # autocommit: no BEGIN was sent


@needs_redis
class TestRedisStore:
    @pytest.fixture
    async def stores(self) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
        prefix = f"yiyue-test:{uuid.uuid4().hex}:"
        a = RedisStore(private_redis(), prefix=prefix, region="catalog")
        b = RedisStore(private_redis(), prefix=prefix, region="catalog")
        yield a, b
        import redis.asyncio as aioredis

        client = aioredis.from_url(private_redis())
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        await a.aclose()
        await b.aclose()

    async def test_a_value_one_process_keeps_another_reads_until_either_invalidates(
        self, stores: tuple[RedisStore, RedisStore]
    ) -> None:
        a, b = stores
        value, generation = await a.get("/hospitals/1")
        assert value is None and generation == "0"
        await a.put("/hospitals/1", b"body", generation=generation, ttl=60)
        assert (await b.get("/hospitals/1"))[0] == b"body"
        await b.invalidate()
        assert await a.get("/hospitals/1") == (None, "1")

    async def test_an_answer_read_before_an_invalidation_elsewhere_is_not_kept(
        self, stores: tuple[RedisStore, RedisStore]
    ) -> None:
        a, b = stores
        _, generation = await a.get("/k")
        assert generation is not None
        await b.invalidate()
        await a.put("/k", b"old", generation=generation, ttl=60)
        assert (await b.get("/k"))[0] is None

    async def test_values_expire_with_their_ttl(self, stores: tuple[RedisStore, RedisStore]) -> None:
        a, _ = stores
        _, generation = await a.get("/k")
        assert generation is not None
        await a.put("/k", b"v", generation=generation, ttl=0.2)
        assert (await a.get("/k"))[0] == b"v"
        await asyncio.sleep(0.35)
        assert (await a.get("/k"))[0] is None


async def test_a_redis_that_is_down_is_a_miss_quickly_and_never_an_error() -> None:
    store = RedisStore("redis://127.0.0.1:1/0", prefix="yiyue-test:", region="catalog")
    started = time.monotonic()
    assert await store.get("/k") == (None, None)
    await store.put("/k", b"v", generation="0", ttl=60)
    await store.invalidate()
    assert time.monotonic() - started < 2
    await store.aclose()
