"""Mounting the console on the API app: its routes under ``/admin``, its static assets, its error pages."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from yiyue.admin.console import LoginRequired
from yiyue.admin.errors import login_required
from yiyue.admin.pages import (
    audit,
    auth,
    catalog,
    dashboard,
    exports,
    frontdesk,
    hospitals,
    members,
    reviews,
    schedules,
    staff,
)
from yiyue.admin.templating import HERE

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    dashboard.router,
    hospitals.router,
    catalog.router,
    exports.router,
    staff.router,
    audit.router,
    frontdesk.router,
    schedules.router,
    members.router,
    reviews.router,
)


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router, prefix="/admin", include_in_schema=False)
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="admin-static")
    app.add_exception_handler(LoginRequired, login_required)
