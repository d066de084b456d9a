"""Logging in to the console and out of it."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from yiyue.accounts.staff import service as staff_service
from yiyue.accounts.staff import sessions
from yiyue.accounts.staff.scope import actor
from yiyue.admin.console import COOKIE, Console, client_ip, page
from yiyue.admin.templating import templates
from yiyue.core import audit
from yiyue.core.deps import ClockDep, SessionDep, SettingsDep
from yiyue.core.errors import DomainError
from yiyue.core.ratelimit import client_ip as rate_client_ip

router = APIRouter()


def _safe_next(next_path: str | None) -> str:
    """Only a path of this console, never another site (an open redirect)."""
    if next_path and next_path.startswith("/admin") and not next_path.startswith("//"):
        return next_path
    return "/admin/"


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/admin/",
) -> Response:
    now = clock.now()
    try:
        staff = await staff_service.guarded_authenticate(
            session,
            username=username,
            password=password,
            ip=rate_client_ip(request, settings),
            guard=request.app.state.login_guard,
            now=now,
        )
    except DomainError as refused:  # a lockout's words say when to try again (LOGIN_LOCKED)
        context = {"next": _safe_next(next), "error": refused.text, "username": username}
        return templates.TemplateResponse(
            request, "login.html", context, status_code=refused.status, headers=refused.headers
        )
    started = await sessions.start(
        session,
        staff=staff,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        lifetime=timedelta(hours=settings.staff_session_max_hours),
        now=now,
    )
    session.info[audit.CLIENT_IP] = client_ip(request)
    audit.record(
        session,
        actor=actor(staff),
        action="staff.login",
        subject=f"staff:{staff.id}",
        at=now,
        hospital_id=staff.hospital_id,
    )
    answer = RedirectResponse(_safe_next(next), status_code=303)
    answer.set_cookie(
        COOKIE,
        started.token,
        max_age=settings.staff_session_max_hours * 3600,
        path="/admin",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )
    return answer


@router.post("/logout")
async def logout(
    console: Annotated[Console, Depends(page("dashboard"))], session: SessionDep, clock: ClockDep
) -> Response:
    token = console.request.cookies.get(COOKIE, "")
    await sessions.end(session, token=token, now=clock.now())
    audit.record(
        session,
        actor=actor(console.staff),
        action="staff.logout",
        subject=f"staff:{console.staff.id}",
        at=clock.now(),
        hospital_id=console.staff.hospital_id,
    )
    answer = RedirectResponse("/admin/login", status_code=303)
    answer.delete_cookie(COOKIE, path="/admin")
    return answer
