"""导出: the appointments and schedules of the hospital as .xlsx or .csv, and the page that asks for them.

The page sits under 今日概览's guard (it has no menu entry: the dashboard and the lists link to it);
the roles are checked here and in ``admin.exports``: hospital administrators export both, the front
desk appointments only. Lists elsewhere in the console link straight to the download routes with
their filters.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from yiyue.admin import exports
from yiyue.admin.console import Console, PageForbidden, page
from yiyue.admin.templating import render
from yiyue.booking.models import AppointmentStatus
from yiyue.booking.schemas import parse_statuses
from yiyue.booking.views import STATUS_LABELS
from yiyue.core.clock import local_today
from yiyue.core.deps import ClockDep, ReplicaSessionDep, SessionDep
from yiyue.core.params import IsoDate, OptionalId

router = APIRouter()

ConsolePage = Annotated[Console, Depends(page("dashboard"))]


@router.get("/exports")
async def export_page(console: ConsolePage, session: SessionDep, clock: ClockDep) -> Response:
    if console.staff.role not in exports.APPOINTMENT_ROLES:
        raise PageForbidden()
    today = local_today(clock.now())
    week_from, week_to = exports.default_range(today)
    return render(
        console,
        "exports/index.html",
        choices=await exports.choices(session, hospital_id=console.hospital_id),
        statuses=[(s.value, STATUS_LABELS[s]) for s in AppointmentStatus],
        today=today,
        week_from=week_from,
        week_to=week_to,
        max_days=exports.MAX_DAYS,
        can_export_schedules=console.staff.role in exports.SCHEDULE_ROLES,
    )


@router.get("/exports/appointments.{fmt}")
async def export_appointments(
    fmt: exports.Format,
    console: ConsolePage,
    session: SessionDep,
    replica: ReplicaSessionDep,
    clock: ClockDep,
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
    department_id: OptionalId = None,
    doctor_id: OptionalId = None,
    status: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    now = clock.now()
    today = local_today(now)
    filters = exports.AppointmentExport(
        date_from=date_from or date_to or today,
        date_to=date_to or date_from or today,
        department_id=department_id,
        doctor_id=doctor_id,
        statuses=parse_statuses(status),
    )
    # The rows from the read replica (decision 0022), the audit record of the export to the primary.
    made = await exports.appointments(session, reads=replica, staff=console.staff, filters=filters, fmt=fmt, now=now)
    return _download(made)


@router.get("/exports/schedules.{fmt}")
async def export_schedules(
    fmt: exports.Format,
    console: ConsolePage,
    session: SessionDep,
    replica: ReplicaSessionDep,
    clock: ClockDep,
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> Response:
    now = clock.now()
    today = local_today(now)
    made = await exports.schedules(
        session,
        reads=replica,
        staff=console.staff,
        date_from=date_from or date_to or today,
        date_to=date_to or date_from or today,
        fmt=fmt,
        now=now,
    )
    return _download(made)


def _download(made: exports.ExportFile) -> Response:
    return Response(
        made.content,
        media_type=made.media_type,
        headers={
            "Content-Disposition": made.disposition,
            "Cache-Control": "no-store",
            "X-Export-Rows": str(made.rows),
        },
    )
