"""Walk-in windows racing for the last numbers, with real parallel clients against a real server: each
number goes to exactly one patient, everyone else is told none is left. Runs on SQLite, and on
PostgreSQL when YIYUE_TEST_DATABASE_URL points at one."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import NOW
from tests.factories import FAST_HASHER, id_number, keep_onsite, make_catalog, make_schedule, make_staff
from tests.live import serving
from yiyue.accounts.staff import passwords
from yiyue.app import create_app
from yiyue.booking.models import Appointment
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.scheduling.models import Period, Slot


def known_id(serial: int) -> str:
    """A valid ID number no default test patient has (their birth date is 1990-01-01)."""
    return id_number(date(1985, 6, 15), serial)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings, clock=FrozenClock(NOW))) as url:
        yield url


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Database]:
    """A database handle of the test's own event loop (the server has its own)."""
    database = Database(settings.database_url)
    yield database
    await database.dispose()


async def clerk(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await http.post(
        "/api/v1/staff/auth/login", json={"username": username, "password": "correct-horse-battery"}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def test_the_last_walk_in_number_goes_to_exactly_one_of_two_windows(live_url: str, store: Database) -> None:
    catalog = await make_catalog(store)
    schedule = await make_schedule(store, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=5)
    await keep_onsite(store, schedule, 1)
    for username in ("window.1", "window.2"):
        await make_staff(store, role="front_desk", catalog=catalog, username=username)

    async with (
        httpx.AsyncClient(base_url=live_url, timeout=60) as first,
        httpx.AsyncClient(base_url=live_url, timeout=60) as second,
    ):
        auths = [await clerk(first, "window.1"), await clerk(second, "window.2")]
        answers = await asyncio.gather(
            *(
                http.post(
                    "/api/v1/staff/walk-ins",
                    json={
                        "schedule_id": schedule.id,
                        "name": name,
                        "id_number": known_id(n),
                        "phone": "13812345678",
                    },
                    headers=auth,
                )
                for http, auth, name, n in ((first, auths[0], "张三", 401), (second, auths[1], "李四", 402))
            )
        )

    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    [refused] = [a for a in answers if a.status_code == 409]
    assert refused.json()["code"] == "ONSITE_SOLD_OUT"
    async with store.session() as session:
        appointments = list(await session.scalars(select(Appointment)))
        slot = await session.scalar(select(Slot).where(Slot.schedule_id == schedule.id, Slot.number == 5))
    assert len(appointments) == 1 and appointments[0].queue_number == 5
    assert slot is not None and slot.status == "booked"


async def test_many_windows_share_the_walk_in_numbers_without_giving_one_twice(live_url: str, store: Database) -> None:
    catalog = await make_catalog(store)
    schedule = await make_schedule(store, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=10)
    kept = await keep_onsite(store, schedule, 3)
    await make_staff(store, role="front_desk", catalog=catalog, username="window")
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)

    async with httpx.AsyncClient(base_url=live_url, timeout=60, limits=limits) as http:
        auth = await clerk(http, "window")
        answers = await asyncio.gather(
            *(
                http.post(
                    "/api/v1/staff/walk-ins",
                    json={
                        "schedule_id": schedule.id,
                        "name": "患者" + "".join("零一二三四五六七八九"[int(d)] for d in str(n)),
                        "id_number": known_id(500 + n),
                        "phone": "13812345678",
                    },
                    headers=auth,
                )
                for n in range(10)
            )
        )

    codes = Counter(a.status_code for a in answers)
    assert codes == {201: 3, 409: 7}, [a.text for a in answers]
    assert sorted(a.json()["queue_number"] for a in answers if a.status_code == 201) == kept
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"ONSITE_SOLD_OUT"}
    async with store.session() as session:
        numbers = sorted(a.queue_number for a in await session.scalars(select(Appointment)))
    assert numbers == kept
