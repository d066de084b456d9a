"""The fake WeChat over HTTP: WeChat's mini-program endpoints, the ``/__fake__`` helpers, and the app.

Paths under ``/__fake__/`` stand in for what happens inside the WeChat app (``wx.login`` minting a code,
``wx.requestSubscribeMessage`` granting a one-time subscription) and let tests and demos look inside.
WeChat Pay brings its own router (``yiyue.wechat.fake.pay``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from yiyue.core.clock import Clock
from yiyue.wechat.fake.errors import (
    HelperBody,
    HelperInputError,
    WeChatApiError,
    helper_body,
    wechat_error_response,
    wechat_json_body,
)
from yiyue.wechat.fake.keys import FakePayKeys
from yiyue.wechat.fake.login import PATH_CODE2SESSION, PATH_STABLE_TOKEN, PATH_TOKEN
from yiyue.wechat.fake.messages import PATH_SUBSCRIBE_SEND
from yiyue.wechat.fake.pay import FakePayState, pay_router
from yiyue.wechat.fake.realname import FakeRealNameState, realname_router
from yiyue.wechat.fake.state import FakeWeChatState

WECHAT_API_PATHS = (PATH_CODE2SESSION, PATH_TOKEN, PATH_STABLE_TOKEN, PATH_SUBSCRIBE_SEND)


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
        body = await wechat_json_body(request)
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
        msgid = state.send_subscribe_message(await wechat_json_body(request))
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    return router


# --- helpers standing in for the WeChat app -------------------------------------------------------

_ID = r"^[A-Za-z0-9_-]+$"  # pydantic patterns are not anchored


class LoginCodeRequest(HelperBody):
    openid: Annotated[str, Field(min_length=1, max_length=128, pattern=_ID)]
    unionid: Annotated[str | None, Field(min_length=1, max_length=128, pattern=_ID)] = None
    high_risk: bool = False


class SubscribeRequest(HelperBody):
    openid: Annotated[str, Field(min_length=1, max_length=128, pattern=_ID)]
    template_id: Annotated[str, Field(min_length=1, max_length=128)]
    count: Annotated[int, Field(ge=1, le=1000)] = 1


class FaultRequest(HelperBody):
    path: Annotated[str, Field(min_length=1)]
    errcode: int
    errmsg: str = "system error"
    count: Annotated[int, Field(ge=1, le=1000)] = 1


def fake_helpers_router(state: FakeWeChatState) -> APIRouter:
    """Test and demo helpers: what the WeChat app does on the phone, and a look at what was sent."""
    router = APIRouter(prefix="/__fake__", tags=["fake helpers"])

    @router.post("/login-code")
    async def mint_login_code(request: Request) -> dict[str, str]:
        body = await helper_body(request, LoginCodeRequest)
        return {"code": state.mint_login_code(openid=body.openid, unionid=body.unionid, high_risk=body.high_risk)}

    @router.post("/subscribe")
    async def grant_subscription(request: Request) -> dict[str, Any]:
        body = await helper_body(request, SubscribeRequest)
        try:
            remaining = state.grant_subscription(openid=body.openid, template_id=body.template_id, count=body.count)
        except KeyError:
            raise HelperInputError("未知的订阅消息模板", {"template_id": body.template_id}) from None
        return {"openid": body.openid, "template_id": body.template_id, "remaining": remaining}

    @router.post("/fail-next")
    async def inject_fault(request: Request) -> dict[str, Any]:
        body = await helper_body(request, FaultRequest)
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
    realname_apps: Mapping[str, str] | None = None,
) -> FastAPI:
    """The fake WeChat as an ASGI app; its state is ``app.state.wechat`` (a ``FakeWeChatState``).

    With ``pay`` it also speaks WeChat Pay v3 for that merchant (``yiyue.wechat.fake.pay``), and the
    state is a ``FakePayState``. It always serves the fake real-name verification service
    (``yiyue.wechat.fake.realname``) to the apps of ``realname_apps`` (id -> secret; more can be added with
    ``app.state.realname.register_app``).
    """
    state: FakeWeChatState
    extra_routers: list[APIRouter] = []
    if pay is None:
        state = FakeWeChatState(appid=appid, secret=secret, clock=clock, templates=templates)
    else:
        pay_state = FakePayState(appid=appid, secret=secret, clock=clock, templates=templates, keys=pay)
        extra_routers.append(pay_router(pay_state))
        state = pay_state
    app = FastAPI(title="Fake WeChat (yiyue)", docs_url="/__fake__/docs", openapi_url="/__fake__/openapi.json")
    app.state.wechat = state
    app.state.realname = FakeRealNameState(clock=clock, apps=realname_apps)

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
    app.include_router(realname_router(app.state.realname))
    return app
