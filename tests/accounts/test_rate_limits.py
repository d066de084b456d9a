"""Rate limits (core.ratelimit): the abusive requests of issue 9 now meet 429 RATE_LIMITED with Retry-After.

Before: 500 duplicate bookings from one account, 1,000 anonymous searches and 300 bad login codes got 0 × 429.
The test settings are generous (tests/conftest.py); each test here sets the limit it exercises.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.conftest import booking_headers, login_via
from tests.factories import make_catalog, make_schedule, patient_body
from yiyue.app import create_app
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.ratelimit import RateLimiter, peer_address

REDIS_URL = os.environ.get("YIYUE_TEST_REDIS_URL", "")


@asynccontextmanager
async def limited(settings: Settings, clock: FrozenClock, **limits: object) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose settings carry these (tight) limits."""
    app = create_app(settings.model_copy(update={"rate_limit_strategy": "moving-window", **limits}), clock=clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yiyue.test") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c
    finally:
        await app.state.wechat.aclose()
        await app.state.db.dispose()


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == "RATE_LIMITED"
    assert body["message"] == "操作过于频繁，请稍后再试"
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert body["detail"] == {"retry_after": retry}


async def gather(
    n: int, make: Callable[[int], Awaitable[httpx.Response]], *, at_once: int = 25
) -> list[httpx.Response]:
    """``n`` requests, ``at_once`` in flight."""
    gate = asyncio.Semaphore(at_once)

    async def one(i: int) -> httpx.Response:
        async with gate:
            return await make(i)

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def test_500_duplicate_bookings_from_one_account_meet_429(settings: Settings, clock: FrozenClock, db) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog, capacity=5)
    async with limited(settings, clock, rate_limit_booking_account="20/minute") as client:
        auth = await login_via(client, "o-scalper")
        person = await client.post("/api/v1/me/patients", json=patient_body(), headers=auth)
        assert person.status_code == 201, person.text
        body = {"schedule_id": schedule.id, "patient_id": person.json()["id"]}

        answers = await gather(
            500, lambda i: client.post("/api/v1/appointments", json=body, headers=booking_headers(auth))
        )

        statuses = Counter(a.status_code for a in answers)
        assert statuses[429] == 480, statuses
        assert_limited(next(a for a in answers if a.status_code == 429))
        # Another account of the same address is not held back by the first one's limit.
        other = await login_via(client, "o-neighbour")
        theirs = await client.post("/api/v1/appointments", json=body, headers=booking_headers(other))
        assert theirs.status_code != 429


async def test_bookings_are_limited_per_address_too(settings: Settings, clock: FrozenClock, db) -> None:
    catalog = await make_catalog(db)
    # More slots than requests: the gate never knows the session sold out, so the sold-out fast path (which
    # comes before the limits, as cheap as a 429) answers none of them and the address's limit decides.
    schedule = await make_schedule(db, catalog, capacity=120)
    async with limited(settings, clock, rate_limit_booking_ip="30/minute") as client:
        accounts = [await login_via(client, f"o-farm-{i}") for i in range(10)]
        body = {"schedule_id": schedule.id, "patient_id": 1}

        answers = await gather(
            100, lambda i: client.post("/api/v1/appointments", json=body, headers=booking_headers(accounts[i % 10]))
        )

        assert Counter(a.status_code for a in answers)[429] == 70


async def test_a_forwarded_address_counts_only_behind_a_trusted_proxy(settings: Settings, clock: FrozenClock) -> None:
    async def searches(client: httpx.AsyncClient, n: int) -> Counter[int]:
        answers = await gather(
            n,
            lambda i: client.get(
                "/api/v1/search", params={"q": "人民"}, headers={"X-Forwarded-For": f"203.0.113.{i % 250}"}
            ),
        )
        return Counter(a.status_code for a in answers)

    async with limited(settings, clock, rate_limit_search_ip="10/minute") as client:
        assert (await searches(client, 30))[429] == 20  # a spoofed header does not dodge the limit
    async with limited(settings, clock, rate_limit_search_ip="10/minute", trusted_proxies=["127.0.0.1"]) as client:
        assert (await searches(client, 30))[429] == 0  # 30 clients behind our proxy, one request each


async def test_a_forged_first_forwarded_line_does_not_dodge_the_limit(settings: Settings, clock: FrozenClock) -> None:
    """The client writes its own X-Forwarded-For line; our proxy adds a second one with the address it saw."""
    async with limited(settings, clock, rate_limit_search_ip="10/minute", trusted_proxies=["127.0.0.1"]) as client:
        answers = await gather(
            30,
            lambda i: client.get(
                "/api/v1/search",
                params={"q": "人民"},
                headers=[("X-Forwarded-For", f"198.51.100.{i}"), ("X-Forwarded-For", "203.0.113.9")],
            ),
        )

    assert Counter(a.status_code for a in answers)[429] == 20


def test_the_client_address_behind_proxies() -> None:
    proxies = ["10.0.0.0/8"]
    assert peer_address(("198.51.100.7", 1), None, proxies) == "198.51.100.7"
    assert peer_address(("198.51.100.7", 1), "1.2.3.4", proxies) == "198.51.100.7"  # not from our proxy
    assert peer_address(("10.0.0.2", 1), "1.2.3.4, 203.0.113.9", proxies) == "203.0.113.9"  # the hop we saw
    assert peer_address(("10.0.0.2", 1), "203.0.113.9, 10.0.0.5", proxies) == "203.0.113.9"
    assert peer_address(("10.0.0.2", 1), "203.0.113.9", []) == "10.0.0.2"


async def test_1000_anonymous_searches_from_one_address_meet_429(settings: Settings, clock: FrozenClock, db) -> None:
    await make_catalog(db)
    async with limited(settings, clock, rate_limit_search_ip="100/minute") as client:
        answers = await gather(1000, lambda i: client.get("/api/v1/search", params={"q": "人民"}))

        statuses = Counter(a.status_code for a in answers)
        assert statuses == {200: 100, 429: 900}
        assert_limited(next(a for a in answers if a.status_code == 429))
        assert (await client.get("/api/v1/doctors")).status_code == 429  # the same limit covers the lists


async def test_300_bad_login_codes_meet_429(settings: Settings, clock: FrozenClock) -> None:
    async with limited(settings, clock, rate_limit_wechat_login_ip="20/minute") as client:
        answers = await gather(
            300, lambda i: client.post("/api/v1/auth/wechat-login", json={"code": f"made-up-{i}"}), at_once=10
        )

        statuses = Counter(a.status_code for a in answers)
        assert statuses[429] == 280, statuses
        assert all(a.json()["code"] in {"WECHAT_CODE_INVALID", "RATE_LIMITED"} for a in answers)


async def test_made_up_visit_persons_meet_429_per_account(settings: Settings, clock: FrozenClock) -> None:
    async with limited(settings, clock, rate_limit_patients_account="5/hour") as client:
        auth = await login_via(client, "o-idfarm")
        answers = [
            await client.post(
                "/api/v1/me/patients",
                json=patient_body(id_number="11010519900101" + f"{i:03d}" + "X"),
                headers=auth,
            )
            for i in range(20)
        ]

        assert [a.status_code for a in answers[5:]] == [429] * 15
        assert all(a.status_code != 429 for a in answers[:5])
        fresh = await login_via(client, "o-family")
        assert (await client.post("/api/v1/me/patients", json=patient_body(), headers=fresh)).status_code != 429


async def test_refreshes_meet_429_per_address(settings: Settings, clock: FrozenClock) -> None:
    async with limited(settings, clock, rate_limit_refresh_ip="10/minute") as client:
        answers = await gather(40, lambda i: client.post("/api/v1/auth/refresh", json={"refresh_token": f"x{i}"}))

        assert Counter(a.status_code for a in answers) == {401: 10, 429: 30}


async def test_the_sold_out_fast_path_answers_before_any_limit(settings: Settings, clock: FrozenClock, db) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog, capacity=1)
    async with limited(settings, clock, rate_limit_booking_account="3/minute") as client:
        first = await login_via(client, "o-first")
        person = (await client.post("/api/v1/me/patients", json=patient_body(), headers=first)).json()["id"]
        booked = await client.post(
            "/api/v1/appointments",
            json={"schedule_id": schedule.id, "patient_id": person},
            headers=booking_headers(first),
        )
        if booked.status_code != 201:
            pytest.skip(f"the schedule could not be booked here: {booked.text}")
        late = await login_via(client, "o-late")
        body = {"schedule_id": schedule.id, "patient_id": 1}

        answers = [
            await client.post("/api/v1/appointments", json=body, headers=booking_headers(late)) for _ in range(30)
        ]

        assert {a.json()["code"] for a in answers} == {"SOLD_OUT"}  # never RATE_LIMITED: refusing is free


def test_limits_are_settings() -> None:
    settings = Settings(rate_limit_booking_account="2/second;5/minute", rate_limit_booking_ip="")
    limiter = RateLimiter(settings)

    assert [str(item) for item in limiter.items("booking_account")] == ["2 per 1 second", "5 per 1 minute"]
    assert limiter.items("booking_ip") == []  # empty: no limit


@pytest.mark.skipif(not REDIS_URL, reason="set YIYUE_TEST_REDIS_URL to share the limits in Redis")
async def test_two_processes_share_a_limit_in_redis(settings: Settings, clock: FrozenClock) -> None:
    prefix = f"yiyue-test-{uuid.uuid4().hex[:8]}"
    shared = {"redis_url": REDIS_URL, "rate_limit_search_ip": "30/minute"}
    async with limited(settings, clock, **shared) as one, limited(settings, clock, **shared) as two:
        for client in (one, two):
            client.app.state.ratelimiter = RateLimiter(client.app.state.settings, key_prefix=prefix)  # type: ignore[attr-defined]

        first = await gather(20, lambda i: one.get("/api/v1/search", params={"q": "人民"}))
        second = await gather(20, lambda i: two.get("/api/v1/search", params={"q": "人民"}))

        assert Counter(a.status_code for a in first) == {200: 20}
        assert Counter(a.status_code for a in second) == {200: 10, 429: 10}  # the other instance's 20 counted
        await one.app.state.ratelimiter.reset()  # type: ignore[attr-defined]


async def test_a_storage_outage_lets_requests_in(settings: Settings, clock: FrozenClock, caplog) -> None:
    async with limited(settings, clock, redis_url="redis://127.0.0.1:1/0", rate_limit_search_ip="1/minute") as client:
        answers = [await client.get("/api/v1/search", params={"q": "人民"}) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "rate limit storage unavailable" in caplog.text
