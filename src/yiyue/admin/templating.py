"""Rendering console pages: the Jinja2 environment, its filters, and ``render``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from yiyue.accounts.staff.models import ROLE_LABELS, StaffRole
from yiyue.admin import nav
from yiyue.admin.console import CSRF_FIELD, CSRF_HEADER, Console
from yiyue.core.clock import local

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def yuan(fen: int | None) -> str:
    """Money is stored in fen and shown in yuan: 1250 -> ¥12.50."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant in hospital local time (Asia/Shanghai)."""
    return local(value).strftime(fmt) if value is not None else ""


def day(value: date | None) -> str:
    if value is None:
        return ""
    return f"{value:%Y-%m-%d} {WEEKDAYS[value.weekday()]}"


def role_label(role: str) -> str:
    try:
        return ROLE_LABELS[StaffRole(role)]
    except ValueError:
        return role


def replace_query(query: Mapping[str, str], **changes: object) -> str:
    """The page's query string with some parameters changed (sorting, paging keep the filters)."""
    merged = {k: v for k, v in query.items() if k not in changes}
    merged.update({k: str(v) for k, v in changes.items() if v is not None and v != ""})
    return urlencode(merged)


env = templates.env
env.filters.update(yuan=yuan, local=local_time, day=day, role_label=role_label, replace_query=replace_query)
env.globals.update(CSRF_FIELD=CSRF_FIELD, CSRF_HEADER=CSRF_HEADER, WEEKDAYS=WEEKDAYS)


def render(console: Console, template: str, *, status: int = 200, **context: Any) -> Response:
    """A page of the console: the template gets ``console`` (caller, page, CSRF token) and the menu."""
    return templates.TemplateResponse(
        console.request,
        template,
        {"console": console, "menu": nav.menu(console.staff.role), **context},
        status_code=status,
    )
