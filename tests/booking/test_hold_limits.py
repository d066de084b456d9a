"""Holding limits (占号限制) against scalping, through HTTP: unpaid holds per account, one appointment per
ID number per doctor per day across accounts, the hold-abuse ban for letting holds go again and again
(lifted by the hospital), and a let-go hold's slot re-opening only after a random delay (the waitlist
first)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import NOW, login_via
from tests.factories import Catalog, id_number, make_catalog, make_schedule, make_staff, staff_login
from tests.jobs_support import Jobs
from yiyue.booking import rules
from yiyue.booking.models import BookingBan
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.hospitals.models import Hospital
from yiyue.scheduling.models import Schedule, Slot

APPOINTMENTS = "/api/v1/appointments"


@pytest.fixture
async def paid(db: Database) -> Catalog:
    """A hospital that takes the fee online: every booking is an unpaid hold first (待支付)."""
    return await make_catalog(db, name="收费医院", payment_required=True)


@pytest.fixture
def jobs(app: object) -> Jobs:
    return Jobs(app)  # type: ignore[arg-type]


async def account(client: httpx.AsyncClient, persons: int = 1) -> tuple[dict[str, str], list[int]]:
    """A new patient account with ``persons`` visit persons, each with a made-up checksum-valid ID number."""
    auth = await login_via(client, f"o-{uuid.uuid4().hex[:12]}")
    names = ["赵一", "钱二", "孙三", "李四", "周五", "吴六", "郑七", "王八"]
    ids = [
        await add_patient(
            client, auth, name=names[i], id_number=id_number(), relationship="self" if i == 0 else "other"
        )
        for i in range(persons)
    ]
    return auth, ids


async def cancel(client: httpx.AsyncClient, auth: dict[str, str], appointment_id: int) -> httpx.Response:
    return await client.post(f"{APPOINTMENTS}/{appointment_id}/cancel", json={"reason": "不要了"}, headers=auth)


async def set_hospital(db: Database, catalog: Catalog, **values: Any) -> None:
    async with db.session() as session:
        await session.execute(update(Hospital).where(Hospital.id == catalog.hospital.id).values(**values))


async def slots(db: Database, schedule_id: int) -> list[Slot]:
    async with db.session() as session:
        return list(await session.scalars(select(Slot).where(Slot.schedule_id == schedule_id).order_by(Slot.number)))


async def bans(db: Database) -> list[BookingBan]:
    async with db.session() as session:
        return list(await session.scalars(select(BookingBan).order_by(BookingBan.id)))


async def held(client: httpx.AsyncClient, auth: dict[str, str], schedule: Schedule, patient: int) -> dict[str, Any]:
    answer = await book(client, auth, schedule.id, patient)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] == "pending_payment"
    return body


class TestScalping:
    async def test_three_accounts_with_eight_made_up_ids_hold_one_slot_each(self, client, db, paid):
        """The attack of the issue: 3 new accounts, 8 made-up but valid ID numbers, all 8 pay-first slots.
        Before: 8 holds and the genuine patient got SOLD_OUT. Now each account holds one."""
        schedule = await make_schedule(db, paid, capacity=8)
        scalpers = [await account(client, persons=n) for n in (3, 3, 2)]

        answers = [await book(client, auth, schedule.id, p) for auth, persons in scalpers for p in persons]

        statuses = [a.status_code for a in answers]
        assert statuses.count(201) == 3 and statuses.count(409) == 5
        refused = [a.json() for a in answers if a.status_code == 409]
        assert {r["code"] for r in refused} == {"TOO_MANY_UNPAID_HOLDS"}
        assert refused[0]["message"] == "您在本院有一笔尚未支付的预约，请先完成支付或取消该预约后再预约"
        first_hold = answers[0].json()["id"]
        assert refused[0]["detail"] == {"pending_appointment_ids": [first_hold], "limit": 1}
        genuine_auth, [genuine] = await account(client)
        booked = await book(client, genuine_auth, schedule.id, genuine)
        assert booked.status_code == 201 and booked.json()["status"] == "pending_payment"
        assert sum(s.status == "available" for s in await slots(db, schedule.id)) == 4

    async def test_the_hold_limit_counts_per_account_across_the_hospitals_sessions(self, client, db, paid):
        morning = await make_schedule(db, paid, capacity=3)
        other = await make_schedule(db, paid, capacity=3, doctor=paid.other_doctor)
        auth, [patient] = await account(client)
        await held(client, auth, morning, patient)

        answer = await book(client, auth, other.id, patient)

        assert answer.status_code == 409 and answer.json()["code"] == "TOO_MANY_UNPAID_HOLDS"

    async def test_paying_or_letting_go_makes_room(self, client, db, paid, clock: FrozenClock):
        schedule = await make_schedule(db, paid, capacity=5)
        auth, [me, child] = await account(client, persons=2)
        first = await held(client, auth, schedule, me)
        assert (await cancel(client, auth, first["id"])).status_code == 200

        again = await book(client, auth, schedule.id, child)

        assert again.status_code == 201
        # A hold past its deadline that the expiry job has not reached yet no longer counts.
        clock.advance(timedelta(minutes=16))
        assert (await book(client, auth, schedule.id, me)).status_code == 201

    async def test_the_hospital_may_allow_more_holds(self, client, db, paid):
        await set_hospital(db, paid, max_unpaid_holds=2)
        schedule = await make_schedule(db, paid, capacity=5)
        auth, persons = await account(client, persons=3)

        answers = [await book(client, auth, schedule.id, p) for p in persons]

        assert [a.status_code for a in answers] == [201, 201, 409]
        assert answers[2].json()["message"] == "您在本院尚未支付的预约已达2笔，请先完成支付或取消后再预约"

    async def test_pay_on_site_bookings_are_not_holds(self, client, db):
        free_hospital = await make_catalog(db, name="到院缴费医院")
        schedule = await make_schedule(db, free_hospital, capacity=5)
        auth, persons = await account(client, persons=3)

        answers = [await book(client, auth, schedule.id, p) for p in persons]

        assert [a.status_code for a in answers] == [201, 201, 201]


class TestOnePersonOneDoctorOneDay:
    async def test_an_id_number_holds_once_whichever_account_books(self, client, db, paid):
        schedule = await make_schedule(db, paid, capacity=5)
        number = id_number()
        first = await login_via(client, f"o-{uuid.uuid4().hex[:12]}")
        second = await login_via(client, f"o-{uuid.uuid4().hex[:12]}")
        mine = await add_patient(client, first, name="陈母", id_number=number)
        theirs = await add_patient(client, second, name="陈母", id_number=number, relationship="parent")
        await held(client, first, schedule, mine)

        answer = await book(client, second, schedule.id, theirs)

        assert answer.status_code == 409 and answer.json()["code"] == "DUPLICATE_BOOKING"


class TestHoldAbuse:
    async def test_three_holds_let_go_ban_the_account_until_lifted(self, client, db, paid, clock: FrozenClock):
        """The hold-cancel loop: hold, cancel, hold again. The third cancellation in 30 days bans."""
        schedule = await make_schedule(db, paid, capacity=5)
        auth, [patient] = await account(client)
        for _ in range(3):
            hold = await held(client, auth, schedule, patient)
            assert (await cancel(client, auth, hold["id"])).status_code == 200
            clock.advance(timedelta(minutes=1))

        fourth = await book(client, auth, schedule.id, patient)

        assert fourth.status_code == 403 and fourth.json()["code"] == "BOOKING_BANNED"
        until = NOW + timedelta(minutes=2) + timedelta(days=7)
        assert fourth.json()["message"] == (
            f"因多次取消或超时未支付占用号源（30天内3次取消或超时未支付），{until:%Y年%m月%d日}前暂停预约"
        )
        assert fourth.json()["detail"]["kind"] == "hold_abuse"
        [ban] = await bans(db)
        assert (ban.kind, ban.reason) == ("hold_abuse", "30天内3次取消或超时未支付")

        await make_staff(db, catalog=paid, username="admin.paid")
        staff = await staff_login(client, "admin.paid")
        listed = await client.get("/api/v1/staff/bans", headers=staff)
        assert listed.status_code == 200, listed.text
        [line] = listed.json()["items"]
        assert (line["kind"], line["kind_label"], line["holds_let_go_here"]) == ("hold_abuse", "反复占号", 3)
        lifted = await client.post(
            f"/api/v1/staff/bans/{ban.id}/lift", json={"reason": "患者说明情况，核实后解除"}, headers=staff
        )
        assert lifted.status_code == 200, lifted.text
        assert (await book(client, auth, schedule.id, patient)).status_code == 201

    async def test_holds_left_to_expire_count_too(self, client, db, paid, clock: FrozenClock, jobs: Jobs):
        schedule = await make_schedule(db, paid, capacity=5)
        auth, [patient] = await account(client)
        for _ in range(3):
            await held(client, auth, schedule, patient)
            clock.advance(timedelta(minutes=16))
            await jobs.drain()  # the hold's end: 未支付过期

        answer = await book(client, auth, schedule.id, patient)

        assert answer.status_code == 403 and answer.json()["detail"]["kind"] == "hold_abuse"
        [ban] = await bans(db)
        assert ban.reason == "30天内3次取消或超时未支付"

    async def test_lets_go_older_than_the_window_do_not_count(self, client, db, paid, clock: FrozenClock):
        await set_hospital(db, paid, hold_abuse_window_days=7, hold_abuse_threshold=2)
        early = await make_schedule(db, paid, capacity=5, days_ahead=1)
        later = await make_schedule(db, paid, capacity=5, days_ahead=8)
        openid = f"o-{uuid.uuid4().hex[:12]}"
        auth = await login_via(client, openid)
        patient = await add_patient(client, auth, name="赵一", id_number=id_number())
        await cancel(client, auth, (await held(client, auth, early, patient))["id"])
        clock.advance(timedelta(days=7, hours=1))
        auth = await login_via(client, openid)  # (a week later: logged in again)

        await cancel(client, auth, (await held(client, auth, later, patient))["id"])

        assert await bans(db) == []
        await cancel(client, auth, (await held(client, auth, later, patient))["id"])
        [ban] = await bans(db)
        assert ban.reason == "7天内2次取消或超时未支付"

    async def test_the_no_show_wording_stays_for_no_show_bans(self, client, db, paid):
        schedule = await make_schedule(db, paid, capacity=5)
        auth, [patient] = await account(client)
        await held(client, auth, schedule, patient)
        account_id = await _account_of(db, patient)
        async with db.session() as session:
            session.add(
                BookingBan(
                    account_id=account_id, starts_at=NOW, ends_at=NOW + timedelta(days=90), reason="90天内爽约3次"
                )
            )
            await session.commit()

        answer = await book(client, auth, schedule.id, patient)

        assert answer.status_code == 403 and answer.json()["message"].startswith("因多次爽约（90天内爽约3次）")
        assert answer.json()["detail"]["kind"] == "no_show"


async def _account_of(db: Database, visit_person_id: int) -> int:
    from yiyue.accounts.models import VisitPerson

    async with db.session() as session:
        return (await session.get_one(VisitPerson, visit_person_id)).account_id


class TestFreedSlotReopensLater:
    async def test_a_let_go_holds_slot_is_not_claimable_before_its_delay(self, client, db, paid, clock, jobs):
        schedule = await make_schedule(db, paid, capacity=1)
        scalper, [mine] = await account(client)
        hold = await held(client, scalper, schedule, mine)
        rival, [theirs] = await account(client)

        assert (await cancel(client, scalper, hold["id"])).status_code == 200
        [slot] = await slots(db, schedule.id)
        assert slot.status == "available" and slot.reopens_at is not None
        delay = slot.reopens_at - clock.now()
        low, high = rules.FREED_SLOT_DELAY_SECONDS
        assert timedelta(seconds=low) <= delay <= timedelta(seconds=high)

        at_once = await book(client, rival, schedule.id, theirs)
        chosen = await book(client, rival, schedule.id, theirs, slot_id=slot.id)
        listed = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()
        assert at_once.status_code == 409 and at_once.json()["code"] == "SOLD_OUT"
        assert chosen.status_code == 409 and chosen.json()["code"] in {"SLOT_TAKEN", "SOLD_OUT"}
        assert listed["schedule"]["remaining"] == 0
        assert listed["items"][0]["reopening"] is True and listed["items"][0]["reopening_note"] == "号源将随机回流"

        clock.set(slot.reopens_at)
        await jobs.drain()  # SlotReopens: nobody waits, the gate reopens the schedule
        after = await book(client, rival, schedule.id, theirs)
        assert after.status_code == 201, after.text

    async def test_the_waitlist_still_gets_it_first(self, client, db, paid, clock):
        schedule = await make_schedule(db, paid, capacity=1)
        holder, [mine] = await account(client)
        hold = await held(client, holder, schedule, mine)
        waiter, [theirs] = await account(client)
        joined = await client.post(
            "/api/v1/waitlist", json={"schedule_id": schedule.id, "patient_id": theirs}, headers=waiter
        )
        assert joined.status_code == 201, joined.text

        await cancel(client, holder, hold["id"])

        entry = (await client.get(f"/api/v1/waitlist/{joined.json()['id']}", headers=waiter)).json()
        assert entry["status"] == "offered"
        [slot] = await slots(db, schedule.id)
        assert slot.status == "held" and slot.reopens_at is None

    async def test_someone_joining_during_the_delay_gets_it_when_it_reopens(self, client, db, paid, clock, jobs):
        schedule = await make_schedule(db, paid, capacity=1)
        holder, [mine] = await account(client)
        hold = await held(client, holder, schedule, mine)
        await cancel(client, holder, hold["id"])
        waiter, [theirs] = await account(client)

        joined = await client.post(
            "/api/v1/waitlist", json={"schedule_id": schedule.id, "patient_id": theirs}, headers=waiter
        )

        assert joined.status_code == 201, joined.text  # the delayed slot is not free: the line is open
        [slot] = await slots(db, schedule.id)
        assert slot.reopens_at is not None
        clock.set(slot.reopens_at)
        await jobs.drain()
        entry = (await client.get(f"/api/v1/waitlist/{joined.json()['id']}", headers=waiter)).json()
        assert entry["status"] == "offered"

    async def test_a_paid_bookings_cancellation_frees_the_slot_at_once(self, client, db):
        free_hospital = await make_catalog(db, name="到院缴费医院")
        schedule = await make_schedule(db, free_hospital, capacity=1)
        auth, [patient] = await account(client)
        booked = await book(client, auth, schedule.id, patient)
        await cancel(client, auth, booked.json()["id"])
        other, [theirs] = await account(client)

        assert (await book(client, other, schedule.id, theirs)).status_code == 201
        assert await bans(db) == []


HOSPITAL_BODY: dict[str, Any] = {
    "name": "北京市朝阳区和平医院",
    "level": "二级甲等",
    "city": "北京",
    "district": "朝阳区",
    "address": "北京市朝阳区和平街5号",
    "phone": "010-64281234",
    "payment_required": True,
}


class TestHospitalSettings:
    async def test_the_staff_api_reads_and_writes_the_six_settings(self, client, db, paid):
        auth = await staff_login(client, (await make_staff(db, role="platform_admin")).username)
        body = HOSPITAL_BODY | {
            "release_mode": "window",
            "release_window_seconds": 60,
            "max_unpaid_holds": 2,
            "hold_abuse_threshold": 4,
            "hold_abuse_window_days": 14,
            "hold_abuse_ban_days": 10,
        }

        answer = await client.put(f"/api/v1/staff/hospitals/{paid.hospital.id}", json=body, headers=auth)

        assert answer.status_code == 200, answer.text
        got = answer.json()
        assert [got[k] for k in ("release_mode", "release_window_seconds", "max_unpaid_holds")] == ["window", 60, 2]
        assert [got[k] for k in ("hold_abuse_threshold", "hold_abuse_window_days", "hold_abuse_ban_days")] == [
            4,
            14,
            10,
        ]
        read = (await client.get(f"/api/v1/staff/hospitals/{paid.hospital.id}", headers=auth)).json()
        assert read["max_unpaid_holds"] == 2 and read["release_mode"] == "window"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("release_mode", "lottery"),
            ("release_window_seconds", 5),
            ("release_window_seconds", 601),
            ("max_unpaid_holds", 0),
            ("max_unpaid_holds", 6),
            ("hold_abuse_threshold", 1),
            ("hold_abuse_threshold", 21),
            ("hold_abuse_window_days", 0),
            ("hold_abuse_window_days", 91),
            ("hold_abuse_ban_days", 0),
            ("hold_abuse_ban_days", 91),
        ],
    )
    async def test_the_staff_api_refuses_values_out_of_bounds(self, client, db, paid, field, value):
        auth = await staff_login(client, (await make_staff(db, role="platform_admin")).username)

        answer = await client.put(
            f"/api/v1/staff/hospitals/{paid.hospital.id}", json=HOSPITAL_BODY | {field: value}, headers=auth
        )

        assert answer.status_code == 422, answer.text
        assert field in str(answer.json()["detail"])


class TestWaitlistConfirmation:
    async def test_confirming_an_offer_is_a_hold_like_any_other(self, client, db, paid):
        morning = await make_schedule(db, paid, capacity=3)
        full = await make_schedule(db, paid, capacity=1, doctor=paid.other_doctor)
        holder, [theirs] = await account(client)
        first = await held(client, holder, full, theirs)
        auth, [me, child] = await account(client, persons=2)
        joined = await client.post("/api/v1/waitlist", json={"schedule_id": full.id, "patient_id": me}, headers=auth)
        assert joined.status_code == 201, joined.text
        await held(client, auth, morning, child)  # this account's one unpaid hold
        await cancel(client, holder, first["id"])  # the slot is offered to the head of the line: me

        answer = await client.post(f"/api/v1/waitlist/{joined.json()['id']}/confirm", headers=auth)

        assert answer.status_code == 409 and answer.json()["code"] == "TOO_MANY_UNPAID_HOLDS"
