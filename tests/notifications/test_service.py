"""Making notifications: once per kind and appointment, with a delivery per channel queued in the outbox."""

from __future__ import annotations

from datetime import datetime, time
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, select

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import NOW, Login
from tests.factories import Catalog, make_catalog, make_schedule
from yiyue.booking.errors import AppointmentNotFound
from yiyue.core.clock import HOSPITAL_TZ
from yiyue.core.db import Database
from yiyue.core.events import AppointmentNoShow, AppointmentPaymentDue, AppointmentSuspended
from yiyue.core.outbox import OutboxEvent
from yiyue.notifications import service, tasks
from yiyue.notifications.models import Delivery, Notification

EVENING = datetime(2026, 3, 2, 18, 0, tzinfo=HOSPITAL_TZ)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


async def booked(client: httpx.AsyncClient, login: Login, schedule_id: int, *, openid: str | None = None) -> int:
    auth = await login(openid)
    answer = await book(client, auth, schedule_id, await add_patient(client, auth))
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


@pytest.fixture
async def appointment_id(client, db, login: Login, catalog) -> int:
    schedule = await make_schedule(db, catalog, days_ahead=1)
    return await booked(client, login, schedule.id)


@pytest.fixture
async def held_id(client, db, login: Login) -> int:
    """An appointment at a hospital that takes payment online, not paid yet (its slot held)."""
    paid = await make_catalog(db, name="收费医院", payment_required=True)
    return await booked(client, login, (await make_schedule(db, paid, days_ahead=1)).id)


async def notify(db: Database, kind: str, appointment_id: int, **extra: object) -> Notification | None:
    async with db.session() as session:
        return await service.notify(session, kind=kind, appointment_id=appointment_id, now=NOW, extra=extra)


async def rows(db: Database) -> tuple[list[Notification], list[Delivery], list[OutboxEvent]]:
    async with db.session() as session:
        return (
            list(await session.scalars(select(Notification).order_by(Notification.id))),
            list(await session.scalars(select(Delivery).order_by(Delivery.id))),
            list(
                await session.scalars(
                    select(OutboxEvent).where(OutboxEvent.topic == "notification.deliver").order_by(OutboxEvent.id)
                )
            ),
        )


class TestNotify:
    async def test_makes_the_message_and_queues_a_wechat_and_an_sms_delivery(self, db, appointment_id):
        made = await notify(db, "booking_confirmed", appointment_id)

        assert made is not None
        notifications, deliveries, events = await rows(db)
        [notification] = notifications
        assert notification.kind == "booking_confirmed" and notification.title == "预约成功"
        assert notification.appointment_id == appointment_id and notification.read_at is None
        assert notification.dedupe_key == f"booking_confirmed:appointment:{appointment_id}"
        assert "李明华" in notification.body and "2026年03月03日" in notification.body
        assert [(d.channel, d.status, d.attempts) for d in deliveries] == [
            ("wechat_subscribe", "pending", 0),
            ("sms", "pending", 0),
        ]
        assert deliveries[0].content["purpose"] == "booking_confirmed"
        assert deliveries[0].content["data"]["thing3"] == "李明华 主任医师"
        assert deliveries[1].content["text"].startswith("【医约】")
        assert [e.payload for e in events] == [{"delivery_id": d.id} for d in deliveries]

    async def test_twice_makes_nothing_the_second_time(self, db, appointment_id):
        assert await notify(db, "booking_confirmed", appointment_id) is not None

        assert await notify(db, "booking_confirmed", appointment_id) is None

        notifications, deliveries, events = await rows(db)
        assert (len(notifications), len(deliveries), len(events)) == (1, 2, 2)

    async def test_another_kind_for_the_same_appointment_is_a_new_notification(self, db, appointment_id):
        await notify(db, "booking_confirmed", appointment_id)
        await notify(db, "visit_reminder", appointment_id)

        notifications, _, _ = await rows(db)
        assert [n.kind for n in notifications] == ["booking_confirmed", "visit_reminder"]

    async def test_a_kind_without_a_wechat_template_is_sent_by_sms_only(self, db, held_id):
        await notify(db, "payment_reminder", held_id, minutes=15)

        notifications, deliveries, _ = await rows(db)
        assert "15分钟内" in notifications[0].body
        assert [d.channel for d in deliveries] == ["sms"]

    async def test_an_unknown_appointment_is_not_found(self, db):
        with pytest.raises(AppointmentNotFound):
            await notify(db, "booking_confirmed", 999_999)
        assert await rows(db) == ([], [], [])

    async def test_an_unknown_kind_is_refused(self, db, appointment_id):
        with pytest.raises(ValueError):
            await notify(db, "birthday", appointment_id)


class TestEventHandler:
    async def test_passes_the_rest_of_the_payload_to_the_template(self, db, appointment_id):
        handler = tasks.notify_of("suspended")
        ctx = SimpleNamespace(settings=SimpleNamespace())
        event = AppointmentSuspended(appointment_id=appointment_id, refund=True)

        async with db.session() as session:
            await handler(ctx, session, event, NOW)
        async with db.session() as session:
            await handler(ctx, session, event, NOW)

        notifications, _, _ = await rows(db)
        [notification] = notifications
        assert notification.kind == "suspended" and "全额原路退回" in notification.body
        assert handler.__name__ == "notify_suspended"

    async def test_quotes_the_rules_from_the_settings(self, db, appointment_id, held_id):
        rules = SimpleNamespace(no_show_threshold=2, no_show_window_days=30, no_show_ban_days=7)

        async with db.session() as session:
            handler = tasks.notify_of("no_show")
            await handler(
                SimpleNamespace(settings=rules), session, AppointmentNoShow(appointment_id=appointment_id), NOW
            )
        async with db.session() as session:
            handler = tasks.notify_of("payment_reminder")
            await handler(
                SimpleNamespace(settings=SimpleNamespace(payment_hold_minutes=15)),
                session,
                AppointmentPaymentDue(appointment_id=held_id),
                NOW,
            )

        notifications, _, _ = await rows(db)
        assert "30天内累计爽约2次将暂停预约7天" in notifications[0].body
        assert "请在15分钟内完成支付" in notifications[1].body


class TestVisitReminders:
    async def remind(self, db: Database, now: datetime) -> int:
        async with db.session() as session:
            return await tasks.send_visit_reminders(session, now=now, remind_at=time(18, 0))

    async def test_reminds_tomorrows_booked_visits_once_from_the_evening_before(self, client, db, login, catalog):
        tomorrow = await make_schedule(db, catalog, days_ahead=1)
        later = await make_schedule(db, catalog, days_ahead=2)
        first = await booked(client, login, tomorrow.id)
        second = await booked(client, login, tomorrow.id)
        await booked(client, login, later.id)
        auth = await login("o-cancels")
        dropped = (await book(client, auth, tomorrow.id, await add_patient(client, auth))).json()["id"]
        assert (await client.post(f"/api/v1/appointments/{dropped}/cancel", headers=auth)).status_code == 200

        assert await self.remind(db, EVENING.replace(hour=17, minute=59)) == 0
        assert await self.remind(db, EVENING) == 2
        assert await self.remind(db, EVENING.replace(hour=21)) == 0

        notifications, deliveries, _ = await rows(db)
        assert sorted(n.appointment_id for n in notifications) == [first, second]
        assert {n.kind for n in notifications} == {"visit_reminder"}
        assert len(deliveries) == 4

    async def test_a_reminder_made_earlier_by_hand_is_not_repeated(self, db, appointment_id):
        await notify(db, "visit_reminder", appointment_id)

        assert await self.remind(db, EVENING) == 0

    async def test_the_batch_limit_leaves_the_rest_for_the_next_run(self, client, db, login, catalog):
        schedule = await make_schedule(db, catalog, days_ahead=1)
        for _ in range(3):
            await booked(client, login, schedule.id)

        async with db.session() as session:
            assert await tasks.send_visit_reminders(session, now=EVENING, limit=2) == 2
        assert await self.remind(db, EVENING) == 1
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(Notification)) == 3
