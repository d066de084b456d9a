"""The request body's size, bounded before anything parses it (the outermost ASGI middleware).

A ``Content-Length`` over the limit is refused at once, without reading a byte of the body and
without calling the app. A body without one (chunked) is counted as it arrives: past the limit the
app's read fails, and whatever the app would have answered is replaced by the same refusal —
413 ``PAYLOAD_TOO_LARGE`` in the usual ``{code, message, detail}``. So a 48 MB body costs at most the
limit in memory, and no endpoint runs for it.

Limits go by path prefix, the longest matching prefix winning (``body_limits``); paths that match none
get ``default``. The JSON API needs a few kilobytes: 64 KB by default.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yiyue.core.errors import PayloadTooLarge


def refusal(limit: int) -> tuple[bytes, str]:
    text = f"请求内容过大（上限 {_size(limit)}）"
    body = json.dumps(
        {"code": PayloadTooLarge.code, "message": text, "detail": {"max_bytes": limit}},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return body, text


def _size(limit: int) -> str:
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KB"
    return f"{limit} 字节"


class _TooLarge(HTTPException):
    """Raised from ``receive`` past the limit; frameworks pass an HTTPException through unchanged."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodyLimit:
    def __init__(self, app: ASGIApp, *, default: int, limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        # Longest prefix first, so "/admin/imports" wins over "/admin".
        self.limits = sorted((limits or {}).items(), key=lambda item: len(item[0]), reverse=True)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_refusal(send, limit)
            return
        if declared == 0:
            await self.app(scope, receive, send)
            return
        state = {"received": 0, "exceeded": False, "started": False, "refused": False}

        async def limited_receive() -> Message:
            if state["exceeded"]:
                raise _TooLarge()
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise _TooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            # Once the body went past the limit, the app's answer (whatever its error handling made of
            # the failed read) is replaced by the refusal.
            if state["exceeded"]:
                if message["type"] == "http.response.start" and not state["refused"]:
                    state["refused"] = True
                    await _send_refusal(send, limit)
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        with contextlib.suppress(_TooLarge):  # raised through the app from its body read
            await self.app(scope, limited_receive, guarded_send)
        if state["exceeded"] and not state["refused"] and not state["started"]:
            await _send_refusal(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_refusal(send: Send, limit: int) -> None:
    body, _ = refusal(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
