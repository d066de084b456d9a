"""Sending deliveries against the fake WeChat mounted on the app: at most once, retried only when
nothing went out, and never touching the booking."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import NOW, Login
from tests.factories import make_catalog, make_schedule
from yiyue.core.clock import Clock
from yiyue.core.config import Settings
from yiyue.core.crypto import FieldCipher
from yiyue.core.db import Database
from yiyue.core.events import DeliveryDue
from yiyue.notifications import service, tasks
from yiyue.notifications.channels import (
    OUTCOME_UNKNOWN,
    DeliveryInFlight,
    LoggingSmsProvider,
    SmsProvider,
    SmsRejected,
    SmsUnavailable,
    deliver,
)
from yiyue.notifications.models import Delivery
from yiyue.wechat.client import WeChatClient
from yiyue.wechat.errors import WeChatUnavailable
from yiyue.wechat.fake import PATH_STABLE_TOKEN, PATH_SUBSCRIBE_SEND, FakeWeChatState

OPENID = "o-delivery-test"


@dataclass
class Ctx:
    db: Database
    settings: Settings
    clock: Clock
    wechat: WeChatClient
    cipher: FieldCipher
    sms: SmsProvider = field(default_factory=LoggingSmsProvider)


@dataclass
class RecordingSms:
    sent: list[tuple[str, str]] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    fail_with: Exception | None = None

    async def send(self, phone: str, text: str, *, template: str) -> None:
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        self.sent.append((phone, text))
        self.templates.append(template)


@pytest.fixture
def ctx(app) -> Ctx:
    state = app.state
    return Ctx(db=state.db, settings=state.settings, clock=state.clock, wechat=state.wechat, cipher=state.cipher)


@pytest.fixture
def fake(app) -> FakeWeChatState:
    state: FakeWeChatState = app.state.fake_wechat.state.wechat
    return state


@pytest.fixture
async def appointment(client: httpx.AsyncClient, db: Database, login: Login) -> tuple[dict[str, str], int]:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog, days_ahead=1)
    auth = await login(OPENID)
    answer = await book(client, auth, schedule.id, await add_patient(client, auth))
    assert answer.status_code == 201, answer.text
    return auth, int(answer.json()["id"])


async def deliveries(db: Database, appointment_id: int, kind: str = "booking_confirmed") -> dict[str, Delivery]:
    async with db.session() as session:
        made = await service.notify(session, kind=kind, appointment_id=appointment_id, now=NOW)
        assert made is not None
    return await reload(db)


async def reload(db: Database) -> dict[str, Delivery]:
    async with db.session() as session:
        return {d.channel: d for d in await session.scalars(select(Delivery))}


async def run(ctx: Ctx, delivery_id: int, now: datetime = NOW) -> None:
    async with ctx.db.session() as session:
        await deliver(session, ctx, delivery_id, now)


def template(ctx: Ctx, purpose: str = "booking_confirmed") -> str:
    return ctx.settings.subscribe_templates[purpose]


class TestWeChat:
    async def test_sent_once_with_the_rendered_data(self, ctx, fake, db, appointment):
        _, appointment_id = appointment
        fake.grant_subscription(openid=OPENID, template_id=template(ctx), count=5)
        wechat = (await deliveries(db, appointment_id))["wechat_subscribe"]

        await run(ctx, wechat.id)
        await run(ctx, wechat.id)  # the job ran twice

        [message] = fake.sent_messages(OPENID)
        assert message.template_id == template(ctx)
        assert message.page == f"pages/appointment/appointment?id={appointment_id}"
        assert message.data["thing3"] == {"value": "李明华 主任医师"}
        assert message.data["time4"]["value"].startswith("2026年03月03日 08:00~")  # the slot, Beijing time
        after = (await reload(db))["wechat_subscribe"]
        assert (after.status, after.attempts, after.sent_at, after.last_error) == ("sent", 1, NOW, "")

    async def test_through_the_job_handler(self, ctx, fake, db, appointment):
        fake.grant_subscription(openid=OPENID, template_id=template(ctx, "visit_reminder"))
        wechat = (await deliveries(db, appointment[1], "visit_reminder"))["wechat_subscribe"]

        async with db.session() as session:
            await tasks.deliver_notification(ctx, session, DeliveryDue(delivery_id=wechat.id), NOW)

        assert [m.template_id for m in fake.sent_messages(OPENID)] == [template(ctx, "visit_reminder")]
        assert (await reload(db))["wechat_subscribe"].status == "sent"

    async def test_without_a_subscription_it_is_skipped_and_the_booking_stands(
        self, client, ctx, fake, db, appointment
    ):
        auth, appointment_id = appointment
        wechat = (await deliveries(db, appointment_id))["wechat_subscribe"]

        await run(ctx, wechat.id)

        after = (await reload(db))["wechat_subscribe"]
        assert after.status == "skipped" and "43101" in after.last_error and after.sent_at is None
        assert fake.sent_messages(OPENID) == []
        detail = await client.get(f"/api/v1/appointments/{appointment_id}", headers=auth)
        assert detail.json()["status"] == "booked"

    async def test_another_rejection_fails_without_retrying(self, ctx, fake, db, appointment):
        fake.grant_subscription(openid=OPENID, template_id=template(ctx))
        wechat = (await deliveries(db, appointment[1]))["wechat_subscribe"]
        fake.inject_fault(path=PATH_SUBSCRIBE_SEND, errcode=40037, errmsg="invalid template_id")

        await run(ctx, wechat.id)
        await run(ctx, wechat.id)

        after = (await reload(db))["wechat_subscribe"]
        assert after.status == "failed" and "40037" in after.last_error and after.attempts == 1
        assert fake.sent_messages(OPENID) == []

    async def test_a_busy_wechat_is_retried_later_and_then_sent(self, ctx, fake, db, appointment):
        fake.grant_subscription(openid=OPENID, template_id=template(ctx))
        wechat = (await deliveries(db, appointment[1]))["wechat_subscribe"]
        fake.inject_fault(path=PATH_SUBSCRIBE_SEND, errcode=-1, errmsg="system busy")

        with pytest.raises(WeChatUnavailable):
            await run(ctx, wechat.id)

        waiting = (await reload(db))["wechat_subscribe"]
        assert waiting.status == "pending" and waiting.attempts == 1 and "WeChatUnavailable" in waiting.last_error
        await run(ctx, wechat.id, NOW + timedelta(seconds=10))
        after = (await reload(db))["wechat_subscribe"]
        assert after.status == "sent" and after.attempts == 2
        assert len(fake.sent_messages(OPENID)) == 1

    async def test_no_access_token_leaves_it_unclaimed_for_a_retry(self, ctx, fake, db, appointment):
        wechat = (await deliveries(db, appointment[1]))["wechat_subscribe"]
        fake.inject_fault(path=PATH_STABLE_TOKEN, errcode=-1, errmsg="system busy")

        with pytest.raises(WeChatUnavailable):
            await run(ctx, wechat.id)

        waiting = (await reload(db))["wechat_subscribe"]
        assert (waiting.status, waiting.attempts) == ("pending", 0)

    async def test_a_delivery_left_sending_is_not_sent_again(self, ctx, fake, db, appointment):
        fake.grant_subscription(openid=OPENID, template_id=template(ctx))
        wechat = (await deliveries(db, appointment[1]))["wechat_subscribe"]
        async with db.session() as session:  # a worker claimed it, then died before recording the outcome
            await session.execute(update(Delivery).where(Delivery.id == wechat.id).values(status="sending"))

        with pytest.raises(DeliveryInFlight):  # moments later it may still be in flight elsewhere
            await run(ctx, wechat.id, NOW + timedelta(minutes=1))
        await run(ctx, wechat.id, NOW + timedelta(minutes=10))

        after = (await reload(db))["wechat_subscribe"]
        assert after.status == "failed" and after.last_error == OUTCOME_UNKNOWN
        assert fake.sent_messages(OPENID) == []


def wechat_over(handler: Callable[[httpx.Request], httpx.Response]) -> WeChatClient:
    """A client whose token works and whose subscribe/send does what ``handler`` says."""

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 7200})
        return handler(request)

    return WeChatClient(api_base="http://wechat.test", appid="wx", secret="s", transport=httpx.MockTransport(route))


class TestNetwork:
    async def test_no_connection_means_not_sent_so_it_is_retried(self, ctx, db, appointment):
        wechat = (await deliveries(db, appointment[1]))["wechat_subscribe"]

        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        async with wechat_over(refuse) as client:
            with pytest.raises(WeChatUnavailable):
                await run(Ctx(ctx.db, ctx.settings, ctx.clock, client, ctx.cipher), wechat.id)

        assert (await reload(db))["wechat_subscribe"].status == "pending"

    async def test_a_timeout_after_sending_is_an_unknown_outcome_and_not_retried(self, ctx, db, appointment):
        wechat = (await deliveries(db, appointment[1]))["wechat_subscribe"]
        seen: list[dict[str, object]] = []

        def slow(request: httpx.Request) -> httpx.Response:
            seen.append(json.loads(request.content))
            raise httpx.ReadTimeout("no answer", request=request)

        async with wechat_over(slow) as client:
            await run(Ctx(ctx.db, ctx.settings, ctx.clock, client, ctx.cipher), wechat.id)

        after = (await reload(db))["wechat_subscribe"]
        assert after.status == "failed" and after.last_error.startswith(OUTCOME_UNKNOWN)
        assert seen[0]["touser"] == OPENID


class TestSms:
    async def test_logged_by_its_template_and_the_phone_masked_never_its_text(self, ctx, db, appointment, caplog):
        sms = (await deliveries(db, appointment[1]))["sms"]

        with caplog.at_level(logging.DEBUG):
            await run(ctx, sms.id)

        [logged] = [r for r in caplog.records if r.getMessage().startswith("SMS ")]
        assert logged.getMessage().startswith("SMS booking_confirmed to 138****5678 (")
        assert (await reload(db))["sms"].status == "sent"
        everything = "\n".join(r.getMessage() for r in caplog.records)
        # nothing of the message: the patient, the hospital, the department, the doctor, the time, the phone
        for private in ("13812345678", "张三", "【医约】", "医院", "内科", "李明华", "3月3日", "08:00"):
            assert private not in everything, private

    async def test_goes_to_the_visit_persons_phone_once(self, ctx, db, appointment):
        sms = (await deliveries(db, appointment[1]))["sms"]
        provider = RecordingSms()
        ctx.sms = provider

        await run(ctx, sms.id)
        await run(ctx, sms.id)

        assert [phone for phone, _ in provider.sent] == ["13812345678"]
        assert provider.templates == ["booking_confirmed"]

    async def test_an_unavailable_gateway_is_retried_and_a_rejection_is_final(self, ctx, db, appointment):
        sms = (await deliveries(db, appointment[1]))["sms"]
        provider = RecordingSms(fail_with=SmsUnavailable("gateway down"))
        ctx.sms = provider

        with pytest.raises(SmsUnavailable):
            await run(ctx, sms.id)
        assert (await reload(db))["sms"].status == "pending"
        provider.fail_with = SmsRejected("号码无效")
        await run(ctx, sms.id)

        after = (await reload(db))["sms"]
        assert after.status == "failed" and "号码无效" in after.last_error and provider.sent == []
