"""What patients may book when the hospital has closed a clinic, a doctor has left, or online booking is
paused: the catalog hides them, and a booking that names them anyway is refused."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from tests.conftest import Login, booking_headers
from tests.factories import make_catalog, make_schedule, patient_body
from yiyue.core.db import Database
from yiyue.hospitals.models import Department, Doctor, Hospital


async def book(client: httpx.AsyncClient, auth: dict[str, str], schedule_id: int) -> httpx.Response:
    person = await client.post("/api/v1/me/patients", json=patient_body(), headers=auth)
    assert person.status_code == 201, person.text
    return await client.post(
        "/api/v1/appointments",
        json={"schedule_id": schedule_id, "patient_id": person.json()["id"]},
        headers=booking_headers(auth),
    )


async def change(
    db: Database, model: type[Hospital] | type[Department] | type[Doctor], row_id: int, **values: object
) -> None:
    async with db.session() as session:
        await session.execute(update(model).where(model.id == row_id).values(**values))


async def test_a_doctor_who_left_cannot_be_booked_even_by_schedule_id(client, db, login: Login) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog)
    await change(db, Doctor, catalog.doctor.id, active=False)

    answer = await book(client, await login(), schedule.id)

    assert answer.status_code == 409 and answer.json()["code"] == "DOCTOR_UNAVAILABLE"


async def test_a_closed_clinic_cannot_be_booked(client, db, login: Login) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog)
    await change(db, Department, catalog.parent.id, active=False)  # the 大科室 closes, and its 科室 with it

    answer = await book(client, await login(), schedule.id)

    assert answer.status_code == 409 and answer.json()["code"] == "DOCTOR_UNAVAILABLE"


async def test_the_doctor_list_of_a_day_leaves_out_a_doctor_who_left(client, db) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog)
    await make_schedule(db, catalog, doctor=catalog.other_doctor)
    await change(db, Doctor, catalog.doctor.id, active=False)

    listed = await client.get(
        f"/api/v1/departments/{catalog.clinic.id}/doctors", params={"date": schedule.visit_date.isoformat()}
    )
    days = await client.get(
        f"/api/v1/departments/{catalog.clinic.id}/availability",
        params={"start": schedule.visit_date.isoformat(), "end": schedule.visit_date.isoformat()},
    )

    assert [d["name"] for d in listed.json()["items"]] == [catalog.other_doctor.name]
    assert days.json()["items"][0]["capacity"] == 10  # the other doctor's session only


async def test_a_hospital_paused_for_online_booking_says_so_and_shows_nothing_bookable(client, db) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog)
    await change(db, Hospital, catalog.hospital.id, booking_open=False)

    hospital = await client.get(f"/api/v1/hospitals/{catalog.hospital.id}")
    listed = await client.get(
        f"/api/v1/departments/{catalog.clinic.id}/doctors", params={"date": schedule.visit_date.isoformat()}
    )

    assert hospital.json()["booking_rules"]["booking_open"] is False
    assert [s["bookable"] for d in listed.json()["items"] for s in d["schedules"]] == [False]
