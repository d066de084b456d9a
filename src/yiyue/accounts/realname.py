"""Real-name check (实名认证) of visit persons: the provider adapter, the cache of its answers, the rule.

A visit person's name and ID number are checked with a verification service (the hospital's chosen one in
production; the fake served with the fake WeChat in development, ``yiyue.wechat.fake.realname``) when the
person is added, and again on request. Only a ``verified`` person can be booked for; an unverified or
failed one is still saved. The service's answers are kept (``RealNameCheck``, under a keyed hash of the
ID number and name), so the same person added by another family account costs no second query.

A provider that cannot answer (timeout, refusal, garbage) leaves the person ``unverified``: adding them
still succeeds, and verifying again later answers ``REALNAME_UNAVAILABLE`` (503) until it can. Nothing is
cached then. Names and ID numbers are never logged.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import RealNameCheck, VisitPerson
from yiyue.core.clock import Clock
from yiyue.core.config import FAKE_WECHAT_IN_PROCESS, Settings
from yiyue.core.crypto import FieldCipher
from yiyue.core.errors import Conflict, UpstreamUnavailable
from yiyue.wechat import realname as protocol

log = logging.getLogger("yiyue.accounts.realname")

LOOKUP = "realname_checks.lookup"
"""The blind-index context of the cache key (its own: it never equals a visit person's ID-number index)."""
IN_PROCESS_BASE = "http://fake-realname.invalid"
"""The base URL of the fake served in-process: the ASGI transport never resolves it."""


class RealNameStatus(StrEnum):
    UNVERIFIED = "unverified"  # 未认证: not checked yet, renamed since, or the service could not answer
    VERIFIED = "verified"  # 已认证
    FAILED = "failed"  # 认证失败: the service said the name and the ID number do not belong together


REALNAME_LABELS = {
    RealNameStatus.UNVERIFIED: "未认证",
    RealNameStatus.VERIFIED: "已认证",
    RealNameStatus.FAILED: "认证失败",
}


REALNAME_MESSAGES = {
    RealNameStatus.UNVERIFIED: "尚未通过实名认证（认证服务暂不可用或姓名已修改），请重新认证后再预约",
    RealNameStatus.VERIFIED: "已通过实名认证",
    RealNameStatus.FAILED: "实名认证未通过：姓名与身份证号不一致，请核对后修改并重新认证",
}
"""What the patient is told of each state (the provider's own reason is kept with its answer)."""


class PersonNotVerified(Conflict):
    code = "PERSON_NOT_VERIFIED"
    message = "就诊人未通过实名认证，请先完成认证"


class RealNameUnavailable(UpstreamUnavailable):
    code = "REALNAME_UNAVAILABLE"
    message = "实名认证服务暂不可用，请稍后重新认证"


@dataclass(frozen=True)
class Verdict:
    """The service's answer: the name and ID number belong together, or not and why (its words)."""

    verified: bool
    reason: str = ""


class RealNameProvider(Protocol):
    """A real-name verification service. ``verify`` raises ``RealNameUnavailable`` when it cannot answer."""

    name: str

    async def verify(self, name: str, id_number: str) -> Verdict: ...


class HttpRealNameProvider:
    """The verification service over HTTP (``yiyue.wechat.realname``): signed requests, a time limit."""

    name = "http"

    def __init__(
        self,
        *,
        api_base: str,
        app_id: str,
        secret: str,
        timeout: float,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.app_id = app_id
        self._secret = secret
        self.timeout = timeout
        self.clock = clock or Clock()
        self._transport = transport

    async def verify(self, name: str, id_number: str) -> Verdict:
        body = json.dumps({"name": name, "id_number": id_number}, ensure_ascii=False).encode()
        timestamp = str(int(self.clock.now().timestamp()))
        nonce = secrets.token_hex(16)
        headers = {
            "Content-Type": "application/json",
            protocol.HEADER_APP_ID: self.app_id,
            protocol.HEADER_TIMESTAMP: timestamp,
            protocol.HEADER_NONCE: nonce,
            protocol.HEADER_SIGNATURE: protocol.signature(
                self._secret, app_id=self.app_id, timestamp=timestamp, nonce=nonce, body=body
            ),
        }
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=self.timeout) as client:
                response = await client.post(f"{self.api_base}{protocol.PATH_VERIFY}", content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("real-name service unreachable: %s", type(exc).__name__)
            raise RealNameUnavailable() from None
        return _verdict_of(response)


def _verdict_of(response: httpx.Response) -> Verdict:
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code != 200 or not isinstance(data, dict):
        code = data.get("code") if isinstance(data, dict) else None
        log.warning("real-name service refused: HTTP %s %s", response.status_code, code)
        raise RealNameUnavailable()
    result, message = data.get("result"), data.get("message")
    if result == protocol.CONSISTENT:
        return Verdict(verified=True)
    if result == protocol.INCONSISTENT:
        return Verdict(verified=False, reason=str(message or "姓名与身份证号不一致")[:100])
    log.warning("real-name service answered an unknown result")
    raise RealNameUnavailable()


def provider_from_settings(
    settings: Settings, *, clock: Clock | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> HttpRealNameProvider:
    """The provider of ``YIYUE_REALNAME_*``; for the in-process fake, ``transport`` reaches it."""
    in_process = settings.realname_api_base == FAKE_WECHAT_IN_PROCESS
    if in_process and transport is None:
        raise ValueError("the in-process fake real-name service needs its ASGI transport")
    return HttpRealNameProvider(
        api_base=IN_PROCESS_BASE if in_process else settings.realname_api_base,
        app_id=settings.realname_app_id,
        secret=settings.realname_app_secret,
        timeout=settings.realname_timeout_seconds,
        clock=clock,
        transport=transport,
    )


# --- checking a person, with the cache ------------------------------------------------------------


@dataclass(frozen=True)
class RealNameResult:
    """What a check gives a visit person, and the answer to keep when it is new (``fresh``)."""

    status: RealNameStatus
    checked_at: datetime | None
    fresh: RealNameCheck | None = None

    @classmethod
    def of(cls, person: VisitPerson) -> RealNameResult:
        """A person's standing as it is, with no new check."""
        return cls(RealNameStatus(person.realname_status), person.realname_checked_at)

    def apply(self, person: VisitPerson) -> None:
        person.realname_status = self.status
        person.realname_checked_at = self.checked_at


def lookup_key(cipher: FieldCipher, *, id_number: str, name: str) -> str:
    return cipher.blind_index(f"{id_number}\x1f{name}", context=LOOKUP)


async def check(
    session: AsyncSession, *, provider: RealNameProvider, cipher: FieldCipher, id_number: str, name: str, now: datetime
) -> RealNameResult:
    """The check of one (ID number, name): a kept answer if there is one, else the provider's. It writes
    nothing (call ``remember`` inside the write), so the provider's call holds no write lock."""
    key = lookup_key(cipher, id_number=id_number, name=name)
    kept = await session.scalar(select(RealNameCheck).where(RealNameCheck.lookup == key))
    if kept is not None:
        return _result(Verdict(kept.verified, kept.reason), checked_at=kept.checked_at)
    try:
        verdict = await provider.verify(name, id_number)
    except RealNameUnavailable:
        return RealNameResult(RealNameStatus.UNVERIFIED, checked_at=None)
    fresh = RealNameCheck(
        lookup=key, verified=verdict.verified, reason=verdict.reason[:100], provider=provider.name, checked_at=now
    )
    return _result(verdict, checked_at=now, fresh=fresh)


def _result(verdict: Verdict, *, checked_at: datetime, fresh: RealNameCheck | None = None) -> RealNameResult:
    status = RealNameStatus.VERIFIED if verdict.verified else RealNameStatus.FAILED
    return RealNameResult(status, checked_at, fresh)


async def remember(session: AsyncSession, result: RealNameResult) -> None:
    """Keeps a new answer (inside the unit of work's write); one kept meanwhile by another request stays."""
    if result.fresh is None:
        return
    try:
        async with session.begin_nested():
            session.add(result.fresh)
    except IntegrityError:
        pass


def require_verified(person: VisitPerson) -> None:
    """Only a person whose real name was verified can be booked for (or join a waitlist, or a draw)."""
    if person.realname_status != RealNameStatus.VERIFIED:
        raise PersonNotVerified()
