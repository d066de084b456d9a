"""Bans (爽约限制) as a hospital sees them: the accounts barred for no-shows at its clinics (names masked),
and lifting one early with a reason, after which the account books again and its old no-shows no
longer count."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Login
from tests.factories import (
    FAST_HASHER,
    Catalog,
    book_family,
    make_catalog,
    make_schedule,
    make_staff,
    staff_login,
)
from yiyue.accounts.staff import passwords
from yiyue.booking.models import BookingBan
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.frontdesk.no_shows import mark_no_shows
from yiyue.scheduling.models import Period, Schedule

BANS = "/api/v1/staff/bans"
REASON = {"reason": "患者因急诊住院，经核实予以解除"}
OPENID = "o-misses"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@dataclass
class Banned:
    catalog: Catalog
    schedule: Schedule
    missed: list[dict[str, Any]]
    ban_id: int


@pytest.fixture
async def banned(client: httpx.AsyncClient, db: Database, clock: FrozenClock, login: Login) -> Banned:
    """An account that missed three visits at 甲市人民医院 this afternoon, banned by the sweep at 17:30."""
    catalog = await make_catalog(db, name="甲市人民医院")
    schedule = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON)
    missed = await book_family(client, await login(OPENID), schedule.id, ["张三丰", "李四", "欧阳娜娜"])
    await make_staff(db, catalog=catalog, username="admin.a")
    await make_staff(db, role="front_desk", catalog=catalog, username="desk.a")
    clock.set(schedule.ends_at)
    async with db.session() as session:
        await mark_no_shows(session, now=clock.now())
    async with db.session() as session:
        ban = await session.scalar(select(BookingBan))
    assert ban is not None
    return Banned(catalog, schedule, missed, ban.id)


async def book(client: httpx.AsyncClient, login: Login, banned: Banned, schedule: Schedule) -> httpx.Response:
    """The banned account tries to book ``schedule`` for the first of its visit persons who did not come."""
    return await client.post(
        "/api/v1/appointments",
        json={"schedule_id": schedule.id, "patient_id": banned.missed[0]["patient"]["id"]},
        headers={**await login(OPENID), "Idempotency-Key": uuid.uuid4().hex},
    )


class TestTheList:
    async def test_shows_the_banned_account_with_the_patients_masked(self, client, db, banned: Banned):
        answer = await client.get(BANS, headers=await staff_login(client, "admin.a"))

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["total"] == 1
        [item] = body["items"]
        assert item["id"] == banned.ban_id and item["no_shows_here"] == 3
        assert item["patients_masked"] == ["张*丰", "李*", "欧**娜"]
        assert item["reason"] == "90天内爽约3次" and item["last_no_show"] == banned.schedule.visit_date.isoformat()
        assert "张三丰" not in answer.text

    async def test_the_listing_is_audited(self, client, db, banned: Banned):
        await client.get(BANS, headers=await staff_login(client, "admin.a"))

        async with db.session() as session:
            [row] = list(await session.scalars(select(AuditLog).where(AuditLog.action == "booking_ban.list")))
        assert row.detail == {"ban_ids": [banned.ban_id], "total": 1}
        assert row.hospital_id == banned.catalog.hospital.id

    async def test_another_hospital_does_not_see_it(self, client, db, banned: Banned):
        other = await make_catalog(db, name="乙市中心医院")
        await make_staff(db, catalog=other, username="admin.b")

        answer = await client.get(BANS, headers=await staff_login(client, "admin.b"))

        assert answer.json()["total"] == 0 and answer.json()["items"] == []

    async def test_a_platform_admin_reads_a_named_hospitals_list(self, client, db, banned: Banned):
        await make_staff(db, role="platform_admin", username="root")
        auth = await staff_login(client, "root")

        unnamed = await client.get(BANS, headers=auth)
        named = await client.get(f"{BANS}?hospital_id={banned.catalog.hospital.id}", headers=auth)

        assert unnamed.status_code == 422 and unnamed.json()["code"] == "HOSPITAL_ID_REQUIRED"
        assert [b["id"] for b in named.json()["items"]] == [banned.ban_id]

    @pytest.mark.parametrize("role", ["front_desk", "doctor"])
    async def test_the_front_desk_and_doctors_do_not_see_it(self, client, db, banned: Banned, role):
        await make_staff(db, role=role, catalog=banned.catalog, username="someone")

        answer = await client.get(BANS, headers=await staff_login(client, "someone"))

        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"

    async def test_a_ban_that_ran_out_is_no_longer_listed(self, client, clock, banned: Banned):
        clock.advance(timedelta(days=90))

        answer = await client.get(BANS, headers=await staff_login(client, "admin.a"))

        assert answer.json()["total"] == 0


class TestLifting:
    async def test_the_account_books_again_at_once(self, client, db, login: Login, banned: Banned):
        tomorrow = await make_schedule(db, banned.catalog, days_ahead=1, period=Period.AFTERNOON)
        assert (await book(client, login, banned, tomorrow)).json()["code"] == "BOOKING_BANNED"

        answer = await client.post(
            f"{BANS}/{banned.ban_id}/lift", json=REASON, headers=await staff_login(client, "admin.a")
        )

        assert answer.status_code == 200, answer.text
        assert answer.json()["lifted_at"] == banned.schedule.ends_at.isoformat().replace("+00:00", "Z")
        assert answer.json()["lift_reason"] == REASON["reason"]
        assert (await book(client, login, banned, tomorrow)).status_code == 201
        listed = await client.get(BANS, headers=await staff_login(client, "admin.a"))
        assert listed.json()["total"] == 0

    async def test_the_lift_is_recorded_and_audited_with_its_reason(self, client, db, banned: Banned):
        admin = await staff_login(client, "admin.a")

        await client.post(f"{BANS}/{banned.ban_id}/lift", json=REASON, headers=admin)

        async with db.session() as session:
            ban = await session.get_one(BookingBan, banned.ban_id)
            [row] = list(await session.scalars(select(AuditLog).where(AuditLog.action == "booking_ban.lift")))
        assert ban.lifted_at is not None and ban.lifted_by.startswith("staff:") and ban.lift_reason == REASON["reason"]
        assert row.actor == ban.lifted_by and row.subject == f"booking_ban:{banned.ban_id}"
        assert row.detail["reason"] == REASON["reason"] and row.detail["before"]["lifted_at"] is None
        assert row.hospital_id == banned.catalog.hospital.id

    async def test_the_no_shows_before_it_no_longer_count(
        self, client, db, clock: FrozenClock, login: Login, banned: Banned
    ):
        await client.post(f"{BANS}/{banned.ban_id}/lift", json=REASON, headers=await staff_login(client, "admin.a"))
        tomorrow = await make_schedule(db, banned.catalog, days_ahead=1, period=Period.AFTERNOON)
        booked = await book(client, login, banned, tomorrow)
        assert booked.status_code == 201, booked.text

        clock.set(tomorrow.ends_at)
        async with db.session() as session:
            await mark_no_shows(session, now=clock.now())  # a fourth no-show, the first since the lift

        async with db.session() as session:
            bans = list(await session.scalars(select(BookingBan)))
        assert [b.id for b in bans] == [banned.ban_id]

    async def test_a_reason_is_required(self, client, db, banned: Banned):
        admin = await staff_login(client, "admin.a")

        for body in ({}, {"reason": "好"}, {"reason": "x" * 101}, {"reason": "正当理由", "extra": 1}):
            answer = await client.post(f"{BANS}/{banned.ban_id}/lift", json=body, headers=admin)
            assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"
        async with db.session() as session:
            assert (await session.get_one(BookingBan, banned.ban_id)).lifted_at is None

    async def test_a_ban_lifted_or_over_cannot_be_lifted_again(self, client, clock, banned: Banned):
        admin = await staff_login(client, "admin.a")
        await client.post(f"{BANS}/{banned.ban_id}/lift", json=REASON, headers=admin)

        twice = await client.post(f"{BANS}/{banned.ban_id}/lift", json=REASON, headers=admin)

        assert twice.status_code == 409 and twice.json()["code"] == "BAN_NOT_IN_FORCE"

    async def test_another_hospital_cannot_lift_it(self, client, db, banned: Banned):
        other = await make_catalog(db, name="乙市中心医院")
        await make_staff(db, catalog=other, username="admin.b")
        auth = await staff_login(client, "admin.b")

        foreign = await client.post(f"{BANS}/{banned.ban_id}/lift", json=REASON, headers=auth)
        missing = await client.post(f"{BANS}/999999/lift", json=REASON, headers=auth)

        assert foreign.status_code == 404 and foreign.json() == missing.json()
        assert foreign.json()["code"] == "BAN_NOT_FOUND"

    @pytest.mark.parametrize("role", ["front_desk", "platform_admin"])
    async def test_only_a_hospital_admin_lifts_it(self, client, db, banned: Banned, role):
        await make_staff(db, role=role, catalog=banned.catalog, username="someone")

        answer = await client.post(
            f"{BANS}/{banned.ban_id}/lift", json=REASON, headers=await staff_login(client, "someone")
        )

        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"
        async with db.session() as session:
            assert (await session.get_one(BookingBan, banned.ban_id)).lifted_at is None
