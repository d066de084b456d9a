"""Daily booking demand forecast, 14 days ahead with prediction intervals, per department or doctor.

Demand is requests (bookings, sold-out refusals and waitlist joins), one count per day, given as a mapping
``date -> count``. The model:

1. **Missing days are zero demand.** The daily roll-up writes a row only for a day that saw a request, so a
   day inside the history with no row had none. Their number is reported (``filled_days``) so a gap in the
   roll-up itself shows up.
2. **Holidays and make-up workdays are taken out of the fit** (``holidays.classify``): each is replaced by
   the mean of the same weekday's normal days within four weeks either side. Left in, a week of 春节 at a
   fifth of normal demand would drag the level down for weeks after it and bend the weekly pattern.
3. **ETS** (statsmodels ``ETSModel``): additive error, additive damped trend, additive weekly season (7),
   fitted by maximum likelihood on the cleaned series. Additive, not multiplicative, because a quiet
   doctor's series has zeros, which a multiplicative model cannot fit. Its analytic prediction intervals
   at ``level``.
4. **Holiday adjustment**: a forecast day that is a holiday (or make-up workday) is the ETS forecast times a
   factor estimated from history, the median of actual / cleaned over that festival's past days (else over
   every past day of that kind; else a prior: 0.5 for a holiday, 1 for a make-up day) — one multiplicative
   adjustment of the point forecast. The interval bounds are multiplied by the lowest and the highest
   ratio seen, so a holiday's interval carries the uncertainty of the adjustment too.

A history under four weeks is too short to estimate a weekly season against noise: the forecast falls back
to the seasonal naive one (same weekday last week), flagged ``method = SEASONAL_NAIVE`` with the reason.

The back-test (``backtest``) refits at rolling origins (the last ``origins`` weeks, one origin a week, each
forecasting ``horizon`` days) and scores ETS and the seasonal naive baseline with MASE (scaled by the
in-sample seasonal naive error, Hyndman & Koehler 2006) and MAPE over days with non-zero demand only (a
zero day makes a percentage error infinite; how many were left out is reported). See ``docs/forecast.md``.
Pure: no database, no web.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import pandas as pd  # type: ignore[import-untyped]
from scipy.stats import norm  # type: ignore[import-untyped]
from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # type: ignore[import-untyped]

from yiyue.analytics.holidays import CalendarDay, DayKind, Festival, classify
from yiyue.core.errors import InvalidInput

SEASON = 7
HORIZON = 14
MIN_ETS_DAYS = 4 * SEASON
"""Below this the ETS forecast is not attempted: four cycles are the least from which seven seasonal
states, a level and a trend can be told apart from Poisson noise."""
BACKTEST_ORIGINS = 8
INTERVAL_LEVEL = 0.8
CLEANING_WEEKS = 4
HOLIDAY_PRIOR = 0.5
"""The factor for a holiday when the history has none (a 120-day history may hold no 春节 or 国庆): the
right direction and a modest size, flagged in ``notes``."""
MAKEUP_PRIOR = 1.0


class InvalidForecastInput(InvalidInput):
    code = "INVALID_FORECAST_INPUT"
    message = "需求预测的参数无效"


class HistoryTooShort(InvalidInput):
    code = "FORECAST_HISTORY_TOO_SHORT"
    message = "历史数据不足，无法预测"


class Method(StrEnum):
    ETS = "ets"
    SEASONAL_NAIVE = "seasonal_naive"


@dataclass(frozen=True)
class ForecastDay:
    day: date
    point: float
    lower: float
    upper: float
    kind: DayKind
    festival: Festival | None


@dataclass(frozen=True)
class Score:
    """One method's back-test error. ``mase`` is the mean over origins of MAE / in-sample seasonal naive
    MAE (below 1: better than last week's numbers); ``mape`` is in percent over the non-zero days only."""

    method: Method
    mase: float | None
    mape: float | None
    mape_days_excluded: int  # zero-demand days left out of MAPE


@dataclass(frozen=True)
class Backtest:
    horizon: int
    origins: tuple[date, ...]  # the first forecast day of each fold
    ets: Score
    seasonal_naive: Score
    interval_level: float
    interval_coverage: float  # the share of held-out days inside the ETS interval

    @property
    def ets_beats_baseline(self) -> bool:
        return (
            self.ets.mase is not None
            and self.seasonal_naive.mase is not None
            and self.ets.mase < self.seasonal_naive.mase
        )


@dataclass(frozen=True)
class DemandForecast:
    method: Method
    fallback_reason: str | None
    days: tuple[ForecastDay, ...]
    interval_level: float
    history_start: date
    history_end: date
    filled_days: int  # days inside the history missing from the input, taken as zero demand
    holiday_factors: tuple[tuple[str, float], ...]  # festival or kind -> multiplier used
    backtest: Backtest | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Series:
    start: date
    values: tuple[float, ...]
    calendar: tuple[CalendarDay, ...]
    filled_days: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=len(self.values) - 1)

    def head(self, n: int) -> _Series:
        return _Series(self.start, self.values[:n], self.calendar[:n], self.filled_days)


@dataclass(frozen=True)
class _Path:
    point: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]


def forecast_demand(
    history: Mapping[date, int],
    *,
    horizon: int = HORIZON,
    level: float = INTERVAL_LEVEL,
    backtest_origins: int = BACKTEST_ORIGINS,
) -> DemandForecast:
    """The next ``horizon`` days after the last date of ``history``, with the back-test beside it (None when
    the history has room for no origin; ``backtest_origins=0`` skips it)."""
    _check_options(horizon, level, backtest_origins)
    series = _series(history)
    future = tuple(classify(series.end + timedelta(days=h)) for h in range(1, horizon + 1))
    notes: list[str] = []
    if series.filled_days:
        notes.append(f"{series.filled_days} 天无记录，按需求为 0 计")
    if len(series.values) < MIN_ETS_DAYS:
        method, reason = (
            Method.SEASONAL_NAIVE,
            f"历史仅 {len(series.values)} 天，不足 {MIN_ETS_DAYS} 天，改用季节朴素预测",
        )
        path = _seasonal_naive_path(series.values, horizon, level)
        factors: dict[str, float] = {}
        # Too short a history to have seen a holiday: say so rather than guess a factor for it.
        if any(day.kind is not DayKind.NORMAL for day in future):
            notes.append("预测期内有节假日或调休，季节朴素预测未作调整")
    else:
        method, reason = Method.ETS, None
        path, factors = _ets_path(series, future, level, notes)
    days = tuple(
        ForecastDay(day.day, path.point[i], path.lower[i], path.upper[i], day.kind, day.festival)
        for i, day in enumerate(future)
    )
    return DemandForecast(
        method=method,
        fallback_reason=reason,
        days=days,
        interval_level=level,
        history_start=series.start,
        history_end=series.end,
        filled_days=series.filled_days,
        holiday_factors=tuple(sorted(factors.items())),
        backtest=_backtest(series, horizon, level, backtest_origins) if backtest_origins else None,
        notes=tuple(notes),
    )


def backtest(
    history: Mapping[date, int],
    *,
    horizon: int = HORIZON,
    origins: int = BACKTEST_ORIGINS,
    level: float = INTERVAL_LEVEL,
) -> Backtest | None:
    _check_options(horizon, level, origins)
    return _backtest(_series(history), horizon, level, origins)


def seasonal_naive(history: Mapping[date, int], *, horizon: int = HORIZON) -> tuple[float, ...]:
    """Each day ahead is the same weekday's count in the last observed week."""
    _check_options(horizon, INTERVAL_LEVEL, 0)
    return _seasonal_naive_point(_series(history).values, horizon)


# --- input ---------------------------------------------------------------------------------------------


def _check_options(horizon: int, level: float, origins: int) -> None:
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= 366:
        raise InvalidForecastInput(f"预测天数须为 1–366 的整数：{horizon!r}", detail={"horizon": repr(horizon)})
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0.5 <= level < 1:
        raise InvalidForecastInput(f"预测区间的置信水平须在 [0.5, 1) 内：{level!r}", detail={"level": level})
    if isinstance(origins, bool) or not isinstance(origins, int) or origins < 0:
        raise InvalidForecastInput(f"回测起点数须为非负整数：{origins!r}", detail={"origins": repr(origins)})


def _series(history: Mapping[date, int]) -> _Series:
    if not history:
        raise HistoryTooShort(f"{HistoryTooShort.message}：没有任何历史数据", detail={"days": 0})
    for day, count in history.items():
        # datetime is a date subclass: a timestamp key would be a day only by accident of its time.
        if type(day) is not date:
            raise InvalidForecastInput(f"日期须为 date：{day!r}", detail={"key": repr(day)})
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidForecastInput(
                f"需求须为非负整数：{day.isoformat()} 为 {count!r}",
                detail={"date": day.isoformat(), "count": repr(count)},
            )
    start, end = min(history), max(history)
    length = (end - start).days + 1
    if length < SEASON:
        raise HistoryTooShort(
            f"{HistoryTooShort.message}：仅 {length} 天，至少需要 {SEASON} 天",
            detail={"days": length, "minimum": SEASON},
        )
    days = [start + timedelta(days=i) for i in range(length)]
    values = tuple(float(history.get(day, 0)) for day in days)
    return _Series(start, values, tuple(classify(day) for day in days), length - len(history))


# --- models --------------------------------------------------------------------------------------------


def _seasonal_naive_point(values: Sequence[float], horizon: int) -> tuple[float, ...]:
    last_week = values[-SEASON:]
    return tuple(last_week[h % SEASON] for h in range(horizon))


def _seasonal_naive_path(values: Sequence[float], horizon: int, level: float) -> _Path:
    """The intervals widen with the square root of the weeks ahead (a seasonal random walk); their scale is
    the spread of last-week errors in the history, or the Poisson one (√mean) when there is no full second
    week to measure it from."""
    point = _seasonal_naive_point(values, horizon)
    errors = [values[t] - values[t - SEASON] for t in range(SEASON, len(values))]
    z = float(norm.ppf(0.5 + level / 2))
    lower, upper = [], []
    for h, p in enumerate(point):
        sigma = statistics.pstdev(errors) if len(errors) >= 2 else math.sqrt(max(p, 1.0))
        half = z * sigma * math.sqrt(h // SEASON + 1)
        lower.append(max(p - half, 0.0))
        upper.append(p + half)
    return _Path(point, tuple(lower), tuple(upper))


def _cleaned(series: _Series) -> tuple[float, ...]:
    """The series with each holiday and make-up day replaced by its weekday's normal level nearby."""
    values, calendar = series.values, series.calendar
    normal = [day.kind is DayKind.NORMAL for day in calendar]
    cleaned = list(values)
    for t, is_normal in enumerate(normal):
        if is_normal:
            continue
        near = [
            values[s]
            for k in range(1, CLEANING_WEEKS + 1)
            for s in (t - k * SEASON, t + k * SEASON)
            if 0 <= s < len(values) and normal[s]
        ]
        if not near:  # a history of holidays only: any same weekday, then anything normal
            near = [values[s] for s in range(t % SEASON, len(values), SEASON) if normal[s]] or [
                v for v, n in zip(values, normal, strict=True) if n
            ]
        cleaned[t] = statistics.fmean(near) if near else values[t]
    return tuple(cleaned)


@dataclass(frozen=True)
class _Factor:
    """A multiplier for a kind of day: the median of what history showed, and its range, which widens the
    interval (the analytic ETS interval knows nothing of how uncertain the adjustment is)."""

    median: float
    low: float
    high: float


HOLIDAY_PRIOR_FACTOR = _Factor(HOLIDAY_PRIOR, 0.2, 1.0)
MAKEUP_PRIOR_FACTOR = _Factor(MAKEUP_PRIOR, 1.0, 2.5)  # a worked weekend runs up to a weekday's clinic


def _holiday_factors(series: _Series, cleaned: Sequence[float]) -> dict[str, _Factor]:
    ratios: dict[str, list[float]] = {}
    for day, actual, base in zip(series.calendar, series.values, cleaned, strict=True):
        if day.kind is DayKind.NORMAL or base <= 0:
            continue
        ratios.setdefault(f"{day.kind}:{day.festival}", []).append(actual / base)
        ratios.setdefault(str(day.kind), []).append(actual / base)
    return {key: _Factor(statistics.median(r), min(r), max(r)) for key, r in ratios.items()}


def _factor_for(day: CalendarDay, factors: Mapping[str, _Factor], notes: list[str]) -> tuple[str, _Factor]:
    for key in (f"{day.kind}:{day.festival}", str(day.kind)):
        if key in factors:
            return key, factors[key]
    prior = HOLIDAY_PRIOR_FACTOR if day.kind is DayKind.HOLIDAY else MAKEUP_PRIOR_FACTOR
    what = "节假日" if day.kind is DayKind.HOLIDAY else "调休上班日"
    note = f"历史中没有{what}，按先验系数 {prior.median:g}（{prior.low:g}–{prior.high:g}）调整"
    if note not in notes:
        notes.append(note)
    return str(day.kind), prior


def _fit_ets(values: Sequence[float], horizon: int, level: float) -> _Path:
    model = ETSModel(
        # A pandas series: statsmodels' prediction results need an index (a bare array fails there).
        pd.Series(values, dtype=float),
        error="add",
        trend="add",
        damped_trend=True,
        seasonal="add",
        seasonal_periods=SEASON,
        # Initial states from a decomposition of the first cycles rather than optimised with the smoothing
        # parameters: twenty times faster (a back-test refits eight times), and as accurate in the back-test.
        initialization_method="heuristic",
    )
    with warnings.catch_warnings():
        # The optimiser's convergence chatter on flat or tiny series; the fit it returns is still usable.
        warnings.simplefilter("ignore")
        fitted = model.fit(disp=False)
        frame = fitted.get_prediction(start=len(values), end=len(values) + horizon - 1).summary_frame(alpha=1 - level)
    return _Path(
        tuple(float(v) for v in frame["mean"]),
        tuple(float(v) for v in frame["pi_lower"]),
        tuple(float(v) for v in frame["pi_upper"]),
    )


def _ets_path(
    series: _Series, future: Sequence[CalendarDay], level: float, notes: list[str]
) -> tuple[_Path, dict[str, float]]:
    cleaned = _cleaned(series)
    path = _fit_ets(cleaned, len(future), level)
    factors = _holiday_factors(series, cleaned)
    used: dict[str, float] = {}
    point, lower, upper = [], [], []
    for day, p, lo, hi in zip(future, path.point, path.lower, path.upper, strict=True):
        factor = _Factor(1.0, 1.0, 1.0)
        if day.kind is not DayKind.NORMAL:
            key, factor = _factor_for(day, factors, notes)
            used[key] = factor.median
        # Demand is never negative: a bound below zero is clipped, not reported as a negative count.
        point.append(max(p * factor.median, 0.0))
        lower.append(max(lo * factor.low, 0.0))
        upper.append(max(hi * factor.high, 0.0))
    return _Path(tuple(point), tuple(lower), tuple(upper)), used


# --- back-test -----------------------------------------------------------------------------------------


def _backtest(series: _Series, horizon: int, level: float, origins: int) -> Backtest | None:
    n = len(series.values)
    cuts = [n - horizon - SEASON * k for k in range(origins)]
    cuts = sorted(c for c in cuts if c >= MIN_ETS_DAYS)
    if not cuts:
        return None
    ets_abs: list[list[float]] = []
    naive_abs: list[list[float]] = []
    ets_pct: list[float] = []
    naive_pct: list[float] = []
    scales: list[float] = []
    inside = total = zeros = 0
    for cut in cuts:
        train = series.head(cut)
        actual = series.values[cut : cut + horizon]
        ets, _ = _ets_path(train, series.calendar[cut : cut + horizon], level, [])
        naive = _seasonal_naive_point(train.values, horizon)
        scales.append(_naive_scale(train.values))
        ets_abs.append([abs(a - f) for a, f in zip(actual, ets.point, strict=True)])
        naive_abs.append([abs(a - f) for a, f in zip(actual, naive, strict=True)])
        for i, a in enumerate(actual):
            inside += ets.lower[i] <= a <= ets.upper[i]
            total += 1
            if a == 0:
                zeros += 1
                continue
            ets_pct.append(abs(a - ets.point[i]) / a)
            naive_pct.append(abs(a - naive[i]) / a)
    return Backtest(
        horizon=horizon,
        origins=tuple(series.start + timedelta(days=c) for c in cuts),
        ets=Score(Method.ETS, _mase(ets_abs, scales), _mape(ets_pct), zeros),
        seasonal_naive=Score(Method.SEASONAL_NAIVE, _mase(naive_abs, scales), _mape(naive_pct), zeros),
        interval_level=level,
        interval_coverage=inside / total,
    )


def _naive_scale(values: Sequence[float]) -> float:
    return statistics.fmean(abs(values[t] - values[t - SEASON]) for t in range(SEASON, len(values)))


def _mase(errors: Sequence[Sequence[float]], scales: Sequence[float]) -> float | None:
    # A series that never changes week on week has no scale: MASE is undefined, not infinite.
    folds = [statistics.fmean(e) / s for e, s in zip(errors, scales, strict=True) if s > 0]
    return statistics.fmean(folds) if folds else None


def _mape(percentages: Sequence[float]) -> float | None:
    return 100 * statistics.fmean(percentages) if percentages else None
