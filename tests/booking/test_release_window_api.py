"""抽签放号 through HTTP: entering a session's release window (one entry per ID number, whichever account),
booking refused while the window is open and until the draw, the draw at the close (job and sweep), the
results (排队中 / 已中签 / 未中签) and their messages, the public record re-run, leftovers booked as usual."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.booking.test_booking_api import add_patient, book
from tests.booking.test_waitlist_api import Patient, make_member, member_level, new_patient, set_hospital
from tests.conftest import NOW
from tests.factories import Catalog, id_number, make_catalog, make_schedule
from tests.jobs_support import Jobs
from yiyue.accounts.models import Account, VisitPerson
from yiyue.booking import draw
from yiyue.booking.models import Appointment, BookingBan, ReleaseDraw
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.notifications.models import Delivery, Notification, NotificationKind
from yiyue.notifications.templates import ReleaseFacts, render_release
from yiyue.scheduling.models import Schedule
from yiyue.wechat.fake import DEFAULT_TEMPLATES, VALUE_RULES, FakeWeChatState, key_kind

ENTRIES = "/api/v1/release-entries"
WINDOW = timedelta(seconds=30)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db, release_mode="window", release_window_seconds=30)


@pytest.fixture
def jobs(app: object) -> Jobs:
    return Jobs(app)  # type: ignore[arg-type]


async def window_schedule(db: Database, catalog: Catalog, clock: FrozenClock, *, capacity: int = 2) -> Schedule:
    """A session released today at 08:00 (7 days ahead), with the clock 5 s into its window."""
    schedule = await make_schedule(db, catalog, days_ahead=7, capacity=capacity)
    clock.set(schedule.release_at + timedelta(seconds=5))
    return schedule


async def enter(client: httpx.AsyncClient, patient: Patient, schedule_id: int) -> httpx.Response:
    return await client.post(
        ENTRIES, json={"schedule_id": schedule_id, "patient_id": patient.patient_id}, headers=patient.auth
    )


async def entered(client: httpx.AsyncClient, patient: Patient, schedule_id: int) -> dict[str, Any]:
    answer = await enter(client, patient, schedule_id)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def entry(client: httpx.AsyncClient, patient: Patient, entry_id: int) -> dict[str, Any]:
    answer = await client.get(f"{ENTRIES}/{entry_id}", headers=patient.auth)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def close_and_draw(clock: FrozenClock, schedule: Schedule, jobs: Jobs) -> list[str]:
    clock.set(schedule.release_at + WINDOW)
    return await jobs.drain()


async def patients(client: httpx.AsyncClient, n: int) -> list[Patient]:
    return [await new_patient(client, name=f"抽签患者{'甲乙丙丁戊己庚辛壬癸'[i]}") for i in range(n)]


class TestEnter:
    async def test_an_entry_is_queued_and_the_same_person_again_answers_it(self, client, db, catalog, clock):
        schedule = await window_schedule(db, catalog, clock)
        patient = await new_patient(client, name="张甲")

        first = await entered(client, patient, schedule.id)
        again = await enter(client, patient, schedule.id)

        assert (first["status"], first["status_label"], first["weight"], first["appointment_id"]) == (
            "queued",
            "排队中",
            1,
            None,
        )
        closes = datetime.fromisoformat(first["schedule"]["window_closes_at"])
        assert closes == schedule.release_at + WINDOW
        assert first["patient"] == {"id": patient.patient_id, "name": "张甲"}
        assert again.status_code == 200 and again.json()["id"] == first["id"]

    async def test_one_entry_per_id_number_whichever_account_enters_it(self, client, db, catalog, clock):
        schedule = await window_schedule(db, catalog, clock)
        number = id_number(serial=321)
        mother = await new_patient(client, name="王小明", id_number=number)
        father = await new_patient(client, name="王小明", id_number=number)

        first = await entered(client, mother, schedule.id)
        second = await enter(client, father, schedule.id)

        assert second.status_code == 200 and second.json()["id"] == first["id"]
        seen = await client.get(f"{ENTRIES}/{first['id']}", headers=father.auth)
        assert seen.status_code == 200 and seen.json()["id"] == first["id"]  # the family sees the one entry

    async def test_is_refused_before_the_window_after_it_and_for_a_first_come_session(self, client, db, catalog, clock):
        schedule = await window_schedule(db, catalog, clock)
        patient = await new_patient(client)

        clock.set(schedule.release_at - timedelta(seconds=1))
        early = await enter(client, patient, schedule.id)
        clock.set(schedule.release_at + WINDOW)
        late = await enter(client, patient, schedule.id)
        async with db.session() as session:
            await session.execute(update(Schedule).where(Schedule.id == schedule.id).values(release_mode="fcfs"))
        clock.set(schedule.release_at + timedelta(seconds=5))
        fcfs = await enter(client, patient, schedule.id)

        assert (early.status_code, early.json()["code"]) == (409, "RELEASE_NOT_OPEN")
        assert "抽签放号" in early.json()["message"]
        assert (late.status_code, late.json()["code"]) == (409, "RELEASE_WINDOW_CLOSED")
        assert (fcfs.status_code, fcfs.json()["code"]) == (409, "NOT_RELEASE_WINDOW")

    async def test_a_banned_account_and_another_accounts_person_are_refused(self, client, db, catalog, clock):
        schedule = await window_schedule(db, catalog, clock)
        banned, other = await new_patient(client), await new_patient(client)
        async with db.session() as session:
            account_id = await session.scalar(select(Account.id).where(Account.openid == banned.openid))
            session.add(
                BookingBan(
                    account_id=account_id,
                    reason="测试",
                    starts_at=NOW - timedelta(days=1),
                    ends_at=NOW + timedelta(days=30),
                )
            )

        refused = await enter(client, banned, schedule.id)
        stranger = await client.post(
            ENTRIES, json={"schedule_id": schedule.id, "patient_id": banned.patient_id}, headers=other.auth
        )

        assert (refused.status_code, refused.json()["code"]) == (403, "BOOKING_BANNED")
        assert (stranger.status_code, stranger.json()["code"]) == (404, "VISIT_PERSON_NOT_FOUND")

    async def test_a_person_whose_real_name_is_not_verified_is_refused_and_loses_at_the_draw(
        self, client, db, catalog, clock, jobs
    ):
        schedule = await window_schedule(db, catalog, clock)
        unverified, lapsed = await new_patient(client), await new_patient(client)
        async with db.session() as session:
            await session.execute(
                update(VisitPerson).where(VisitPerson.id == unverified.patient_id).values(realname_status="unverified")
            )
        lapsed_entry = await entered(client, lapsed, schedule.id)
        async with db.session() as session:
            await session.execute(
                update(VisitPerson).where(VisitPerson.id == lapsed.patient_id).values(realname_status="failed")
            )

        refused = await enter(client, unverified, schedule.id)
        await close_and_draw(clock, schedule, jobs)

        assert (refused.status_code, refused.json()["code"]) == (409, "PERSON_NOT_VERIFIED")
        result = await entry(client, lapsed, lapsed_entry["id"])
        assert result["status"] == "lost" and "实名认证" in result["result_reason"]

    async def test_a_members_weight_is_one_plus_the_levels_booking_priority(self, client, db, catalog, clock):
        schedule = await window_schedule(db, catalog, clock)
        patient = await new_patient(client)
        await make_member(db, patient.openid, "gold")
        level = await member_level(db, "gold")

        assert (await entered(client, patient, schedule.id))["weight"] == 1 + level.booking_priority


class TestScheduleOutput:
    async def test_a_window_session_shows_its_mode_and_window_and_is_not_bookable_directly(
        self, client, db, catalog, clock
    ):
        schedule = await window_schedule(db, catalog, clock)

        shown = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()["schedule"]
        clock.set(schedule.release_at + WINDOW)
        after = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()["schedule"]

        assert (shown["release_mode"], shown["release_mode_label"]) == ("window", "抽签放号")
        assert datetime.fromisoformat(shown["release_window_closes_at"]) == schedule.release_at + WINDOW
        assert (shown["release_window_open"], shown["bookable"]) == (True, False)
        assert (after["release_window_open"], after["bookable"]) == (False, True)

    async def test_a_first_come_session_says_so(self, client, db, clock):
        fcfs = await make_catalog(db, name="先到先得医院")
        schedule = await make_schedule(db, fcfs, days_ahead=1)

        shown = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()["schedule"]

        assert (shown["release_mode"], shown["release_window_closes_at"], shown["release_window_open"]) == (
            "fcfs",
            None,
            False,
        )


class TestBookingDuringTheWindow:
    async def test_booking_is_refused_during_the_window_and_until_the_draw(self, client, db, catalog, clock, jobs):
        schedule = await window_schedule(db, catalog, clock, capacity=3)
        entrant, booker = await new_patient(client), await new_patient(client)
        await entered(client, entrant, schedule.id)

        during = await book(client, booker.auth, schedule.id, booker.patient_id)
        clock.set(schedule.release_at + WINDOW)
        pending = await book(client, booker.auth, schedule.id, booker.patient_id)
        await jobs.drain()
        after = await book(client, booker.auth, schedule.id, booker.patient_id)

        assert (during.status_code, during.json()["code"]) == (409, "RELEASE_WINDOW_OPEN")
        assert "抽签" in during.json()["message"]
        assert (pending.status_code, pending.json()["code"]) == (409, "RELEASE_DRAW_PENDING")
        assert after.status_code == 201, after.text  # two slots were left after the draw: first come, first served

    async def test_a_window_nobody_entered_opens_to_booking_at_its_close(self, client, db, catalog, clock):
        schedule = await window_schedule(db, catalog, clock)
        booker = await new_patient(client)
        clock.set(schedule.release_at + WINDOW)

        assert (await book(client, booker.auth, schedule.id, booker.patient_id)).status_code == 201


class TestDraw:
    async def test_capacity_winners_get_appointments_and_everyone_a_result_and_a_message(
        self, client, db, catalog, clock, jobs, app
    ):
        schedule = await window_schedule(db, catalog, clock, capacity=2)
        entrants = await patients(client, 5)
        ids = [(await entered(client, p, schedule.id))["id"] for p in entrants]
        wechat: FakeWeChatState = app.state.fake_wechat.state.wechat
        for p in entrants:  # each agreed to the result message when entering (wx.requestSubscribeMessage)
            wechat.grant_subscription(openid=p.openid, template_id="yiyue-release-result")

        topics = await close_and_draw(clock, schedule, jobs)

        assert "release.window_closes" in topics
        results = [await entry(client, p, i) for p, i in zip(entrants, ids, strict=True)]
        won = [r for r in results if r["status"] == "won"]
        lost = [r for r in results if r["status"] == "lost"]
        assert len(won) == 2 and len(lost) == 3
        assert {r["status_label"] for r in won} == {"已中签"} and {r["status_label"] for r in lost} == {"未中签"}
        assert all(r["appointment_id"] for r in won) and all(r["result_reason"] == "未抽中" for r in lost)
        async with db.session() as session:
            appointments = list(
                await session.scalars(select(Appointment).where(Appointment.schedule_id == schedule.id))
            )
            kinds = {
                n.account_id: n.kind
                for n in await session.scalars(select(Notification).where(Notification.kind.like("release_%")))
            }
        assert sorted(a.id for a in appointments) == sorted(r["appointment_id"] for r in won)
        assert {a.status for a in appointments} == {"booked"}
        assert sorted(kinds.values()) == ["release_lost"] * 3 + ["release_won"] * 2
        async with db.session() as session:
            sent = list(
                await session.execute(
                    select(Delivery.status, Delivery.content, Notification.body)
                    .join(Notification, Notification.id == Delivery.notification_id)
                    .where(Notification.kind.like("release_%"))
                )
            )
        assert len(sent) == 5 and {status for status, _, _ in sent} == {"sent"}  # the fake WeChat took each
        assert {content["purpose"] for _, content, _ in sent} == {"release_result"}
        assert any(body.startswith("已中签：") for _, _, body in sent)
        assert any("未中签" in body and "未抽中" in body for _, _, body in sent)
        mine = await client.get("/api/v1/me/release-entries", headers=entrants[0].auth)
        assert mine.status_code == 200 and mine.json()["total"] == 1

    async def test_the_public_record_re_runs_to_the_same_winners_and_another_seed_does_not(
        self, client, db, catalog, clock, jobs
    ):
        schedule = await window_schedule(db, catalog, clock, capacity=3)
        for p in await patients(client, 10):
            await entered(client, p, schedule.id)
        await close_and_draw(clock, schedule, jobs)

        answer = await client.get(f"/api/v1/schedules/{schedule.id}/draw")

        assert answer.status_code == 200, answer.text
        record = answer.json()
        assert record["algorithm"] == "es-hmac-sha256-v1" and len(record["seed"]) == 64
        assert record["capacity"] == 3 and len(record["entries"]) == 10 and len(record["winners"]) == 3
        assert record["reproduced"] is True and sorted(record["booked"]) == sorted(record["winners"])
        entries = [(e["entry_id"], e["weight"]) for e in record["entries"]]
        assert set(draw.pick(record["seed"], entries, 3)) == set(record["winners"])
        others = [f"{i:064x}" for i in range(1, 6)]  # 3 of 10: one seed in 120 draws the same three
        assert any(set(draw.pick(seed, entries, 3)) != set(record["winners"]) for seed in others)

    async def test_pay_first_winners_hold_their_slot_until_paid(self, client, db, catalog, clock, jobs):
        await set_hospital(db, catalog, payment_required=True)
        schedule = await window_schedule(db, catalog, clock, capacity=1)
        winner = (await patients(client, 1))[0]
        entry_id = (await entered(client, winner, schedule.id))["id"]

        await close_and_draw(clock, schedule, jobs)

        result = await entry(client, winner, entry_id)
        appointment = await client.get(f"/api/v1/appointments/{result['appointment_id']}", headers=winner.auth)
        assert result["status"] == "won"
        assert appointment.json()["status"] == "pending_payment"

    async def test_one_account_wins_no_more_unpaid_holds_than_the_hospital_allows(
        self, client, db, catalog, clock, jobs
    ):
        await set_hospital(db, catalog, payment_required=True)  # max_unpaid_holds: 1
        schedule = await window_schedule(db, catalog, clock, capacity=2)
        scalper = await new_patient(client, name="黄牛甲")
        second = await add_patient(client, scalper.auth, name="黄牛乙", relationship="child")
        first_id = (await entered(client, scalper, schedule.id))["id"]
        second_id = (await entered(client, Patient(scalper.auth, second, scalper.openid), schedule.id))["id"]

        await close_and_draw(clock, schedule, jobs)

        results = [await entry(client, scalper, i) for i in (first_id, second_id)]
        assert sorted(r["status"] for r in results) == ["lost", "won"]  # both drawn: capacity 2
        [lost] = [r for r in results if r["status"] == "lost"]
        assert "尚未支付的预约" in lost["result_reason"]
        booked = (await client.get("/api/v1/me/appointments", headers=scalper.auth)).json()["items"]
        assert [a["status"] for a in booked] == ["pending_payment"]

    async def test_a_winner_banned_since_entering_loses_with_the_reason(self, client, db, catalog, clock, jobs):
        schedule = await window_schedule(db, catalog, clock, capacity=2)
        patient = (await patients(client, 1))[0]
        entry_id = (await entered(client, patient, schedule.id))["id"]
        async with db.session() as session:
            account_id = await session.scalar(select(Account.id).where(Account.openid == patient.openid))
            session.add(
                BookingBan(
                    account_id=account_id,
                    reason="测试",
                    starts_at=NOW - timedelta(days=1),
                    ends_at=NOW + timedelta(days=30),
                )
            )

        await close_and_draw(clock, schedule, jobs)

        result = await entry(client, patient, entry_id)
        assert result["status"] == "lost" and "爽约" in result["result_reason"]
        record = (await client.get(f"/api/v1/schedules/{schedule.id}/draw")).json()
        assert record["winners"] == [entry_id] and record["booked"] == [] and record["reproduced"]

    async def test_the_sweep_draws_a_window_whose_job_was_lost_and_a_draw_runs_once(
        self, client, db, catalog, clock, jobs
    ):
        schedule = await window_schedule(db, catalog, clock, capacity=1)
        for p in await patients(client, 3):
            await entered(client, p, schedule.id)
        clock.set(schedule.release_at + WINDOW)

        assert await jobs.run_periodic("release_draws") == [schedule.id]
        assert await jobs.run_periodic("release_draws") == []
        await jobs.drain()  # the job at the close finds the draw made
        async with db.session() as session:
            draws = list(await session.scalars(select(ReleaseDraw).where(ReleaseDraw.schedule_id == schedule.id)))
            booked = await session.scalar(select(Appointment.id).where(Appointment.schedule_id == schedule.id))
        assert len(draws) == 1 and draws[0].winners == 1 and booked is not None

    async def test_no_record_before_the_draw_and_others_entries_are_not_found(self, client, db, catalog, clock):
        schedule = await window_schedule(db, catalog, clock)
        mine, other = await new_patient(client), await new_patient(client)
        entry_id = (await entered(client, mine, schedule.id))["id"]

        none_yet = await client.get(f"/api/v1/schedules/{schedule.id}/draw")
        stranger = await client.get(f"{ENTRIES}/{entry_id}", headers=other.auth)

        assert (none_yet.status_code, none_yet.json()["code"]) == (404, "RELEASE_DRAW_NOT_FOUND")
        assert (stranger.status_code, stranger.json()["code"]) == (404, "RELEASE_ENTRY_NOT_FOUND")


LONG = ReleaseFacts(
    entry_id=9,
    hospital="首都医科大学附属北京安贞医院国家心血管病中心北京分院",
    department="心血管内科高血压与动脉粥样硬化专病门诊",
    doctor="欧阳娜娜娜娜娜娜娜",
    doctor_title="主任医师",
    patient_name="阿卜杜热合曼·艾合买提江·买买提",
    visit_date=NOW.date(),
    period_label="上午",
    starts_at=NOW,
    ends_at=NOW + timedelta(hours=3),
    queue_number=123,
    pay_deadline=NOW + timedelta(minutes=15),
)


@pytest.mark.parametrize("kind", [NotificationKind.RELEASE_WON, NotificationKind.RELEASE_LOST])
def test_the_result_message_passes_wechats_value_rules(kind):
    message = render_release(kind, LONG)

    assert message.wechat is not None and message.wechat.purpose == "release_result"
    assert sorted(message.wechat.data) == sorted(DEFAULT_TEMPLATES["yiyue-release-result"])
    for key, value in message.wechat.data.items():
        rule = key_kind(key)
        assert rule is not None and VALUE_RULES[rule](value), f"{key}={value!r}"
    assert ("请于09:15前完成支付" in message.body) == (kind == NotificationKind.RELEASE_WON)
