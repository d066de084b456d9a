"""Which messages still apply to their appointment (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yiyue.booking.models import AppointmentStatus
from yiyue.notifications.models import NotificationKind
from yiyue.notifications.rules import LIVE_WHILE, PROMPTS, STATUS_WORDS, stale_reason

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=15)


def test_the_rules_speak_of_real_kinds_and_statuses():
    kinds = {k.value for k in NotificationKind}
    statuses = {s.value for s in AppointmentStatus}
    assert set(LIVE_WHILE) <= kinds
    assert PROMPTS.issubset(LIVE_WHILE)
    assert all(live <= statuses for live in LIVE_WHILE.values())
    assert set(STATUS_WORDS) == statuses


class TestPaymentReminder:
    def test_applies_while_the_hold_waits_for_the_money(self):
        assert stale_reason("payment_reminder", "pending_payment", pay_deadline=LATER, now=NOW) is None

    @pytest.mark.parametrize(
        ("status", "reason"),
        [
            ("booked", "消息已失效：预约已支付"),
            ("cancelled", "消息已失效：预约已取消"),
            ("expired", "消息已失效：预约已过期"),
            ("suspended", "消息已失效：预约已停诊"),
        ],
    )
    def test_is_stale_once_paid_cancelled_expired_or_suspended(self, status, reason):
        assert stale_reason("payment_reminder", status, pay_deadline=LATER, now=NOW) == reason

    def test_is_stale_once_the_deadline_passed_even_before_the_sweep(self):
        assert stale_reason("payment_reminder", "pending_payment", pay_deadline=LATER, now=LATER) == (
            "消息已失效：已超过支付时限"
        )


class TestVisitReminder:
    def test_applies_to_a_booked_visit_only(self):
        assert stale_reason("visit_reminder", "booked", pay_deadline=None, now=NOW) is None
        for status in ("cancelled", "suspended", "expired", "checked_in", "no_show"):
            assert stale_reason("visit_reminder", status, pay_deadline=None, now=NOW) is not None


def test_the_check_in_prompt_is_stale_once_the_visit_is_over():
    assert stale_reason("checked_in", "checked_in", pay_deadline=None, now=NOW) is None
    assert stale_reason("checked_in", "completed", pay_deadline=None, now=NOW) == "消息已失效：预约已就诊"


def test_a_booking_confirmation_is_not_sent_for_a_booking_cancelled_meanwhile():
    assert stale_reason("booking_confirmed", "booked", pay_deadline=LATER, now=LATER) is None
    assert stale_reason("booking_confirmed", "cancelled", pay_deadline=None, now=NOW) == "消息已失效：预约已取消"


@pytest.mark.parametrize("kind", ["cancelled", "refunded", "suspended", "payment_expired", "no_show", "completed"])
def test_messages_of_what_happened_always_apply(kind):
    for status in AppointmentStatus:
        assert stale_reason(kind, status.value, pay_deadline=None, now=NOW) is None
