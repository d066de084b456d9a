"""Points from facts: the account's first confirmed booking and each completed visit earn points once,
however often their events are handled; the hourly members job lapses old points and moves levels."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tests.conftest import Login, booking_headers
from tests.factories import (
    Catalog,
    book_appointment,
    make_catalog,
    make_schedule,
    make_staff,
    patient_body,
    staff_login,
)
from tests.jobs_support import Jobs
from yiyue.accounts.models import Account
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.core.outbox import OutboxEvent
from yiyue.members import rules
from yiyue.members.models import MemberAccount, PointsEntry


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
def jobs(app: FastAPI) -> Jobs:
    return Jobs(app)


async def ledger(db: Database) -> list[tuple[str, str, int]]:
    async with db.session() as session:
        rows = await session.scalars(select(PointsEntry).order_by(PointsEntry.id))
        return [(e.kind, e.cause, e.delta) for e in rows]


async def patient(login: Login, db: Database) -> tuple[dict[str, str], int]:
    """A logged-in patient and their account id."""
    openid = f"o-points-{uuid.uuid4().hex[:8]}"
    auth = await login(openid)
    async with db.session() as session:
        account = await session.scalar(select(Account.id).where(Account.openid == openid))
    assert account is not None
    return auth, account


async def handle_again(db: Database, jobs: Jobs, topic: str) -> None:
    """The job system delivers an event twice (a worker died after handling it, before noting so)."""
    async with db.session() as session:
        await session.execute(update(OutboxEvent).where(OutboxEvent.topic == topic).values(handled_at=None))
    await jobs.drain()


class TestFirstBooking:
    async def test_the_first_confirmed_booking_earns_50_once(
        self, client: httpx.AsyncClient, login: Login, db: Database, catalog: Catalog, jobs: Jobs
    ) -> None:
        auth, account = await patient(login, db)
        first = await make_schedule(db, catalog, days_ahead=1)
        second = await make_schedule(db, catalog, days_ahead=2)
        await book_appointment(client, auth, first.id, name="张三丰")
        child = await client.post("/api/v1/me/patients", json=patient_body("张小明", "child"), headers=auth)
        again = await client.post(
            "/api/v1/appointments",
            json={"schedule_id": second.id, "patient_id": child.json()["id"]},
            headers=booking_headers(auth),
        )
        assert again.status_code == 201, again.text

        await jobs.drain()
        await handle_again(db, jobs, "appointment.booked")

        assert await ledger(db) == [("first_booking", f"account:{account}", 50)]

    async def test_a_hold_awaiting_payment_earns_nothing_yet(
        self, client: httpx.AsyncClient, login: Login, db: Database, jobs: Jobs
    ) -> None:
        paid = await make_catalog(db, name="付费人民医院", payment_required=True)
        schedule = await make_schedule(db, paid)
        await book_appointment(client, await login(), schedule.id)

        await jobs.drain()

        assert await ledger(db) == []


class TestVisit:
    async def test_a_completed_visit_earns_100_once_for_the_booking_account(
        self, client: httpx.AsyncClient, login: Login, db: Database, catalog: Catalog, jobs: Jobs, clock: FrozenClock
    ) -> None:
        auth, account = await patient(login, db)
        schedule = await make_schedule(db, catalog, days_ahead=1)
        booked = await book_appointment(client, auth, schedule.id)
        desk = await make_staff(db, role="front_desk", catalog=catalog)
        clock.set(schedule.starts_at)
        staff = await staff_login(client, desk.username)
        for step in ("check-in", "complete"):
            answer = await client.post(f"/api/v1/staff/appointments/{booked['id']}/{step}", headers=staff)
            assert answer.status_code == 200, answer.text

        await jobs.drain()
        await handle_again(db, jobs, "appointment.completed")

        assert await ledger(db) == [
            ("first_booking", f"account:{account}", 50),
            ("visit", f"appointment:{booked['id']}", 100),
        ]
        async with db.session() as session:
            member = await session.get_one(MemberAccount, account)
        assert (member.points_balance, member.points_12m) == (150, 150)


class TestMembersJob:
    async def test_the_hourly_job_lapses_points_after_24_months_and_lowers_the_level(
        self, client: httpx.AsyncClient, login: Login, db: Database, catalog: Catalog, jobs: Jobs, clock: FrozenClock
    ) -> None:
        auth, account = await patient(login, db)
        await book_appointment(client, auth, (await make_schedule(db, catalog)).id)
        await jobs.drain()
        assert await jobs.run_periodic("members_points") == (0, 0)

        clock.set(rules.expires_at(clock.now()) + timedelta(minutes=1))
        assert await jobs.run_periodic("members_points") == (1, 0)
        assert await jobs.run_periodic("members_points") == (0, 0)

        assert (await ledger(db))[-1] == ("expire", f"account:{account}:through:1", -50)
