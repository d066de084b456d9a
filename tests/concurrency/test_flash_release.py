"""The 08:00 rush with real parallel HTTP clients against a real server: no slot sold twice, nobody
booked twice, every acknowledged booking stored. Runs on SQLite, and on PostgreSQL when
YIYUE_TEST_DATABASE_URL points at one."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
from sqlalchemy import func, select

from tests.factories import make_catalog, make_schedule, patient_body
from yiyue.app import FAKE_WECHAT_MOUNT
from yiyue.booking.models import OCCUPYING, Appointment
from yiyue.core.db import Database
from yiyue.scheduling.models import Schedule, Slot, SlotStatus


async def new_patient(http: httpx.AsyncClient) -> tuple[dict[str, str], int]:
    openid = f"o-{uuid.uuid4().hex[:16]}"
    code = (await http.post(f"{FAKE_WECHAT_MOUNT}/__fake__/login-code", json={"openid": openid})).json()["code"]
    token = (await http.post("/api/v1/auth/wechat-login", json={"code": code})).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    person = await http.post("/api/v1/me/patients", json=patient_body(), headers=auth)
    assert person.status_code == 201, person.text
    return auth, int(person.json()["id"])


async def book(
    http: httpx.AsyncClient, auth: dict[str, str], schedule_id: int, patient_id: int, key: str | None = None
):
    headers = {**auth, "Idempotency-Key": key or uuid.uuid4().hex}
    return await http.post(
        "/api/v1/appointments", json={"schedule_id": schedule_id, "patient_id": patient_id}, headers=headers
    )


async def occupying(store: Database, schedule_id: int) -> list[Appointment]:
    async with store.session() as session:
        rows = await session.scalars(
            select(Appointment).where(Appointment.schedule_id == schedule_id, Appointment.status.in_(OCCUPYING))
        )
        return list(rows)


async def booked_slots(store: Database, schedule_id: int) -> int:
    async with store.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Slot)
            .where(Slot.schedule_id == schedule_id, Slot.status == SlotStatus.BOOKED)
        )
        return int(count or 0)


async def schedule_of(store: Database, capacity: int) -> Schedule:
    catalog = await make_catalog(store)
    return await make_schedule(store, catalog, days_ahead=1, capacity=capacity)


async def test_200_patients_race_for_10_slots(store: Database, http: httpx.AsyncClient) -> None:
    schedule = await schedule_of(store, capacity=10)
    patients = await asyncio.gather(*(new_patient(http) for _ in range(200)))

    answers = await asyncio.gather(*(book(http, auth, schedule.id, pid) for auth, pid in patients))

    statuses = Counter(a.status_code for a in answers)
    codes = Counter(a.json()["code"] for a in answers if a.status_code != 201)
    assert statuses == {201: 10, 409: 190}, (statuses, codes)
    assert set(codes) == {"SOLD_OUT"}
    acknowledged = {a.json()["id"] for a in answers if a.status_code == 201}
    stored = await occupying(store, schedule.id)
    assert {a.id for a in stored} == acknowledged  # every acknowledged booking is there, nothing else
    assert len({a.slot_id for a in stored}) == 10  # no slot twice
    assert sorted(a.queue_number for a in stored) == list(range(1, 11))
    assert await booked_slots(store, schedule.id) == 10


async def test_50_parallel_requests_of_one_patient_book_once(store: Database, http: httpx.AsyncClient) -> None:
    schedule = await schedule_of(store, capacity=30)
    auth, patient = await new_patient(http)

    answers = await asyncio.gather(*(book(http, auth, schedule.id, patient) for _ in range(50)))

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: 1, 409: 49}, statuses
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"DUPLICATE_BOOKING"}
    assert len(await occupying(store, schedule.id)) == 1
    assert await booked_slots(store, schedule.id) == 1


async def test_50_parallel_retries_with_one_key_share_one_booking(store: Database, http: httpx.AsyncClient) -> None:
    schedule = await schedule_of(store, capacity=30)
    auth, patient = await new_patient(http)

    answers = await asyncio.gather(*(book(http, auth, schedule.id, patient, key="same-attempt") for _ in range(50)))

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(await occupying(store, schedule.id)) == 1


async def test_cancellations_during_the_rush_are_resold_exactly_once(store: Database, http: httpx.AsyncClient) -> None:
    schedule = await schedule_of(store, capacity=5)
    early = await asyncio.gather(*(new_patient(http) for _ in range(5)))
    first = await asyncio.gather(*(book(http, auth, schedule.id, pid) for auth, pid in early))
    assert all(a.status_code == 201 for a in first)
    rush = await asyncio.gather(*(new_patient(http) for _ in range(60)))

    cancels = [
        http.post(f"/api/v1/appointments/{answer.json()['id']}/cancel", headers=auth)
        for (auth, _), answer in zip(early[:3], first[:3], strict=True)
    ]
    results = await asyncio.gather(*cancels, *(book(http, auth, schedule.id, pid) for auth, pid in rush))

    assert all(r.status_code == 200 for r in results[:3])
    rebooked = [r for r in results[3:] if r.status_code == 201]
    assert len(rebooked) <= 3
    stored = await occupying(store, schedule.id)
    assert len(stored) == 2 + len(rebooked) and len({a.slot_id for a in stored}) == len(stored)
    assert await booked_slots(store, schedule.id) == len(stored)
