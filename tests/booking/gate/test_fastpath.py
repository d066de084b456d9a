"""The sold-out fast path as a bare ASGI component, in front of a fake endpoint that records what reaches it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.responses import JSONResponse

from yiyue.booking.gate import MemorySlotCounts
from yiyue.booking.gate.fastpath import BOOKING_PATH, MAX_BODY, SoldOutFastPath
from yiyue.core.clock import HOSPITAL_TZ, FrozenClock
from yiyue.core.security import TokenVerifier, issue_pair

SECRET = "unit-test-secret-key-0123456789abcdef"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=HOSPITAL_TZ)
SCHEDULE = 7
HOLDER = 2
OTHER = 1
BOOKING = b'{"schedule_id": 7, "patient_id": 3}'
SOLD_OUT = {"code": "SOLD_OUT", "message": "该时段号源已约满", "detail": None}
Message = dict[str, Any]


class Endpoint:
    """The app behind the fast path: reads the whole body as an endpoint would, then answers 299."""

    def __init__(self) -> None:
        self.client: Client | None = None
        self.calls = 0
        self.scope: dict[str, Any] | None = None
        self.body = b""
        self.disconnected = False
        self.consumed_before_call = -1

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        self.scope = scope
        self.consumed_before_call = self.client.consumed if self.client else -1
        if scope["type"] == "http":
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    self.disconnected = True
                    break
                self.body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"downstream"})


class Client:
    """The server side of one request: its body messages, then a disconnect once they run out."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.consumed = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.consumed < len(self.messages):
            self.consumed += 1
            return self.messages[self.consumed - 1]
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
async def counts() -> MemorySlotCounts:
    counts = MemorySlotCounts(lapse_seconds=60.0, monotonic=lambda: 0.0)
    ticket = await counts.admit(SCHEDULE, OTHER)
    assert ticket is not None
    await counts.settle(ticket, claimed=False, remaining=0, holders=frozenset({HOLDER}))  # the database: none left
    return counts


@pytest.fixture
def endpoint() -> Endpoint:
    return Endpoint()


@pytest.fixture
def fastpath(endpoint: Endpoint, counts: MemorySlotCounts, clock: FrozenClock) -> Harness:
    app = SoldOutFastPath(endpoint, counts=counts, tokens=TokenVerifier(SECRET), clock=clock)  # type: ignore[arg-type]
    return Harness(app, endpoint)


class Harness:
    """Sends one request at a time through the fast path, each from a fresh client connection."""

    def __init__(self, app: SoldOutFastPath, endpoint: Endpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def send(self, request_scope: dict[str, Any], *chunks: bytes) -> Client:
        return await self.send_messages(request_scope, body_messages(*chunks) if chunks else body_messages(b""))

    async def send_messages(self, request_scope: dict[str, Any], messages: list[Message]) -> Client:
        client = Client()
        client.messages = messages
        self.endpoint.client = client
        await self.app(request_scope, client.receive, client.send)
        return client


def access_token(account_id: int, *, role: str = "patient", issued: datetime = NOW, secret: str = SECRET) -> str:
    tokens = issue_pair(
        secret=secret,
        subject_id=account_id,
        role=role,
        now=issued,
        access_ttl=timedelta(hours=2),
        refresh_ttl=timedelta(days=30),
    )
    return tokens.access_token


def headers(
    token: str | None = None, *, key: str | None = "k-1", authorization: str | None = None
) -> list[tuple[bytes, bytes]]:
    result = [(b"host", b"yiyue.test"), (b"content-type", b"application/json")]
    if authorization is None and token is not None:
        authorization = f"Bearer {token}"
    if authorization is not None:
        result.append((b"authorization", authorization.encode()))
    if key is not None:
        result.append((b"idempotency-key", key.encode()))
    return result


def scope(
    hdrs: Iterable[tuple[bytes, bytes]], *, method: str = "POST", path: str = BOOKING_PATH, kind: str = "http"
) -> dict[str, Any]:
    return {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": list(hdrs),
        "client": ("127.0.0.1", 5000),
        "server": ("yiyue.test", 80),
    }


def body_messages(*chunks: bytes) -> list[Message]:
    return [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)]


def split(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


# --- what it answers itself -----------------------------------------------------------------------


async def test_a_booking_known_sold_out_for_the_account_is_answered_409_without_the_endpoint(
    fastpath: Harness, endpoint: Endpoint
) -> None:
    answer = await fastpath.send(scope(headers(access_token(OTHER))), BOOKING)

    assert answer.status == 409
    assert json.loads(answer.body) == SOLD_OUT
    assert endpoint.calls == 0


async def test_the_sold_out_answer_is_json_with_a_correct_length(fastpath: Harness) -> None:
    answer = await fastpath.send(scope(headers(access_token(OTHER))), BOOKING)

    assert answer.headers[b"content-type"] == b"application/json"
    assert int(answer.headers[b"content-length"]) == len(answer.body)
    assert [m["type"] for m in answer.sent] == ["http.response.start", "http.response.body"]


async def test_the_sold_out_body_is_byte_for_byte_what_the_endpoint_would_send(fastpath: Harness) -> None:
    answer = await fastpath.send(scope(headers(access_token(OTHER))), BOOKING)

    assert answer.body == JSONResponse(SOLD_OUT).body
    assert answer.body == '{"code":"SOLD_OUT","message":"该时段号源已约满","detail":null}'.encode()


@pytest.mark.parametrize(
    "body",
    [
        b'{"schedule_id": 7, "patient_id": 3}',
        b'{"schedule_id": 7, "patient_id": 3, "slot_id": 12}',
        b'{"schedule_id":7,"slot_id":null,"patient_id":3}',
        b'{"schedule_id": "7", "patient_id": "3"}',
    ],
    ids=["any-slot", "chosen-slot", "compact-null-slot", "numeric-strings-as-the-endpoint-accepts"],
)
async def test_every_valid_booking_body_for_the_schedule_is_answered(
    fastpath: Harness, endpoint: Endpoint, body: bytes
) -> None:
    answer = await fastpath.send(scope(headers(access_token(OTHER))), body)

    assert (answer.status, endpoint.calls) == (409, 0)


@pytest.mark.parametrize("authorization", ["Bearer {}", "bearer {}", "BEARER  {} "])
async def test_the_bearer_scheme_is_read_case_insensitively(
    fastpath: Harness, endpoint: Endpoint, authorization: str
) -> None:
    hdrs = headers(authorization=authorization.format(access_token(OTHER)))

    answer = await fastpath.send(scope(hdrs), BOOKING)

    assert (answer.status, endpoint.calls) == (409, 0)


async def test_a_small_body_sent_in_several_chunks_is_read_whole_and_still_answered(
    fastpath: Harness, endpoint: Endpoint
) -> None:
    answer = await fastpath.send(scope(headers(access_token(OTHER))), *split(BOOKING, 5))

    assert (answer.status, endpoint.calls) == (409, 0)


# --- what it leaves alone -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", BOOKING_PATH),
        ("POST", "/api/v1/patients"),
        ("POST", BOOKING_PATH + "/5/cancel"),
        ("POST", BOOKING_PATH + "/"),
        ("PUT", BOOKING_PATH),
    ],
    ids=["get-list", "other-post", "cancel", "trailing-slash", "put"],
)
async def test_other_requests_pass_through_untouched(
    fastpath: Harness, endpoint: Endpoint, method: str, path: str
) -> None:
    request_scope = scope(headers(access_token(OTHER)), method=method, path=path)

    answer = await fastpath.send(request_scope, BOOKING)

    assert answer.status == 299
    assert endpoint.scope is request_scope
    assert endpoint.consumed_before_call == 0  # not a byte read before the endpoint asked
    assert endpoint.body == BOOKING


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
async def test_non_http_scopes_pass_through(fastpath: Harness, endpoint: Endpoint, kind: str) -> None:
    request_scope = {"type": kind}

    await fastpath.send_messages(request_scope, [])

    assert endpoint.scope is request_scope


async def test_a_holder_of_the_schedule_reaches_the_endpoint_with_the_body_intact(
    fastpath: Harness, endpoint: Endpoint
) -> None:
    request_scope = scope(headers(access_token(HOLDER)))

    answer = await fastpath.send(request_scope, BOOKING)

    assert answer.status == 299
    assert (endpoint.calls, endpoint.scope, endpoint.body) == (1, request_scope, BOOKING)
    assert not endpoint.disconnected


async def test_a_booking_for_another_schedule_reaches_the_endpoint(fastpath: Harness, endpoint: Endpoint) -> None:
    body = b'{"schedule_id": 8, "patient_id": 3}'

    answer = await fastpath.send(scope(headers(access_token(OTHER))), body)

    assert (answer.status, endpoint.body) == (299, body)


async def test_a_booking_reaches_the_endpoint_once_the_count_is_forgotten(
    fastpath: Harness, endpoint: Endpoint, counts: MemorySlotCounts
) -> None:
    await counts.reopen([SCHEDULE])

    answer = await fastpath.send(scope(headers(access_token(OTHER))), BOOKING)

    assert (answer.status, endpoint.body) == (299, BOOKING)


@pytest.mark.parametrize("key", [None, "", "   "], ids=["absent", "empty", "blank"])
async def test_a_booking_without_an_idempotency_key_reaches_the_endpoint(
    fastpath: Harness, endpoint: Endpoint, key: str | None
) -> None:
    answer = await fastpath.send(scope(headers(access_token(OTHER), key=key)), BOOKING)

    assert (answer.status, endpoint.body) == (299, BOOKING)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer garbage",
        "Basic dXNlcjpwYXNz",
        "Bearer {other_secret}",
        "Bearer {expired}",
        "Bearer {refresh}",
    ],
    ids=["absent", "empty", "no-token", "garbage", "basic", "wrong-secret", "expired", "refresh-token"],
)
async def test_a_booking_without_a_valid_access_token_reaches_the_endpoint(
    fastpath: Harness, endpoint: Endpoint, authorization: str | None
) -> None:
    tokens = issue_pair(
        secret=SECRET,
        subject_id=OTHER,
        role="patient",
        now=NOW,
        access_ttl=timedelta(hours=2),
        refresh_ttl=timedelta(days=30),
    )
    if authorization is not None:
        authorization = authorization.format(
            other_secret=access_token(OTHER, secret=SECRET + "x"),
            expired=access_token(OTHER, issued=NOW - timedelta(hours=2)),
            refresh=tokens.refresh_token,
        )
    hdrs = headers(key="k-1", authorization=authorization)

    answer = await fastpath.send(scope(hdrs), BOOKING)

    assert (answer.status, endpoint.body) == (299, BOOKING)


async def test_a_token_that_expires_while_the_clock_moves_stops_being_answered(
    fastpath: Harness, endpoint: Endpoint, clock: FrozenClock
) -> None:
    token = access_token(OTHER)
    assert (await fastpath.send(scope(headers(token)), BOOKING)).status == 409

    clock.set(NOW + timedelta(hours=2))
    answer = await fastpath.send(scope(headers(token)), BOOKING)

    assert (answer.status, endpoint.body) == (299, BOOKING)


async def test_a_staff_token_reaches_the_endpoint(fastpath: Harness, endpoint: Endpoint) -> None:
    answer = await fastpath.send(scope(headers(access_token(OTHER, role="admin"))), BOOKING)

    assert (answer.status, endpoint.body) == (299, BOOKING)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"schedule_id": 7}',
        b'{"schedule_id": 7, "patient_id": 3, "extra": true}',
        b'{"schedule_id": 0, "patient_id": 3}',
        b'{"schedule_id": 7, "patient_id": 3, "slot_id": -1}',
        b"[7, 3]",
        b'{"schedule_id": 7, "patient_id": 3',
        '{"schedule_id": 7, "patient_id": 3, "备注": "x"}'.encode("gbk"),
    ],
    ids=[
        "empty",
        "not-json",
        "missing-patient",
        "extra-field",
        "zero-id",
        "negative-slot",
        "array",
        "truncated",
        "not-utf8",
    ],
)
async def test_a_body_that_is_not_a_booking_request_reaches_the_endpoint_intact(
    fastpath: Harness, endpoint: Endpoint, body: bytes
) -> None:
    answer = await fastpath.send(scope(headers(access_token(OTHER))), body)

    assert (answer.status, endpoint.body) == (299, body)
    assert not endpoint.disconnected


async def test_a_body_sent_in_several_chunks_reaches_the_endpoint_reassembled(
    fastpath: Harness, endpoint: Endpoint
) -> None:
    answer = await fastpath.send(scope(headers(access_token(HOLDER))), *split(BOOKING, 4))

    assert (answer.status, endpoint.body) == (299, BOOKING)
    assert not endpoint.disconnected


async def test_a_large_body_streamed_in_chunks_reaches_the_endpoint_whole(
    fastpath: Harness, endpoint: Endpoint
) -> None:
    body = BOOKING + b" " * (3 * MAX_BODY)

    answer = await fastpath.send(scope(headers(access_token(OTHER))), *split(body, 1000))

    assert (answer.status, endpoint.body) == (299, body)
    assert not endpoint.disconnected


@pytest.mark.parametrize(
    "chunking",
    [lambda body: [body], lambda body: [body[:4000], body[4000:]]],
    ids=["one-chunk", "last-chunk-crosses-the-limit"],
)
async def test_a_complete_body_larger_than_max_body_reaches_the_endpoint_whole(
    fastpath: Harness, endpoint: Endpoint, chunking: Any
) -> None:
    body = BOOKING + b" " * MAX_BODY

    answer = await fastpath.send(scope(headers(access_token(OTHER))), *chunking(body))

    assert (answer.status, endpoint.body) == (299, body)
    assert not endpoint.disconnected


async def test_a_body_of_exactly_max_body_bytes_is_still_judged(fastpath: Harness, endpoint: Endpoint) -> None:
    body = BOOKING + b" " * (MAX_BODY - len(BOOKING))
    assert len(body) == MAX_BODY

    answer = await fastpath.send(scope(headers(access_token(OTHER))), body)

    assert (answer.status, endpoint.calls) == (409, 0)


async def test_a_client_that_disconnects_mid_body_is_handed_to_the_endpoint(
    fastpath: Harness, endpoint: Endpoint
) -> None:
    partial = [{"type": "http.request", "body": BOOKING[:10], "more_body": True}]

    answer = await fastpath.send_messages(scope(headers(access_token(OTHER))), partial)

    assert (answer.status, endpoint.calls, endpoint.body, endpoint.disconnected) == (299, 1, BOOKING[:10], True)


# --- a count being read for a crowd ----------------------------------------------------------------


async def test_a_booking_that_arrives_while_the_count_is_read_waits_at_the_edge_and_is_answered(
    endpoint: Endpoint, clock: FrozenClock
) -> None:
    counts = MemorySlotCounts(lapse_seconds=60.0, monotonic=lambda: 0.0)
    scout = await counts.admit(SCHEDULE, OTHER)
    assert scout is not None and scout.unknown
    reading: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    app = SoldOutFastPath(
        endpoint,  # type: ignore[arg-type]
        counts=counts,
        tokens=TokenVerifier(SECRET),
        clock=clock,
        reading=lambda schedule_id: reading if schedule_id == SCHEDULE else None,
    )
    waiting = asyncio.create_task(Harness(app, endpoint).send(scope(headers(access_token(5))), BOOKING))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # neither answered nor sent on while the count is read

    await counts.learn(scout, remaining=0, holders=frozenset({HOLDER}))
    reading.set_result(None)
    answer = await waiting

    assert answer.status == 409 and json.loads(answer.body) == SOLD_OUT
    assert endpoint.calls == 0


async def test_a_booking_that_waited_for_a_read_finding_free_slots_reaches_the_endpoint(
    endpoint: Endpoint, clock: FrozenClock
) -> None:
    counts = MemorySlotCounts(lapse_seconds=60.0, monotonic=lambda: 0.0)
    scout = await counts.admit(SCHEDULE, OTHER)
    assert scout is not None
    reading: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    app = SoldOutFastPath(
        endpoint,  # type: ignore[arg-type]
        counts=counts,
        tokens=TokenVerifier(SECRET),
        clock=clock,
        reading=lambda schedule_id: reading,
    )
    waiting = asyncio.create_task(Harness(app, endpoint).send(scope(headers(access_token(5))), BOOKING))
    await asyncio.sleep(0.01)
    await counts.learn(scout, remaining=5, holders=None)
    reading.set_result(None)
    await waiting

    assert endpoint.calls == 1
