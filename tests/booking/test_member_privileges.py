"""Member privileges in the booking transaction, through HTTP: a gold member books in the early window
(a regular patient is told when members book), the members' share of a session (会员预留号源) and when it
opens to everyone, the discount on the fee (payment, refund and reconciliation on the discounted amount),
and late cancellation (延时退号) until the session starts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import NOW, Login
from tests.e2e.test_money_and_rebooking import rebook, suspend
from tests.e2e.test_paid_booking import pay_for, user_pays
from tests.factories import make_catalog, make_schedule
from tests.jobs_support import Jobs
from yiyue.accounts.models import Account
from yiyue.core.clock import HOSPITAL_TZ, FrozenClock
from yiyue.core.db import Database, begin_write
from yiyue.members import service as members
from yiyue.payments.models import Payment, Refund
from yiyue.scheduling.models import Schedule


async def patient(login: Login, db: Database, *, points: int = 0) -> dict[str, str]:
    """A logged-in patient; with ``points`` earned (1000: 金卡会员) through the ledger."""
    openid = f"o-member-{uuid.uuid4().hex[:8]}"
    auth = await login(openid)
    if points:
        async with db.session() as session:
            account = await session.scalar(select(Account.id).where(Account.openid == openid))
            assert account is not None
            await begin_write(session)
            await members.credit(
                session, account_id=account, kind="visit", cause=f"test:{openid}", points=points, now=NOW
            )
    return auth


async def book_new_person(
    client: httpx.AsyncClient, auth: dict[str, str], schedule_id: int, **extra: int
) -> httpx.Response:
    """Books for a new visit person of the account (本人 first, then 子女)."""
    persons = (await client.get("/api/v1/me/patients", headers=auth)).json()
    count = len(persons["items"] if isinstance(persons, dict) else persons)
    relationship = "self" if count == 0 else "child"
    person = await add_patient(
        client, auth, relationship=relationship, name=["张三", "张小一", "张小二", "张小三"][count]
    )
    return await book(client, auth, schedule_id, person, **extra)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class TestEarlyBooking:
    @pytest.fixture
    async def unreleased(self, db: Database) -> Schedule:
        """Released tomorrow at 08:00 (8 days ahead, a 7-day window)."""
        return await make_schedule(db, await make_catalog(db), days_ahead=8)

    async def test_a_gold_member_books_30_minutes_before_the_release(
        self, client: httpx.AsyncClient, login: Login, db: Database, clock: FrozenClock, unreleased: Schedule
    ) -> None:
        clock.set(unreleased.release_at - timedelta(minutes=20))
        gold = await patient(login, db, points=1000)

        answer = await book_new_person(client, gold, unreleased.id)

        assert answer.status_code == 201, answer.text
        assert answer.json()["queue_number"] == 1

    async def test_a_regular_patient_is_told_the_release_and_the_members_window(
        self, client: httpx.AsyncClient, login: Login, db: Database, clock: FrozenClock, unreleased: Schedule
    ) -> None:
        clock.set(unreleased.release_at - timedelta(minutes=20))
        regular = await patient(login, db)

        answer = await book_new_person(client, regular, unreleased.id)

        assert answer.status_code == 409 and answer.json()["code"] == "NOT_RELEASED"
        release = unreleased.release_at.astimezone(HOSPITAL_TZ)
        assert answer.json()["message"] == (
            f"该日号源将于{release:%m月%d日 %H:%M}开放预约（会员提前预约：金卡会员提前30分钟、钻石会员提前1小时）"
        )
        windows = answer.json()["detail"]["early_booking"]
        assert [(w["level_name"], w["minutes"]) for w in windows] == [("金卡会员", 30), ("钻石会员", 60)]

    async def test_before_its_own_window_a_gold_member_is_refused_too(
        self, client: httpx.AsyncClient, login: Login, db: Database, clock: FrozenClock, unreleased: Schedule
    ) -> None:
        clock.set(unreleased.release_at - timedelta(minutes=31))
        gold = await patient(login, db, points=1000)

        answer = await book_new_person(client, gold, unreleased.id)

        assert answer.status_code == 409 and answer.json()["code"] == "NOT_RELEASED"

    async def test_the_schedule_says_when_members_may_book(
        self, client: httpx.AsyncClient, unreleased: Schedule
    ) -> None:
        slots = (await client.get(f"/api/v1/schedules/{unreleased.id}/slots")).json()
        expected = unreleased.release_at - timedelta(minutes=60)
        assert at(slots["schedule"]["member_release_at"]) == expected


class TestMembersShare:
    """Half of 4 online numbers (3 and 4) are kept for members until 24 hours before the session."""

    @pytest.fixture
    async def shared(self, db: Database) -> Schedule:
        catalog = await make_catalog(db, member_share_percent=50, member_share_opens_hours=24)
        return await make_schedule(db, catalog, days_ahead=2, capacity=4)

    async def test_the_last_numbers_are_the_members_share_and_views_say_so(
        self, client: httpx.AsyncClient, shared: Schedule
    ) -> None:
        slots = (await client.get(f"/api/v1/schedules/{shared.id}/slots")).json()

        assert [s["member_only"] for s in slots["items"]] == [False, False, True, True]
        assert (slots["schedule"]["remaining"], slots["schedule"]["member_reserved"]) == (4, 2)
        opens = shared.starts_at - timedelta(hours=24)
        assert at(slots["schedule"]["member_share_opens_at"]) == opens
        listed = (await client.get(f"/api/v1/doctors/{shared.doctor_id}/schedules")).json()["items"]
        assert [(s["remaining"], s["member_reserved"]) for s in listed if s["id"] == shared.id] == [(4, 2)]

    async def test_a_regular_patient_finding_only_the_members_share_is_told_when_it_opens(
        self, client: httpx.AsyncClient, login: Login, db: Database, shared: Schedule
    ) -> None:
        regular = await patient(login, db)
        numbers = [(await book_new_person(client, regular, shared.id)).json()["queue_number"] for _ in range(2)]
        assert numbers == [1, 2]

        refused = await book_new_person(client, await patient(login, db), shared.id)

        assert refused.status_code == 409 and refused.json()["code"] == "MEMBER_SHARE_ONLY"
        opens = (shared.starts_at - timedelta(hours=24)).astimezone(HOSPITAL_TZ)
        assert refused.json()["message"] == f"剩余号源为会员预留，将于{opens:%m月%d日 %H:%M}向所有患者开放"

    async def test_a_regular_patient_cannot_pick_a_members_slot(
        self, client: httpx.AsyncClient, login: Login, db: Database, shared: Schedule
    ) -> None:
        slots = (await client.get(f"/api/v1/schedules/{shared.id}/slots")).json()["items"]

        refused = await book_new_person(client, await patient(login, db), shared.id, slot_id=slots[3]["id"])

        assert refused.status_code == 409 and refused.json()["code"] == "MEMBER_SHARE_ONLY"
        assert refused.json()["message"].startswith("该号源为会员预留，将于")

    async def test_a_member_takes_the_regular_numbers_first_then_the_share(
        self, client: httpx.AsyncClient, login: Login, db: Database, shared: Schedule
    ) -> None:
        gold = await patient(login, db, points=1000)
        numbers = [(await book_new_person(client, gold, shared.id)).json()["queue_number"] for _ in range(3)]
        assert numbers == [1, 2, 3]

    async def test_the_share_opens_to_everyone_24_hours_before(
        self, client: httpx.AsyncClient, login: Login, db: Database, clock: FrozenClock, shared: Schedule
    ) -> None:
        regular = await patient(login, db)
        for _ in range(2):
            await book_new_person(client, regular, shared.id)
        clock.set(shared.starts_at - timedelta(hours=24))

        answer = await book_new_person(client, await patient(login, db), shared.id)

        assert answer.status_code == 201, answer.text
        assert answer.json()["queue_number"] == 3
        slots = (await client.get(f"/api/v1/schedules/{shared.id}/slots")).json()["schedule"]
        assert (slots["remaining"], slots["member_reserved"], slots["member_share_opens_at"]) == (1, 0, None)

    async def test_a_hospital_without_a_share_keeps_none(self, client: httpx.AsyncClient, db: Database) -> None:
        schedule = await make_schedule(db, await make_catalog(db), capacity=4)
        slots = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()
        assert not any(s["member_only"] for s in slots["items"]) and slots["schedule"]["member_reserved"] == 0


class TestDiscount:
    async def test_a_gold_member_owes_95_percent_and_the_payment_block_shows_the_discount(
        self, client: httpx.AsyncClient, login: Login, db: Database
    ) -> None:
        schedule = await make_schedule(db, await make_catalog(db))  # 李明华, 50.00 元, paid on site

        answer = await book_new_person(client, await patient(login, db, points=1000), schedule.id)

        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["fee_fen"] == 4750
        assert body["payment"] == {
            "status": "pay_on_site",
            "status_label": "到院支付",
            "amount_fen": 4750,
            "original_fen": 5000,
            "discount_fen": 250,
            "discount_label": "会员优惠 -¥2.50",
            "paid_at": None,
            "refund": None,
        }

    async def test_a_regular_patient_pays_the_full_fee(
        self, client: httpx.AsyncClient, login: Login, db: Database
    ) -> None:
        schedule = await make_schedule(db, await make_catalog(db))
        body = (await book_new_person(client, await patient(login, db), schedule.id)).json()
        assert (body["fee_fen"], body["payment"]["discount_fen"], body["payment"]["discount_label"]) == (5000, 0, None)

    async def test_pay_reconcile_and_refund_agree_on_the_discounted_fee(
        self, client: httpx.AsyncClient, login: Login, db: Database, app: FastAPI, clock: FrozenClock
    ) -> None:
        paid = await make_catalog(db, name="收费医院", payment_required=True)
        schedule = await make_schedule(db, paid)
        diamond = await patient(login, db, points=3000)  # 九折
        held = (await book_new_person(client, diamond, schedule.id)).json()
        assert (held["status"], held["fee_fen"], held["payment"]["discount_fen"]) == ("pending_payment", 4500, 500)
        params = await pay_for(client, diamond, held["id"])
        assert params["amount_fen"] == 4500

        fake: Any = app.state.fake_wechat.state.wechat  # type: ignore[attr-defined]
        fake.pay(params["package"].removeprefix("prepay_id="))  # paid; the notification is lost
        clock.set(clock.now() + timedelta(minutes=3))
        jobs = Jobs(app)
        assert await jobs.run_periodic("reconcile_payments") == 1  # WeChat's total matched the order

        cancelled = await client.post(f"/api/v1/appointments/{held['id']}/cancel", headers=diamond)
        assert cancelled.status_code == 200, cancelled.text
        await jobs.drain()

        async with db.session() as session:
            payment = await session.scalar(select(Payment))
            refund = await session.scalar(select(Refund))
        assert payment is not None and refund is not None
        assert (payment.amount_fen, refund.amount_fen, refund.status) == (4500, 4500, "succeeded")
        shown = (await client.get(f"/api/v1/appointments/{held['id']}", headers=diamond)).json()["payment"]
        assert (shown["status"], shown["amount_fen"], shown["refund"]["amount_fen"]) == ("refunded", 4500, 4500)

    async def test_paying_online_charges_the_discounted_fee(
        self, client: httpx.AsyncClient, login: Login, db: Database
    ) -> None:
        paid = await make_catalog(db, name="收费医院", payment_required=True)
        schedule = await make_schedule(db, paid)
        gold = await patient(login, db, points=1000)
        held = (await book_new_person(client, gold, schedule.id)).json()

        await user_pays(client, await pay_for(client, gold, held["id"]))

        async with db.session() as session:
            payment = await session.scalar(select(Payment))
        assert payment is not None and payment.amount_fen == 4750 and payment.status == "paid"


class TestLateCancel:
    """The session starts tomorrow 08:00; the hospital's deadline is 2 hours before (06:00)."""

    @pytest.fixture
    async def tomorrow(self, db: Database) -> Schedule:
        return await make_schedule(db, await make_catalog(db, name="收费医院", payment_required=True))

    async def booked(
        self, client: httpx.AsyncClient, login: Login, db: Database, schedule: Schedule, *, points: int
    ) -> tuple[dict[str, str], dict[str, Any]]:
        auth = await patient(login, db, points=points)
        held = (await book_new_person(client, auth, schedule.id)).json()
        await user_pays(client, await pay_for(client, auth, held["id"]))
        return auth, held

    async def test_before_the_deadline_the_rule_tells_a_gold_member_of_late_cancellation(
        self, client: httpx.AsyncClient, login: Login, db: Database, tomorrow: Schedule
    ) -> None:
        auth, held = await self.booked(client, login, db, tomorrow, points=1000)
        shown = (await client.get(f"/api/v1/appointments/{held['id']}", headers=auth)).json()
        assert shown["cancellable"] is True
        assert "您的会员等级享延时退号，截止后至就诊开始" in shown["cancel_rule"]

    async def test_a_gold_member_cancels_after_the_deadline_with_a_full_refund(
        self,
        client: httpx.AsyncClient,
        login: Login,
        db: Database,
        clock: FrozenClock,
        app: FastAPI,
        tomorrow: Schedule,
    ) -> None:
        _, held = await self.booked(client, login, db, tomorrow, points=1000)
        clock.set(tomorrow.starts_at - timedelta(minutes=30))
        auth = await relogin(login, db, held)  # yesterday's token has expired

        shown = (await client.get(f"/api/v1/appointments/{held['id']}", headers=auth)).json()
        assert (shown["cancellable"], shown["refund_on_cancel"]) == (True, True)
        assert shown["cancel_rule"].startswith("已过退号截止时间，您的会员等级享延时退号：就诊开始")
        cancelled = await client.post(f"/api/v1/appointments/{held['id']}/cancel", headers=auth)
        assert cancelled.status_code == 200, cancelled.text
        await Jobs(app).drain()
        async with db.session() as session:
            refund = await session.scalar(select(Refund))
        assert refund is not None and (refund.amount_fen, refund.status) == (4750, "succeeded")

    async def test_once_the_session_starts_nobody_cancels(
        self, client: httpx.AsyncClient, login: Login, db: Database, clock: FrozenClock, tomorrow: Schedule
    ) -> None:
        _, held = await self.booked(client, login, db, tomorrow, points=1000)
        clock.set(tomorrow.starts_at)
        auth = await relogin(login, db, held)
        refused = await client.post(f"/api/v1/appointments/{held['id']}/cancel", headers=auth)
        assert refused.status_code == 409 and refused.json()["code"] == "CANCEL_DEADLINE_PASSED"

    async def test_a_regular_patient_is_refused_after_the_deadline(
        self, client: httpx.AsyncClient, login: Login, db: Database, clock: FrozenClock, tomorrow: Schedule
    ) -> None:
        _, held = await self.booked(client, login, db, tomorrow, points=0)
        clock.set(tomorrow.starts_at - timedelta(minutes=30))
        auth = await relogin(login, db, held)
        refused = await client.post(f"/api/v1/appointments/{held['id']}/cancel", headers=auth)
        assert refused.status_code == 409 and refused.json()["code"] == "CANCEL_DEADLINE_PASSED"


async def relogin(login: Login, db: Database, held: dict[str, Any]) -> dict[str, str]:
    """Logs the appointment's account in again (its openid), once the clock has moved past its token."""
    from yiyue.booking.models import Appointment

    async with db.session() as session:
        openid = await session.scalar(
            select(Account.openid)
            .join(Appointment, Appointment.account_id == Account.id)
            .where(Appointment.id == held["id"])
        )
    assert openid is not None
    return await login(openid)


class TestRebookingKeepsTheDiscount:
    async def test_a_gold_member_rebooked_after_a_suspension_owes_the_discounted_fee(
        self, client: httpx.AsyncClient, login: Login, db: Database, clock: FrozenClock
    ) -> None:
        catalog = await make_catalog(db)
        suspended_session = await make_schedule(db, catalog, days_ahead=1)
        next_session = await make_schedule(db, catalog, days_ahead=3)
        auth = await patient(login, db, points=1000)
        booked = (await book_new_person(client, auth, suspended_session.id)).json()
        assert booked["fee_fen"] == 4750

        await suspend(db, clock, suspended_session)
        taken = await rebook(client, auth, booked["id"], next_session.id)

        assert taken.status_code == 201, taken.text
        new = taken.json()
        assert (new["fee_fen"], new["payment"]["discount_fen"], new["payment"]["original_fen"]) == (4750, 250, 5000)
