"""Completed visits to review, made the way they happen: patients book through the API, a hospital
administrator checks them in and completes them through the staff API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import httpx

from tests.conftest import NOW, Login
from tests.factories import Catalog, book_appointment, make_schedule, staff_login
from yiyue.accounts.staff.models import StaffUser
from yiyue.core.clock import FrozenClock, at_local
from yiyue.core.db import Database
from yiyue.hospitals.models import Doctor
from yiyue.scheduling.models import Period

CHECK_IN_AT = at_local(NOW.date(), time(13, 0))
"""Today's afternoon session (13:30) is open for check-in from 12:30; visits are completed at 13:00."""


@dataclass
class Visit:
    appointment_id: int
    openid: str
    auth: dict[str, str]
    name: str
    doctor_id: int


async def book_visits(
    client: httpx.AsyncClient,
    db: Database,
    clock: FrozenClock,
    login: Login,
    catalog: Catalog,
    names: list[str],
    *,
    doctor: Doctor | None = None,
) -> list[Visit]:
    """Each name booked by an account of its own on today's afternoon session of ``doctor`` (the
    catalog's first by default), at 09:00; the clock is left there."""
    clock.set(NOW)
    doctor = doctor or catalog.doctor
    schedule = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=20, doctor=doctor)
    visits = []
    for name in names:
        openid = f"o-{uuid.uuid4().hex[:12]}"
        auth = await login(openid)
        booked: dict[str, Any] = await book_appointment(client, auth, schedule.id, name=name)
        visits.append(Visit(booked["id"], openid, auth, name, doctor.id))
    return visits


async def complete(
    client: httpx.AsyncClient, clock: FrozenClock, login: Login, admin: StaffUser, visits: list[Visit]
) -> datetime:
    """Checks the visits in and completes them at 13:00, when their patients log in again (tokens live
    two hours); returns that time (the clock is left there)."""
    clock.set(CHECK_IN_AT)
    staff = await staff_login(client, admin.username)
    for visit in visits:
        checked = await client.post(f"/api/v1/staff/appointments/{visit.appointment_id}/check-in", headers=staff)
        assert checked.status_code == 200, checked.text
        done = await client.post(f"/api/v1/staff/appointments/{visit.appointment_id}/complete", headers=staff)
        assert done.status_code == 200, done.text
        await relogin(login, visit)
    return CHECK_IN_AT


async def completed_visits(
    client: httpx.AsyncClient,
    db: Database,
    clock: FrozenClock,
    login: Login,
    catalog: Catalog,
    admin: StaffUser,
    names: list[str],
    *,
    doctor: Doctor | None = None,
) -> list[Visit]:
    visits = await book_visits(client, db, clock, login, catalog, names, doctor=doctor)
    await complete(client, clock, login, admin, visits)
    return visits


async def relogin(login: Login, visit: Visit) -> dict[str, str]:
    """The patient logs in again (after the clock moved past their token's life)."""
    visit.auth = await login(visit.openid)
    return visit.auth


def review_body(stars: int = 5, tags: list[str] | None = None, text: str = "") -> dict[str, Any]:
    return {"stars": stars, "tags": ["耐心细致"] if tags is None else tags, "text": text}
