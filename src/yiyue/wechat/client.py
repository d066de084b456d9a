"""Our adapter to WeChat's mini-program APIs: login, access token, subscribe messages.

The same code talks to the real WeChat and to ``yiyue.wechat.fake``; only ``api_base`` differs (and, for
the in-process fake, an ``httpx.ASGITransport``). WeChat answers errors with HTTP 200 and an
``errcode``; this module turns them into the errors of ``yiyue.wechat.errors``.

Secrets: the app secret, access tokens and session keys are never logged. The secret still travels in
the ``jscode2session`` query string (WeChat leaves no other way), so a filter on the ``httpx`` logger
masks it, and the access token, in httpx's request log lines.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

import httpx

from yiyue.core.clock import Clock
from yiyue.core.errors import DomainError
from yiyue.wechat.errors import (
    SubscribeMessageRejected,
    WeChatCodeInvalid,
    WeChatMisconfigured,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUserBlocked,
)

log = logging.getLogger("yiyue.wechat")

TOKEN_RENEW_MARGIN = timedelta(minutes=5)
"""Renew the access token this long before it expires, when WeChat's stable token is renewed too."""

CODE_ERRCODES = frozenset({40029, 40163, 41008})
STALE_TOKEN_ERRCODES = frozenset({40001, 42001})
CONFIG_ERRCODES = frozenset({40002, 40013, 40125, 40164, 41002, 41004})
"""Errors that mean our settings are wrong (grant type, appid, secret, IP allow-list), not the user."""
SYSTEM_BUSY = -1


@dataclass(frozen=True)
class WeChatSession:
    """Who logged in: the openid for this mini-program, and the unionid if bound to an Open Platform."""

    openid: str
    session_key: str = field(repr=False)  # decrypts wx user data; must never reach a log line
    unionid: str | None = None


class WeChatClient:
    def __init__(
        self,
        *,
        api_base: str,
        appid: str,
        secret: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self._appid = appid
        self._secret = secret
        self._clock = clock or Clock()
        self._http = httpx.AsyncClient(base_url=api_base, transport=transport, timeout=timeout)
        self._token: str | None = None
        self._token_renew_at: datetime | None = None
        self._token_lock = asyncio.Lock()
        install_log_redaction()

    def __repr__(self) -> str:
        return f"WeChatClient(api_base={str(self._http.base_url)!r}, appid={self._appid!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def code2session(self, code: str) -> WeChatSession:
        """Exchanges a ``wx.login`` code for the user's openid (``GET /sns/jscode2session``)."""
        if not code:
            raise WeChatCodeInvalid()
        params = {"appid": self._appid, "secret": self._secret, "js_code": code, "grant_type": "authorization_code"}
        body = await self._call("GET", "/sns/jscode2session", params=params)
        errcode = _errcode(body)
        if errcode:
            raise _login_error(errcode, _errmsg(body))
        return _session_from(body)

    async def access_token(self) -> str:
        """The stable access token, fetched once and reused until 5 minutes before it expires.

        We use ``/cgi-bin/stable_token`` rather than ``/cgi-bin/token``: it hands every caller the same
        token, so several processes of the app do not invalidate each other's tokens.
        """
        token = self._cached_token()
        if token is not None:
            return token
        async with self._token_lock:  # one fetch at a time; the others wait and reuse its result
            token = self._cached_token()
            if token is None:
                token = await self._fetch_token()
            return token

    async def send_subscribe_message(
        self, *, openid: str, template_id: str, data: Mapping[str, str], page: str | None = None
    ) -> None:
        """Sends a subscribe message; ``data`` maps template keys to values (``{"thing2": "心内科"}``).

        Raises ``SubscribeMessageRejected`` when WeChat refuses it (43101: no subscription left), and
        ``WeChatUnavailable`` / ``WeChatMisconfigured`` when WeChat cannot be asked at all.
        """
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
            "lang": "zh_CN",
        }
        if page is not None:
            payload["page"] = page
        token = await self.access_token()
        body = await self._send(token, payload)
        if _errcode(body) in STALE_TOKEN_ERRCODES:
            # Someone refreshed the token or it expired early: fetch the current one and try once more.
            self._forget_token(token)
            body = await self._send(await self.access_token(), payload)
        errcode = _errcode(body)
        if errcode == SYSTEM_BUSY:
            raise WeChatUnavailable(detail={"errcode": errcode})
        if errcode:
            raise SubscribeMessageRejected(errcode, _errmsg(body))

    async def _send(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "/cgi-bin/message/subscribe/send", params={"access_token": token}, json=payload)

    def _cached_token(self) -> str | None:
        if self._token is None or self._token_renew_at is None or self._clock.now() >= self._token_renew_at:
            return None
        return self._token

    def _forget_token(self, token: str) -> None:
        # Only the rejected token: a concurrent send may already have fetched a newer one.
        if self._token == token:
            self._token = None

    async def _fetch_token(self) -> str:
        payload = {"grant_type": "client_credential", "appid": self._appid, "secret": self._secret}
        body = await self._call("POST", "/cgi-bin/stable_token", json={**payload, "force_refresh": False})
        errcode = _errcode(body)
        if errcode:
            raise _upstream_error("stable_token", errcode, _errmsg(body))
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int) or expires_in <= 0:
            log.warning("WeChat stable_token answered without a usable token")
            raise WeChatUnavailable()
        lifetime = timedelta(seconds=expires_in)
        self._token = token
        self._token_renew_at = self._clock.now() + max(lifetime - TOKEN_RENEW_MARGIN, lifetime / 2)
        return token

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One request to WeChat; anything but a JSON object over HTTP 200 means WeChat is unavailable."""
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            # The exception's text is not logged: it could carry the request URL, query and all.
            log.warning("WeChat %s unreachable: %s", path, type(exc).__name__)
            raise WeChatUnavailable() from exc
        if response.status_code != 200:
            log.warning("WeChat %s answered HTTP %s", path, response.status_code)
            raise WeChatUnavailable(detail={"http_status": response.status_code})
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            log.warning("WeChat %s answered something that is not a JSON object", path)
            raise WeChatUnavailable()
        return body


def _errcode(body: Mapping[str, Any]) -> int:
    """WeChat's errcode; a missing one means success (its sample success bodies carry ``errcode: 0``)."""
    errcode = body.get("errcode", 0)
    if not isinstance(errcode, int):
        log.warning("WeChat answered a non-integer errcode")
        raise WeChatUnavailable()
    return errcode


def _errmsg(body: Mapping[str, Any]) -> str:
    return str(body.get("errmsg", ""))


def _session_from(body: Mapping[str, Any]) -> WeChatSession:
    openid, session_key, unionid = body.get("openid"), body.get("session_key"), body.get("unionid")
    if not isinstance(openid, str) or not openid or not isinstance(session_key, str) or not session_key:
        log.warning("WeChat jscode2session answered without openid or session_key")
        raise WeChatUnavailable()
    return WeChatSession(openid=openid, session_key=session_key, unionid=unionid if isinstance(unionid, str) else None)


def _login_error(errcode: int, errmsg: str) -> DomainError:
    if errcode in CODE_ERRCODES:
        return WeChatCodeInvalid(detail={"errcode": errcode})
    if errcode == 45011:
        return WeChatRateLimited(detail={"errcode": errcode})
    if errcode == 40226:
        return WeChatUserBlocked(detail={"errcode": errcode})
    return _upstream_error("jscode2session", errcode, errmsg)


def _upstream_error(api: str, errcode: int, errmsg: str) -> DomainError:
    if errcode in CONFIG_ERRCODES:
        # Our settings are wrong; every login fails until an operator fixes them, so shout.
        log.error(
            "WeChat %s rejects our configuration: errcode=%s errmsg=%s; check YIYUE_WECHAT_APPID, "
            "YIYUE_WECHAT_SECRET and the server's IP allow-list",
            api,
            errcode,
            errmsg,
        )
        return WeChatMisconfigured(detail={"errcode": errcode})
    log.warning("WeChat %s failed: errcode=%s errmsg=%s", api, errcode, errmsg)
    return WeChatUnavailable(detail={"errcode": errcode})


# --- keeping secrets out of httpx's request log ---------------------------------------------------

_SENSITIVE_QUERY = re.compile(r"((?:^|[?&])(?:secret|access_token|js_code)=)[^&#\s]*")


def redact_url(url: str) -> str:
    """The URL with the secret, access token and login code masked."""
    return _SENSITIVE_QUERY.sub(r"\1***", url)


class _RedactWeChatSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(str(arg)) if isinstance(arg, httpx.URL | str) else arg for arg in record.args
            )
        return True


def install_log_redaction() -> None:
    """Masks secrets in httpx's ``HTTP Request: GET <url>`` lines; idempotent."""
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactWeChatSecrets) for f in httpx_log.filters):
        httpx_log.addFilter(_RedactWeChatSecrets())
