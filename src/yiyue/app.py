"""The API application: routers, error rendering, and the parts every request shares."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from yiyue.accounts import realname
from yiyue.accounts.endpoints import router as accounts_router
from yiyue.accounts.realname_endpoints import router as realname_router
from yiyue.accounts.staff.endpoints import router as staff_router
from yiyue.accounts.tokens import family_lookup
from yiyue.admin import errors as console_errors
from yiyue.admin.routes import install as install_console
from yiyue.booking import gate as inventory
from yiyue.booking.endpoints import router as booking_router
from yiyue.booking.gate.fastpath import SoldOutFastPath
from yiyue.booking.release_endpoints import router as release_router
from yiyue.booking.waitlist_endpoints import router as waitlist_router
from yiyue.core import logs, metrics, readiness, validation
from yiyue.core.bodylimit import BodyLimit
from yiyue.core.cache import ReadCache, read_sessionmaker
from yiyue.core.cache import install as install_read_cache
from yiyue.core.clock import Clock
from yiyue.core.config import FAKE_WECHAT_IN_PROCESS, Settings, get_settings
from yiyue.core.crypto import FieldCipher
from yiyue.core.db import Database, is_busy
from yiyue.core.errors import DomainError
from yiyue.core.openapi import install as install_openapi
from yiyue.core.ratelimit import LoginGuard, RateLimiter
from yiyue.core.replica import ReplicaReads
from yiyue.core.security import RevokedFamilies, TokenVerifier
from yiyue.frontdesk.staff_endpoints import router as frontdesk_router
from yiyue.frontdesk.today_endpoints import router as today_router
from yiyue.hospitals.endpoints import CATALOG
from yiyue.hospitals.endpoints import router as hospitals_router
from yiyue.hospitals.staff_accounts_endpoints import router as staff_accounts_router
from yiyue.hospitals.staff_endpoints import router as catalog_staff_router
from yiyue.members.endpoints import router as members_router
from yiyue.members.staff_endpoints import router as members_staff_router
from yiyue.notifications.endpoints import router as notifications_router
from yiyue.payments.endpoints import router as payments_router
from yiyue.reviews.endpoints import router as reviews_router
from yiyue.reviews.staff_endpoints import router as reviews_staff_router
from yiyue.scheduling.endpoints import AVAILABILITY
from yiyue.scheduling.endpoints import router as scheduling_router
from yiyue.scheduling.staff_endpoints import router as schedules_staff_router
from yiyue.wechat.client import WeChatClient
from yiyue.wechat.fake import FakePayKeys, asgi_deliverer, create_fake_wechat_app
from yiyue.wechat.pay import IN_PROCESS_GATEWAY, PayConfig, WeChatPayClient

log = logging.getLogger("yiyue.app")

FAKE_WECHAT_MOUNT = "/__wechat__"


class PublicConfig(BaseModel):
    subscribe_templates: dict[str, str]
    hospital_timezone: str
    max_visit_persons: int


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, around: Lifespan | None = None
) -> FastAPI:
    """The API. ``around`` runs inside the app's lifespan (the server uses it to run job workers)."""
    settings = settings or get_settings()
    clock = clock or Clock()
    db = Database.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with metrics.sampling(app.state.metrics):  # issue 13: each process's gauges, with several
            if around is None:
                yield
            else:
                async with around(app):
                    yield
        await app.state.wechat.aclose()
        await app.state.pay.aclose()
        await app.state.reads.aclose()
        await app.state.gate.aclose()
        await app.state.replica.aclose()  # issue 13: replica and readiness
        await app.state.readiness.aclose()
        await db.dispose()

    app = FastAPI(
        title="医约 YiYue API",
        version="0.1.0",
        description="医院预约挂号服务：医院/科室/医生目录、排班号源、就诊人、预约与退号。",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.db = db
    app.state.cipher = FieldCipher(settings.data_keys, settings.data_key_id, index_secret=settings.blind_index_secret)
    app.state.gate = inventory.build_gate(settings)
    inventory.listen(db, app.state.gate.counts)
    # Cheap reads (issue 10, decision 0018): pure reads without a transaction, catalog and availability
    # answers kept until a committed write touches their tables.
    app.state.read_sessions = read_sessionmaker(db)
    app.state.reads = ReadCache.from_settings(
        settings,
        clock=clock,
        regions={
            CATALOG: settings.read_cache_catalog_seconds,
            AVAILABILITY: settings.read_cache_availability_seconds,
        },
    )
    install_read_cache(db, app.state.reads)
    # Issue 13 (decision 0022): the catalog and the exports read from the replica when one is configured;
    # /readyz checks what this process depends on.
    app.state.replica = ReplicaReads.install(settings, db, app.state.reads, regions=[CATALOG])
    app.state.readiness = readiness.for_app(db, redis_url=settings.redis_url, replica=app.state.replica.database)
    app.state.tokens = TokenVerifier(settings.secret_key)
    app.state.ratelimiter = RateLimiter(settings)
    app.state.login_guard = LoginGuard(settings)
    app.state.revocations = RevokedFamilies(family_lookup(db), recheck_seconds=settings.revoked_family_recheck_seconds)
    app.state.wechat, app.state.pay = _wechat_clients(app, settings, clock)
    app.state.realname = _realname_provider(app, settings, clock)

    for router in (
        accounts_router,
        realname_router,
        hospitals_router,
        scheduling_router,
        booking_router,
        staff_router,
        staff_accounts_router,
        frontdesk_router,
        today_router,
        catalog_staff_router,
        schedules_staff_router,
        notifications_router,
        payments_router,
        waitlist_router,
        release_router,
        members_router,
        members_staff_router,
        reviews_router,
        reviews_staff_router,
    ):
        app.include_router(router)
    app.include_router(readiness.router)  # issue 13: GET /readyz
    install_console(app)
    install_openapi(app)
    _install_error_handlers(app)
    app.add_middleware(
        SoldOutFastPath,
        counts=app.state.gate.counts,
        tokens=app.state.tokens,
        clock=clock,
        reading=app.state.gate.reading,
    )
    # A body's size is judged before anything that reads it, the sold-out fast path included.
    app.add_middleware(BodyLimit, default=settings.max_body_bytes, limits=settings.body_limits)
    # Issue 13 (decision 0021): outside even that, so every answer has a request id and a request line.
    logs.install(app)
    # Issue 13 (decision 0020): GET /metrics behind YIYUE_METRICS_TOKEN, and every request counted and timed.
    app.state.metrics = metrics.Sources(db=db, gate=app.state.gate.counts, now=clock.now)
    metrics.install(app, token=settings.metrics_token, sources=app.state.metrics)

    @app.get("/healthz", tags=["运维"], summary="存活检查")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/config", tags=["运维"], summary="小程序公共配置")
    async def public_config() -> PublicConfig:
        return PublicConfig(
            subscribe_templates=settings.subscribe_templates,
            hospital_timezone=settings.hospital_timezone,
            max_visit_persons=settings.max_visit_persons,
        )

    return app


def _wechat_clients(app: FastAPI, settings: Settings, clock: Clock) -> tuple[WeChatClient, WeChatPayClient]:
    """The real WeChat and WeChat Pay in production; by default the fake, mounted on this app at
    ``/__wechat__`` and called in-process (its payment notifications come back the same way)."""
    fake_wechat = settings.wechat_api_base == FAKE_WECHAT_IN_PROCESS
    fake_pay = settings.wechat_pay_api_base == FAKE_WECHAT_IN_PROCESS
    fake = None
    if fake_wechat or fake_pay:
        keys = FakePayKeys.from_settings(settings) if fake_pay else None
        fake = create_fake_wechat_app(appid=settings.wechat_appid, secret=settings.wechat_secret, clock=clock, pay=keys)
        if keys is not None:
            fake.state.wechat.deliver = asgi_deliverer(app)
        app.mount(FAKE_WECHAT_MOUNT, fake)
        app.state.fake_wechat = fake
    in_process = httpx.ASGITransport(app=fake) if fake is not None else None
    wechat = WeChatClient(
        api_base=IN_PROCESS_GATEWAY if fake_wechat else settings.wechat_api_base,
        appid=settings.wechat_appid,
        secret=settings.wechat_secret,
        transport=in_process if fake_wechat else None,
    )
    pay = WeChatPayClient(PayConfig.from_settings(settings), transport=in_process if fake_pay else None, clock=clock)
    return wechat, pay


def _realname_provider(app: FastAPI, settings: Settings, clock: Clock) -> realname.HttpRealNameProvider:
    """The real-name verification service of the settings; by default the fake one of the fake WeChat,
    mounted at ``/__wechat__`` (the app's own, or one mounted for it) and called in-process."""
    if settings.realname_api_base != FAKE_WECHAT_IN_PROCESS:
        return realname.provider_from_settings(settings, clock=clock)
    fake = getattr(app.state, "fake_wechat", None)
    if fake is None:
        fake = create_fake_wechat_app(appid=settings.wechat_appid, secret=settings.wechat_secret, clock=clock)
        app.mount(FAKE_WECHAT_MOUNT, fake)
        app.state.fake_wechat = fake
    fake.state.realname.register_app(settings.realname_app_id, settings.realname_app_secret)
    return realname.provider_from_settings(settings, clock=clock, transport=httpx.ASGITransport(app=fake))


def _error(
    request: Request,
    status: int,
    code: str,
    message: str,
    detail: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The API's error body; a console page gets the same refusal as a page."""
    if console_errors.is_console(request):
        return console_errors.error_page(request, status, message)
    content = {"code": code, "message": message, "detail": detail}
    return JSONResponse(status_code=status, content=content, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return _error(request, exc.status, exc.code, exc.text, exc.detail, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = validation.request_error_details(exc.errors(), request.scope.get("route"))
        if any(e["type"] == "json_invalid" for e in errors):
            return _error(request, 400, "MALFORMED_JSON", "请求体不是合法的 JSON", errors)
        return _error(request, 422, "VALIDATION_ERROR", validation.summary(errors), errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        known = {
            400: ("MALFORMED_JSON", "请求体不是合法的 JSON"),  # e.g. a body that is not UTF-8
            404: ("NOT_FOUND", "接口不存在"),
            405: ("METHOD_NOT_ALLOWED", "不支持该请求方法"),
        }
        code, message = known.get(exc.status_code, ("HTTP_ERROR", "请求无法处理"))
        return _error(request, exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        if is_busy(exc):  # no connection to be had outside a unit of work (those raise ServiceBusy): 503
            busy = request.app.state.db.busy()
            return _error(request, busy.status, busy.code, busy.text, headers=busy.headers)
        log.exception("unhandled error", exc_info=exc)
        return _error(request, 500, "INTERNAL_ERROR", "服务器内部错误，请稍后再试")
