"""One job per fact (decision 0019): the handler of a booking's fact makes its message and sends it on every
channel in the same job; a channel that fails is retried by a job of its own, a crash between the message
and the sends is resumed, and nothing is sent twice (through HTTP, the fake WeChat and the real handlers,
then a real server whose worker threads keep up with patients booking at once)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
from huey.exceptions import RetryTask
from sqlalchemy import func, select

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import NOW, Login
from tests.factories import make_catalog, make_schedule, patient_body
from tests.jobs_support import Jobs
from tests.live import serving
from yiyue.app import FAKE_WECHAT_MOUNT
from yiyue.core.clock import HOSPITAL_TZ, FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.core.outbox import OutboxEvent
from yiyue.notifications import channels, service
from yiyue.notifications.channels import OUTCOME_UNKNOWN, RETRY_AFTER, SENDING_GRACE
from yiyue.notifications.models import Delivery, Notification
from yiyue.scheduling.models import Period
from yiyue.server import create_server
from yiyue.wechat.fake import PATH_SUBSCRIBE_SEND, FakeWeChatState

REDIS_URL = os.environ.get("YIYUE_TEST_REDIS_URL", "")
CONFIRMED = "yiyue-booking-confirmed"
EVENING = datetime(2026, 3, 2, 18, 0, tzinfo=HOSPITAL_TZ)
"""The evening before the visits ``booked`` makes (tomorrow, from ``NOW``)."""


@dataclass
class RecordingSms:
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, phone: str, text: str, *, template: str) -> None:
        self.sent.append((template, text))


@pytest.fixture
def sms() -> RecordingSms:
    return RecordingSms()


@pytest.fixture
def jobs(app: object, sms: RecordingSms) -> Jobs:
    jobs = Jobs(app)  # type: ignore[arg-type]
    jobs.context.sms = sms
    return jobs


@pytest.fixture
def fake(app: Any) -> FakeWeChatState:
    state: FakeWeChatState = app.state.fake_wechat.state.wechat
    return state


async def booked(
    client: httpx.AsyncClient,
    login: Login,
    db: Database,
    fake: FakeWeChatState,
    *,
    schedule_id: int = 0,
    **catalog: Any,
) -> int:
    """A patient subscribed to 预约成功 books tomorrow's session (``schedule_id``, or one of a new hospital
    made with ``catalog``); returns the appointment's id."""
    openid = f"o-{uuid.uuid4().hex[:12]}"
    fake.grant_subscription(openid=openid, template_id=CONFIRMED)
    auth = await login(openid)
    if not schedule_id:
        schedule_id = (await make_schedule(db, await make_catalog(db, **catalog), days_ahead=1)).id
    answer = await book(client, auth, schedule_id, await add_patient(client, auth))
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def outbox(db: Database) -> list[tuple[str, bool]]:
    """Every outbox event: (topic, handled)."""
    async with db.session() as session:
        rows = await session.execute(select(OutboxEvent.topic, OutboxEvent.handled_at).order_by(OutboxEvent.id))
        return [(topic, handled is not None) for topic, handled in rows.tuples()]


async def deliveries(db: Database) -> dict[str, tuple[str, int]]:
    """(status, attempts) of every delivery, by channel."""
    async with db.session() as session:
        return {d.channel: (d.status, d.attempts) for d in await session.scalars(select(Delivery))}


class TestOneJobPerFact:
    async def test_a_booking_is_one_job_that_sends_every_channel(self, client, db, login, fake, jobs, sms):
        appointment_id = await booked(client, login, db, fake)

        handled = await jobs.drain()

        assert handled == ["appointment.booked"]  # not one more job per channel
        assert await outbox(db) == [("appointment.booked", True)]
        assert await deliveries(db) == {"wechat_subscribe": ("sent", 1), "sms": ("sent", 1)}
        [message] = [m for m in fake.sent_messages() if m.template_id == CONFIRMED]
        assert message.page == f"pages/appointment/appointment?id={appointment_id}"
        assert [template for template, _ in sms.sent] == ["booking_confirmed"]

    async def test_a_pay_first_booking_is_one_job_now_and_the_hold_s_end_later(self, client, db, login, fake, jobs):
        await booked(client, login, db, fake, payment_required=True)

        assert await jobs.drain() == ["appointment.payment_due"]

        assert await outbox(db) == [("appointment.payment_due", True), ("appointment.hold_ends", False)]
        assert await deliveries(db) == {"sms": ("sent", 1)}  # 待支付提醒: SMS only

    async def test_a_channel_that_fails_is_retried_alone_and_the_others_are_not_sent_again(
        self, client, db, login, fake, jobs, sms, clock: FrozenClock
    ):
        await booked(client, login, db, fake)
        fake.inject_fault(path=PATH_SUBSCRIBE_SEND, errcode=-1, errmsg="system busy")

        assert await jobs.drain() == ["appointment.booked"]
        assert await deliveries(db) == {"wechat_subscribe": ("pending", 1), "sms": ("sent", 1)}
        assert await outbox(db) == [("appointment.booked", True), ("notification.deliver", False)]

        clock.set(NOW + RETRY_AFTER)
        assert await jobs.drain() == ["notification.deliver"]

        assert await deliveries(db) == {"wechat_subscribe": ("sent", 2), "sms": ("sent", 1)}
        assert len([m for m in fake.sent_messages() if m.template_id == CONFIRMED]) == 1
        assert len(sms.sent) == 1

    async def test_a_crash_between_the_message_and_its_sends_sends_nothing_twice(
        self, client, db, login, fake, jobs, sms, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
    ):
        """The handler's commit claims the deliveries for its job: a crash after it may have sent them or
        not, so the event's retry sends nothing and they end 结果未知 (at most once, never twice)."""
        await booked(client, login, db, fake)
        send_batch = service.send_batch
        calls = 0

        async def dies_the_first_time(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionResetError("the worker lost the database after the message committed")
            return await send_batch(*args, **kwargs)

        monkeypatch.setattr(service, "send_batch", dies_the_first_time)
        async with db.session() as session:
            [event_id] = await session.scalars(select(OutboxEvent.id))

        with pytest.raises(RetryTask):
            await jobs.system.handle(jobs.context, event_id)
        assert await outbox(db) == [("appointment.booked", False)]  # not handled: its sends were not recorded
        assert await deliveries(db) == {"wechat_subscribe": ("sending", 1), "sms": ("sending", 1)}

        await jobs.system.handle(jobs.context, event_id)  # the retry: the message exists, nothing is resent
        await jobs.system.handle(jobs.context, event_id)  # and once more: nothing happens
        clock.set(NOW + SENDING_GRACE)
        assert await jobs.drain() == ["notification.deliver"] * 2  # each delivery looked at once more

        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(Notification)) == 1
            errors = set(await session.scalars(select(Delivery.last_error)))
        assert await outbox(db) == [("appointment.booked", True)] + [("notification.deliver", True)] * 2
        assert await deliveries(db) == {"wechat_subscribe": ("failed", 1), "sms": ("failed", 1)}
        assert errors == {OUTCOME_UNKNOWN}
        assert [m for m in fake.sent_messages() if m.template_id == CONFIRMED] == [] and sms.sent == []

    async def test_the_evening_s_visit_reminders_are_sent_by_one_job_a_chunk_at_a_time(
        self, client, db, login, fake, jobs, sms, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
    ):
        schedule = await make_schedule(db, await make_catalog(db), days_ahead=1)
        for _ in range(3):
            await booked(client, login, db, fake, schedule_id=schedule.id)
        await jobs.drain()
        monkeypatch.setattr(channels, "SEND_CHUNK", 2)  # 6 deliveries: three chunks
        clock.set(EVENING)

        assert await jobs.run_periodic("visit_reminders") == 3
        assert await jobs.drain() == ["notification.deliver_batch"]

        async with db.session() as session:
            reminders = list(
                await session.execute(
                    select(Delivery.channel, Delivery.status, Delivery.attempts)
                    .join(Notification, Notification.id == Delivery.notification_id)
                    .where(Notification.kind == "visit_reminder")
                )
            )
        assert (
            sorted(tuple(r) for r in reminders) == [("sms", "sent", 1)] * 3 + [("wechat_subscribe", "skipped", 1)] * 3
        )
        assert [template for template, _ in sms.sent].count("visit_reminder") == 3

    async def test_outside_an_event_s_job_each_delivery_still_gets_a_job_of_its_own(self, client, db, login, fake):
        appointment_id = await booked(client, login, db, fake)

        async with db.session() as session:  # e.g. a script, or the evening's visit reminders
            await service.notify(session, kind="visit_reminder", appointment_id=appointment_id, now=NOW)

        assert [topic for topic, _ in await outbox(db)] == ["appointment.booked"] + ["notification.deliver"] * 2


# --- a real server: its worker threads keep up with patients booking at once ----------------------------


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def live_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    update: dict[str, object] = {"queue_name": f"test-{uuid.uuid4().hex[:8]}", "embedded_workers": 2}
    if request.param == "redis-queue":
        if not REDIS_URL:
            pytest.skip("set YIYUE_TEST_REDIS_URL=redis://127.0.0.1:6379/0 to run the queue on Redis (.ci/run does)")
        update["queue_url"] = REDIS_URL
    return settings.model_copy(update=update)


@pytest.fixture
def live_app(live_settings: Settings) -> Any:
    return create_server(live_settings, clock=FrozenClock(NOW))


@pytest.fixture
async def store(live_settings: Settings) -> AsyncIterator[Database]:
    database = Database(live_settings.database_url)
    yield database
    await database.dispose()


PATIENTS = 24


async def test_patients_booking_at_once_are_each_told_once_on_every_channel_by_one_job_each(
    live_app: Any, store: Database
) -> None:
    catalog = await make_catalog(store)  # before the server starts: its workers write too (SQLite: one writer)
    schedules = [
        await make_schedule(store, catalog, days_ahead=1, capacity=PATIENTS, period=period)
        for period in (Period.MORNING, Period.AFTERNOON)
    ]
    fake: FakeWeChatState = live_app.state.fake_wechat.state.wechat
    with serving(live_app) as live:
        booked = await _book_at_once(live, fake, [s.id for s in schedules])

        deadline = time.monotonic() + 30
        while await _unfinished(store) != (0, 0) and time.monotonic() < deadline:  # noqa: ASYNC110 - the database is what we watch
            await asyncio.sleep(0.05)
    assert await _unfinished(store) == (0, 0)
    topics = [topic for topic, _ in await outbox(store)]
    assert topics == ["appointment.booked"] * PATIENTS  # one job per booking, none per channel
    async with store.session() as session:
        statuses = list((await session.execute(select(Delivery.channel, Delivery.status, Delivery.attempts))).tuples())
        told = list(await session.scalars(select(Notification.appointment_id)))
    assert sorted(statuses) == sorted([("sms", "sent", 1), ("wechat_subscribe", "sent", 1)] * PATIENTS)
    assert sorted(told) == sorted(booked)  # each once
    assert len([m for m in fake.sent_messages() if m.template_id == CONFIRMED]) == PATIENTS


async def _book_at_once(live: str, fake: FakeWeChatState, schedules: list[int]) -> list[int]:
    """``PATIENTS`` patients, each subscribed to 预约成功, log in and book at once; their appointments' ids."""
    async with httpx.AsyncClient(base_url=live, timeout=60) as http:

        async def patient(i: int) -> int:
            openid = f"o-fan-{i}-{uuid.uuid4().hex[:6]}"
            fake.grant_subscription(openid=openid, template_id=CONFIRMED)
            code = (await http.post(f"{FAKE_WECHAT_MOUNT}/__fake__/login-code", json={"openid": openid})).json()
            token = (await http.post("/api/v1/auth/wechat-login", json=code)).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            person = (await http.post("/api/v1/me/patients", json=patient_body(), headers=auth)).json()
            answer = await http.post(
                "/api/v1/appointments",
                json={"schedule_id": schedules[i % len(schedules)], "patient_id": person["id"]},
                headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert answer.status_code == 201, answer.text
            return int(answer.json()["id"])

        return list(await asyncio.gather(*(patient(i) for i in range(PATIENTS))))


async def _unfinished(store: Database) -> tuple[int, int]:
    """(outbox events not handled, deliveries not done)."""
    async with store.session() as session:
        events = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.handled_at.is_(None))
        )
        waiting = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status.in_(("pending", "sending")))
        )
    return int(events or 0), int(waiting or 0)
