"""End to end through HTTP: a template keeps numbers for walk-ins (现场号); 放号 makes the session; patients
see only the online numbers as remaining, and online booking never gets an on-site number."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import Login
from tests.factories import FAST_HASHER, make_catalog, make_staff, patient_body, staff_login
from yiyue.accounts.staff import passwords
from yiyue.core.db import Database

NEXT_MONDAY = "2026-03-09"  # NOW is Monday 2026-03-02 09:00; the 7-day window reaches next Monday


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


async def book(client: httpx.AsyncClient, auth: dict[str, str], schedule_id: int, slot_id: int | None = None):  # type: ignore[no-untyped-def]
    person = await client.post("/api/v1/me/patients", json=patient_body(), headers=auth)
    assert person.status_code == 201, person.text
    body = {"schedule_id": schedule_id, "patient_id": person.json()["id"]}
    if slot_id is not None:
        body["slot_id"] = slot_id
    return await client.post("/api/v1/appointments", json=body, headers={**auth, "Idempotency-Key": uuid.uuid4().hex})


async def test_on_site_numbers_are_kept_from_online_booking(
    client: httpx.AsyncClient, db: Database, login: Login
) -> None:
    catalog = await make_catalog(db)
    admin = await staff_login(client, (await make_staff(db, catalog=catalog)).username)
    week = {"cells": [{"weekday": 0, "period": "morning", "capacity": 6, "onsite_quota": 2, "slot_minutes": 30}]}
    assert (
        await client.put(f"/api/v1/staff/doctors/{catalog.doctor.id}/templates", json=week, headers=admin)
    ).status_code == 200

    released = await client.post("/api/v1/staff/schedules/release", json={"days": 7}, headers=admin)

    assert released.json()["made"] == 1
    listed = await client.get(f"/api/v1/doctors/{catalog.doctor.id}/schedules?start={NEXT_MONDAY}&end={NEXT_MONDAY}")
    [schedule] = listed.json()["items"]
    assert (schedule["capacity"], schedule["remaining"], schedule["bookable"]) == (6, 4, True)
    day = await client.get(f"/api/v1/departments/{catalog.clinic.id}/doctors?date={NEXT_MONDAY}")
    assert day.json()["items"][0]["remaining"] == 4
    slots = (await client.get(f"/api/v1/schedules/{schedule['id']}/slots")).json()["items"]
    on_site = [s for s in slots if s["status"] == "onsite"]
    assert [s["number"] for s in on_site] == [5, 6]

    asked_for_on_site = await book(client, await login(), schedule["id"], slot_id=on_site[0]["id"])
    numbers = []
    for _ in range(4):
        answer = await book(client, await login(), schedule["id"])
        assert answer.status_code == 201, answer.text
        numbers.append(answer.json()["queue_number"])
    sold_out = await book(client, await login(), schedule["id"])

    assert numbers == [1, 2, 3, 4]
    assert sold_out.status_code == 409 and sold_out.json()["code"] == "SOLD_OUT"
    assert asked_for_on_site.status_code == 409 and asked_for_on_site.json()["code"] == "SLOT_TAKEN"
    after = (await client.get(f"/api/v1/schedules/{schedule['id']}/slots")).json()
    assert after["schedule"]["remaining"] == 0 and after["schedule"]["bookable"] is False
    assert [s["status"] for s in after["items"]] == ["booked"] * 4 + ["onsite"] * 2
    staff_view = (await client.get(f"/api/v1/staff/schedules/{schedule['id']}", headers=admin)).json()
    assert (staff_view["taken"], staff_view["available"], staff_view["onsite_free"]) == (4, 0, 2)
