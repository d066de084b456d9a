"""The sold-out answer at the edge: an ASGI middleware in front of the booking endpoint.

After a popular schedule sells out, nearly every request of the rush is a booking that can only be
refused. Routing, dependency solving and validation in the framework cost several times the answer
itself, so this middleware gives it straight away when the inventory gate already knows it (no slot
left, or the claims in flight cover the rest): same
token check, same request model, same gate, same JSON as the endpoint would send. Everything else,
including every request it is unsure about, goes on to the endpoint unchanged.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yiyue.booking.errors import SoldOut
from yiyue.booking.gate.protocol import SlotCounts
from yiyue.booking.schemas import BookingRequest
from yiyue.core import metrics
from yiyue.core.clock import Clock
from yiyue.core.errors import DomainError
from yiyue.core.security import TokenVerifier

BOOKING_PATH = "/api/v1/appointments"
MAX_BODY = 4096  # a booking request is a few dozen bytes; anything larger is the endpoint's to judge

# Byte for byte what the endpoint's error handler renders (starlette's JSONResponse is compact).
_SOLD_OUT_BODY = json.dumps(
    {"code": SoldOut.code, "message": SoldOut.message, "detail": None}, ensure_ascii=False, separators=(",", ":")
).encode()


Reading = Callable[[int], "asyncio.Future[None] | None"]
"""The read of a schedule's count in progress in this process, if any (``BookingGate.reading``)."""


class SoldOutFastPath:
    def __init__(
        self, app: ASGIApp, *, counts: SlotCounts, tokens: TokenVerifier, clock: Clock, reading: Reading | None = None
    ) -> None:
        self.app = app
        self.counts = counts
        self.tokens = tokens
        self.clock = clock
        self.reading = reading

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != BOOKING_PATH:
            await self.app(scope, receive, send)
            return
        body, whole = await _read_body(receive)
        if whole and len(body) <= MAX_BODY and await self._known_sold_out(scope, body):
            metrics.fastpath_answered(sold_out=True)
            scope[metrics.ROUTE_KEY] = BOOKING_PATH  # answered before routing: the route it stands for
            await _send_sold_out(send)
            return
        metrics.fastpath_answered(sold_out=False)
        await self.app(scope, _replaying(body, whole, receive), send)

    async def _known_sold_out(self, scope: Scope, body: bytes) -> bool:
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if not authorization.lower().startswith("bearer ") or not headers.get(b"idempotency-key", b"").strip():
            return False
        try:
            principal = self.tokens.verify(authorization[7:].strip(), kind="access", now=self.clock.now())
            request = BookingRequest.model_validate_json(body)
        except (DomainError, ValidationError):
            return False
        if principal.role != "patient":
            return False
        if await self.counts.is_sold_out_for(request.schedule_id, principal.subject_id):
            return True
        # The count is being read for a crowd (the first wave of a rush): wait for it here, at the edge,
        # rather than in the endpoint, which would cost the framework's work for a refusal.
        reading = self.reading(request.schedule_id) if self.reading is not None else None
        if reading is None:
            return False
        await asyncio.shield(reading)
        return await self.counts.is_sold_out_for(request.schedule_id, principal.subject_id)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """Reads until the body is whole or past MAX_BODY; says which (a larger body is not read to the end)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away; let the endpoint see it
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_BODY:
            return b"".join(chunks), False


def _replaying(body: bytes, whole: bool, receive: Receive) -> Receive:
    """Hands the endpoint the body already read, then whatever is still to come."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": not whole}
        return await receive()

    return replay


async def _send_sold_out(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": SoldOut.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_SOLD_OUT_BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _SOLD_OUT_BODY})
