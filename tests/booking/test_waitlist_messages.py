"""What the waitlist tells the patient (候补成功 at once, in the mini-program and by a subscribe message;
候补已结束 with the reason), and messages withdrawn once they no longer apply — through HTTP, the job
system's real handlers and the fake WeChat; and the words themselves (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.booking.test_waitlist_api import (
    WAITLIST,
    cancel,
    confirm,
    joined,
    new_patient,
    offered_to,
    sold_out,
)
from tests.conftest import NOW
from tests.factories import Catalog, make_catalog, make_staff, staff_login
from tests.jobs_support import Jobs
from yiyue.booking import waitlist
from yiyue.core.clock import HOSPITAL_TZ, FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.notifications import rules
from yiyue.notifications.models import Delivery, Notification, NotificationKind
from yiyue.notifications.templates import WAITLIST_END_WORDS, WaitlistFacts, render, render_waitlist
from yiyue.wechat.fake import (
    DEFAULT_TEMPLATES,
    PATH_SUBSCRIBE_SEND,
    TEMPLATE_WAITLIST_OFFERED,
    VALUE_RULES,
    FakeWeChatState,
    key_kind,
)

MESSAGES = "/api/v1/me/notifications"


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
def jobs(app: object) -> Jobs:
    return Jobs(app)  # type: ignore[arg-type]


@pytest.fixture
def fake(app: Any) -> FakeWeChatState:
    state: FakeWeChatState = app.state.fake_wechat.state.wechat
    return state


async def messages_of(db: Database, entry_id: int) -> dict[str, tuple[Notification, list[Delivery]]]:
    async with db.session() as session:
        found = list(await session.scalars(select(Notification).where(Notification.waitlist_entry_id == entry_id)))
        deliveries = list(await session.scalars(select(Delivery).order_by(Delivery.id)))
    return {n.kind: (n, [d for d in deliveries if d.notification_id == n.id]) for n in found}


async def handle_offers_only(jobs: Jobs, fake: FakeWeChatState) -> None:
    """Makes the offer's message, whose subscribe message finds WeChat busy (-1): nothing went out, and
    the delivery waits for its retry."""
    from tests.notifications.test_withdrawal import handle

    fake.inject_fault(path=PATH_SUBSCRIBE_SEND, errcode=-1, errmsg="system error")
    assert await handle(jobs, "waitlist.offered") >= 1


class TestOffered:
    async def test_the_head_is_told_at_once_in_the_app_and_by_subscribe_message(self, client, db, catalog, jobs, fake):
        _, head, mine, _, _ = await offered_to(client, db, catalog)
        fake.grant_subscription(openid=head.openid, template_id=TEMPLATE_WAITLIST_OFFERED)

        await jobs.drain()

        listed = (await client.get(MESSAGES, headers=head.auth)).json()
        [message] = [n for n in listed["items"] if n["kind"] == "waitlist_offered"]
        assert message["title"] == "候补成功，请确认预约" and message["read_at"] is None
        assert message["waitlist_entry_id"] == mine["id"] and message["appointment_id"] is None
        assert "候补成功：已为排头保留测试人民医院 心血管内科 李明华（主任医师）" in message["body"]
        assert "1号，请于09:15前确认预约" in message["body"]
        [sent] = [m for m in fake.sent_messages(head.openid) if m.template_id == TEMPLATE_WAITLIST_OFFERED]
        assert sent.page == "pages/waitlist/waitlist"
        assert sent.data["thing5"] == {"value": "已为您保留1号，请于09:15前确认"}
        assert sent.data["name1"] == {"value": "排头"} and sent.data["thing3"] == {"value": "李明华 主任医师"}

    async def test_confirming_withdraws_the_offer_and_its_unsent_subscribe_message(
        self, client, db, catalog, jobs, fake
    ):
        _, head, mine, _, _ = await offered_to(client, db, catalog)
        await handle_offers_only(jobs, fake)

        assert (await confirm(client, head, mine["id"])).status_code == 201
        await jobs.drain()

        offer, [delivery] = (await messages_of(db, mine["id"]))["waitlist_offered"]
        assert offer.read_at == NOW
        assert (delivery.status, delivery.last_error) == ("cancelled", "消息已失效：候补已预约")
        assert "waitlist_ended" not in await messages_of(db, mine["id"])

    async def test_a_lapsed_offer_is_withdrawn_and_the_patient_told_it_passed_on(
        self, client, db, catalog, jobs, fake, clock: FrozenClock
    ):
        _, _, mine, _, theirs = await offered_to(client, db, catalog)
        await handle_offers_only(jobs, fake)
        clock.set(NOW + timedelta(minutes=15))

        await jobs.drain()

        found = await messages_of(db, mine["id"])
        offer, [delivery] = found["waitlist_offered"]
        assert offer.read_at is not None and delivery.status == "cancelled"
        ended, deliveries = found["waitlist_ended"]
        assert ended.title == "候补已结束" and deliveries == []  # in-app only
        assert "未在规定时间内确认，为您保留的号源已顺延给下一位候补患者" in ended.body
        assert "waitlist_offered" in await messages_of(db, theirs["id"])

    async def test_leaving_tells_nothing_but_withdraws_the_offer(self, client, db, catalog, jobs, fake):
        _, head, mine, _, _ = await offered_to(client, db, catalog)
        await handle_offers_only(jobs, fake)

        assert (await client.delete(f"{WAITLIST}/{mine['id']}", headers=head.auth)).status_code == 204
        await jobs.drain()

        found = await messages_of(db, mine["id"])
        assert set(found) == {"waitlist_offered"}
        assert found["waitlist_offered"][0].read_at == NOW


class TestEnded:
    async def test_a_suspension_is_told_to_everyone_waiting(self, client, db, catalog, jobs):
        schedule, _ = await sold_out(client, db, catalog)
        patient = await new_patient(client, name="候补甲")
        mine = await joined(client, patient, schedule.id)
        admin = await staff_login(client, (await make_staff(db, catalog=catalog)).username)
        assert (
            await client.post(f"/api/v1/staff/schedules/{schedule.id}/suspend", json={"reason": "会诊"}, headers=admin)
        ).status_code == 200

        await jobs.drain()

        ended, _ = (await messages_of(db, mine["id"]))["waitlist_ended"]
        assert ended.body.startswith(
            "候补甲候补的测试人民医院 心血管内科 李明华（主任医师）2026年03月03日（周二）上午已结束。"
        )
        assert "因医生停诊" in ended.body

    async def test_a_person_passed_over_is_told_why(self, client, db, catalog, jobs):
        schedule, [holder] = await sold_out(client, db, catalog, capacity=1)
        other = await sold_out(client, db, catalog, capacity=2, doctor=catalog.doctor, period="afternoon")
        patient = await new_patient(client)
        mine = await joined(client, patient, schedule.id)
        await cancel(client, other[1][0])
        booked = await client.post(
            "/api/v1/appointments",
            json={"schedule_id": other[0].id, "patient_id": patient.patient_id},
            headers={**patient.auth, "Idempotency-Key": "k1"},
        )
        assert booked.status_code == 201
        await cancel(client, holder)

        await jobs.drain()

        ended, _ = (await messages_of(db, mine["id"]))["waitlist_ended"]
        assert "该就诊人已预约这位医生当日的号源，此候补已自动结束" in ended.body


# --- the words (pure) --------------------------------------------------------------------------------

FACTS = WaitlistFacts(
    entry_id=42,
    hospital="测试人民医院",
    department="心血管内科",
    doctor="李明华",
    doctor_title="主任医师",
    patient_name="张三",
    visit_date=date(2026, 3, 3),
    period_label="上午",
    starts_at=datetime(2026, 3, 3, 8, 0, tzinfo=HOSPITAL_TZ),
    slot_number=7,
    slot_starts_at=datetime(2026, 3, 3, 9, 30, tzinfo=HOSPITAL_TZ),
    slot_ends_at=datetime(2026, 3, 3, 9, 45, tzinfo=HOSPITAL_TZ),
    offered_at=datetime(2026, 3, 2, 9, 0, tzinfo=HOSPITAL_TZ),
    offer_expires_at=datetime(2026, 3, 2, 9, 15, tzinfo=HOSPITAL_TZ),
)
LONG = replace(
    FACTS,
    hospital="首都医科大学附属北京安贞医院国家心血管病中心北京分院",
    department="心血管内科高血压与动脉粥样硬化专病门诊",
    doctor="欧阳娜娜娜娜娜娜娜",
    patient_name="阿卜杜热合曼·艾合买提江·买买提",
    slot_number=123,
)
TEMPLATES = Settings.model_fields["subscribe_templates"].default_factory()  # type: ignore[misc]


class TestWords:
    def test_the_offer_says_which_number_and_until_when(self):
        message = render_waitlist(NotificationKind.WAITLIST_OFFERED, FACTS)

        assert message.body == (
            "候补成功：已为张三保留测试人民医院 心血管内科 李明华（主任医师）"
            "2026年03月03日（周二）上午 09:30-09:45 7号，请于09:15前确认预约，逾期未确认将顺延给下一位候补患者。"
        )
        assert message.sms is None and message.wechat is not None
        assert message.wechat.data == {
            "name1": "张三",
            "thing2": "心血管内科",
            "thing3": "李明华 主任医师",
            "time4": "2026年03月03日 09:30~09:45",
            "thing5": "已为您保留7号，请于09:15前确认",
        }

    def test_an_offer_ending_the_next_day_gives_the_date(self):
        late = replace(
            FACTS,
            offered_at=datetime(2026, 3, 2, 23, 55, tzinfo=HOSPITAL_TZ),
            offer_expires_at=datetime(2026, 3, 3, 0, 10, tzinfo=HOSPITAL_TZ),
        )

        assert "请于03月03日 00:10前确认" in render_waitlist(NotificationKind.WAITLIST_OFFERED, late).body

    @pytest.mark.parametrize("facts", [FACTS, LONG], ids=["usual", "long names"])
    def test_the_subscribe_message_always_passes_wechats_value_rules(self, facts):
        message = render_waitlist(NotificationKind.WAITLIST_OFFERED, facts)

        assert message.wechat is not None
        keys = DEFAULT_TEMPLATES[TEMPLATES[message.wechat.purpose]]
        assert sorted(message.wechat.data) == sorted(keys)
        for key, value in message.wechat.data.items():
            kind = key_kind(key)
            assert kind is not None and VALUE_RULES[kind](value), f"{key}={value!r}"

    @pytest.mark.parametrize(
        "reason", [waitlist.LAPSED, waitlist.SUSPENDED, waitlist.CLOSED, waitlist.BOOKED_ELSEWHERE, "其他原因"]
    )
    def test_every_end_says_why(self, reason):
        message = render_waitlist(NotificationKind.WAITLIST_ENDED, replace(FACTS, end_reason=reason))

        assert message.title == "候补已结束" and message.wechat is None and message.sms is None
        assert message.body.startswith(
            "张三候补的测试人民医院 心血管内科 李明华（主任医师）2026年03月03日（周二）上午已结束。"
        )
        assert (WAITLIST_END_WORDS.get(reason) or f"原因：{reason}。") in message.body

    def test_the_end_reasons_are_the_waitlists_own(self):
        assert set(WAITLIST_END_WORDS) == {
            waitlist.LAPSED,
            waitlist.SUSPENDED,
            waitlist.CLOSED,
            waitlist.BOOKED_ELSEWHERE,
        }
        assert rules.LEFT_BY_PATIENT == waitlist.LEFT
        assert not rules.tells_ending(waitlist.LEFT) and rules.tells_ending(waitlist.LAPSED)

    def test_kinds_are_rendered_by_their_own_function(self):
        with pytest.raises(ValueError):
            render_waitlist(NotificationKind.BOOKING_CONFIRMED, FACTS)
        with pytest.raises(ValueError):
            render(NotificationKind.WAITLIST_OFFERED, None)  # type: ignore[arg-type]


class TestStale:
    LATER = NOW + timedelta(minutes=15)

    def test_an_offer_applies_while_it_is_open_and_in_time(self):
        assert rules.waitlist_stale_reason("waitlist_offered", "offered", offer_expires_at=self.LATER, now=NOW) is None
        assert rules.waitlist_stale_reason(
            "waitlist_offered", "offered", offer_expires_at=self.LATER, now=self.LATER
        ) == ("消息已失效：已超过确认时限")

    @pytest.mark.parametrize(
        ("status", "reason"), [("booked", "消息已失效：候补已预约"), ("ended", "消息已失效：候补已结束")]
    )
    def test_an_offer_is_stale_once_confirmed_or_ended(self, status, reason):
        assert rules.waitlist_stale_reason("waitlist_offered", status, offer_expires_at=self.LATER, now=NOW) == reason

    def test_an_end_stays_true(self):
        assert rules.waitlist_stale_reason("waitlist_ended", "ended", offer_expires_at=None, now=NOW) is None

    def test_the_rules_speak_of_real_kinds_and_statuses(self):
        from yiyue.booking.models import WaitlistStatus

        kinds = {k.value for k in NotificationKind}
        assert set(rules.WAITLIST_LIVE_WHILE) <= kinds and set(rules.WAITLIST_LIVE_WHILE) >= rules.WAITLIST_PROMPTS
        assert set(rules.WAITLIST_STATUS_WORDS) == {s.value for s in WaitlistStatus}
