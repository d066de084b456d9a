"""The real task queue, in both modes: Huey on a SQLite file (embedded) and on Redis. A real server
with worker threads inside it delivers what the outbox holds: notifications, payments, refunds."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import NOW
from tests.e2e.test_paid_booking import user_pays
from tests.factories import make_catalog, make_schedule, patient_body
from tests.live import serving
from yiyue.app import FAKE_WECHAT_MOUNT
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.core.outbox import OutboxEvent
from yiyue.server import create_server

REDIS_URL = os.environ.get("YIYUE_TEST_REDIS_URL", "")


@pytest.fixture(params=["sqlite", "redis"])
def queue_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("set YIYUE_TEST_REDIS_URL=redis://127.0.0.1:6379/0 to run the queue on Redis (.ci/run does)")
        update = {"queue_url": REDIS_URL}
    else:
        update = {}
    return settings.model_copy(update={**update, "queue_name": f"test-{uuid.uuid4().hex[:8]}", "embedded_workers": 2})


@pytest.fixture
def live(queue_settings: Settings) -> Iterator[str]:
    with serving(create_server(queue_settings, clock=FrozenClock(NOW))) as url:
        yield url


@pytest.fixture
async def store(queue_settings: Settings) -> AsyncIterator[Database]:
    database = Database(queue_settings.database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def http(live: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live, timeout=30) as client:
        yield client


async def patient(http: httpx.AsyncClient) -> tuple[dict[str, str], int]:
    code = (await http.post(f"{FAKE_WECHAT_MOUNT}/__fake__/login-code", json={"openid": uuid.uuid4().hex})).json()
    token = (await http.post("/api/v1/auth/wechat-login", json=code)).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    person = (await http.post("/api/v1/me/patients", json=patient_body(), headers=auth)).json()
    return auth, person["id"]


async def book(http: httpx.AsyncClient, auth: dict[str, str], schedule_id: int, person: int) -> dict[str, object]:
    headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    answer = await http.post(
        "/api/v1/appointments", json={"schedule_id": schedule_id, "patient_id": person}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def eventually(check, within: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


async def unhandled(store: Database) -> int:
    async with store.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.handled_at.is_(None))
        )
        return int(count or 0)


async def kinds(http: httpx.AsyncClient, auth: dict[str, str]) -> set[str]:
    return {n["kind"] for n in (await http.get("/api/v1/me/notifications", headers=auth)).json()["items"]}


async def test_a_booking_is_confirmed_to_the_patient_through_the_queue(
    store: Database, http: httpx.AsyncClient
) -> None:
    catalog = await make_catalog(store)
    schedule = await make_schedule(store, catalog)
    auth, person = await patient(http)

    await book(http, auth, schedule.id, person)

    assert await eventually(lambda: _has(http, auth, "booking_confirmed"))
    assert await eventually(lambda: _none_left(store))


async def test_pay_then_cancel_is_refunded_through_the_queue(store: Database, http: httpx.AsyncClient) -> None:
    catalog = await make_catalog(store, payment_required=True)
    schedule = await make_schedule(store, catalog)
    auth, person = await patient(http)
    held = await book(http, auth, schedule.id, person)
    params = (await http.post(f"/api/v1/appointments/{held['id']}/pay", headers=auth)).json()

    await user_pays(http, params)
    assert await eventually(lambda: _has(http, auth, "booking_confirmed"))
    await http.post(f"/api/v1/appointments/{held['id']}/cancel", headers=auth)

    assert await eventually(lambda: _has(http, auth, "refunded"))
    assert {"booking_confirmed", "cancelled", "refunded"} <= await kinds(http, auth)
    assert await eventually(lambda: _none_left(store))


async def _has(http: httpx.AsyncClient, auth: dict[str, str], kind: str) -> bool:
    return kind in await kinds(http, auth)


async def _none_left(store: Database) -> bool:
    return await unhandled(store) == 0
