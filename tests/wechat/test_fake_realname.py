"""The fake real-name verification service: it checks signatures as a provider does and answers by its rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TypedDict

import httpx
import pytest

from tests.conftest import NOW
from tests.factories import id_number
from yiyue.core.clock import FrozenClock
from yiyue.wechat import realname as protocol
from yiyue.wechat.fake import create_fake_wechat_app
from yiyue.wechat.fake.realname import MISMATCH, NO_SUCH_ID, FakeRealNameState, verdict

APP_ID = "hospital-app"
SECRET = "s3cret"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
async def fake(clock: FrozenClock) -> AsyncIterator[tuple[httpx.AsyncClient, FakeRealNameState]]:
    app = create_fake_wechat_app(appid="wx1", secret="s", clock=clock, realname_apps={APP_ID: SECRET})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake.test") as client:
        yield client, app.state.realname


class Signed(TypedDict):
    content: bytes
    headers: dict[str, str]


def signed(
    body: object,
    *,
    secret: str = SECRET,
    app_id: str = APP_ID,
    timestamp: str | None = None,
    nonce: str = "nonce-1",
) -> Signed:
    raw = json.dumps(body, ensure_ascii=False).encode()
    timestamp = timestamp or str(int(NOW.timestamp()))
    headers = {
        protocol.HEADER_APP_ID: app_id,
        protocol.HEADER_TIMESTAMP: timestamp,
        protocol.HEADER_NONCE: nonce,
        protocol.HEADER_SIGNATURE: protocol.signature(
            secret, app_id=app_id, timestamp=timestamp, nonce=nonce, body=raw
        ),
    }
    return {"content": raw, "headers": headers}


class TestRules:
    def test_a_real_looking_person_is_consistent(self) -> None:
        assert verdict("张三", id_number()) == (protocol.CONSISTENT, "一致")

    def test_a_name_ending_in_jia_is_inconsistent(self) -> None:
        assert verdict("张三假", id_number()) == (protocol.INCONSISTENT, MISMATCH)

    def test_a_wrong_check_digit_or_shape_is_inconsistent(self) -> None:
        number = id_number()
        wrong = number[:17] + ("0" if number[17] != "0" else "1")

        assert verdict("张三", wrong) == (protocol.INCONSISTENT, NO_SUCH_ID)
        assert verdict("张三", "12345") == (protocol.INCONSISTENT, NO_SUCH_ID)

    def test_sequence_digits_999_are_a_provider_error(self) -> None:
        assert verdict("张三", id_number(serial=999)) is None

    def test_a_lowercase_x_check_character_is_read_as_x(self) -> None:
        number = next(n for s in range(999) if (n := id_number(serial=s)).endswith("X"))

        assert verdict("张三", number.lower()) == (protocol.CONSISTENT, "一致")


class TestOverHttp:
    async def test_a_signed_request_is_answered_and_counted(
        self, fake: tuple[httpx.AsyncClient, FakeRealNameState]
    ) -> None:
        client, state = fake

        answer = await client.post(protocol.PATH_VERIFY, **signed({"name": "张三假", "id_number": id_number()}))

        assert answer.status_code == 200
        assert answer.json()["result"] == protocol.INCONSISTENT
        assert answer.json()["message"] == MISMATCH
        assert state.calls == 1

    async def test_sequence_999_answers_503(self, fake: tuple[httpx.AsyncClient, FakeRealNameState]) -> None:
        client, _ = fake

        answer = await client.post(
            protocol.PATH_VERIFY,
            **signed({"name": "张三", "id_number": id_number(serial=999)}),
        )

        assert (answer.status_code, answer.json()["code"]) == (503, "SYSTEM_ERROR")

    @pytest.mark.parametrize(
        "how",
        [
            pytest.param({"secret": "wrong"}, id="wrong-secret"),
            pytest.param({"app_id": "stranger"}, id="unknown-app"),
            pytest.param({"timestamp": str(int((NOW - timedelta(minutes=6)).timestamp()))}, id="stale"),
            pytest.param({"timestamp": str(int((NOW + timedelta(minutes=6)).timestamp()))}, id="from-the-future"),
            pytest.param({"timestamp": "soon"}, id="not-a-timestamp"),
        ],
    )
    async def test_a_badly_signed_request_is_refused(
        self, fake: tuple[httpx.AsyncClient, FakeRealNameState], how: dict[str, str]
    ) -> None:
        client, state = fake

        answer = await client.post(protocol.PATH_VERIFY, **signed({"name": "张三", "id_number": id_number()}, **how))

        assert (answer.status_code, answer.json()["code"]) == (401, "SIGN_ERROR")
        assert state.calls == 0

    async def test_a_tampered_body_is_refused(self, fake: tuple[httpx.AsyncClient, FakeRealNameState]) -> None:
        client, _ = fake
        request = signed({"name": "张三假", "id_number": id_number()})
        request["content"] = request["content"].replace("假".encode(), b"")

        answer = await client.post(protocol.PATH_VERIFY, **request)

        assert answer.status_code == 401

    async def test_a_nonce_is_good_once(self, fake: tuple[httpx.AsyncClient, FakeRealNameState]) -> None:
        client, _ = fake
        request = signed({"name": "张三", "id_number": id_number()})

        first = await client.post(protocol.PATH_VERIFY, **request)
        replayed = await client.post(protocol.PATH_VERIFY, **request)

        assert first.status_code == 200
        assert (replayed.status_code, replayed.json()["message"]) == (401, "nonce reused")

    @pytest.mark.parametrize("body", [{"name": "张三"}, {"name": 1, "id_number": "x"}, ["张三"]])
    async def test_a_body_without_a_name_and_an_id_number_is_a_param_error(
        self, fake: tuple[httpx.AsyncClient, FakeRealNameState], body: object
    ) -> None:
        client, _ = fake

        answer = await client.post(protocol.PATH_VERIFY, **signed(body))

        assert (answer.status_code, answer.json()["code"]) == (400, "PARAM_ERROR")

    async def test_apps_can_be_registered_later(self, fake: tuple[httpx.AsyncClient, FakeRealNameState]) -> None:
        client, state = fake
        state.register_app("late", "other")

        answer = await client.post(
            protocol.PATH_VERIFY,
            **signed({"name": "张三", "id_number": id_number()}, app_id="late", secret="other"),
        )

        assert answer.json()["result"] == protocol.CONSISTENT
