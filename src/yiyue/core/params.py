"""Shared request parameter types, and the bounds every date range in a request is held to."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import Path, Query
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from yiyue.core.errors import InvalidDateRange

MAX_ID = 2**63 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="对象 id")]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
"""An optional id filter in the query string (``?doctor_id=``)."""


# --- dates ------------------------------------------------------------------------------------------

EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)
"""No date in a request lies outside these: a day either side stays a date (``date.max`` + 1 day is an
OverflowError, a 500), and nothing the hospital does is that far away."""

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: object) -> object:
    """Only ``YYYY-MM-DD`` (or a ``date``). Pydantic alone also reads a number as seconds since 1970
    (``?start=0`` is 1970-01-01) and a midnight datetime as its date; a request means neither."""
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:  # 2026-02-30
            raise PydanticCustomError("date_parsing", "须为日期，如 2026-12-01") from None
    else:
        raise PydanticCustomError("date_parsing", "须为日期，如 2026-12-01")
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise PydanticCustomError(
            "date_out_of_range", f"须在{EARLIEST_DATE.isoformat()}至{LATEST_DATE.isoformat()}之间"
        )
    return day


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date in a request (query, path, form or body field): ``YYYY-MM-DD`` between ``EARLIEST_DATE`` and
``LATEST_DATE``, else a 422 in Chinese. Use it for every date a client sends; check a range of them
against what the endpoint can show with ``date_range``."""


def date_range(
    start: date | None,
    end: date | None,
    *,
    today: date,
    earliest: date,
    latest: date,
    default_days: int,
    max_days: int = 31,
    window: str = "",
) -> tuple[date, date]:
    """The dates a request asks for, held to what the endpoint shows: both within ``earliest`` ..
    ``latest`` (e.g. today .. the end of the hospital's release window), ``end`` not before ``start``,
    at most ``max_days`` days. A missing ``start`` is ``today``; a missing ``end`` is ``default_days``
    from ``start``, cut at ``latest``. Raises ``InvalidDateRange`` (422) naming the bounds; ``window``
    says what they are ("（可查询至放号周期末）").
    """
    if start is None:
        start = min(max(today, earliest), latest)
    check_day(start, earliest=earliest, latest=latest, name="开始日期", window=window)
    if end is not None:
        check_day(end, earliest=earliest, latest=latest, name="结束日期", window=window)
    if end is None:
        end = min(start + timedelta(days=max(default_days, 1) - 1), latest)
    if end < start:
        raise InvalidDateRange("结束日期不能早于开始日期")
    if (end - start).days >= max_days:
        raise InvalidDateRange(f"日期跨度不能超过{max_days}天", detail={"max_days": max_days})
    return start, end


def check_day(day: date, *, earliest: date, latest: date, name: str = "日期", window: str = "") -> date:
    """``day`` when it lies within ``earliest`` .. ``latest``, else ``InvalidDateRange`` (422) naming them."""
    if not earliest <= day <= latest:
        raise InvalidDateRange(
            f"{name}须在{earliest.isoformat()}至{latest.isoformat()}之间{window}",
            detail={"earliest": earliest.isoformat(), "latest": latest.isoformat()},
        )
    return day
