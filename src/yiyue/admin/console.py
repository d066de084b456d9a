"""Who is at the console: the cookie session, the CSRF check, the page guard.

``page(key)`` is the one dependency every console route takes: it finds the staff user behind the
cookie (or sends the browser to the login page), checks the CSRF token on every unsafe request, checks
the role may open the page (``nav.PAGES``), and notes the client's address for the audit log.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from fastapi import Request

from yiyue.accounts.staff import sessions
from yiyue.accounts.staff.models import StaffRole, StaffSession, StaffUser
from yiyue.admin import nav
from yiyue.core import audit
from yiyue.core.clock import Clock
from yiyue.core.config import Settings
from yiyue.core.deps import SessionDep
from yiyue.core.errors import DomainError, Forbidden, NotFound
from yiyue.hospitals.models import Hospital

COOKIE = "yiyue_staff"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """Not logged in (or the session ended): the browser goes to the login page, then back to ``next``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRejected(Forbidden):
    code = "CSRF_REJECTED"
    message = "页面已过期，请刷新后重试"


class PageForbidden(Forbidden):
    code = "PAGE_FORBIDDEN"
    message = "当前角色无权访问该页面"


class NoHospital(NotFound):
    code = "HOSPITAL_REQUIRED"
    message = "该页面属于具体医院，平台管理员请从医院管理进入"


@dataclass(frozen=True)
class Console:
    """What a console page knows about its caller."""

    request: Request
    staff: StaffUser
    login: StaffSession
    page: nav.Page
    hospital_name: str
    """The staff user's hospital, shown in the top bar ("" for a platform administrator)."""

    @property
    def csrf(self) -> str:
        return self.login.csrf_token

    @property
    def hospital_id(self) -> int:
        """The staff user's hospital (pages of one hospital are not for a platform admin)."""
        if self.staff.hospital_id is None:
            raise NoHospital()
        return self.staff.hospital_id

    @property
    def is_platform(self) -> bool:
        return self.staff.role == StaffRole.PLATFORM_ADMIN

    def can_open(self, key: str) -> bool:
        return self.staff.role in nav.BY_KEY[key].roles


def client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else ""


def page(key: str) -> Callable[..., Awaitable[Console]]:
    """The dependency of a console route that belongs to the page ``key`` of ``nav.PAGES``."""
    target = nav.BY_KEY[key]

    async def guard(request: Request, session: SessionDep) -> Console:
        token = request.cookies.get(COOKIE)
        if not token:
            raise LoginRequired(_here(request))
        settings: Settings = request.app.state.settings
        clock: Clock = request.app.state.clock
        try:
            staff, login = await sessions.resume(
                session, token=token, idle=timedelta(minutes=settings.staff_session_idle_minutes), now=clock.now()
            )
        except DomainError:
            raise LoginRequired(_here(request)) from None
        if request.method not in SAFE_METHODS:
            await _check_csrf(request, login)
        if staff.role not in target.roles:
            raise PageForbidden()
        session.info[audit.CLIENT_IP] = client_ip(request)
        hospital = await session.get(Hospital, staff.hospital_id) if staff.hospital_id is not None else None
        return Console(
            request=request, staff=staff, login=login, page=target, hospital_name=hospital.name if hospital else ""
        )

    return guard


async def _check_csrf(request: Request, login: StaffSession) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get(CSRF_FIELD, ""))
    if not sent or not secrets.compare_digest(sent, login.csrf_token):
        raise CsrfRejected()


def _here(request: Request) -> str:
    path = request.url.path
    return path + (f"?{request.url.query}" if request.url.query else "")


def login_url(next_path: str) -> str:
    return f"/admin/login?next={quote(next_path, safe='')}"
