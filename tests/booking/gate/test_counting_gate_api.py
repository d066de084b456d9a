"""The counting gate in front of a real server, with real parallel clients: never a slot sold twice, a
refusal without the database once the claims in flight cover the free slots, a cancellation bookable
again at once (through another server too, with the counts in Redis), and bookings that stay correct when
Redis is down or flushed in the middle of a rush."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import event

from tests.booking.gate.conftest import gate_redis_url, needs_redis
from tests.concurrency.test_flash_release import book, booked_slots, new_patient, occupying
from tests.conftest import NOW
from tests.factories import make_catalog, make_schedule
from tests.live import free_port, serving
from yiyue.app import create_app
from yiyue.booking.gate import SlotCounts
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.scheduling.models import Schedule

CLAIM = re.compile(r"\bUPDATE\s+slots\b", re.IGNORECASE)


class Statements:
    """Counts the SQL statements a server sends its database, and the transactions that claimed a slot."""

    def __init__(self, app: FastAPI) -> None:
        self.total = 0
        self._transactions = itertools.count()
        self._claimed: set[int] = set()
        engine = app.state.db.engine.sync_engine
        event.listen(engine, "begin", self._begun)
        event.listen(engine, "before_cursor_execute", self._seen)

    @property
    def claims(self) -> int:
        return len(self._claimed)

    def _begun(self, conn: Any) -> None:
        conn.info["transaction"] = next(self._transactions)

    def _seen(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.total += 1
        if CLAIM.search(statement):
            self._claimed.add(conn.info.get("transaction", -1))


class Fleet:
    """Servers on one database (and, with Redis, one gate): ``urls``, their apps, and their statements."""

    def __init__(self) -> None:
        self.apps: list[FastAPI] = []
        self.urls: list[str] = []
        self.statements: list[Statements] = []


Start = Callable[..., Fleet]


@pytest.fixture(params=["memory", pytest.param("redis", marks=needs_redis)])
def gate_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def gate_settings(settings: Settings, gate_kind: str) -> Settings:
    if gate_kind == "memory":
        return settings
    prefix = f"yiyue-test:{uuid.uuid4().hex[:10]}"
    return settings.model_copy(update={"redis_url": gate_redis_url(), "gate_redis_prefix": prefix})


@pytest.fixture
def start(gate_settings: Settings) -> Iterator[Start]:
    with ExitStack() as stack:

        def start_fleet(servers: int = 1, **overrides: object) -> Fleet:
            fleet = Fleet()
            settings = gate_settings.model_copy(update=overrides)
            for _ in range(servers):
                app = create_app(settings, clock=FrozenClock(NOW))
                fleet.apps.append(app)
                fleet.statements.append(Statements(app))
                fleet.urls.append(stack.enter_context(serving(app)))
            return fleet

        yield start_fleet


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    yield database
    await database.dispose()


def client(url: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
    return httpx.AsyncClient(base_url=url, limits=limits, timeout=60)


async def patients_of(clients: list[httpx.AsyncClient], crowd: int) -> list[tuple[dict[str, str], int]]:
    """``crowd`` logged-in patients with a visit person each, made 20 at a time (the rush is the booking)."""
    at_once = asyncio.Semaphore(20)

    async def one(i: int) -> tuple[dict[str, str], int]:
        async with at_once:
            return await new_patient(clients[i % len(clients)])

    return list(await asyncio.gather(*(one(i) for i in range(crowd))))


async def schedule_of(store: Database, capacity: int) -> Schedule:
    catalog = await make_catalog(store, payment_required=False)  # confirmed at once: a cancel frees the slot now
    return await make_schedule(store, catalog, days_ahead=1, capacity=capacity)


def settings_of(fleet: Fleet) -> Settings:
    settings: Settings = fleet.apps[0].state.settings
    return settings


def other_process_counts(fleet: Fleet, gate_kind: str) -> SlotCounts:
    """Counts as another process sees them: the server's own object in memory, a client of its own in Redis
    (a Redis client belongs to the event loop that uses it; the servers run loops of their own)."""
    settings: Settings = fleet.apps[0].state.settings
    if gate_kind == "memory":
        counts: SlotCounts = fleet.apps[0].state.gate.counts
        return counts
    from yiyue.booking.gate.redis_counts import RedisSlotCounts

    return RedisSlotCounts(settings.redis_url, prefix=settings.gate_redis_prefix, local_seconds=0.0)


async def test_a_claim_in_flight_covering_the_last_slot_is_answered_sold_out_without_the_database(
    start: Start, store: Database, gate_kind: str
) -> None:
    fleet = start()
    schedule = await schedule_of(store, capacity=2)
    async with client(fleet.urls[0]) as http:
        patients = [await new_patient(http) for _ in range(3)]
        first = await book(http, *patients[0][:1], schedule.id, patients[0][1])
        assert first.status_code == 201, first.text  # the gate now knows: 1 slot free
        counts = other_process_counts(fleet, gate_kind)
        in_flight = await counts.admit(schedule.id, 424242)  # a claim in flight, elsewhere
        assert in_flight is not None and in_flight.counted
        statements = fleet.statements[0]
        before = statements.total

        refused = await book(http, patients[1][0], schedule.id, patients[1][1])

        assert (refused.status_code, refused.json()["code"]) == (409, "SOLD_OUT")
        assert statements.total == before  # answered by the fast path: the database was not asked
        await counts.settle(in_flight, claimed=False)  # that claim failed: its token comes back
        await asyncio.sleep(settings_of(fleet).gate_redis_local_seconds + 0.01)  # another process: Redis's refusal
        admitted = await book(http, patients[1][0], schedule.id, patients[1][1])
        assert admitted.status_code == 201, admitted.text
        before = statements.total
        last = await book(http, patients[2][0], schedule.id, patients[2][1])
        assert (last.status_code, last.json()["code"]) == (409, "SOLD_OUT")
        assert statements.total == before
        if gate_kind == "redis":
            await counts.aclose()  # type: ignore[attr-defined]
    assert await booked_slots(store, schedule.id) == 2


async def test_the_rush_sells_every_slot_once_and_few_requests_reach_the_database(
    start: Start, store: Database
) -> None:
    fleet = start()
    capacity, crowd = 6, 150
    schedule = await schedule_of(store, capacity=capacity)
    async with client(fleet.urls[0]) as http:
        patients = await patients_of([http], crowd)
        claims_before = fleet.statements[0].claims
        started = time.monotonic()

        answers = await asyncio.gather(*(book(http, auth, schedule.id, pid) for auth, pid in patients))
        took = time.monotonic() - started

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: capacity, 409: crowd - capacity}, statuses
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"SOLD_OUT"}
    stored = await occupying(store, schedule.id)
    assert {a.id for a in stored} == {a.json()["id"] for a in answers if a.status_code == 201}
    assert len({a.slot_id for a in stored}) == capacity
    claims = fleet.statements[0].claims - claims_before
    # Only bookings holding a token claim: the winners, those that entered before the first count was
    # known, and after each lapse of the sold-out count (every gate_recheck_seconds the database is asked
    # again) at most a turn's worth, until one of them reports the sell-out again.
    settings = settings_of(fleet)
    rechecks = 1 + int(took / settings.gate_recheck_seconds)
    assert claims <= capacity + settings.booking_claimers_per_schedule * (1 + rechecks), (claims, took)
    assert claims < crowd / 3, (claims, took)


async def test_a_cancellation_is_bookable_again_at_once(start: Start, store: Database, gate_kind: str) -> None:
    fleet = start(servers=2 if gate_kind == "redis" else 1)
    a_url, b_url = fleet.urls[0], fleet.urls[-1]
    schedule = await schedule_of(store, capacity=1)
    async with client(a_url) as a, client(b_url) as b:
        (holder, holder_person), (waiting, waiting_person) = [await new_patient(a) for _ in range(2)]
        booked = await book(a, holder, schedule.id, holder_person)
        assert booked.status_code == 201, booked.text
        refused = await book(b, waiting, schedule.id, waiting_person)
        assert (refused.status_code, refused.json()["code"]) == (409, "SOLD_OUT")

        cancelled = await a.post(f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=holder)
        assert cancelled.status_code == 200, cancelled.text
        freed_at = time.monotonic()
        while True:  # through the other server when there are two: a booking sent within 100 ms gets it
            sent_at = time.monotonic()
            answer = await book(b, waiting, schedule.id, waiting_person)
            if answer.status_code == 201 or sent_at - freed_at > 1.0:
                break
        waited = sent_at - freed_at

    assert answer.status_code == 201, answer.text
    assert waited < 0.1, waited
    assert [a.id for a in await occupying(store, schedule.id)] == [answer.json()["id"]]
    assert await booked_slots(store, schedule.id) == 1


async def rush(urls: list[str], schedule_id: int, crowd: int, *, midway: Callable[[], Any] | None = None) -> list[Any]:
    """``crowd`` patients spread over the servers book at once; ``midway`` runs once a third have answered."""
    clients = [client(url) for url in urls]
    try:
        patients = await patients_of(clients, crowd)
        answered = 0
        fired = asyncio.Event()

        async def one(i: int) -> httpx.Response:
            nonlocal answered
            auth, person = patients[i]
            answer = await book(clients[i % len(clients)], auth, schedule_id, person)
            answered += 1
            if midway is not None and answered >= crowd // 3 and not fired.is_set():
                fired.set()
                await midway()
            return answer

        return list(await asyncio.gather(*(one(i) for i in range(crowd))))
    finally:
        for c in clients:
            await c.aclose()


async def check_outcome(store: Database, schedule: Schedule, answers: list[Any], capacity: int) -> None:
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: capacity, 409: len(answers) - capacity}, statuses
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"SOLD_OUT"}
    stored = await occupying(store, schedule.id)
    assert {a.id for a in stored} == {a.json()["id"] for a in answers if a.status_code == 201}
    assert len({a.slot_id for a in stored}) == capacity
    assert await booked_slots(store, schedule.id) == capacity


@needs_redis
async def test_with_redis_down_booking_goes_to_the_database_and_stays_correct(
    settings: Settings, store: Database
) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with serving(create_app(down, clock=FrozenClock(NOW))) as a, serving(create_app(down, clock=FrozenClock(NOW))) as b:
        schedule = await schedule_of(store, capacity=5)
        answers = await rush([a, b], schedule.id, 80)
    await check_outcome(store, schedule, answers, 5)


@needs_redis
async def test_flushing_redis_in_the_middle_of_a_rush_changes_no_outcome(start: Start, store: Database) -> None:
    fleet = start(servers=2)
    schedule = await schedule_of(store, capacity=8)
    flusher = aioredis.from_url(gate_redis_url())

    async def flush() -> None:
        await flusher.flushdb()

    try:
        answers = await rush(fleet.urls, schedule.id, 120, midway=flush)
    finally:
        await flusher.aclose()
    await check_outcome(store, schedule, answers, 8)
