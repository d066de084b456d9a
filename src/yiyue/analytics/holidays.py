"""China's public holidays and their make-up working days (调休), 2024-2027: what kind of day a date is
for a hospital's demand.

A clinic's demand follows the official calendar, not the weekday alone: during 春节 and 国庆 outpatient
requests fall to a fraction of a normal day, and a make-up working Sunday (调休上班) runs weekday clinics.
The forecast (``forecast``) reads ``classify`` to keep those days out of the weekly pattern it fits and to
adjust its forecast for them.

Source: the State Council General Office's notices on the holiday arrangements (国务院办公厅关于某年部分
节假日安排的通知): 国办发明电〔2023〕7号 for 2024, 国办发明电〔2024〕12号 for 2025 (the first year of
the revised 《全国年节及纪念日放假办法》: 春节 and 劳动节 one day longer), 国办发明电〔2025〕7号 for 2026;
cross-checked day by day against the ``chinesecalendar`` package 1.11.0. A holiday "与周末连休" (joined to
the weekend) lists only the named days, as the notice does; the weekend next to it is a weekend.

2027 is PROVISIONAL: its notice was not available when this table was written, so 2027 holds the statutory
days of the revised 放假办法 only (元旦 1, 春节 4 from 除夕, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3; the
lunar dates from the ``lunardate`` package) and no make-up days. Replace it with the notice's arrangement
when it is published; ``CalendarDay.provisional`` says which answers come from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from yiyue.core.errors import InvalidInput


class DayKind(StrEnum):
    HOLIDAY = "holiday"
    MAKEUP_WORKDAY = "makeup_workday"  # 调休上班: a Saturday or Sunday worked in exchange for a holiday
    NORMAL = "normal"


class Festival(StrEnum):
    NEW_YEAR = "元旦"
    SPRING_FESTIVAL = "春节"
    QINGMING = "清明节"
    LABOUR_DAY = "劳动节"
    DRAGON_BOAT = "端午节"
    MID_AUTUMN = "中秋节"
    NATIONAL_DAY = "国庆节"


class HolidayCalendarNotCovered(InvalidInput):
    """A date outside the years the table holds: answering "normal" would silently forecast next 春节 as an
    ordinary week."""

    code = "HOLIDAY_CALENDAR_NOT_COVERED"
    message = "节假日日历未覆盖该日期"

    def __init__(self, day: date) -> None:
        super().__init__(
            f"{self.message}：{day.isoformat()}（已覆盖 {FIRST_YEAR}–{LAST_YEAR} 年）",
            detail={"date": day.isoformat(), "first_year": FIRST_YEAR, "last_year": LAST_YEAR},
        )


@dataclass(frozen=True)
class CalendarDay:
    day: date
    kind: DayKind
    festival: Festival | None  # the holiday the day belongs to, or the one a make-up workday pays for
    provisional: bool  # from a year whose official arrangement was not yet in the table

    @property
    def is_holiday(self) -> bool:
        return self.kind is DayKind.HOLIDAY


@dataclass(frozen=True)
class _Arrangement:
    festival: Festival
    first: date
    last: date
    makeup_workdays: tuple[date, ...] = ()


def _a(festival: Festival, first: str, last: str, *makeup: str) -> _Arrangement:
    return _Arrangement(
        festival, date.fromisoformat(first), date.fromisoformat(last), tuple(date.fromisoformat(d) for d in makeup)
    )


F = Festival
_ARRANGEMENTS: tuple[_Arrangement, ...] = (
    # 2024, 国办发明电〔2023〕7号
    _a(F.NEW_YEAR, "2024-01-01", "2024-01-01"),
    _a(F.SPRING_FESTIVAL, "2024-02-10", "2024-02-17", "2024-02-04", "2024-02-18"),
    _a(F.QINGMING, "2024-04-04", "2024-04-06", "2024-04-07"),
    _a(F.LABOUR_DAY, "2024-05-01", "2024-05-05", "2024-04-28", "2024-05-11"),
    _a(F.DRAGON_BOAT, "2024-06-10", "2024-06-10"),
    _a(F.MID_AUTUMN, "2024-09-15", "2024-09-17", "2024-09-14"),
    _a(F.NATIONAL_DAY, "2024-10-01", "2024-10-07", "2024-09-29", "2024-10-12"),
    # 2025, 国办发明电〔2024〕12号; 中秋 (10-06) falls inside 国庆 and shares its arrangement
    _a(F.NEW_YEAR, "2025-01-01", "2025-01-01"),
    _a(F.SPRING_FESTIVAL, "2025-01-28", "2025-02-04", "2025-01-26", "2025-02-08"),
    _a(F.QINGMING, "2025-04-04", "2025-04-06"),
    _a(F.LABOUR_DAY, "2025-05-01", "2025-05-05", "2025-04-27"),
    _a(F.DRAGON_BOAT, "2025-05-31", "2025-06-02"),
    _a(F.NATIONAL_DAY, "2025-10-01", "2025-10-08", "2025-09-28", "2025-10-11"),
    # 2026, 国办发明电〔2025〕7号
    _a(F.NEW_YEAR, "2026-01-01", "2026-01-03", "2026-01-04"),
    _a(F.SPRING_FESTIVAL, "2026-02-15", "2026-02-23", "2026-02-14", "2026-02-28"),
    _a(F.QINGMING, "2026-04-04", "2026-04-06"),
    _a(F.LABOUR_DAY, "2026-05-01", "2026-05-05", "2026-05-09"),
    _a(F.DRAGON_BOAT, "2026-06-19", "2026-06-21"),
    _a(F.MID_AUTUMN, "2026-09-25", "2026-09-27"),
    _a(F.NATIONAL_DAY, "2026-10-01", "2026-10-07", "2026-09-20", "2026-10-10"),
    # 2027, PROVISIONAL: statutory days only (see the module's docstring)
    _a(F.NEW_YEAR, "2027-01-01", "2027-01-01"),
    _a(F.SPRING_FESTIVAL, "2027-02-05", "2027-02-08"),  # 除夕 to 初三
    _a(F.QINGMING, "2027-04-05", "2027-04-05"),
    _a(F.LABOUR_DAY, "2027-05-01", "2027-05-02"),
    _a(F.DRAGON_BOAT, "2027-06-09", "2027-06-09"),
    _a(F.MID_AUTUMN, "2027-09-15", "2027-09-15"),
    _a(F.NATIONAL_DAY, "2027-10-01", "2027-10-03"),
)
del F

FIRST_YEAR = 2024
LAST_YEAR = 2027
PROVISIONAL_YEARS = frozenset({2027})


def _index() -> dict[date, tuple[DayKind, Festival]]:
    days: dict[date, tuple[DayKind, Festival]] = {}
    for arrangement in _ARRANGEMENTS:
        day = arrangement.first
        while day <= arrangement.last:
            days[day] = (DayKind.HOLIDAY, arrangement.festival)
            day += timedelta(days=1)
        for workday in arrangement.makeup_workdays:
            days[workday] = (DayKind.MAKEUP_WORKDAY, arrangement.festival)
    return days


_DAYS = _index()


def covers(day: date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR


def classify(day: date) -> CalendarDay:
    """Holiday, make-up workday or normal day (a weekend is a normal day: the weekly pattern covers it).

    Raises ``HolidayCalendarNotCovered`` outside 2024-2027."""
    if not covers(day):
        raise HolidayCalendarNotCovered(day)
    kind, festival = _DAYS.get(day, (DayKind.NORMAL, None))
    return CalendarDay(day=day, kind=kind, festival=festival, provisional=day.year in PROVISIONAL_YEARS)


def day_kind(day: date) -> DayKind:
    return classify(day).kind
