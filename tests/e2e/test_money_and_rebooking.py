"""What the patient is told of their money and their rights, through HTTP and the fake WeChat Pay: paid then
cancelled shows 已退款 with the amount; a same-day booking warns before paying; the limits count the
person, not the account; 停诊 offers held slots, one tap rebooks, the rest go back."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from tests.admin.conftest import console_login
from tests.booking.test_booking_api import add_patient, book, remaining
from tests.conftest import Login
from tests.e2e.test_paid_booking import appointment, pay_for, user_pays
from tests.factories import Catalog, id_number, make_catalog, make_schedule, make_staff, staff_login
from tests.jobs_support import Jobs
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.frontdesk.service import suspend_schedule
from yiyue.scheduling.models import Period, Schedule


@pytest.fixture
def jobs(app: object) -> Jobs:
    return Jobs(app)  # type: ignore[arg-type]


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def paid_catalog(db: Database) -> Catalog:
    return await make_catalog(db, name="收费医院", payment_required=True)


async def suspend(db: Database, clock: FrozenClock, schedule: Schedule, reason: str = "医生临时停诊") -> list[int]:
    async with db.session() as session:
        return await suspend_schedule(session, schedule_id=schedule.id, reason=reason, now=clock.now())


async def rebook(
    client: httpx.AsyncClient, auth: dict[str, str], appointment_id: int, schedule_id: int
) -> httpx.Response:
    return await client.post(
        f"/api/v1/appointments/{appointment_id}/rebook", json={"schedule_id": schedule_id}, headers=auth
    )


class TestMoney:
    async def test_paid_then_cancelled_shows_refunded_with_the_amount(
        self, client: httpx.AsyncClient, db: Database, login: Login, paid_catalog: Catalog, jobs: Jobs
    ) -> None:
        schedule = await make_schedule(db, paid_catalog, capacity=2)
        auth = await login("o-refund")
        held = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()
        assert held["payment"] == {
            "status": "unpaid",
            "status_label": "待支付",
            "amount_fen": 5000,
            "original_fen": 5000,
            "discount_fen": 0,
            "discount_label": None,
            "paid_at": None,
            "refund": None,
        }
        assert held["refund_on_cancel"] is False and "尚未支付" in held["cancel_rule"]

        await user_pays(client, await pay_for(client, auth, held["id"]))
        paid = await appointment(client, auth, held["id"])
        assert paid["payment"]["status"] == "paid" and paid["payment"]["paid_at"] is not None
        # kept after paying
        assert datetime.fromisoformat(paid["pay_deadline"]) == datetime.fromisoformat(held["pay_deadline"])
        assert paid["refund_on_cancel"] is True and paid["cancel_rule"].endswith("已支付的挂号费原路全额退回")

        answer = (await client.post(f"/api/v1/appointments/{held['id']}/cancel", headers=auth)).json()
        # 退款中 from the cancellation's own answer, before the refund job has asked WeChat Pay.
        assert answer["payment"]["status"] == "refunding" and answer["payment"]["refund"]["amount_fen"] == 5000
        await jobs.drain()

        cancelled = await appointment(client, auth, held["id"])
        assert cancelled["status"] == "cancelled" and cancelled["status_reason"] == "患者取消"
        assert cancelled["payment"]["status"] == "refunded" and cancelled["payment"]["status_label"] == "已退款"
        refund = cancelled["payment"]["refund"]
        assert refund["status"] == "succeeded" and refund["amount_fen"] == 5000 and refund["refunded_at"]
        listed = (await client.get("/api/v1/me/appointments", headers=auth)).json()["items"]
        assert listed[0]["payment"]["status"] == "refunded"

    async def test_a_pay_on_site_hospital_says_so(
        self, client: httpx.AsyncClient, db: Database, login: Login, catalog: Catalog
    ) -> None:
        schedule = await make_schedule(db, catalog)
        auth = await login()
        booked = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()

        assert booked["payment"]["status"] == "pay_on_site" and booked["payment"]["status_label"] == "到院支付"
        assert booked["refund_on_cancel"] is False and booked["pay_deadline"] is None

    async def test_a_same_day_booking_warns_before_paying_and_is_then_not_cancellable(
        self, client: httpx.AsyncClient, db: Database, login: Login, jobs: Jobs
    ) -> None:
        # 09:00 now; the afternoon session starts 13:30 and refunds close 10 hours before it.
        late = await make_catalog(db, name="当日医院", payment_required=True, cancel_minutes_before=600)
        schedule = await make_schedule(db, late, days_ahead=0, period=Period.AFTERNOON)
        listed = (await client.get(f"/api/v1/doctors/{late.doctor.id}/schedules")).json()["items"]
        assert [s["booking_notice"] for s in listed] == ["就诊当日预约，支付后不可取消退款"]

        auth = await login("o-same-day")
        held = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()
        assert held["payment_notice"] == "就诊当日预约，支付后不可取消退款"
        assert held["cancellable"] is True  # the unpaid hold can still be let go

        await user_pays(client, await pay_for(client, auth, held["id"]))
        paid = await appointment(client, auth, held["id"])
        assert (paid["cancellable"], paid["refund_on_cancel"]) == (False, False)
        assert paid["cancel_rule"].startswith("已过退号截止时间") and paid["payment_notice"] is None
        refused = await client.post(f"/api/v1/appointments/{held['id']}/cancel", headers=auth)
        assert refused.status_code == 409 and refused.json()["code"] == "CANCEL_DEADLINE_PASSED"

    async def test_paying_an_expired_hold_says_it_expired(
        self, client: httpx.AsyncClient, db: Database, login: Login, paid_catalog: Catalog, jobs: Jobs, clock
    ) -> None:
        schedule = await make_schedule(db, paid_catalog)
        auth = await login("o-late")
        held = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()
        clock.set(clock.now() + timedelta(minutes=15))
        await jobs.drain()

        late = await client.post(f"/api/v1/appointments/{held['id']}/pay", headers=auth)

        assert late.status_code == 409 and late.json()["code"] == "HOLD_EXPIRED"
        assert "超过支付时限" in late.json()["message"]
        expired = await appointment(client, auth, held["id"])
        assert expired["status_reason"] == "超时未支付" and expired["payment"]["status_label"] == "未支付"


class TestTheLimitsCountThePerson:
    async def test_two_accounts_may_add_the_same_mother_but_she_sees_a_doctor_once_a_day(
        self, client: httpx.AsyncClient, db: Database, login: Login, catalog: Catalog
    ) -> None:
        schedule = await make_schedule(db, catalog)
        mother = {"name": "王秀英", "id_number": id_number(serial=321), "relationship": "parent"}
        son, daughter = await login("o-son"), await login("o-daughter")
        by_son, by_daughter = await add_patient(client, son, **mother), await add_patient(client, daughter, **mother)

        assert (await book(client, son, schedule.id, by_son)).status_code == 201
        twice = await book(client, daughter, schedule.id, by_daughter)

        assert twice.status_code == 409 and twice.json()["code"] == "DUPLICATE_BOOKING"

    async def test_the_active_limit_is_per_person_across_accounts(
        self, client: httpx.AsyncClient, db: Database, login: Login
    ) -> None:
        small = await make_catalog(db, name="限额医院", max_active_appointments=1)
        first, second = await make_schedule(db, small, days_ahead=1), await make_schedule(db, small, days_ahead=2)
        auth, other = await login("o-family"), await login("o-scalper")
        grandma = await add_patient(client, auth, name="李桂兰", id_number=id_number(serial=555), relationship="parent")
        grandpa = await add_patient(client, auth, name="张建国", id_number=id_number(serial=556), relationship="parent")
        grandma_again = await add_patient(client, other, name="李桂兰", id_number=id_number(serial=555))

        assert (await book(client, auth, first.id, grandma)).status_code == 201
        assert (await book(client, auth, first.id, grandpa)).status_code == 201  # another person, same account
        refused = await book(client, other, second.id, grandma_again)  # the same person, another account

        assert refused.status_code == 409 and refused.json()["code"] == "BOOKING_LIMIT"
        assert "该就诊人" in refused.json()["message"]


class TestSuspensionRebooking:
    async def test_a_suspended_session_shows_0_remaining_and_the_reason(
        self, client: httpx.AsyncClient, db: Database, login: Login, catalog: Catalog, clock: FrozenClock
    ) -> None:
        schedule = await make_schedule(db, catalog, capacity=10)
        auth = await login()
        booked = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()

        await suspend(db, clock, schedule, reason="医生外出会诊")

        day = (schedule.visit_date).isoformat()
        doctors = (await client.get(f"/api/v1/departments/{catalog.clinic.id}/doctors?date={day}")).json()["items"]
        listed = next(s for d in doctors for s in d["schedules"] if s["id"] == schedule.id)
        assert (listed["status"], listed["status_label"], listed["remaining"]) == ("suspended", "停诊", 0)
        assert next(d for d in doctors if d["id"] == catalog.doctor.id)["remaining"] == 0
        suspended = await appointment(client, auth, booked["id"])
        assert suspended["status"] == "suspended" and suspended["status_reason"] == "医生外出会诊"

    async def test_the_offer_holds_a_slot_with_the_same_doctor_and_one_with_another_and_one_tap_takes_it(
        self, client: httpx.AsyncClient, db: Database, login: Login, catalog: Catalog, clock: FrozenClock, jobs: Jobs
    ) -> None:
        suspended_session = await make_schedule(db, catalog, days_ahead=1)
        next_session = await make_schedule(db, catalog, days_ahead=3)
        colleague = await make_schedule(db, catalog, days_ahead=1, doctor=catalog.other_doctor)
        auth = await login("o-rebook")
        booked = (await book(client, auth, suspended_session.id, await add_patient(client, auth))).json()

        await suspend(db, clock, suspended_session)

        offer = (await appointment(client, auth, booked["id"]))["rebook"]
        assert [(o["schedule_id"], o["same_doctor"]) for o in offer["options"]] == [
            (next_session.id, True),
            (colleague.id, False),
        ]
        assert offer["options"][1]["doctor"]["name"] == catalog.other_doctor.name
        assert offer["accepted_appointment_id"] is None
        assert await remaining(client, next_session.id) == 9 and await remaining(client, colleague.id) == 9

        taken = await rebook(client, auth, booked["id"], colleague.id)

        assert taken.status_code == 201, taken.text
        new = taken.json()
        assert new["status"] == "booked" and new["schedule_id"] == colleague.id
        assert new["doctor"]["id"] == catalog.other_doctor.id
        assert await remaining(client, colleague.id) == 9  # the held slot became the booking
        assert await remaining(client, next_session.id) == 10  # the other held slot went back
        again = await rebook(client, auth, booked["id"], next_session.id)
        assert again.status_code == 409 and again.json()["code"] == "REBOOK_ALREADY_ACCEPTED"
        assert (await appointment(client, auth, booked["id"]))["rebook"]["accepted_appointment_id"] == new["id"]

    async def test_the_earliest_bookers_get_the_slots_there_are_and_the_others_only_their_refund(
        self, client: httpx.AsyncClient, db: Database, login: Login, catalog: Catalog, clock: FrozenClock
    ) -> None:
        suspended_session = await make_schedule(db, catalog, days_ahead=1)
        next_session = await make_schedule(db, catalog, days_ahead=2, capacity=1)
        colleague = await make_schedule(db, catalog, days_ahead=1, doctor=catalog.other_doctor, capacity=1)
        first, second = await login("o-early"), await login("o-late-booker")
        early = (await book(client, first, suspended_session.id, await add_patient(client, first))).json()
        late = (await book(client, second, suspended_session.id, await add_patient(client, second))).json()

        await suspend(db, clock, suspended_session)

        offered = (await appointment(client, first, early["id"]))["rebook"]
        assert {o["schedule_id"] for o in offered["options"]} == {next_session.id, colleague.id}
        assert (await appointment(client, second, late["id"]))["rebook"] is None
        assert await remaining(client, next_session.id) == 0 and await remaining(client, colleague.id) == 0

    async def test_an_offer_not_taken_gives_its_slots_back_when_it_ends(
        self, client: httpx.AsyncClient, db: Database, login: Login, catalog: Catalog, clock: FrozenClock, jobs: Jobs
    ) -> None:
        suspended_session = await make_schedule(db, catalog, days_ahead=1)
        next_session = await make_schedule(db, catalog, days_ahead=2)
        auth = await login("o-undecided")
        booked = (await book(client, auth, suspended_session.id, await add_patient(client, auth))).json()
        await suspend(db, clock, suspended_session)
        await jobs.drain()
        assert await remaining(client, next_session.id) == 9

        clock.set(clock.now() + timedelta(hours=2))
        await jobs.drain()

        assert await remaining(client, next_session.id) == 10
        auth = await login("o-undecided")  # the access token ran out meanwhile
        late = await rebook(client, auth, booked["id"], next_session.id)
        assert late.status_code == 409 and late.json()["code"] == "REBOOK_OFFER_EXPIRED"

    async def test_only_the_offered_sessions_can_be_taken_and_only_by_the_patient(
        self, client: httpx.AsyncClient, db: Database, login: Login, catalog: Catalog, clock: FrozenClock
    ) -> None:
        suspended_session = await make_schedule(db, catalog, days_ahead=1)
        await make_schedule(db, catalog, days_ahead=2)
        elsewhere = await make_schedule(db, catalog, days_ahead=4, doctor=catalog.other_doctor)
        auth, stranger = await login("o-owner"), await login("o-stranger")
        booked = (await book(client, auth, suspended_session.id, await add_patient(client, auth))).json()
        await suspend(db, clock, suspended_session)

        not_offered = await rebook(client, auth, booked["id"], elsewhere.id)
        foreign = await rebook(client, stranger, booked["id"], elsewhere.id)

        assert not_offered.status_code == 404 and not_offered.json()["code"] == "REBOOK_OPTION_NOT_FOUND"
        assert foreign.status_code == 404 and foreign.json()["code"] == "APPOINTMENT_NOT_FOUND"

    async def test_at_a_pay_first_hospital_the_rebooking_is_paid_again_after_the_refund(
        self, client: httpx.AsyncClient, db: Database, login: Login, paid_catalog: Catalog, clock, jobs: Jobs
    ) -> None:
        suspended_session = await make_schedule(db, paid_catalog, days_ahead=1)
        next_session = await make_schedule(db, paid_catalog, days_ahead=2)
        auth = await login("o-paid-rebook")
        held = (await book(client, auth, suspended_session.id, await add_patient(client, auth))).json()
        await user_pays(client, await pay_for(client, auth, held["id"]))

        await suspend(db, clock, suspended_session)
        assert (await appointment(client, auth, held["id"]))["payment"]["status"] == "refunding"
        await jobs.drain()

        suspended = await appointment(client, auth, held["id"])
        assert suspended["payment"]["status"] == "refunded"
        taken = await rebook(client, auth, held["id"], next_session.id)
        assert taken.status_code == 201 and taken.json()["status"] == "pending_payment"
        assert taken.json()["payment"]["status"] == "unpaid"


async def test_the_front_desk_sees_what_was_paid_and_paid_back(
    client: httpx.AsyncClient, db: Database, login: Login, paid_catalog: Catalog, jobs: Jobs
) -> None:
    schedule = await make_schedule(db, paid_catalog)
    auth = await login("o-desk-money")
    held = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()
    await user_pays(client, await pay_for(client, auth, held["id"]))
    await client.post(f"/api/v1/appointments/{held['id']}/cancel", headers=auth, json={"reason": "行程有变"})
    await jobs.drain()
    await make_staff(db, role="front_desk", catalog=paid_catalog, username="desk.money")
    desk = await console_login(client, "desk.money")

    page = await desk.get(f"/admin/frontdesk/appointments/{held['id']}")
    staff_api = await client.get(
        f"/api/v1/staff/appointments?date={held['visit_date']}", headers=await staff_login(client, "desk.money")
    )

    assert page.status_code == 200
    assert "微信支付 ¥50.00" in page.text and "已退款 ¥50.00" in page.text and "原路退回" in page.text
    assert "取消原因" in page.text and "行程有变" in page.text
    [listed] = staff_api.json()["items"]
    assert listed["payment"]["status"] == "refunded" and listed["status_reason"] == "行程有变"
