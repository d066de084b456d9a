"""Bodies are bounded before anything parses them (core.bodylimit): 413 PAYLOAD_TOO_LARGE, no endpoint runs.

The attack: a 48 MB body to POST /api/v1/auth/wechat-login without a token was parsed whole (1.47 GB peak RSS).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.live import serving
from yiyue.accounts import service as accounts_service
from yiyue.app import create_app
from yiyue.core.bodylimit import BodyLimit
from yiyue.core.config import Settings

LOGIN = "/api/v1/auth/wechat-login"
MB = 1024 * 1024
CHUNK = 64 * 1024


def assert_too_large(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 413, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == "PAYLOAD_TOO_LARGE"
    assert "请求内容过大" in body["message"]
    return body


@pytest.fixture
def endpoint_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of the WeChat login use case (the endpoint's work)."""
    calls: list[str] = []
    original = accounts_service.login_with_wechat

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("code", ""))
        return await original(*args, **kwargs)

    monkeypatch.setattr(accounts_service, "login_with_wechat", counted)
    return calls


class Streamed:
    """A body sent chunk by chunk without Content-Length; counts what the server pulled."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b'{"code":"' + b"x" * (CHUNK - 9)
        while self.sent < self.total:
            self.sent += len(chunk)
            yield chunk


async def test_a_48_mb_login_body_with_its_length_is_refused_unread(
    client: httpx.AsyncClient, endpoint_calls: list[str]
) -> None:
    body = b'{"code":"' + b"x" * (48 * MB) + b'"}'

    body_out = assert_too_large(await client.post(LOGIN, content=body, headers={"content-type": "application/json"}))

    assert body_out["detail"] == {"max_bytes": 64 * 1024}
    assert "64 KB" in body_out["message"]
    assert endpoint_calls == []


async def test_a_streamed_48_mb_login_body_is_cut_off_near_the_limit(
    client: httpx.AsyncClient, endpoint_calls: list[str]
) -> None:
    stream = Streamed(48 * MB)

    assert_too_large(await client.post(LOGIN, content=stream, headers={"content-type": "application/json"}))

    assert stream.sent <= 64 * 1024 + 2 * CHUNK  # what was pulled before the refusal, not 48 MB
    assert endpoint_calls == []


def test_over_a_real_socket_the_48_mb_body_is_refused(settings: Settings) -> None:
    with serving(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as http:
        answer = http.post(LOGIN, content=b"x" * (48 * MB), headers={"content-type": "application/json"})
        assert_too_large(answer)
        streamed = http.post(LOGIN, content=iter([b"y" * CHUNK] * 768), headers={"content-type": "application/json"})
        assert_too_large(streamed)
        assert http.get("/healthz").status_code == 200


async def test_a_body_at_the_limit_reaches_the_endpoint(client: httpx.AsyncClient, endpoint_calls: list[str]) -> None:
    padding = " " * (64 * 1024 - len('{"code":"abc"}'))
    answer = await client.post(
        LOGIN, content=('{"code":"abc"}' + padding).encode(), headers={"content-type": "application/json"}
    )

    assert answer.status_code != 413
    assert endpoint_calls == ["abc"]


async def test_a_large_booking_body_is_refused_before_the_sold_out_fast_path(
    client: httpx.AsyncClient, login: Any
) -> None:
    headers = {**(await login()), "Idempotency-Key": "k-1", "content-type": "application/json"}
    body = b'{"schedule_id":1,"visit_person_id":1,"x":"' + b"z" * (100 * 1024) + b'"}'

    assert_too_large(await client.post("/api/v1/appointments", content=body, headers=headers))


async def test_the_console_forms_may_be_larger_but_not_unbounded(client: httpx.AsyncClient) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    ordinary = await client.post("/admin/login", content=b"username=a&password=" + b"p" * (200 * 1024), headers=form)
    assert ordinary.status_code != 413

    huge = await client.post("/admin/login", content=b"username=a&password=" + b"p" * (2 * MB), headers=form)
    assert huge.status_code == 413


async def test_the_longest_prefix_wins() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
        raise AssertionError

    limit = BodyLimit(app, default=10, limits={"/admin/": 100, "/admin/imports/": 1000})

    assert limit.limit_for("/api/v1/x") == 10
    assert limit.limit_for("/admin/schedules") == 100
    assert limit.limit_for("/admin/imports/doctors") == 1000


async def test_get_requests_are_untouched(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
