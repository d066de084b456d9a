"""The fake real-name verification service (实名认证), speaking ``yiyue.wechat.realname``'s protocol.

It checks each request as a real provider does, then answers deterministically, so that tests and the
demo can reach every outcome with made-up people:

1. The app id must be registered (``register_app``), the signature right, the timestamp within five minutes
   of the fake's clock and the nonce unused in that time; otherwise 401 ``SIGN_ERROR``. A body that is not
   ``{"name": str, "id_number": str}`` is 400 ``PARAM_ERROR``.
2. An ID number that is not 17 digits and a check character, or whose GB 11643 check character is wrong,
   is ``inconsistent``: "身份证号码不存在或校验码错误".
3. An ID number whose sequence digits (the 15th to 17th characters, 顺序码) are ``999`` answers a provider
   error, 503 ``SYSTEM_ERROR`` (for the path where the service is unavailable).
4. A name ending in 假 is ``inconsistent``: "姓名与身份证号不一致".
5. Anything else is ``consistent``.

``calls`` counts the checks answered (rules 2-5), so tests can see when our cache spared one.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from yiyue.core.clock import Clock
from yiyue.wechat import realname as protocol

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
UNAVAILABLE_SEQUENCE = "999"
FAKE_NAME_SUFFIX = "假"
MISMATCH = "姓名与身份证号不一致"
NO_SUCH_ID = "身份证号码不存在或校验码错误"


def _checksum_ok(id_number: str) -> bool:
    if len(id_number) != 18 or not id_number[:17].isdigit() or id_number[17] not in "0123456789X":
        return False
    total = sum(int(d) * w for d, w in zip(id_number[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == id_number[17]


def verdict(name: str, id_number: str) -> tuple[str, str] | None:
    """``(result, message)`` by the rules above, or ``None`` for a provider error (rule 3)."""
    id_number = id_number.upper()
    if not _checksum_ok(id_number):
        return protocol.INCONSISTENT, NO_SUCH_ID
    if id_number[14:17] == UNAVAILABLE_SEQUENCE:
        return None
    if name.endswith(FAKE_NAME_SUFFIX):
        return protocol.INCONSISTENT, MISMATCH
    return protocol.CONSISTENT, "一致"


class FakeRealNameState:
    """The apps allowed to call (id -> secret), the nonces seen recently and the number of checks."""

    def __init__(self, *, clock: Clock | None = None, apps: Mapping[str, str] | None = None) -> None:
        self.clock = clock or Clock()
        self.apps: dict[str, str] = dict(apps or {})
        self.calls = 0
        self._nonces: dict[str, datetime] = {}
        self.lock = threading.Lock()

    def register_app(self, app_id: str, secret: str) -> None:
        with self.lock:
            self.apps[app_id] = secret

    def authenticate(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """Why the request is refused (``None`` when it is signed by a registered app, fresh and new)."""
        app_id = headers.get(protocol.HEADER_APP_ID, "")
        timestamp = headers.get(protocol.HEADER_TIMESTAMP, "")
        nonce = headers.get(protocol.HEADER_NONCE, "")
        given = headers.get(protocol.HEADER_SIGNATURE, "")
        with self.lock:
            secret = self.apps.get(app_id)
            if secret is None:
                return "unknown app id"
            if not protocol.signature_matches(
                secret, given, app_id=app_id, timestamp=timestamp, nonce=nonce, body=body
            ):
                return "signature mismatch"
            now = self.clock.now()
            try:
                sent = datetime.fromtimestamp(int(timestamp), UTC)
            except (ValueError, OverflowError, OSError):
                return "bad timestamp"
            if abs(now - sent) > protocol.MAX_CLOCK_SKEW:
                return "timestamp expired"
            self._nonces = {n: at for n, at in self._nonces.items() if now - at <= protocol.MAX_CLOCK_SKEW}
            if not nonce or nonce in self._nonces:
                return "nonce reused"
            self._nonces[nonce] = now
            return None

    def count_call(self) -> None:
        with self.lock:
            self.calls += 1


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def realname_router(state: FakeRealNameState) -> APIRouter:
    router = APIRouter(tags=["fake real-name verification"])

    @router.post(protocol.PATH_VERIFY)
    async def verify(request: Request) -> JSONResponse:
        body = await request.body()
        refused = state.authenticate(request.headers, body)
        if refused is not None:
            return _refusal(401, "SIGN_ERROR", refused)
        try:
            data: Any = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("name", "id_number")):
            return _refusal(400, "PARAM_ERROR", "name and id_number are required strings")
        state.count_call()
        answer = verdict(data["name"], data["id_number"])
        if answer is None:
            return _refusal(503, "SYSTEM_ERROR", "核验服务繁忙，请稍后再试")
        result, message = answer
        return JSONResponse({"result": result, "message": message, "request_id": secrets.token_hex(8)})

    return router
