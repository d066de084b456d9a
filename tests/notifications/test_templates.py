"""What each notification says, and that its WeChat data always passes WeChat's value rules (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from yiyue.core.config import Settings
from yiyue.notifications.models import NotificationKind
from yiyue.notifications.templates import (
    APPOINTMENT_KINDS,
    AppointmentFacts,
    Rendered,
    character_string,
    name,
    phrase,
    render,
    thing,
    time_window,
    yuan,
)
from yiyue.wechat.fake import DEFAULT_TEMPLATES, VALUE_RULES, key_kind

# 2026-03-03 08:00-08:15 in Beijing is 00:00-00:15 UTC.
FACTS = AppointmentFacts(
    appointment_id=42,
    hospital="测试人民医院",
    hospital_address="北京市东城区测试路1号",
    department="心血管内科",
    location="门诊楼3层",
    doctor="李明华",
    doctor_title="主任医师",
    patient_name="张三",
    visit_date=date(2026, 3, 3),
    period_label="上午",
    starts_at=datetime(2026, 3, 3, 0, 0, tzinfo=UTC),
    ends_at=datetime(2026, 3, 3, 0, 15, tzinfo=UTC),
    queue_number=7,
    fee_fen=5000,
)
LONG = replace(
    FACTS,
    hospital="首都医科大学附属北京安贞医院国家心血管病中心北京分院",
    department="心血管内科高血压与动脉粥样硬化专病门诊",
    location="门诊楼东区三层心血管中心候诊区B区",
    doctor="欧阳娜娜娜娜娜娜娜",
    doctor_title="主任医师",
    patient_name="阿卜杜热合曼·艾合买提江·买买提",
)
TEMPLATES = Settings.model_fields["subscribe_templates"].default_factory()  # type: ignore[misc]
WECHAT_KINDS = {
    NotificationKind.BOOKING_CONFIRMED: "booking_confirmed",
    NotificationKind.VISIT_REMINDER: "visit_reminder",
    NotificationKind.CANCELLED: "cancelled",
    NotificationKind.REFUNDED: "cancelled",
    NotificationKind.SUSPENDED: "cancelled",
}
IN_APP_ONLY = {NotificationKind.CHECKED_IN, NotificationKind.COMPLETED}
"""Told while the patient is at the hospital: no SMS, no subscribe message."""


def assert_wechat_accepts(message: Rendered) -> None:
    assert message.wechat is not None
    keys = DEFAULT_TEMPLATES[TEMPLATES[message.wechat.purpose]]
    assert sorted(message.wechat.data) == sorted(keys)
    for key, value in message.wechat.data.items():
        kind = key_kind(key)
        assert kind is not None and VALUE_RULES[kind](value), f"{key}={value!r}"


class TestEveryKind:
    @pytest.mark.parametrize("kind", sorted(APPOINTMENT_KINDS))
    @pytest.mark.parametrize("facts", [FACTS, LONG], ids=["usual", "long names"])
    def test_renders_a_title_a_body_and_an_sms(self, kind, facts):
        message = render(kind, facts)

        assert message.title and len(message.title) <= 60
        assert facts.patient_name in message.body and facts.hospital in message.body
        if kind in IN_APP_ONLY:
            assert message.sms is None and message.wechat is None
        else:
            assert message.sms is not None
            assert message.sms.startswith("【医约】") and facts.doctor in message.sms

    @pytest.mark.parametrize("kind", sorted(APPOINTMENT_KINDS))
    @pytest.mark.parametrize("facts", [FACTS, LONG], ids=["usual", "long names"])
    def test_wechat_data_exists_for_template_kinds_and_always_passes_the_value_rules(self, kind, facts):
        message = render(kind, facts, {"reason": "临时有事" * 10, "refund": True})

        if kind in WECHAT_KINDS:
            assert message.wechat is not None and message.wechat.purpose == WECHAT_KINDS[kind]
            assert message.wechat.page == f"pages/appointment/appointment?id={facts.appointment_id}"
            assert_wechat_accepts(message)
        else:
            assert message.wechat is None

    def test_an_unknown_kind_is_refused(self):
        with pytest.raises(ValueError):
            render("birthday", FACTS)


class TestBookingConfirmed:
    def test_says_where_and_when_in_beijing_time(self):
        message = render(NotificationKind.BOOKING_CONFIRMED, FACTS)

        assert message.title == "预约成功"
        assert "2026年03月03日（周二）上午 08:00-08:15" in message.body
        assert "就诊序号7号" in message.body and "挂号费50.00元" in message.body and "门诊楼3层" in message.body
        assert "3月3日上午08:00" in message.sms

    def test_wechat_data(self):
        assert render(NotificationKind.BOOKING_CONFIRMED, FACTS).wechat.data == {  # type: ignore[union-attr]
            "name1": "张三",
            "thing2": "心血管内科",
            "thing3": "李明华 主任医师",
            "time4": "2026年03月03日 08:00~08:15",
            "character_string5": "42",
        }


class TestOtherKinds:
    def test_payment_reminder_gives_the_minutes_left(self):
        assert "请在15分钟内完成支付" in render(NotificationKind.PAYMENT_REMINDER, FACTS, {"minutes": 15}).body
        assert "请尽快完成支付" in render(NotificationKind.PAYMENT_REMINDER, FACTS).body

    def test_payment_expired(self):
        message = render(NotificationKind.PAYMENT_EXPIRED, FACTS)
        assert "未支付" in message.title and "已自动取消" in message.body

    def test_visit_reminder_names_the_place(self):
        message = render(NotificationKind.VISIT_REMINDER, FACTS)
        assert message.title == "就诊提醒"
        assert message.wechat is not None
        assert message.wechat.data["thing4"] == "测试人民医院门诊楼3层"
        assert message.wechat.data["time3"] == "2026年03月03日 08:00~08:15"

    def test_cancelled_with_reason_and_refund(self):
        message = render(NotificationKind.CANCELLED, FACTS, {"reason": "行程有变", "refund": True})
        assert message.title == "已取消预约"
        assert "行程有变" in message.body and "原路退回" in message.body
        assert message.wechat is not None
        assert message.wechat.data["phrase4"] == "已取消" and message.wechat.data["thing5"] == "行程有变"

    def test_refunded_shows_yuan_from_fen(self):
        message = render(NotificationKind.REFUNDED, FACTS, {"amount_fen": 1205})
        assert message.title == "退款成功" and "1205" not in message.body and "12.05元" in message.body
        assert message.wechat is not None and message.wechat.data["phrase4"] == "已退款"
        assert "50.00元" in render(NotificationKind.REFUNDED, FACTS).body  # the fee by default

    @pytest.mark.parametrize(
        ("refund", "says"), [(True, "50.00元将全额原路退回"), (False, "无需退款"), (None, "如已支付挂号费")]
    )
    def test_suspended_says_what_happens_to_the_money(self, refund, says):
        message = render(NotificationKind.SUSPENDED, FACTS, {} if refund is None else {"refund": refund})
        assert message.title == "停诊通知" and "停诊" in message.body and says in message.body
        assert message.wechat is not None and message.wechat.data["phrase4"] == "已停诊"

    def test_suspended_gives_the_reason_staff_recorded(self):
        message = render(NotificationKind.SUSPENDED, replace(FACTS, status_reason="医生外出会诊"), {"refund": True})

        assert "停诊原因：医生外出会诊。" in message.body
        assert message.sms is not None and "停诊原因：医生外出会诊" in message.sms
        assert message.wechat is not None and message.wechat.data["thing5"] == "医生外出会诊"  # 取消原因
        assert_wechat_accepts(message)

    def test_suspended_points_to_the_slots_held_for_rebooking(self):
        offered = render(NotificationKind.SUSPENDED, FACTS, {"refund": False, "rebook_offered": True})
        not_offered = render(NotificationKind.SUSPENDED, FACTS, {"refund": False, "rebook_offered": False})

        assert "已为您保留可改约的号源，请在预约详情中一键改约。" in offered.body
        assert offered.sms is not None and "一键改约" in offered.sms
        assert "改约" not in not_offered.body

    def test_suspended_does_not_repeat_the_generic_reason(self):
        message = render(NotificationKind.SUSPENDED, replace(FACTS, status_reason="医生停诊"), {"refund": False})

        assert "停诊原因" not in message.body and "因医生停诊" in message.body
        assert message.wechat is not None and message.wechat.data["thing5"] == "医生停诊，请改约其他号源"

    def test_a_long_suspension_reason_fits_wechat(self):
        reason = "医生临时参加突发公共卫生事件医疗救援"
        message = render(NotificationKind.SUSPENDED, replace(LONG, status_reason=reason))

        assert f"停诊原因：{reason}。" in message.body
        assert_wechat_accepts(message)

    def test_checked_in_says_wait_with_the_queue_number_doctor_and_place(self):
        message = render(NotificationKind.CHECKED_IN, FACTS)

        assert message.title == "已签到，请候诊"
        assert message.body.startswith("张三已签到，请候诊。")
        assert "就诊序号7号" in message.body and "李明华（主任医师）" in message.body
        assert "心血管内科" in message.body and "请到门诊楼3层候诊" in message.body
        assert (message.sms, message.wechat) == (None, None)

    def test_checked_in_without_a_clinic_location_names_the_hospital_address(self):
        message = render(NotificationKind.CHECKED_IN, replace(FACTS, location=""))

        assert "请到北京市东城区测试路1号候诊" in message.body

    def test_completed_thanks_the_patient(self):
        message = render(NotificationKind.COMPLETED, FACTS)

        assert message.title == "就诊完成"
        assert "感谢您的就诊" in message.body and "李明华（主任医师）" in message.body
        assert "评价" not in message.body
        assert (message.sms, message.wechat) == (None, None)

    def test_completed_invites_a_review_when_given_where(self):
        link = "pages/review/review?appointment=42"
        message = render(NotificationKind.COMPLETED, FACTS, {"review_link": link})

        assert message.body.endswith(f"欢迎对本次就诊进行评价：{link}")

    def test_no_show_states_the_ban_rule(self):
        message = render(NotificationKind.NO_SHOW, FACTS)
        assert message.title == "爽约记录"
        assert "90天内累计爽约3次将暂停预约90天" in message.body and "90天内累计爽约3次" in message.sms
        custom = render(NotificationKind.NO_SHOW, FACTS, {"threshold": 2, "window_days": 30, "ban_days": 7})
        assert "30天内累计爽约2次将暂停预约7天" in custom.body


class TestWeChatValues:
    def test_thing_is_cut_to_twenty_with_an_ellipsis(self):
        assert thing("心" * 20) == "心" * 20
        assert thing("心" * 21) == "心" * 19 + "…"
        assert thing("  a\n\tb\u200b \u200b c ") == "a b c"
        assert thing("") == "无"

    def test_name_has_no_digits_and_fits(self):
        assert name("张三") == "张三"
        assert name("阿卜杜热合曼·艾合买提江") == "阿卜杜热合曼·艾合买"
        assert name("Alexander Maximilian Smith") == "Alexander Maximilian"
        assert name("王2") == "王"
        assert name("123") == "就诊人"

    def test_phrase_is_up_to_five_chinese_characters(self):
        assert phrase("已取消") == "已取消"
        assert phrase("已取消 (ok) 并已退款") == "已取消并已"
        assert phrase("ok") == "已取消"

    def test_character_string_is_printable_ascii_up_to_32(self):
        assert character_string("A-42 号") == "A-42"
        assert character_string("x" * 40) == "x" * 32

    def test_time_window_is_in_beijing_time(self):
        assert time_window(FACTS.starts_at, FACTS.ends_at) == "2026年03月03日 08:00~08:15"
        late = time_window(datetime(2026, 3, 3, 15, 50, tzinfo=UTC), datetime(2026, 3, 3, 16, 10, tzinfo=UTC))
        assert late == "2026年03月03日 23:50~2026年03月04日 00:10"
        assert VALUE_RULES["time"](late)

    @pytest.mark.parametrize(("fen", "text"), [(0, "0.00"), (5, "0.05"), (5000, "50.00"), (123456, "1234.56")])
    def test_yuan_from_fen(self, fen, text):
        assert yuan(fen) == text
