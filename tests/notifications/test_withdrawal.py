"""Messages that no longer apply are withdrawn, and the patient hears of check-in, completion and 停诊 (as
the patient lives it: through HTTP, the fake WeChat and the job system's real handlers).

Withdrawn means: the in-app message stays in the list, read (``read_at`` set when it went stale), and its
deliveries not yet sent are ``cancelled`` with the reason, never sent late."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import NOW, Login
from tests.e2e.test_paid_booking import pay_for, user_pays
from tests.factories import FAST_HASHER, Catalog, make_catalog, make_schedule, make_staff, staff_login
from tests.jobs_support import Jobs
from yiyue.accounts.staff import passwords
from yiyue.core.clock import HOSPITAL_TZ, FrozenClock
from yiyue.core.db import Database
from yiyue.core.outbox import OutboxEvent
from yiyue.frontdesk.service import suspend_schedule
from yiyue.notifications import service
from yiyue.notifications.channels import RETRY_AFTER, SmsUnavailable
from yiyue.notifications.models import Delivery, Notification
from yiyue.scheduling.models import Period
from yiyue.wechat.fake import FakeWeChatState

URL = "/api/v1/me/notifications"
EVENING = datetime(2026, 3, 2, 18, 0, tzinfo=HOSPITAL_TZ)
OPENID = "o-withdrawal"


@dataclass
class RecordingSms:
    sent: list[str] = field(default_factory=list)
    unavailable: int = 0
    """The next sends that find the gateway unavailable (nothing goes out; the delivery is retried later)."""

    async def send(self, phone: str, text: str, *, template: str) -> None:
        if self.unavailable:
            self.unavailable -= 1
            raise SmsUnavailable("短信网关暂不可用")
        self.sent.append(text)


@pytest.fixture
def sms() -> RecordingSms:
    return RecordingSms()


@pytest.fixture
def jobs(app: object, sms: RecordingSms) -> Jobs:
    jobs = Jobs(app)  # type: ignore[arg-type]
    jobs.context.sms = sms
    return jobs


@pytest.fixture
def fake(app) -> FakeWeChatState:
    state: FakeWeChatState = app.state.fake_wechat.state.wechat
    return state


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def paid_catalog(db: Database) -> Catalog:
    return await make_catalog(db, name="收费医院", payment_required=True)


async def handle(jobs: Jobs, topic: str) -> int:
    """Handles the due events of one topic only (the others wait), as a busy queue may order them."""
    async with jobs.context.db.session() as session:
        due = list(
            await session.scalars(
                select(OutboxEvent.id)
                .where(
                    OutboxEvent.topic == topic,
                    OutboxEvent.handled_at.is_(None),
                    OutboxEvent.failed_at.is_(None),
                    OutboxEvent.available_at <= jobs.context.clock.now(),
                )
                .order_by(OutboxEvent.id)
            )
        )
    for event_id in due:
        await jobs.system.handle(jobs.context, event_id)
    return len(due)


async def booked(client: httpx.AsyncClient, auth: dict[str, str], schedule_id: int) -> dict[str, object]:
    answer = await book(client, auth, schedule_id, await add_patient(client, auth))
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


async def messages(db: Database, appointment_id: int) -> dict[str, tuple[Notification, list[Delivery]]]:
    """The appointment's notifications by kind, each with its deliveries."""
    async with db.session() as session:
        found = list(await session.scalars(select(Notification).where(Notification.appointment_id == appointment_id)))
        deliveries = list(await session.scalars(select(Delivery).order_by(Delivery.id)))
    return {n.kind: (n, [d for d in deliveries if d.notification_id == n.id]) for n in found}


async def listing(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, object]:
    answer = await client.get(URL, headers=auth)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def unread_kinds(body: dict[str, object]) -> list[str]:
    return sorted(n["kind"] for n in body["items"] if n["read_at"] is None)  # type: ignore[attr-defined, index]


class TestPaymentReminder:
    async def reminded(self, client, db, login: Login, paid_catalog, jobs, sms) -> tuple[dict[str, str], int]:
        """A hold whose payment reminder is made and whose SMS waits for its retry: the job of the fact sent
        it at once, but the SMS gateway was unavailable, so nothing went out and a retry job is queued."""
        auth = await login(OPENID)
        held = await booked(client, auth, (await make_schedule(db, paid_catalog)).id)
        assert held["status"] == "pending_payment"
        sms.unavailable = 1
        assert await handle(jobs, "appointment.payment_due") == 1
        reminder, [delivery] = (await messages(db, int(held["id"]))).pop("payment_reminder")  # type: ignore[call-overload]
        assert reminder.read_at is None and "请在15分钟内完成支付" in reminder.body
        assert (delivery.channel, delivery.status, delivery.attempts) == ("sms", "pending", 1)
        assert "SmsUnavailable" in delivery.last_error and sms.sent == []
        return auth, int(held["id"])  # type: ignore[call-overload]

    async def test_is_withdrawn_once_paid_and_its_sms_never_goes_out(
        self, client, db, login: Login, paid_catalog, jobs, sms, clock: FrozenClock
    ):
        auth, appointment_id = await self.reminded(client, db, login, paid_catalog, jobs, sms)
        clock.set(NOW + timedelta(minutes=3))

        await user_pays(client, await pay_for(client, auth, appointment_id))
        await handle(jobs, "appointment.booked")

        reminder, [delivery] = (await messages(db, appointment_id))["payment_reminder"]
        assert reminder.read_at == NOW + timedelta(minutes=3)
        assert (delivery.status, delivery.last_error, delivery.sent_at) == ("cancelled", "消息已失效：预约已支付", None)
        await jobs.drain()  # the reminder's retry job runs late: nothing goes out
        assert not any("尚未支付" in text for text in sms.sent)
        _, [delivery] = (await messages(db, appointment_id))["payment_reminder"]
        assert (delivery.status, delivery.attempts) == ("cancelled", 1)  # the one try that found no gateway
        body = await listing(client, auth)
        assert unread_kinds(body) == ["booking_confirmed"] and body["unread"] == 1
        shown = {n["kind"]: n for n in body["items"]}  # type: ignore[attr-defined]
        assert shown["payment_reminder"]["read_at"] is not None  # still listed, read

    async def test_its_sms_is_not_sent_when_the_payment_is_seen_first_at_send_time(
        self, client, db, login: Login, paid_catalog, jobs, sms, clock: FrozenClock
    ):
        auth, appointment_id = await self.reminded(client, db, login, paid_catalog, jobs, sms)
        await user_pays(client, await pay_for(client, auth, appointment_id))
        clock.set(NOW + RETRY_AFTER)

        assert await handle(jobs, "notification.deliver") == 1  # the retry, before the booked event is handled

        _, [delivery] = (await messages(db, appointment_id))["payment_reminder"]
        assert (delivery.status, delivery.last_error) == ("cancelled", "消息已失效：预约已支付")
        assert sms.sent == []

    async def test_is_withdrawn_when_the_hold_is_cancelled(self, client, db, login: Login, paid_catalog, jobs, sms):
        auth, appointment_id = await self.reminded(client, db, login, paid_catalog, jobs, sms)

        cancelled = await client.post(f"/api/v1/appointments/{appointment_id}/cancel", headers=auth)
        assert cancelled.status_code == 200, cancelled.text
        await handle(jobs, "appointment.cancelled")

        reminder, [delivery] = (await messages(db, appointment_id))["payment_reminder"]
        assert reminder.read_at is not None
        assert (delivery.status, delivery.last_error) == ("cancelled", "消息已失效：预约已取消")
        await jobs.drain()
        assert not any("尚未支付" in text for text in sms.sent)
        assert unread_kinds(await listing(client, auth)) == ["cancelled"]

    async def test_is_withdrawn_when_the_hold_expires(
        self, client, db, login: Login, paid_catalog, jobs, sms, clock: FrozenClock
    ):
        auth, appointment_id = await self.reminded(client, db, login, paid_catalog, jobs, sms)

        clock.set(NOW + timedelta(minutes=15))
        await jobs.drain()  # the hold ends: expired

        reminder, [delivery] = (await messages(db, appointment_id))["payment_reminder"]
        assert reminder.read_at is not None
        assert delivery.status == "cancelled" and delivery.last_error.startswith("消息已失效：")
        assert not any("尚未支付" in text for text in sms.sent)
        assert unread_kinds(await listing(client, auth)) == ["payment_expired"]

    async def test_is_not_made_for_a_hold_paid_before_its_event_was_handled(
        self, client, db, login: Login, paid_catalog, jobs, sms
    ):
        auth = await login(OPENID)
        held = await booked(client, auth, (await make_schedule(db, paid_catalog)).id)
        await user_pays(client, await pay_for(client, auth, int(held["id"])))  # type: ignore[call-overload]

        await jobs.drain()

        assert set(await messages(db, int(held["id"]))) == {"booking_confirmed"}  # type: ignore[call-overload]
        assert not any("尚未支付" in text for text in sms.sent)


class TestVisitReminder:
    async def test_is_not_made_for_a_visit_cancelled_before_the_evening(
        self, client, db, login: Login, catalog, jobs, clock: FrozenClock
    ):
        auth = await login(OPENID)
        visit = await booked(client, auth, (await make_schedule(db, catalog, days_ahead=1)).id)
        assert (await client.post(f"/api/v1/appointments/{visit['id']}/cancel", headers=auth)).status_code == 200

        clock.set(EVENING)
        assert await jobs.run_periodic("visit_reminders") == 0
        async with db.session() as session:  # nor by hand
            made = await service.notify(session, kind="visit_reminder", appointment_id=int(visit["id"]), now=EVENING)  # type: ignore[call-overload]

        assert made is None
        assert "visit_reminder" not in await messages(db, int(visit["id"]))  # type: ignore[call-overload]

    async def test_queued_then_cancelled_is_not_sent(
        self, client, db, login: Login, catalog, jobs, sms, fake, clock: FrozenClock, app
    ):
        auth = await login(OPENID)
        visit = await booked(client, auth, (await make_schedule(db, catalog, days_ahead=1)).id)
        appointment_id = int(visit["id"])  # type: ignore[call-overload]
        await jobs.drain()  # 预约成功 is sent
        template = app.state.settings.subscribe_templates["visit_reminder"]
        fake.grant_subscription(openid=OPENID, template_id=template)
        clock.set(EVENING)
        assert await jobs.run_periodic("visit_reminders") == 1
        reminder, deliveries = (await messages(db, appointment_id))["visit_reminder"]
        assert [(d.channel, d.status) for d in deliveries] == [("wechat_subscribe", "pending"), ("sms", "pending")]

        clock.set(EVENING + timedelta(minutes=1))
        auth = await login(OPENID)  # the morning's token has expired
        assert (await client.post(f"/api/v1/appointments/{appointment_id}/cancel", headers=auth)).status_code == 200
        assert await handle(jobs, "notification.deliver_batch") == 1  # the sends run before the cancellation is handled

        _, deliveries = (await messages(db, appointment_id))["visit_reminder"]
        assert [(d.status, d.last_error) for d in deliveries] == [("cancelled", "消息已失效：预约已取消")] * 2
        assert template not in {m.template_id for m in fake.sent_messages(OPENID)}
        assert not any("就诊提醒" in text for text in sms.sent)
        await jobs.drain()
        reminder, _ = (await messages(db, appointment_id))["visit_reminder"]
        assert reminder.read_at == EVENING + timedelta(minutes=1)  # withdrawn when the cancellation was handled
        assert unread_kinds(await listing(client, auth)) == ["booking_confirmed", "cancelled"]

    async def test_a_visit_still_booked_is_reminded(self, client, db, login: Login, catalog, jobs, sms, clock):
        auth = await login(OPENID)
        visit = await booked(client, auth, (await make_schedule(db, catalog, days_ahead=1)).id)
        clock.set(EVENING)

        await jobs.run_periodic("visit_reminders")
        await jobs.drain()

        _, deliveries = (await messages(db, int(visit["id"])))["visit_reminder"]  # type: ignore[call-overload]
        assert {d.channel: d.status for d in deliveries}["sms"] == "sent"
        assert any(text.startswith("【医约】就诊提醒") for text in sms.sent)


async def test_a_booking_cancelled_before_its_confirmation_went_out_keeps_it_in_the_list_unsent(
    client, db, login: Login, catalog, jobs, sms
):
    auth = await login(OPENID)
    visit = await booked(client, auth, (await make_schedule(db, catalog, days_ahead=1)).id)
    assert (await client.post(f"/api/v1/appointments/{visit['id']}/cancel", headers=auth)).status_code == 200

    await jobs.drain()

    found = await messages(db, int(visit["id"]))  # type: ignore[call-overload]
    confirmed, deliveries = found["booking_confirmed"]
    assert confirmed.title == "预约成功"  # history: it was booked
    assert {(d.status, d.last_error) for d in deliveries} == {("cancelled", "消息已失效：预约已取消")}
    assert [text for text in sms.sent if "已取消" in text] and not [t for t in sms.sent if "您已预约" in t]


@pytest.fixture
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.mark.usefixtures("_fast_password_hashing")
class TestAtTheHospital:
    async def visit_today(self, client, db, login: Login, catalog, clock: FrozenClock) -> tuple[dict[str, str], int]:
        """A visit this afternoon (13:30), the patient's second of the session (就诊序号2号)."""
        schedule = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=5)
        await booked(client, await login(), schedule.id)
        visit = await booked(client, await login(OPENID), schedule.id)
        assert visit["queue_number"] == 2
        clock.set(schedule.starts_at - timedelta(minutes=30))
        return await login(OPENID), int(visit["id"])  # type: ignore[call-overload]

    async def staff(self, client, db, catalog) -> dict[str, str]:
        await make_staff(db, catalog=catalog, username="desk.wang", display_name="王护士")
        return await staff_login(client, "desk.wang")

    async def test_check_in_tells_the_patient_to_wait_with_the_queue_number(
        self, client, db, login: Login, catalog, jobs, clock
    ):
        auth, appointment_id = await self.visit_today(client, db, login, catalog, clock)
        desk = await self.staff(client, db, catalog)

        answer = await client.post(f"/api/v1/staff/appointments/{appointment_id}/check-in", headers=desk)
        assert answer.status_code == 200, answer.text
        await jobs.drain()
        async with db.session() as session:  # the event handled a second time
            [event] = await session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "appointment.checked_in"))
        await jobs.system.handle(jobs.context, event.id)
        async with db.session() as session:
            await service.notify(session, kind="checked_in", appointment_id=appointment_id, now=clock.now())

        found = await messages(db, appointment_id)
        told, deliveries = found["checked_in"]
        assert told.title == "已签到，请候诊" and deliveries == []  # in the mini-program only
        assert "已签到，请候诊" in told.body and "就诊序号2号" in told.body
        assert "李明华（主任医师）" in told.body and "请到门诊楼3层候诊" in told.body
        body = await listing(client, auth)
        assert [n["kind"] for n in body["items"]].count("checked_in") == 1  # type: ignore[attr-defined]

    async def test_completion_thanks_the_patient_and_withdraws_the_wait_prompt(
        self, client, db, login: Login, catalog, jobs, clock
    ):
        auth, appointment_id = await self.visit_today(client, db, login, catalog, clock)
        desk = await self.staff(client, db, catalog)
        assert (await client.post(f"/api/v1/staff/appointments/{appointment_id}/check-in", headers=desk)).is_success
        await jobs.drain()

        answer = await client.post(f"/api/v1/staff/appointments/{appointment_id}/complete", headers=desk)
        assert answer.status_code == 200, answer.text
        await jobs.drain()
        async with db.session() as session:  # handled twice
            [event] = await session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "appointment.completed"))
        await jobs.system.handle(jobs.context, event.id)

        found = await messages(db, appointment_id)
        thanks, deliveries = found["completed"]
        assert thanks.title == "就诊完成" and "感谢您的就诊" in thanks.body and deliveries == []
        assert found["checked_in"][0].read_at is not None  # 请候诊 no longer applies
        body = await listing(client, auth)
        assert [n["kind"] for n in body["items"]].count("completed") == 1  # type: ignore[attr-defined]
        assert unread_kinds(body) == ["booking_confirmed", "completed"]


class TestSuspension:
    async def test_the_message_gives_the_reason_staff_recorded(self, client, db, login: Login, catalog, jobs, clock):
        schedule = await make_schedule(db, catalog, days_ahead=1)
        auth = await login(OPENID)
        visit = await booked(client, auth, schedule.id)
        await jobs.drain()

        async with db.session() as session:
            await suspend_schedule(session, schedule_id=schedule.id, reason="医生外出会诊", now=clock.now())
        await jobs.drain()

        told, deliveries = (await messages(db, int(visit["id"])))["suspended"]  # type: ignore[call-overload]
        assert told.title == "停诊通知" and "停诊原因：医生外出会诊。" in told.body
        by_channel = {d.channel: d for d in deliveries}
        assert "停诊原因：医生外出会诊" in by_channel["sms"].content["text"]
        assert by_channel["wechat_subscribe"].content["data"]["thing5"] == "医生外出会诊"
