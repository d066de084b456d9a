"""The booking rules members change, with models built in memory: the early window (提前预约), late
cancellation (延时退号) until the session starts, the members' share opening, and the payment notice."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.booking.test_rules import RELEASE, SECOND, STARTS, appointment, hospital, schedule
from yiyue.booking.models import AppointmentStatus
from yiyue.booking.rules import (
    CancelDeadlinePassed,
    NotReleased,
    cancel_deadline,
    cancel_terms,
    check_bookable,
    member_share_open,
    member_share_refusal,
    payment_notice,
)
from yiyue.members.rules import EarlyWindow

WINDOWS = [EarlyWindow("金卡会员", 30), EarlyWindow("钻石会员", 60)]


class TestEarlyWindow:
    def test_a_member_books_from_the_release_less_their_minutes(self) -> None:
        check_bookable(schedule(), hospital(), now=RELEASE - timedelta(minutes=30), early_minutes=30)

    def test_a_second_before_their_window_is_refused(self) -> None:
        with pytest.raises(NotReleased):
            check_bookable(schedule(), hospital(), now=RELEASE - timedelta(minutes=30) - SECOND, early_minutes=30)

    def test_the_refusal_names_the_levels_that_book_early(self) -> None:
        with pytest.raises(NotReleased) as refused:
            check_bookable(schedule(), hospital(), now=RELEASE - timedelta(hours=2), early_windows=WINDOWS)
        assert (
            refused.value.text
            == "该日号源将于03月02日 08:00开放预约（会员提前预约：金卡会员提前30分钟、钻石会员提前1小时）"
        )
        opens = [w["opens_at"] for w in refused.value.detail["early_booking"]]
        assert [datetime.fromisoformat(o) for o in opens] == [
            RELEASE - timedelta(minutes=30),
            RELEASE - timedelta(hours=1),
        ]

    def test_without_early_levels_the_refusal_is_as_before(self) -> None:
        with pytest.raises(NotReleased) as refused:
            check_bookable(schedule(), hospital(), now=RELEASE - SECOND)
        assert refused.value.text == "该日号源将于03月02日 08:00开放预约"


class TestLateCancel:
    """The session starts 2026-03-09 08:00; the deadline is 2 hours before, 06:00."""

    def terms(self, now: datetime, *, late: bool, paid: bool = True):  # type: ignore[no-untyped-def]
        a = appointment(AppointmentStatus.BOOKED, paid_at=STARTS - timedelta(days=3) if paid else None)
        return cancel_terms(a, hospital(), cancel_deadline(schedule(), hospital()), now=now, can_cancel_late=late)

    def test_a_member_cancels_after_the_deadline_with_a_full_refund(self) -> None:
        terms = self.terms(STARTS - timedelta(minutes=30), late=True)
        assert (terms.cancellable, terms.refund_on_cancel, terms.refusal) == (True, True, None)
        assert terms.rule == (
            "已过退号截止时间，您的会员等级享延时退号：就诊开始（03月09日 08:00）前可取消，已支付的挂号费原路全额退回"
        )

    def test_until_the_session_starts_and_no_longer(self) -> None:
        assert self.terms(STARTS - SECOND, late=True).cancellable
        terms = self.terms(STARTS, late=True)
        assert not terms.cancellable and isinstance(terms.refusal, CancelDeadlinePassed)

    def test_before_the_deadline_the_rule_says_so(self) -> None:
        terms = self.terms(STARTS - timedelta(hours=3), late=True, paid=False)
        assert terms.rule == (
            "就诊前2小时（03月09日 06:00前）可取消；"
            "您的会员等级享延时退号，截止后至就诊开始（03月09日 08:00）前仍可取消"
        )

    def test_others_are_refused_after_the_deadline(self) -> None:
        terms = self.terms(STARTS - timedelta(minutes=30), late=False)
        assert not terms.cancellable and isinstance(terms.refusal, CancelDeadlinePassed)


class TestMembersShare:
    def test_the_share_opens_at_its_hour(self) -> None:
        shared = hospital()
        shared.member_share_opens_hours = 24
        assert not member_share_open(schedule(), shared, now=STARTS - timedelta(hours=24) - SECOND)
        assert member_share_open(schedule(), shared, now=STARTS - timedelta(hours=24))
        assert member_share_refusal(schedule(), shared).text == "剩余号源为会员预留，将于03月08日 08:00向所有患者开放"


def test_a_member_who_may_cancel_late_is_not_warned_before_paying() -> None:
    deadline = cancel_deadline(schedule(), hospital())
    hold = appointment(AppointmentStatus.PENDING_PAYMENT, pay_deadline=deadline + timedelta(minutes=15))
    now = deadline - timedelta(minutes=1)
    assert payment_notice(hold, schedule(), deadline, now=now) is not None
    assert payment_notice(hold, schedule(), deadline, now=now, can_cancel_late=True) is None
