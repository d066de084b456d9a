"""Structured logs (decision 0021): a patient's whole journey, through HTTP and the job system, logged as
JSON lines. Every line parses; the request id follows each request into the jobs its commits caused; and
none of the journey's personal data (ID number, phone, name) or message text appears in any line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.booking.test_booking_api import book
from tests.conftest import Login
from tests.e2e.test_paid_booking import pay_for, user_pays
from tests.factories import id_number, make_catalog, make_schedule, patient_body
from tests.jobs_support import Jobs
from yiyue.accounts.models import Account
from yiyue.core import logs
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database

NAME = "欧阳明远"
PHONE = "13987654321"


class Lines:
    """The log lines written while a test runs, as the process writes them (``logs.configure``)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        logs.flush()  # the listener's thread writes them
        return self.stream.getvalue()

    def parsed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]  # each line a JSON object, or this fails

    def requests(self) -> list[dict[str, Any]]:
        return [line for line in self.parsed() if line["logger"] == "yiyue.http" and line["message"] == "request"]

    def jobs(self) -> list[dict[str, Any]]:
        return [line for line in self.parsed() if line["logger"] == "yiyue.jobs" and line["message"] == "job"]


@pytest.fixture
def lines() -> Iterator[Lines]:
    captured = Lines()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure("json", stream=captured.stream)
    try:
        yield captured
    finally:
        logs.unconfigure(handler)
        root.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False
        structlog.reset_defaults()


@pytest.fixture
def jobs(app: object) -> Jobs:
    return Jobs(app)  # type: ignore[arg-type]


def _with_id(auth: dict[str, str], request_id: str) -> dict[str, str]:
    return {**auth, logs.REQUEST_ID_HEADER: request_id}


async def test_a_journey_logs_json_with_request_ids_into_its_jobs_and_no_personal_data(
    client: httpx.AsyncClient, db: Database, login: Login, jobs: Jobs, clock: FrozenClock, lines: Lines
) -> None:
    catalog = await make_catalog(db, name="日志医院", payment_required=True)
    schedule = await make_schedule(db, catalog, capacity=2)
    other = await make_schedule(db, catalog, capacity=2, doctor=catalog.other_doctor)
    person_id_number = id_number()
    auth = await login("o-logged-patient")

    added = await client.post(
        "/api/v1/me/patients",
        json=patient_body(name=NAME, id_number=person_id_number, phone=PHONE),
        headers=_with_id(auth, "journey-person"),
    )
    assert added.status_code == 201, added.text
    assert added.headers[logs.REQUEST_ID_HEADER] == "journey-person"  # the caller's id comes back
    booked = await book(client, _with_id(auth, "journey-book"), schedule.id, added.json()["id"])
    assert booked.status_code == 201, booked.text
    await user_pays(client, await pay_for(client, auth, booked.json()["id"]))
    await jobs.drain()
    cancelled = await client.post(
        f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=_with_id(auth, "journey-cancel")
    )
    assert cancelled.json()["status"] == "cancelled", cancelled.text
    await jobs.drain()
    unpaid = await book(client, _with_id(auth, "journey-unpaid"), other.id, added.json()["id"])
    assert unpaid.status_code == 201, unpaid.text
    clock.set(clock.now() + timedelta(minutes=15))
    await jobs.drain()  # the hold ends (a job), and its job writes the expiry: another job
    answer = await client.get("/api/v1/me/notifications", headers=auth)
    messages = answer.json()["items"]
    assert {"booking_confirmed", "cancelled", "refunded"} <= {m["kind"] for m in messages}

    parsed = lines.parsed()
    assert parsed and all({"time", "level", "logger", "message", "pid"} <= set(line) for line in parsed)

    # One line per request: the route as declared (never the path with its ids), status, duration.
    requests = lines.requests()
    by_id = {line["request_id"]: line for line in requests}
    assert by_id["journey-book"]["route"] == "/api/v1/appointments"
    assert by_id["journey-book"]["status"] == 201 and by_id["journey-book"]["method"] == "POST"
    assert by_id["journey-cancel"]["route"] == "/api/v1/appointments/{appointment_id}/cancel"
    assert all(isinstance(line["duration_ms"], float) for line in requests)
    assert any(line["route"] == "/api/v1/payments/wechat/notify" for line in requests)  # WeChat's call, too
    assert not [line["route"] for line in requests if re.search(r"/\d+(/|$)", line["route"])]  # no ids

    # Each job line names the request whose commit wrote its event, through every job in between.
    job_lines = [(line["topic"], line["request_id"], line["outcome"]) for line in lines.jobs()]
    notified = [line["request_id"] for line in requests if line["route"] == "/api/v1/payments/wechat/notify"]
    assert ("appointment.payment_due", "journey-book", "handled") in job_lines
    assert ("payment.succeeded", notified[0], "handled") in job_lines  # WeChat Pay's notification
    assert ("appointment.cancelled", "journey-cancel", "handled") in job_lines  # refunds at WeChat Pay
    assert ("appointment.refunded", notified[1], "handled") in job_lines
    assert ("appointment.hold_ends", "journey-unpaid", "handled") in job_lines
    assert ("appointment.expired", "journey-unpaid", "handled") in job_lines  # written by the hold_ends job
    assert {request_id for _, request_id, _ in job_lines} <= set(by_id)

    # Nothing personal, in any line: not the ID number (nor its last digits), phone, name or message text.
    logged = lines.text
    # (The SMS line names the phone as everywhere staff see it, 139****4321: the masked form, not the number.)
    for secret in (person_id_number, person_id_number[-8:], PHONE, PHONE[-8:], NAME):
        assert secret not in logged
    texts = [value for m in messages for key, value in m.items() if key in ("title", "body", "text") and value]
    assert texts, messages
    for message_text in texts:
        assert message_text not in logged


async def test_a_request_without_an_acceptable_id_gets_one_of_ours(client: httpx.AsyncClient, lines: Lines) -> None:
    plain = await client.get("/healthz")
    forged = await client.get("/healthz", headers={logs.REQUEST_ID_HEADER: "x\ty" + "z" * 80})
    missing = await client.get("/no/such/route")

    ids = [r.headers[logs.REQUEST_ID_HEADER] for r in (plain, forged, missing)]
    assert len(set(ids)) == 3 and all(len(i) == 32 for i in ids)
    assert [(line["route"], line["status"], line["request_id"]) for line in lines.requests()] == [
        ("/healthz", 200, ids[0]),
        ("/healthz", 200, ids[1]),
        (logs.UNMATCHED, 404, ids[2]),
    ]


def test_what_looks_like_an_id_number_or_a_phone_is_masked(lines: Lines) -> None:
    number = id_number()
    logging.getLogger("yiyue.test").warning("the database said: duplicate key (%s, %s)", number, PHONE)
    logging.getLogger("yiyue.test").warning("appointment 12345678901234 at 1733300000")  # other numbers stay
    phones = ("+8613987654321", "8613987654321", "+86 139-8765-4321", "139-8765-4321", "139 8765 4321")
    logging.getLogger("yiyue.test").warning("called %s", ", ".join(phones))
    logging.getLogger("yiyue.test").warning("given", extra={"nested": {"people": [{"phone": PHONE}], "n": number}})

    first, second, third, fourth = lines.parsed()
    assert first["message"] == "the database said: duplicate key ([redacted], [redacted])"
    assert second["message"] == "appointment 12345678901234 at 1733300000"
    assert third["message"] == "called " + ", ".join(["[redacted]"] * len(phones))
    assert fourth["nested"] == {"people": [{"phone": "[redacted]"}], "n": "[redacted]"}  # inside containers too


async def test_an_unhandled_error_is_logged_with_its_request_id_and_answered_with_it(app: Any, lines: Lines) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://yiyue.test") as client:
        answer = await client.get("/broken", headers={logs.REQUEST_ID_HEADER: "journey-bug"})

    assert answer.status_code == 500 and answer.json()["code"] == "INTERNAL_ERROR"
    assert answer.headers[logs.REQUEST_ID_HEADER] == "journey-bug"
    assert [line["message"] for line in lines.parsed()].count("unhandled error") == 1
    assert not [line for line in lines.parsed() if line["message"] == "Exception in ASGI application"]
    error = next(line for line in lines.parsed() if line["message"] == "unhandled error")
    assert error["request_id"] == "journey-bug" and "RuntimeError: a bug" in error["exception"]
    last = lines.requests()[-1]
    assert (last["route"], last["status"], last["request_id"]) == ("/broken", 500, "journey-bug")


async def test_a_request_cancelled_before_its_answer_is_a_499_not_a_500(lines: Lines) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise asyncio.CancelledError  # the client went away: uvicorn cancels the request's task

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "root_path": ""}
    with pytest.raises(asyncio.CancelledError):
        await logs.RequestLog(app)(scope, None, None)  # type: ignore[arg-type]
    assert [(line["route"], line["status"]) for line in lines.requests()] == [(logs.UNMATCHED, 499)]


def test_text_lines_for_people_and_nothing_else(lines: Lines) -> None:
    stream = io.StringIO()
    handler = logs.configure("text", stream=stream)
    try:
        logging.getLogger("yiyue.test").info("readable")
        logs.flush()
    finally:
        logs.unconfigure(handler)
    assert "readable" in stream.getvalue() and not stream.getvalue().startswith("{")
    with pytest.raises(ValueError, match="json or text"):
        logs.configure("xml")


async def test_a_unique_violation_s_values_reach_no_line_and_no_stored_error(db: Database, lines: Lines) -> None:
    """PostgreSQL's DETAIL quotes the row (``Key (openid)=(...) already exists``) and asyncpg puts it into
    the exception's text; SQLite names only the column. Neither a logged error nor ``describe_error``
    (what the outbox stores as ``last_error``) carries the value."""
    openid = f"o-secret-{uuid.uuid4().hex}"  # not shaped like a phone or an ID number: only DETAIL leaks it
    now = datetime.now(UTC)
    async with db.session() as session:
        session.add(Account(openid=openid, created_at=now, last_login_at=now))
    with pytest.raises(IntegrityError) as failed:
        async with db.session() as session:
            session.add(Account(openid=openid, created_at=now, last_login_at=now))
    if db.engine.dialect.name == "postgresql":
        assert openid in str(failed.value)  # the driver's text does carry it: what this test guards
    logging.getLogger("yiyue.test").error("unhandled error", exc_info=failed.value)
    stored = logs.describe_error(failed.value)

    assert openid not in lines.text and "unhandled error" in lines.text
    assert openid not in stored and stored.startswith("IntegrityError (")
    if db.engine.dialect.name == "postgresql":
        assert "SQLSTATE 23505" in stored and "DETAIL: [redacted]" in lines.text
    assert logs.redact_text("new row violates check constraint\nDETAIL:  Failing row contains (1, o-x, 13987).") == (
        "new row violates check constraint\nDETAIL: [redacted]"
    )


async def test_a_failed_statement_does_not_carry_its_values_into_the_error_text(db: Database) -> None:
    with pytest.raises(DBAPIError) as failed:
        async with db.session() as session:
            await session.execute(text("INSERT INTO no_such_table (name) VALUES (:name)"), {"name": NAME})
    assert "no_such_table" in str(failed.value) and NAME not in str(failed.value)


def test_lines_go_to_the_standard_error_of_the_moment(capsys: pytest.CaptureFixture[str]) -> None:
    """A runner that swapped ``sys.stderr`` for a buffer while ``configure`` ran (a CLI test) closes that
    buffer afterwards: later lines go to whatever standard error is then, never to the closed buffer."""
    swapped = io.StringIO()
    real, sys.stderr = sys.stderr, swapped
    try:
        handler = logs.configure()
    finally:
        sys.stderr = real
    swapped.close()
    try:
        logging.getLogger("yiyue.test").warning("after the swap")
        logs.flush()
    finally:
        logs.unconfigure(handler)

    err = capsys.readouterr().err
    assert "after the swap" in err and "Logging error" not in err
