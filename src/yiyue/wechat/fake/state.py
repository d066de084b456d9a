"""Everything the fake WeChat remembers, and the rules of login, access tokens and subscribe messages.

All state lives in one ``FakeWeChatState`` guarded by a ``threading.Lock`` (sync endpoints run in a
thread pool, and uvicorn may serve the fake from another thread). WeChat Pay adds its own fields in a
subclass (``yiyue.wechat.fake.pay.FakePayState``) and its own router to the same app.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from yiyue.core.clock import Clock, local_today
from yiyue.wechat.fake.errors import WeChatApiError
from yiyue.wechat.fake.login import (
    CODE_TTL,
    FORCE_REFRESH_DAILY_LIMIT,
    FORCE_REFRESH_MIN_INTERVAL,
    LOGIN_RATE_LIMIT,
    LOGIN_RATE_WINDOW,
    TOKEN_OVERLAP,
    TOKEN_TTL,
    AccessToken,
    IssuedToken,
    LoginCode,
)
from yiyue.wechat.fake.messages import (
    DEFAULT_TEMPLATES,
    LANGS,
    MINIPROGRAM_STATES,
    PAGE,
    SentMessage,
    check_template_data,
    checked_templates,
)


@dataclass
class _Faults:
    """Errors queued by ``/__fake__/fail-next`` for a WeChat path, answered before any other check."""

    pending: dict[str, deque[tuple[int, str]]] = field(default_factory=dict)

    def add(self, path: str, errcode: int, errmsg: str, count: int) -> None:
        self.pending.setdefault(path, deque()).extend([(errcode, errmsg)] * count)

    def take(self, path: str) -> WeChatApiError | None:
        queue = self.pending.get(path)
        if not queue:
            return None
        errcode, errmsg = queue.popleft()
        return WeChatApiError(errcode, errmsg)


class FakeWeChatState:
    """Everything the fake WeChat remembers. Public methods take the lock; ``_`` helpers assume it is held.

    A WeChat Pay part adds its own fields in a subclass and extends ``_clear`` to reset them.
    """

    def __init__(
        self,
        *,
        appid: str,
        secret: str,
        clock: Clock | None = None,
        templates: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.appid = appid
        self.secret = secret
        self.clock = clock or Clock()
        self.templates = checked_templates(DEFAULT_TEMPLATES if templates is None else templates)
        self.lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self._codes: dict[str, LoginCode] = {}
        self._login_calls: dict[str, deque[datetime]] = {}
        self._known_openids: set[str] = set()
        self._tokens: dict[str, AccessToken] = {}
        self._latest_token: AccessToken | None = None
        self._latest_stable: AccessToken | None = None
        self._forced_refreshes: list[datetime] = []
        self._subscriptions: Counter[tuple[str, str]] = Counter()
        self._messages: list[SentMessage] = []
        self._faults = _Faults()

    def reset(self) -> None:
        with self.lock:
            self._clear()

    # -- what happens inside the WeChat app --

    def mint_login_code(self, *, openid: str, unionid: str | None = None, high_risk: bool = False) -> str:
        """What ``wx.login`` does: a one-time code that ``jscode2session`` exchanges for the openid."""
        code = secrets.token_urlsafe(24)
        with self.lock:
            self._codes[code] = LoginCode(openid, unionid, high_risk, minted_at=self.clock.now())
        return code

    def grant_subscription(self, *, openid: str, template_id: str, count: int = 1) -> int:
        """What accepting ``wx.requestSubscribeMessage`` does: ``count`` one-time sends. Returns the balance."""
        if template_id not in self.templates:
            raise KeyError(template_id)
        with self.lock:
            self._subscriptions[(openid, template_id)] += count
            return self._subscriptions[(openid, template_id)]

    def inject_fault(self, *, path: str, errcode: int, errmsg: str, count: int = 1) -> None:
        with self.lock:
            self._faults.add(path, errcode, errmsg, count)

    def sent_messages(self, openid: str | None = None) -> list[SentMessage]:
        with self.lock:
            return [m for m in self._messages if openid is None or m.touser == openid]

    # -- the WeChat APIs --

    def take_fault(self, path: str) -> None:
        with self.lock:
            fault = self._faults.take(path)
        if fault is not None:
            raise fault

    def check_credentials(self, appid: str | None, secret: str | None) -> None:
        if not appid:
            raise WeChatApiError(41002, "appid missing")
        if not secret:
            raise WeChatApiError(41004, "appsecret missing")
        if appid != self.appid:
            raise WeChatApiError(40013, "invalid appid")
        if secret != self.secret:
            raise WeChatApiError(40125, "invalid appsecret")

    def code2session(self, code: str) -> dict[str, str]:
        """The rules of ``jscode2session`` once the app credentials have been checked."""
        now = self.clock.now()
        with self.lock:
            login = self._codes.get(code)
            if login is None:
                raise WeChatApiError(40029, "invalid code")
            self._count_login_call(login.openid, now)
            if login.used:
                raise WeChatApiError(40163, "code been used")
            if now - login.minted_at > CODE_TTL:
                raise WeChatApiError(40029, "invalid code")
            if login.high_risk:
                raise WeChatApiError(40226, "high risk user, login blocked")
            login.used = True
            self._known_openids.add(login.openid)
        session = {"openid": login.openid, "session_key": secrets.token_urlsafe(16)}
        if login.unionid:
            session["unionid"] = login.unionid
        return session

    def _count_login_call(self, openid: str, now: datetime) -> None:
        calls = self._login_calls.setdefault(openid, deque())
        while calls and now - calls[0] >= LOGIN_RATE_WINDOW:
            calls.popleft()
        if len(calls) >= LOGIN_RATE_LIMIT:
            raise WeChatApiError(45011, "api minute-quota reach limit  mustslower  retry next minute")
        calls.append(now)

    def issue_token(self) -> IssuedToken:
        """``/cgi-bin/token``: always a new token; the previous one keeps working for the overlap."""
        now = self.clock.now()
        with self.lock:
            if self._latest_token is not None:
                self._latest_token.invalid_from = now + TOKEN_OVERLAP
            self._latest_token = self._new_token(now)
            return IssuedToken(self._latest_token.value, int(TOKEN_TTL.total_seconds()))

    def issue_stable_token(self, *, force_refresh: bool) -> IssuedToken:
        """``/cgi-bin/stable_token``: the same token until 5 minutes before expiry, unless forced."""
        now = self.clock.now()
        with self.lock:
            current = self._latest_stable
            if force_refresh and not self._forced_too_recently(now):
                self._count_forced_refresh(now)
                if current is not None:
                    current.invalid_from = now  # a forced refresh exists for leaked tokens: no overlap
                current = None
            elif current is not None and current.errcode_at(now + TOKEN_OVERLAP) is not None:
                current = None  # renewed early; the old token still works until its own expiry
            if current is None:
                current = self._latest_stable = self._new_token(now)
            return IssuedToken(current.value, int((current.expires_at - now).total_seconds()))

    def _forced_too_recently(self, now: datetime) -> bool:
        # WeChat quietly ignores a forced refresh within 30 s of the last one and returns the current token.
        last = self._forced_refreshes[-1] if self._forced_refreshes else None
        return last is not None and now - last < FORCE_REFRESH_MIN_INTERVAL and self._latest_stable is not None

    def _count_forced_refresh(self, now: datetime) -> None:
        today = local_today(now)
        if sum(1 for at in self._forced_refreshes if local_today(at) == today) >= FORCE_REFRESH_DAILY_LIMIT:
            raise WeChatApiError(45009, "reach max api daily quota limit")
        self._forced_refreshes.append(now)

    def _new_token(self, now: datetime) -> AccessToken:
        token = AccessToken(value=secrets.token_urlsafe(64), expires_at=now + TOKEN_TTL)
        self._tokens[token.value] = token
        return token

    def check_access_token(self, value: str | None) -> None:
        if not value:
            raise WeChatApiError(41001, "access_token missing")
        with self.lock:
            token = self._tokens.get(value)
            errcode = 40001 if token is None else token.errcode_at(self.clock.now())
        if errcode == 42001:
            raise WeChatApiError(42001, "access_token expired")
        if errcode == 40001:
            raise WeChatApiError(40001, "invalid credential, access_token is invalid or not latest")

    def send_subscribe_message(self, body: Any) -> int:
        """``subscribe/send`` after the token check: validates, uses one subscription, returns the msgid."""
        if not isinstance(body, dict):
            raise WeChatApiError(47001, "data format error")
        touser, template_id = body.get("touser"), body.get("template_id")
        page = body.get("page")
        miniprogram_state = body.get("miniprogram_state", "formal")
        lang = body.get("lang", "zh_CN")
        with self.lock:
            if not isinstance(touser, str) or touser not in self._known_openids:
                raise WeChatApiError(40003, "invalid openid")
            if not isinstance(template_id, str) or template_id not in self.templates:
                raise WeChatApiError(40037, "invalid template_id")
            if page is not None and not (isinstance(page, str) and PAGE.fullmatch(page)):
                raise WeChatApiError(41030, "invalid page")
            if miniprogram_state not in MINIPROGRAM_STATES:
                raise WeChatApiError(47003, "argument invalid! miniprogram_state")
            if lang not in LANGS:
                raise WeChatApiError(47003, "argument invalid! lang")
            check_template_data(self.templates[template_id], body.get("data"))
            if self._subscriptions[(touser, template_id)] <= 0:
                raise WeChatApiError(43101, "user refuse to accept the msg")
            self._subscriptions[(touser, template_id)] -= 1
            message = SentMessage(
                msgid=len(self._messages) + 1,
                touser=touser,
                template_id=template_id,
                page=page,
                data=body["data"],
                miniprogram_state=miniprogram_state,
                lang=lang,
                sent_at=self.clock.now().isoformat(),
            )
            self._messages.append(message)
            return message.msgid
