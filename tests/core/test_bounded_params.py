"""Dates in requests are strict ISO dates within what the endpoint shows: an overflow (``9999-12-31``), a
number (``?start=0``, which pydantic alone reads as 1970-01-01) or a day past the release window is a 422
in Chinese, never a 500 and never a silent 1970."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from tests.conftest import NOW
from tests.factories import FAST_HASHER, Catalog, make_catalog, make_schedule, make_staff, staff_login
from yiyue.accounts.staff import passwords
from yiyue.core.db import Database
from yiyue.core.errors import InvalidDateRange
from yiyue.core.params import EARLIEST_DATE, LATEST_DATE, IsoDate, check_day, date_range

TODAY = NOW.date()
RELEASE_DAYS = 7  # the factories' hospitals release a week ahead
LAST_SHOWN = TODAY + timedelta(days=RELEASE_DAYS)
PATIENT_LAST = LAST_SHOWN + timedelta(days=31)
"""Patients see sessions up to 31 days past the release window, not yet released, with their release time."""


class Form(BaseModel):
    day: IsoDate | None = None


# --- the type on its own ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-03-02", "2000-01-01", "2099-12-31"])
def test_an_iso_date_in_range_is_read(text: str) -> None:
    assert Form.model_validate({"day": text}).day == date.fromisoformat(text)


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        ("0", "date_parsing"),
        (0, "date_parsing"),
        ("1700000000", "date_parsing"),
        ("2026-3-2", "date_parsing"),
        ("20260302", "date_parsing"),
        ("2026-03-02T00:00:00", "date_parsing"),
        ("2026-02-30", "date_parsing"),
        ("today", "date_parsing"),
        ("9999-12-31", "date_out_of_range"),
        ("0001-01-01", "date_out_of_range"),
        ("1999-12-31", "date_out_of_range"),
        ("2100-01-01", "date_out_of_range"),
    ],
)
def test_anything_else_is_refused(value: Any, error_type: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Form.model_validate({"day": value})

    assert refused.value.errors()[0]["type"] == error_type


def test_the_bounds_leave_room_for_a_day_either_side() -> None:
    assert EARLIEST_DATE - timedelta(days=366) < EARLIEST_DATE < LATEST_DATE < LATEST_DATE + timedelta(days=366)


class TestDateRange:
    def range(self, start: date | None, end: date | None) -> tuple[date, date]:
        return date_range(
            start, end, today=TODAY, earliest=TODAY - timedelta(days=30), latest=LAST_SHOWN, default_days=8
        )

    def test_defaults_run_from_today_to_the_end_of_the_window(self) -> None:
        assert self.range(None, None) == (TODAY, LAST_SHOWN)

    def test_a_later_start_is_cut_at_the_end_of_the_window(self) -> None:
        assert self.range(TODAY + timedelta(days=5), None) == (TODAY + timedelta(days=5), LAST_SHOWN)

    @pytest.mark.parametrize(
        ("start", "end"),
        [
            (LAST_SHOWN + timedelta(days=1), None),
            (TODAY, LAST_SHOWN + timedelta(days=1)),
            (TODAY - timedelta(days=31), None),
            (TODAY + timedelta(days=2), TODAY + timedelta(days=1)),
        ],
    )
    def test_outside_or_backwards_is_refused(self, start: date, end: date | None) -> None:
        with pytest.raises(InvalidDateRange):
            self.range(start, end)

    def test_a_span_longer_than_allowed_is_refused(self) -> None:
        with pytest.raises(InvalidDateRange, match="跨度不能超过31天"):
            date_range(
                None,
                TODAY + timedelta(days=40),
                today=TODAY,
                earliest=TODAY,
                latest=TODAY + timedelta(60),
                default_days=1,
            )

    def test_a_day_outside_names_the_bounds(self) -> None:
        with pytest.raises(InvalidDateRange) as refused:
            check_day(date(2027, 1, 1), earliest=TODAY, latest=LAST_SHOWN, window="（放号周期为7天）")

        assert refused.value.text == "日期须在2026-03-02至2026-03-09之间（放号周期为7天）"
        assert refused.value.detail == {"earliest": "2026-03-02", "latest": "2026-03-09"}


# --- through the API: the patient's date strip and doctor page ----------------------------------------


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    made = await make_catalog(db)
    await make_schedule(db, made, days_ahead=1)
    return made


def patient_urls(catalog: Catalog) -> dict[str, str]:
    return {
        "availability": f"/api/v1/departments/{catalog.clinic.id}/availability",
        "schedules": f"/api/v1/doctors/{catalog.doctor.id}/schedules",
    }


def assert_422(response: httpx.Response, code: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    return body


@pytest.mark.parametrize("which", ["availability", "schedules"])
@pytest.mark.parametrize("start", ["9999-12-31", "9999-12-25", "0001-01-01"])
async def test_an_overflowing_start_is_a_422_not_a_500(
    client: httpx.AsyncClient, catalog: Catalog, which: str, start: str
) -> None:
    body = assert_422(await client.get(patient_urls(catalog)[which], params={"start": start}), "VALIDATION_ERROR")

    assert body["message"] == "开始日期：须在2000-01-01至2099-12-31之间"
    assert body["detail"][0]["loc"] == ["query", "start"]


@pytest.mark.parametrize("which", ["availability", "schedules"])
@pytest.mark.parametrize("value", ["0", "1772409600", "2026-03-02T00:00:00"])
async def test_a_number_is_not_a_date(client: httpx.AsyncClient, catalog: Catalog, which: str, value: str) -> None:
    body = assert_422(await client.get(patient_urls(catalog)[which], params={"start": value}), "VALIDATION_ERROR")

    assert body["message"] == "开始日期：须为日期，如 2026-12-01"


@pytest.mark.parametrize("which", ["availability", "schedules"])
async def test_a_start_past_what_is_shown_is_refused_with_its_bounds(
    client: httpx.AsyncClient, catalog: Catalog, which: str
) -> None:
    day = (PATIENT_LAST + timedelta(days=1)).isoformat()
    body = assert_422(await client.get(patient_urls(catalog)[which], params={"start": day}), "INVALID_DATE_RANGE")

    assert body["message"] == "开始日期须在2026-01-31至2026-04-09之间（放号周期为7天，可查询至其后31天）"
    assert body["detail"] == {"earliest": "2026-01-31", "latest": "2026-04-09"}


@pytest.mark.parametrize("which", ["availability", "schedules"])
async def test_an_end_past_the_window_or_long_ago_is_refused(
    client: httpx.AsyncClient, catalog: Catalog, which: str
) -> None:
    url = patient_urls(catalog)[which]
    late = await client.get(url, params={"end": "2099-12-31"})
    early = await client.get(url, params={"start": "2025-01-01", "end": "2025-01-02"})

    assert assert_422(late, "INVALID_DATE_RANGE")["message"].startswith("结束日期须在")
    assert assert_422(early, "INVALID_DATE_RANGE")["message"].startswith("开始日期须在")


@pytest.mark.parametrize("which", ["availability", "schedules"])
async def test_the_whole_window_and_a_later_start_still_answer(
    client: httpx.AsyncClient, catalog: Catalog, which: str
) -> None:
    url = patient_urls(catalog)[which]
    whole = await client.get(url, params={"start": TODAY.isoformat(), "end": LAST_SHOWN.isoformat()})
    later = await client.get(url, params={"start": (TODAY + timedelta(days=1)).isoformat()})
    default = await client.get(url)

    assert whole.status_code == later.status_code == default.status_code == 200
    assert len(whole.json()["items"]) == len(later.json()["items"]) == len(default.json()["items"]) == 1


async def test_a_clinics_doctors_on_a_day_past_the_window_is_refused(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    url = f"/api/v1/departments/{catalog.clinic.id}/doctors"

    assert assert_422(await client.get(url, params={"date": "9999-12-31"}), "VALIDATION_ERROR")
    assert assert_422(await client.get(url, params={"date": "0"}), "VALIDATION_ERROR")
    assert assert_422(await client.get(url, params={"date": "2026-04-10"}), "INVALID_DATE_RANGE")
    assert (await client.get(url, params={"date": (TODAY + timedelta(days=1)).isoformat()})).status_code == 200


# --- through the API and the console: staff views -------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: Database, catalog: Catalog) -> dict[str, str]:
    staff = await make_staff(db, role="hospital_admin", catalog=catalog)
    return await staff_login(client, staff.username)


STAFF_DAY_URLS = [
    "/api/v1/staff/appointments",
    "/api/v1/staff/sessions",
    "/api/v1/staff/walk-in/sessions",
    "/api/v1/staff/today",
]


@pytest.mark.parametrize("url", STAFF_DAY_URLS)
@pytest.mark.parametrize(("value", "msg"), [("9999-12-31", "须在2000-01-01至2099-12-31之间"), ("0", "须为日期")])
async def test_a_staff_day_that_overflows_or_is_a_number_is_a_422(
    client: httpx.AsyncClient, admin: dict[str, str], url: str, value: str, msg: str
) -> None:
    body = assert_422(await client.get(url, params={"date": value}, headers=admin), "VALIDATION_ERROR")

    assert msg in body["message"] and body["detail"][0]["loc"] == ["query", "date"]


@pytest.mark.parametrize("params", [{"start": "9999-12-31"}, {"end": "9999-12-31"}, {"start": "0"}])
async def test_the_staff_schedule_list_refuses_overflowing_dates(
    client: httpx.AsyncClient, admin: dict[str, str], params: dict[str, str]
) -> None:
    assert_422(await client.get("/api/v1/staff/schedules", params=params, headers=admin), "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "url",
    [
        "/admin/?date=9999-12-31",
        "/admin/?date=0001-01-01",
        "/admin/?date=0",
        "/admin/audit?date_from=0001-01-01",
        "/admin/audit?date_to=9999-12-31",
        "/admin/exports/appointments.csv?date_from=9999-12-31",
        "/admin/exports/schedules.csv?date_to=0",
    ],
)
async def test_console_pages_refuse_overflowing_dates_without_a_500(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, url: str
) -> None:
    from tests.admin.conftest import console_login

    staff = await make_staff(db, role="hospital_admin", catalog=catalog)
    console = await console_login(client, staff.username)

    answer = await console.get(url)

    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])


@pytest.mark.parametrize("params", ["start=9999-12-31", "end=9999-12-31", "start=0001-01-01"])
async def test_the_console_schedule_list_says_the_date_is_out_of_bounds(  # not a 500 (OverflowError)
    client: httpx.AsyncClient, db: Database, catalog: Catalog, params: str
) -> None:
    from tests.admin.conftest import console_login

    staff = await make_staff(db, role="hospital_admin", catalog=catalog)
    console = await console_login(client, staff.username)

    answer = await console.get(f"/admin/schedules?{params}")

    assert 400 <= answer.status_code < 500 or "2000-01-01至2099-12-31" in answer.text, answer.status_code
    assert "2000-01-01" in answer.text and "2099-12-31" in answer.text
