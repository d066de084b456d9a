"""The demand forecast and the holiday calendar, against a synthetic history with known structure.

The generator draws Poisson counts around a mean that has a weekly shape (Monday busiest, Sunday
quietest), a slow upward trend, 春节 and 国庆 at a fifth of a normal day, the other holidays at 60 % and
make-up working days at a weekday's level. Seeded, so the figures in ``docs/forecast.md`` are these.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from yiyue.analytics.forecast import (
    MIN_ETS_DAYS,
    DemandForecast,
    HistoryTooShort,
    InvalidForecastInput,
    Method,
    backtest,
    forecast_demand,
    seasonal_naive,
)
from yiyue.analytics.holidays import (
    DayKind,
    Festival,
    HolidayCalendarNotCovered,
    classify,
    day_kind,
)
from yiyue.core.errors import InvalidInput

WEEKDAY_SHAPE = (1.35, 1.15, 1.05, 1.0, 0.95, 0.6, 0.45)  # Monday .. Sunday
BASE = 80.0
TREND_PER_DAY = 0.05
QUIET_FESTIVALS = {Festival.SPRING_FESTIVAL: 0.2, Festival.NATIONAL_DAY: 0.2}
OTHER_HOLIDAY = 0.6


def demand_mean(day: date, index: int) -> float:
    level = BASE + TREND_PER_DAY * index
    calendar = classify(day)
    if calendar.kind is DayKind.MAKEUP_WORKDAY:
        return level  # a worked Sunday runs a mid-week clinic
    mean = level * WEEKDAY_SHAPE[day.weekday()]
    if calendar.kind is DayKind.HOLIDAY:
        assert calendar.festival is not None
        mean *= QUIET_FESTIVALS.get(calendar.festival, OTHER_HOLIDAY)
    return mean


def synthetic_history(start: date, days: int, *, seed: int = 12) -> dict[date, int]:
    rng = np.random.default_rng(seed)
    history = {}
    for i in range(days):
        day = start + timedelta(days=i)
        history[day] = int(rng.poisson(demand_mean(day, i)))
    return history


# 2025-01-05 .. 2025-10-31: 春节 2025 inside, and the back-test's last eight weeks run through 国庆 2025.
MAIN_START = date(2025, 1, 5)
MAIN_DAYS = 300


@pytest.fixture(scope="module")
def main_forecast() -> DemandForecast:
    return forecast_demand(synthetic_history(MAIN_START, MAIN_DAYS))


class TestHolidayCalendar:
    def test_spring_festival_2025(self) -> None:
        for offset in range(8):
            day = classify(date(2025, 1, 28) + timedelta(days=offset))
            assert (day.kind, day.festival) == (DayKind.HOLIDAY, Festival.SPRING_FESTIVAL)
        assert day_kind(date(2025, 1, 27)) is DayKind.NORMAL
        assert day_kind(date(2025, 2, 5)) is DayKind.NORMAL

    def test_makeup_workdays_2025(self) -> None:
        for day in (date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)):
            assert day_kind(day) is DayKind.MAKEUP_WORKDAY, day

    def test_national_day_2025_runs_eight_days_with_mid_autumn(self) -> None:
        kinds = [day_kind(date(2025, 10, d)) for d in range(1, 10)]
        assert kinds == [DayKind.HOLIDAY] * 8 + [DayKind.NORMAL]

    def test_other_years(self) -> None:
        assert classify(date(2024, 2, 10)).festival is Festival.SPRING_FESTIVAL
        assert day_kind(date(2024, 2, 4)) is DayKind.MAKEUP_WORKDAY
        assert day_kind(date(2024, 9, 14)) is DayKind.MAKEUP_WORKDAY
        assert classify(date(2026, 2, 23)).festival is Festival.SPRING_FESTIVAL
        assert day_kind(date(2026, 1, 4)) is DayKind.MAKEUP_WORKDAY
        assert classify(date(2026, 9, 25)).festival is Festival.MID_AUTUMN

    def test_a_weekend_is_a_normal_day(self) -> None:
        assert day_kind(date(2025, 3, 9)) is DayKind.NORMAL  # a Sunday

    def test_2027_is_provisional(self) -> None:
        assert classify(date(2027, 2, 6)).provisional
        assert classify(date(2027, 2, 6)).festival is Festival.SPRING_FESTIVAL
        assert not classify(date(2026, 2, 16)).provisional

    def test_outside_the_table_is_an_error(self) -> None:
        with pytest.raises(HolidayCalendarNotCovered) as raised:
            classify(date(2028, 1, 26))
        assert isinstance(raised.value, InvalidInput)
        assert raised.value.detail["date"] == "2028-01-26"


class TestForecast:
    def test_ets_beats_seasonal_naive_in_the_backtest(self, main_forecast: DemandForecast) -> None:
        result = main_forecast.backtest
        assert result is not None
        assert len(result.origins) == 8
        assert result.ets.mase is not None and result.seasonal_naive.mase is not None
        assert result.ets.mase < 0.85 * result.seasonal_naive.mase
        assert result.ets.mape is not None and result.seasonal_naive.mape is not None
        assert result.ets.mape < result.seasonal_naive.mape
        assert result.ets_beats_baseline

    def test_intervals_cover_about_their_nominal_share(self, main_forecast: DemandForecast) -> None:
        # 112 held-out days; the binomial standard error at 80 % is ±3.8 points, and the analytic ETS
        # interval ignores the uncertainty of the parameters and of the holiday factor: ±12 points.
        result = main_forecast.backtest
        assert result is not None
        assert abs(result.interval_coverage - result.interval_level) <= 0.12

    def test_the_forecast_has_the_weekly_shape_and_sane_intervals(self, main_forecast: DemandForecast) -> None:
        assert main_forecast.method is Method.ETS and main_forecast.fallback_reason is None
        assert len(main_forecast.days) == 14
        assert main_forecast.days[0].day == MAIN_START + timedelta(days=MAIN_DAYS)
        for day in main_forecast.days:
            assert 0 <= day.lower <= day.point <= day.upper
        by_weekday = {day.day.weekday(): day.point for day in main_forecast.days[:7]}
        assert max(by_weekday, key=lambda k: by_weekday[k]) == 0  # Monday
        assert min(by_weekday, key=lambda k: by_weekday[k]) == 6  # Sunday
        monday = next(day for day in main_forecast.days if day.day.weekday() == 0)
        truth = demand_mean(monday.day, (monday.day - MAIN_START).days)
        assert monday.point == pytest.approx(truth, rel=0.15)
        assert monday.lower <= truth <= monday.upper

    def test_holidays_forecast_lower_and_makeup_days_higher(self) -> None:
        # History up to 2025-09-26 (no 国庆 in it); the next 14 days hold the 9-28 make-up Sunday and 国庆.
        history = synthetic_history(MAIN_START, (date(2025, 9, 26) - MAIN_START).days + 1)
        result = forecast_demand(history, backtest_origins=0)
        points = {day.day: day for day in result.days}
        assert points[date(2025, 10, 1)].kind is DayKind.HOLIDAY
        for offset in range(8):
            holiday = points[date(2025, 10, 1) + timedelta(days=offset)]
            normal_week_before = points.get(holiday.day - timedelta(days=7))
            if normal_week_before is not None and normal_week_before.kind is DayKind.NORMAL:
                assert holiday.point < 0.8 * normal_week_before.point
        assert points[date(2025, 9, 28)].point > points[date(2025, 9, 27)].point  # a worked Sunday
        assert dict(result.holiday_factors)["holiday"] < 0.8

    def test_short_series_falls_back_to_seasonal_naive(self) -> None:
        history = synthetic_history(date(2025, 3, 3), MIN_ETS_DAYS - 1)
        result = forecast_demand(history)
        assert result.method is Method.SEASONAL_NAIVE
        assert result.fallback_reason is not None and "季节朴素" in result.fallback_reason
        assert result.backtest is None
        last_week = [history[max(history) - timedelta(days=6 - i)] for i in range(7)]
        assert [day.point for day in result.days] == [float(v) for v in last_week * 2]
        assert all(day.lower <= day.point <= day.upper for day in result.days)
        assert result.days[7].upper - result.days[7].point > result.days[0].upper - result.days[0].point

    def test_missing_days_count_as_zero_and_are_reported(self) -> None:
        history = synthetic_history(date(2025, 3, 3), 21)
        del history[date(2025, 3, 20)]
        del history[date(2025, 3, 11)]
        result = forecast_demand(history)
        assert result.filled_days == 2
        assert any("按需求为 0 计" in note for note in result.notes)
        assert result.days[3].point == 0.0  # 3-20 was a Thursday; 3-27 repeats it

    def test_zeros_leave_mape_defined(self) -> None:
        history = synthetic_history(MAIN_START, 120)
        for day in history:
            if day.weekday() == 6:
                history[day] = 0  # the doctor does not work on Sundays
        result = backtest(history, origins=2)
        assert result is not None
        assert result.ets.mape_days_excluded == 4
        assert result.ets.mape is not None and np.isfinite(result.ets.mape)

    def test_seasonal_naive_repeats_last_week(self) -> None:
        history = {date(2025, 3, 3) + timedelta(days=i): i for i in range(10)}
        assert seasonal_naive(history, horizon=8) == (3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 3.0)


class TestInputValidation:
    def test_empty_and_too_short(self) -> None:
        with pytest.raises(HistoryTooShort):
            forecast_demand({})
        with pytest.raises(HistoryTooShort) as raised:
            forecast_demand({date(2025, 3, 3) + timedelta(days=i): 5 for i in range(6)})
        assert raised.value.code == "FORECAST_HISTORY_TOO_SHORT"
        assert raised.value.detail == {"days": 6, "minimum": 7}

    @pytest.mark.parametrize("count", [-1, 2.5, True, "3"])
    def test_counts_must_be_non_negative_integers(self, count: object) -> None:
        history: dict[date, object] = {date(2025, 3, 3) + timedelta(days=i): 5 for i in range(10)}
        history[date(2025, 3, 5)] = count
        with pytest.raises(InvalidForecastInput) as raised:
            forecast_demand(history)  # type: ignore[arg-type]
        assert raised.value.code == "INVALID_FORECAST_INPUT"
        assert raised.value.detail["date"] == "2025-03-05"

    def test_keys_must_be_dates_not_timestamps(self) -> None:
        history: dict[object, int] = {date(2025, 3, 3) + timedelta(days=i): 5 for i in range(10)}
        history[datetime(2025, 3, 20, 9, 0)] = 5
        with pytest.raises(InvalidForecastInput):
            forecast_demand(history)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "options", [{"horizon": 0}, {"horizon": 1.5}, {"level": 0.2}, {"level": 1.0}, {"backtest_origins": -1}]
    )
    def test_options(self, options: dict[str, float]) -> None:
        with pytest.raises(InvalidForecastInput):
            forecast_demand({date(2025, 3, 3) + timedelta(days=i): 5 for i in range(30)}, **options)  # type: ignore[arg-type]

    def test_dates_outside_the_calendar(self) -> None:
        with pytest.raises(HolidayCalendarNotCovered):
            forecast_demand({date(2027, 12, 1) + timedelta(days=i): 5 for i in range(20)})
