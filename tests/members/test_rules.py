"""Membership rules with no database: privileges, the discount and its rounding, levels, points in time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yiyue.core.clock import HOSPITAL_TZ
from yiyue.members import rules
from yiyue.members.rules import LevelChange, Privileges


@dataclass(frozen=True)
class Level:
    code: str
    name: str
    min_points: int
    booking_priority: int = 0
    early_booking_minutes: int = 0
    member_share: bool = False
    can_cancel_late: bool = False
    discount_percent: int = 100


REGULAR = Level("regular", "普通会员", 0)
SILVER = Level("silver", "银卡会员", 300, booking_priority=1, member_share=True)
GOLD = Level("gold", "金卡会员", 1000, 2, 30, True, True, 95)
DIAMOND = Level("diamond", "钻石会员", 3000, 3, 60, True, True, 90)
LEVELS = [SILVER, REGULAR, DIAMOND, GOLD]  # in no order: the rules must not rely on one

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=HOSPITAL_TZ)


@dataclass(frozen=True)
class Entry:
    delta: int
    kind: str
    created_at: datetime
    expires_at: datetime | None = None


def earned(points: int, at: datetime, kind: str = "visit") -> Entry:
    return Entry(points, kind, at, rules.expires_at(at))


class TestDiscount:
    def test_ninety_five_percent_of_fifty_yuan(self) -> None:
        assert rules.discounted(5000, 95) == (4750, 250)

    def test_a_fraction_of_a_fen_is_the_patients(self) -> None:
        # 3 fen at 95% is 2.85 fen: the patient pays 2, the discount is 1.
        assert rules.discounted(3, 95) == (2, 1)
        assert rules.discounted(1999, 95) == (1899, 100)  # 1899.05 -> 1899

    def test_no_discount_and_a_free_session(self) -> None:
        assert rules.discounted(5000, 100) == (5000, 0)
        assert rules.discounted(0, 90) == (0, 0)

    @given(fee=st.integers(0, 10_000_000), percent=st.integers(1, 100))
    def test_payable_and_discount_add_up_and_never_exceed_the_exact_share(self, fee: int, percent: int) -> None:
        payable, discount = rules.discounted(fee, percent)
        assert payable + discount == fee
        assert discount >= 0 and payable >= 0
        assert payable * 100 <= fee * percent < (payable + 1) * 100

    @pytest.mark.parametrize("percent", [0, 101, -5])
    def test_a_percent_out_of_range_is_a_bug(self, percent: int) -> None:
        with pytest.raises(ValueError):
            rules.discounted(100, percent)

    @pytest.mark.parametrize(
        ("percent", "name"), [(95, "九五折"), (90, "九折"), (88, "八八折"), (100, "无折扣"), (5, "5%")]
    )
    def test_names_in_chinese(self, percent: int, name: str) -> None:
        assert rules.discount_name(percent) == name


class TestPrivileges:
    def test_a_level_gives_its_privileges(self) -> None:
        assert rules.privileges_of(GOLD) == Privileges("gold", "金卡会员", 2, 30, True, True, 95)

    def test_the_regular_default_allows_nothing_special(self) -> None:
        assert Privileges() == rules.REGULAR
        assert rules.describe(rules.REGULAR) == []

    def test_descriptions_say_each_privilege_in_chinese(self) -> None:
        lines = rules.describe(rules.privileges_of(GOLD))
        assert lines == [
            "提前预约：比公开放号时间提前30分钟预约",
            "会员预留号源：可预约医院为会员预留的号源",
            "候补优先：候补时优先获得释放的号源（优先级2）",
            "延时退号：过退号截止时间后、就诊开始前仍可取消，已付挂号费全额退回",
            "挂号费九五折（折后挂号费按分向下取整，不足1分的零头让利给患者）",
        ]
        assert rules.describe(rules.privileges_of(DIAMOND))[0] == "提前预约：比公开放号时间提前1小时预约"

    def test_earning_rules_state_the_points(self) -> None:
        assert rules.earning_rules()[:3] == ["完成一次就诊：+100积分", "首次成功预约：+50积分", "评价就诊医生：+20积分"]
        assert "24个月" in rules.EXPIRY_RULE and "先获得先过期" in rules.EXPIRY_RULE


class TestLevels:
    @pytest.mark.parametrize(
        ("points", "code"),
        [(0, "regular"), (299, "regular"), (300, "silver"), (999, "silver"), (1000, "gold"), (3000, "diamond")],
    )
    def test_the_highest_level_the_points_reach(self, points: int, code: str) -> None:
        assert rules.level_for(points, LEVELS).code == code

    def test_next_level_and_points_needed(self) -> None:
        assert rules.next_level(250, LEVELS) == (SILVER, 50)
        assert rules.next_level(1000, LEVELS) == (DIAMOND, 2000)
        assert rules.next_level(5000, LEVELS) is None

    def test_levels_with_no_zero_level_are_a_bug(self) -> None:
        with pytest.raises(ValueError):
            rules.level_for(10, [SILVER])

    def test_points_12m_counts_earnings_and_adjustments_of_the_last_12_months_only(self) -> None:
        now = T0 + timedelta(days=400)
        entries = [
            earned(100, T0),  # 400 days ago: out of the window
            earned(100, now - timedelta(days=300)),
            earned(20, now - timedelta(days=1), "review"),
            Entry(-50, "spend", now - timedelta(days=1)),  # spending never lowers the level
            Entry(-30, "adjust", now - timedelta(days=1)),  # a correction does
            Entry(-100, "expire", now),
        ]
        assert rules.points_12m(entries, now=now) == 90

    def test_points_12m_is_never_negative(self) -> None:
        assert rules.points_12m([Entry(-30, "adjust", T0)], now=T0) == 0


def change(**fields: object) -> LevelChange:
    base = {
        "code": "gold",
        "name": "金卡会员",
        "min_points": 1000,
        "booking_priority": 2,
        "early_booking_minutes": 30,
        "member_share": True,
        "can_cancel_late": True,
        "discount_percent": 95,
    }
    return LevelChange(**{**base, **fields})  # type: ignore[arg-type]


class TestLevelProblems:
    def test_a_sound_change_has_none(self) -> None:
        assert rules.level_problems(change(min_points=1200, discount_percent=92), LEVELS) == {}

    def test_thresholds_and_names_are_unique(self) -> None:
        problems = rules.level_problems(change(name="银卡会员", min_points=300), LEVELS)
        assert problems == {"name": "等级名称已被其他等级使用", "min_points": "所需积分与其他等级相同"}

    def test_some_level_starts_at_zero(self) -> None:
        problems = rules.level_problems(change(code="regular", name="普通会员", min_points=10), LEVELS)
        assert problems == {"min_points": "最低等级的所需积分须为0（每位患者都有一个等级）"}

    def test_privileges_out_of_range(self) -> None:
        problems = rules.level_problems(
            change(discount_percent=0, early_booking_minutes=-1, booking_priority=101, name=" "), LEVELS
        )
        assert set(problems) == {"discount_percent", "early_booking_minutes", "booking_priority", "name"}


class TestPointsInTime:
    def test_points_expire_24_months_after_earning_in_local_time(self) -> None:
        assert rules.expires_at(T0) == datetime(2028, 3, 2, 9, 0, tzinfo=HOSPITAL_TZ)

    def test_the_31st_falls_on_the_last_day_of_a_shorter_month(self) -> None:
        leap_day = datetime(2028, 2, 29, 12, 0, tzinfo=HOSPITAL_TZ)
        assert rules.add_months(leap_day, 12) == datetime(2029, 2, 28, 12, 0, tzinfo=HOSPITAL_TZ)
        assert rules.add_months(datetime(2026, 8, 31, tzinfo=HOSPITAL_TZ), -6).day == 28

    def test_nothing_lapses_before_its_time(self) -> None:
        assert rules.expiring([earned(100, T0)], now=rules.expires_at(T0) - timedelta(seconds=1)) == 0

    def test_the_oldest_points_lapse_first_less_what_was_taken_out(self) -> None:
        later = T0 + timedelta(days=200)
        entries = [earned(100, T0), earned(100, later), Entry(-30, "spend", later)]
        # The 30 spent came out of the oldest 100: 70 of them are left to lapse.
        assert rules.expiring(entries, now=rules.expires_at(T0)) == 70
        after = [*entries, Entry(-70, "expire", rules.expires_at(T0))]
        assert rules.expiring(after, now=rules.expires_at(T0)) == 0  # running again lapses nothing more
        assert rules.expiring(after, now=rules.expires_at(later)) == 100

    def test_a_spend_bigger_than_the_due_points_leaves_nothing_to_lapse(self) -> None:
        entries = [earned(100, T0), earned(100, T0 + timedelta(days=1)), Entry(-150, "spend", T0 + timedelta(days=2))]
        assert rules.expiring(entries, now=rules.expires_at(T0)) == 0
        assert rules.expiring(entries, now=rules.expires_at(T0 + timedelta(days=1))) == 50
