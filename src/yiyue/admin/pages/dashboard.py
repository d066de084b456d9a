"""今日概览: what the day looks like for the caller's hospital (or, for the platform, every hospital)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from yiyue.accounts.staff.models import StaffRole
from yiyue.admin import exports
from yiyue.admin.console import Console, page
from yiyue.admin.templating import render
from yiyue.core.clock import local_today
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.params import MAX_ID, IsoDate
from yiyue.frontdesk import today
from yiyue.scheduling.models import PERIOD_LABELS

router = APIRouter()


@router.get("/")
async def dashboard(
    console: Annotated[Console, Depends(page("dashboard"))],
    session: SessionDep,
    clock: ClockDep,
    day: Annotated[IsoDate | None, Query(alias="date")] = None,
    hospital_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    now = clock.now()
    shown = day or local_today(now)
    context: dict[str, Any] = {
        "day": shown,
        "is_today": shown == local_today(now),
        "previous": shown - timedelta(days=1),
        "next": shown + timedelta(days=1),
        "now": now,
        "can_export": console.staff.role in exports.APPOINTMENT_ROLES,
        "hospital_id": hospital_id,
    }
    if console.staff.role == StaffRole.PLATFORM_ADMIN and hospital_id is None:
        lines = await today.platform_day(session, staff=console.staff, day=shown, now=now)
        return render(console, "dashboard.html", lines=lines, summary=None, **context)
    summary = await today.hospital_day(session, staff=console.staff, hospital_id=hospital_id, day=shown, now=now)
    chart = {
        "names": [d.name for d in summary.departments],
        "booked": [d.tally.booked for d in summary.departments],
        "capacity": [d.tally.capacity for d in summary.departments],
    }
    return render(
        console,
        "dashboard.html",
        summary=summary,
        lines=None,
        chart=chart,
        periods=PERIOD_LABELS,
        **context,
    )
