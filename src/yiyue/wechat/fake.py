"""A fake WeChat server: mini-program login, access tokens and subscribe messages.

It is a first-class part of the platform, not a test double: it answers on WeChat's real paths with
WeChat's fields and error codes (HTTP 200 with ``{"errcode", "errmsg"}``), so the app differs from
production only in ``YIYUE_WECHAT_API_BASE``. Behaviour follows ``docs/WECHAT.md`` sections 1-3.

Paths under ``/__fake__/`` stand in for what happens inside the WeChat app (``wx.login`` minting a code,
``wx.requestSubscribeMessage`` granting a one-time subscription) and let tests and demos look inside.

All state lives in one ``FakeWeChatState`` guarded by a ``threading.Lock`` (sync endpoints run in a
thread pool, and uvicorn may serve the fake from another thread). A WeChat Pay part can add its own
router to the same app and its own fields to a subclass of the state.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yiyue.core.clock import Clock, local_today

if TYPE_CHECKING:
    from yiyue.wechat.fake_pay import FakePayKeys

CODE_TTL = timedelta(minutes=5)
LOGIN_RATE_LIMIT = 100
LOGIN_RATE_WINDOW = timedelta(minutes=1)
TOKEN_TTL = timedelta(seconds=7200)
TOKEN_OVERLAP = timedelta(minutes=5)
"""How long a replaced token keeps working, and how early the stable token is renewed."""
FORCE_REFRESH_DAILY_LIMIT = 20
FORCE_REFRESH_MIN_INTERVAL = timedelta(seconds=30)

TEMPLATE_BOOKING_CONFIRMED = "yiyue-booking-confirmed"
TEMPLATE_VISIT_REMINDER = "yiyue-visit-reminder"
TEMPLATE_BOOKING_CANCELLED = "yiyue-booking-cancelled"

DEFAULT_TEMPLATES: dict[str, list[str]] = {
    # 预约成功通知: 就诊人, 就诊科室, 医生, 就诊时间, 预约单号
    TEMPLATE_BOOKING_CONFIRMED: ["name1", "thing2", "thing3", "time4", "character_string5"],
    # 就诊提醒: 就诊人, 就诊科室, 就诊时间, 就诊地点, 温馨提示
    TEMPLATE_VISIT_REMINDER: ["name1", "thing2", "time3", "thing4", "thing5"],
    # 预约取消通知: 就诊人, 就诊科室, 就诊时间, 预约状态, 取消原因
    TEMPLATE_BOOKING_CANCELLED: ["name1", "thing2", "time3", "phrase4", "thing5"],
}

PATH_CODE2SESSION = "/sns/jscode2session"
PATH_TOKEN = "/cgi-bin/token"
PATH_STABLE_TOKEN = "/cgi-bin/stable_token"
PATH_SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
WECHAT_API_PATHS = (PATH_CODE2SESSION, PATH_TOKEN, PATH_STABLE_TOKEN, PATH_SUBSCRIBE_SEND)

MINIPROGRAM_STATES = frozenset({"developer", "trial", "formal"})
LANGS = frozenset({"zh_CN", "en_US", "zh_HK", "zh_TW"})


class WeChatApiError(Exception):
    """An error the fake answers the way WeChat does: HTTP 200, ``errcode`` and ``errmsg``."""

    def __init__(self, errcode: int, text: str) -> None:
        super().__init__(f"{errcode}: {text}")
        self.errcode = errcode
        self.text = text


# --- template data values -------------------------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_DATE = rf"\d{{4}}(?:年{_MONTH}月{_DAY}日|-{_MONTH}-{_DAY}|/{_MONTH}/{_DAY})"
_TIME = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"
_POINT = rf"(?:{_DATE}(?:\s*{_TIME})?|{_TIME})"
_TIME_VALUE = re.compile(rf"{_POINT}(?:\s*~\s*{_POINT})?")
_AMOUNT_VALUE = re.compile(r"[¥￥$€£]?\d{1,10}(?:\.\d{1,2})?元?")
_NUMBER_VALUE = re.compile(r"\d+(?:\.\d+)?")
_PHRASE_VALUE = re.compile(rf"[{_CJK}]{{1,5}}")
_CHARACTER_STRING_VALUE = re.compile(r"[\x21-\x7e]{1,32}")
_PHONE_VALUE = re.compile(r"[\d+\-() ]{1,17}")
_HAS_CJK = re.compile(rf"[{_CJK}]")
_TEMPLATE_KEY = re.compile(r"([a-z_]+?)(\d+)")
_PAGE = re.compile(r"[A-Za-z0-9_\-./]+(?:\?\S*)?")


def _valid_name(value: str) -> bool:
    # WeChat: up to 10 Chinese characters, or up to 20 letters/symbols; mixed counts as Chinese.
    if not value or any(ch.isdigit() for ch in value):
        return False
    return len(value) <= (10 if _HAS_CJK.search(value) else 20)


VALUE_RULES: dict[str, Callable[[str], bool]] = {
    "thing": lambda v: 1 <= len(v) <= 20,
    "character_string": lambda v: _CHARACTER_STRING_VALUE.fullmatch(v) is not None,
    "phrase": lambda v: _PHRASE_VALUE.fullmatch(v) is not None,
    "time": lambda v: _TIME_VALUE.fullmatch(v) is not None,
    "date": lambda v: _TIME_VALUE.fullmatch(v) is not None,
    "number": lambda v: len(v) <= 32 and _NUMBER_VALUE.fullmatch(v) is not None,
    "name": _valid_name,
    "phone_number": lambda v: _PHONE_VALUE.fullmatch(v) is not None,
    "amount": lambda v: _AMOUNT_VALUE.fullmatch(v) is not None,
}
"""Value limits per template key kind (the key without its number: ``thing1`` -> ``thing``)."""


def key_kind(key: str) -> str | None:
    match = _TEMPLATE_KEY.fullmatch(key)
    return match.group(1) if match and match.group(1) in VALUE_RULES else None


def _checked_templates(templates: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Fails at start-up on a key the fake cannot validate, rather than on the first send."""
    checked: dict[str, tuple[str, ...]] = {}
    for template_id, keys in templates.items():
        unknown = [key for key in keys if key_kind(key) is None]
        if unknown or not keys:
            raise ValueError(f"template {template_id!r} has keys of unknown kind: {unknown or 'none given'}")
        checked[template_id] = tuple(keys)
    return checked


def _check_template_data(keys: tuple[str, ...], data: Any) -> None:
    if not isinstance(data, dict):
        raise WeChatApiError(47003, "argument invalid! data")
    for key in keys:
        entry = data.get(key)
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not value:
            raise WeChatApiError(47003, f"argument invalid! data.{key}.value is empty")
        kind = key_kind(key)
        if kind is None or not VALUE_RULES[kind](value):
            raise WeChatApiError(47003, f"argument invalid! data.{key}.value invalid")
    extra = sorted(set(data) - set(keys))
    if extra:
        raise WeChatApiError(47003, f"argument invalid! data.{extra[0]} not in template")


# --- state ----------------------------------------------------------------------------------------


@dataclass
class _LoginCode:
    openid: str
    unionid: str | None
    high_risk: bool
    minted_at: datetime
    used: bool = False


@dataclass
class _AccessToken:
    value: str
    expires_at: datetime
    invalid_from: datetime | None = None
    """Set when a newer token replaces this one (after an overlap, or at once for a forced refresh)."""

    def errcode_at(self, now: datetime) -> int | None:
        if now >= self.expires_at:
            return 42001
        if self.invalid_from is not None and now >= self.invalid_from:
            return 40001
        return None


@dataclass(frozen=True)
class SentMessage:
    msgid: int
    touser: str
    template_id: str
    page: str | None
    data: dict[str, Any]
    miniprogram_state: str
    lang: str
    sent_at: str


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


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
        self.templates = _checked_templates(DEFAULT_TEMPLATES if templates is None else templates)
        self.lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self._codes: dict[str, _LoginCode] = {}
        self._login_calls: dict[str, deque[datetime]] = {}
        self._known_openids: set[str] = set()
        self._tokens: dict[str, _AccessToken] = {}
        self._latest_token: _AccessToken | None = None
        self._latest_stable: _AccessToken | None = None
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
            self._codes[code] = _LoginCode(openid, unionid, high_risk, minted_at=self.clock.now())
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

    def _new_token(self, now: datetime) -> _AccessToken:
        token = _AccessToken(value=secrets.token_urlsafe(64), expires_at=now + TOKEN_TTL)
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
            if page is not None and not (isinstance(page, str) and _PAGE.fullmatch(page)):
                raise WeChatApiError(41030, "invalid page")
            if miniprogram_state not in MINIPROGRAM_STATES:
                raise WeChatApiError(47003, "argument invalid! miniprogram_state")
            if lang not in LANGS:
                raise WeChatApiError(47003, "argument invalid! lang")
            _check_template_data(self.templates[template_id], body.get("data"))
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


# --- HTTP -----------------------------------------------------------------------------------------


def _rid() -> str:
    # WeChat's request id, which it appends to every error message.
    return "-".join(secrets.token_hex(4) for _ in range(3))


def wechat_error_response(error: WeChatApiError) -> JSONResponse:
    return JSONResponse({"errcode": error.errcode, "errmsg": f"{error.text}, rid: {_rid()}"})


async def _wechat_json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise WeChatApiError(47001, "data format error") from exc


def mini_program_router(state: FakeWeChatState) -> APIRouter:
    """WeChat's own mini-program endpoints (login, access token, subscribe messages)."""
    router = APIRouter(tags=["wechat mini-program"])

    @router.get(PATH_CODE2SESSION)
    def jscode2session(
        appid: str | None = None, secret: str | None = None, js_code: str | None = None, grant_type: str | None = None
    ) -> dict[str, str]:
        state.take_fault(PATH_CODE2SESSION)
        state.check_credentials(appid, secret)
        if not js_code:
            raise WeChatApiError(41008, "missing code")
        if grant_type != "authorization_code":
            raise WeChatApiError(40002, "invalid grant_type")
        return state.code2session(js_code)

    @router.get(PATH_TOKEN)
    def get_access_token(
        grant_type: str | None = None, appid: str | None = None, secret: str | None = None
    ) -> dict[str, Any]:
        state.take_fault(PATH_TOKEN)
        if grant_type != "client_credential":
            raise WeChatApiError(40002, "invalid grant_type")
        state.check_credentials(appid, secret)
        return asdict(state.issue_token())

    @router.post(PATH_STABLE_TOKEN)
    async def get_stable_access_token(request: Request) -> dict[str, Any]:
        state.take_fault(PATH_STABLE_TOKEN)
        body = await _wechat_json_body(request)
        if not isinstance(body, dict):
            raise WeChatApiError(47001, "data format error")
        if body.get("grant_type") != "client_credential":
            raise WeChatApiError(40002, "invalid grant_type")
        state.check_credentials(body.get("appid"), body.get("secret"))
        force_refresh = body.get("force_refresh", False)
        if not isinstance(force_refresh, bool):
            raise WeChatApiError(47001, "data format error")
        return asdict(state.issue_stable_token(force_refresh=force_refresh))

    @router.post(PATH_SUBSCRIBE_SEND)
    async def send_subscribe_message(request: Request, access_token: str | None = None) -> dict[str, Any]:
        state.take_fault(PATH_SUBSCRIBE_SEND)
        state.check_access_token(access_token)
        msgid = state.send_subscribe_message(await _wechat_json_body(request))
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    return router


# --- helpers standing in for the WeChat app -------------------------------------------------------

_ID = r"^[A-Za-z0-9_-]+$"  # pydantic patterns are not anchored


class _HelperBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LoginCodeRequest(_HelperBody):
    openid: Annotated[str, Field(min_length=1, max_length=128, pattern=_ID)]
    unionid: Annotated[str | None, Field(min_length=1, max_length=128, pattern=_ID)] = None
    high_risk: bool = False


class SubscribeRequest(_HelperBody):
    openid: Annotated[str, Field(min_length=1, max_length=128, pattern=_ID)]
    template_id: Annotated[str, Field(min_length=1, max_length=128)]
    count: Annotated[int, Field(ge=1, le=1000)] = 1


class FaultRequest(_HelperBody):
    path: Annotated[str, Field(min_length=1)]
    errcode: int
    errmsg: str = "system error"
    count: Annotated[int, Field(ge=1, le=1000)] = 1


class HelperInputError(Exception):
    def __init__(self, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


_Body = TypeVar("_Body", bound=_HelperBody)


async def _helper_body(request: Request, model: type[_Body]) -> _Body:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        detail = exc.errors(include_url=False, include_context=False, include_input=False)
        raise HelperInputError("请求参数有误", detail) from exc


def fake_helpers_router(state: FakeWeChatState) -> APIRouter:
    """Test and demo helpers: what the WeChat app does on the phone, and a look at what was sent."""
    router = APIRouter(prefix="/__fake__", tags=["fake helpers"])

    @router.post("/login-code")
    async def mint_login_code(request: Request) -> dict[str, str]:
        body = await _helper_body(request, LoginCodeRequest)
        return {"code": state.mint_login_code(openid=body.openid, unionid=body.unionid, high_risk=body.high_risk)}

    @router.post("/subscribe")
    async def grant_subscription(request: Request) -> dict[str, Any]:
        body = await _helper_body(request, SubscribeRequest)
        try:
            remaining = state.grant_subscription(openid=body.openid, template_id=body.template_id, count=body.count)
        except KeyError:
            raise HelperInputError("未知的订阅消息模板", {"template_id": body.template_id}) from None
        return {"openid": body.openid, "template_id": body.template_id, "remaining": remaining}

    @router.post("/fail-next")
    async def inject_fault(request: Request) -> dict[str, Any]:
        body = await _helper_body(request, FaultRequest)
        if body.path not in WECHAT_API_PATHS:
            raise HelperInputError("未知的微信接口路径", {"path": body.path, "allowed": list(WECHAT_API_PATHS)})
        state.inject_fault(path=body.path, errcode=body.errcode, errmsg=body.errmsg, count=body.count)
        return {"path": body.path, "errcode": body.errcode, "count": body.count}

    @router.get("/messages")
    def sent_messages(openid: str | None = None) -> list[dict[str, Any]]:
        return [asdict(message) for message in state.sent_messages(openid)]

    @router.post("/reset", status_code=204)
    def reset() -> Response:
        state.reset()
        return Response(status_code=204)

    return router


def create_fake_wechat_app(
    *,
    appid: str,
    secret: str,
    clock: Clock | None = None,
    templates: Mapping[str, Sequence[str]] | None = None,
    pay: FakePayKeys | None = None,
) -> FastAPI:
    """The fake WeChat as an ASGI app; its state is ``app.state.wechat`` (a ``FakeWeChatState``).

    With ``pay`` it also speaks WeChat Pay v3 for that merchant (``yiyue.wechat.fake_pay``), and the
    state is a ``FakePayState``.
    """
    state: FakeWeChatState
    extra_routers: list[APIRouter] = []
    if pay is None:
        state = FakeWeChatState(appid=appid, secret=secret, clock=clock, templates=templates)
    else:
        from yiyue.wechat.fake_pay import FakePayState, pay_router  # fake_pay builds on this module

        pay_state = FakePayState(appid=appid, secret=secret, clock=clock, templates=templates, keys=pay)
        extra_routers.append(pay_router(pay_state))
        state = pay_state
    app = FastAPI(title="Fake WeChat (yiyue)", docs_url="/__fake__/docs", openapi_url="/__fake__/openapi.json")
    app.state.wechat = state

    @app.exception_handler(WeChatApiError)
    async def _wechat_error(_: Request, exc: WeChatApiError) -> JSONResponse:
        return wechat_error_response(exc)

    @app.exception_handler(HelperInputError)
    async def _helper_error(_: Request, exc: HelperInputError) -> JSONResponse:
        return JSONResponse({"error": "invalid_request", "message": exc.message, "detail": exc.detail}, 400)

    app.include_router(mini_program_router(state))
    app.include_router(fake_helpers_router(state))
    for router in extra_routers:
        app.include_router(router)
    return app
