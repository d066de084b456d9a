"""Exports (导出) of a hospital's appointments and schedules as Excel (.xlsx) or CSV files.

Hospital administrators and the front desk export appointments; hospital administrators export
schedules. At most 31 days at a time; a department or doctor of another hospital is not found. Patients
appear by their masked name only (never an ID number or phone). Each export is audited with its filters
and row count.

The .xlsx has a Chinese header row, column widths, real dates and times (hospital local time) and money
in yuan; the CSV is UTF-8 with a BOM, so Excel opens it in Chinese without asking.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.staff.models import StaffRole, StaffUser
from yiyue.accounts.staff.scope import actor, require_role
from yiyue.booking import read_model
from yiyue.booking.models import OCCUPYING, Appointment, AppointmentStatus
from yiyue.booking.views import STATUS_LABELS
from yiyue.core import audit
from yiyue.core.clock import local
from yiyue.core.crypto import mask_name
from yiyue.core.db import begin_write
from yiyue.core.errors import InvalidInput
from yiyue.hospitals.models import Department, Doctor
from yiyue.hospitals.service import DepartmentNotFound, DoctorNotFound
from yiyue.scheduling.models import PERIOD_LABELS, Period, Schedule, ScheduleStatus, Slot, SlotStatus

Format = Literal["xlsx", "csv"]
MAX_DAYS = 31
APPOINTMENT_ROLES = (StaffRole.HOSPITAL_ADMIN, StaffRole.FRONT_DESK)
SCHEDULE_ROLES = (StaffRole.HOSPITAL_ADMIN,)
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
CHANNEL_LABELS = {"online": "线上预约", "onsite": "现场挂号"}
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


class ExportRangeInverted(InvalidInput):
    code = "EXPORT_RANGE_INVERTED"
    message = "开始日期不能晚于结束日期"


class ExportRangeTooLong(InvalidInput):
    code = "EXPORT_RANGE_TOO_LONG"
    message = f"导出的日期范围不能超过{MAX_DAYS}天，请分段导出"


Kind = Literal["text", "int", "date", "time", "datetime", "yuan"]


@dataclass(frozen=True)
class Column:
    header: str
    width: int
    kind: Kind = "text"


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: list[Column]
    rows: list[list[Any]]


@dataclass(frozen=True)
class ExportFile:
    filename: str
    """In Chinese, for the browser's Save dialog."""
    ascii_filename: str
    media_type: str
    content: bytes
    rows: int

    @property
    def disposition(self) -> str:
        return f"attachment; filename=\"{self.ascii_filename}\"; filename*=UTF-8''{quote(self.filename)}"


@dataclass(frozen=True)
class AppointmentExport:
    date_from: date
    date_to: date
    department_id: int | None = None
    doctor_id: int | None = None
    statuses: list[AppointmentStatus] | None = None


def check_range(date_from: date, date_to: date) -> None:
    if date_from > date_to:
        raise ExportRangeInverted()
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise ExportRangeTooLong()


async def appointments(
    session: AsyncSession,
    *,
    staff: StaffUser,
    filters: AppointmentExport,
    fmt: Format,
    now: datetime,
    reads: AsyncSession | None = None,
) -> ExportFile:
    """The appointments of the staff user's hospital with a visit date in the range, in visiting order.
    The rows are read with ``reads`` (the read replica's session: decision 0022; default ``session``),
    the export's audit record is written with ``session``."""
    require_role(staff, *APPOINTMENT_ROLES)
    check_range(filters.date_from, filters.date_to)
    hospital_id = _hospital(staff)
    writer, session = session, reads or session
    conditions = [
        Appointment.hospital_id == hospital_id,
        Appointment.visit_date >= filters.date_from,
        Appointment.visit_date <= filters.date_to,
    ]
    if filters.department_id is not None:
        await _own_department(session, hospital_id, filters.department_id)
        clinics = select(Department.id).where(
            or_(Department.id == filters.department_id, Department.parent_id == filters.department_id)
        )
        conditions.append(Appointment.department_id.in_(clinics))
    if filters.doctor_id is not None:
        await _own_doctor(session, hospital_id, filters.doctor_id)
        conditions.append(Appointment.doctor_id == filters.doctor_id)
    if filters.statuses:
        conditions.append(Appointment.status.in_(filters.statuses))
    found = await session.scalars(
        read_model.with_details()
        .join(Schedule, Schedule.id == Appointment.schedule_id)
        .where(*conditions)
        .order_by(
            Appointment.visit_date,
            Schedule.starts_at,
            Appointment.department_id,
            Appointment.schedule_id,
            Appointment.queue_number,
        )
    )
    rows = [
        [
            a.id,
            a.visit_date,
            WEEKDAYS[a.visit_date.weekday()],
            PERIOD_LABELS[Period(a.schedule.period)],
            _clock_time(a.slot.starts_at),
            _clock_time(a.slot.ends_at),
            a.department.name,
            a.doctor.name,
            a.doctor.title,
            a.queue_number,
            mask_name(a.visit_person.name),
            a.visit_person.sex,
            STATUS_LABELS[AppointmentStatus(a.status)],
            CHANNEL_LABELS.get(a.channel, a.channel),
            a.fee_fen,
            a.created_at,
            a.cancelled_at,
        ]
        for a in found.unique()
    ]
    sheet = Sheet(
        title="预约明细",
        columns=[
            Column("预约编号", 10, "int"),
            Column("就诊日期", 12, "date"),
            Column("星期", 6),
            Column("时段", 6),
            Column("开始时间", 9, "time"),
            Column("结束时间", 9, "time"),
            Column("科室", 16),
            Column("医生", 10),
            Column("职称", 11),
            Column("就诊序号", 9, "int"),
            Column("患者", 10),
            Column("性别", 6),
            Column("状态", 8),
            Column("渠道", 10),
            Column("挂号费（元）", 12, "yuan"),
            Column("预约时间", 17, "datetime"),
            Column("取消时间", 17, "datetime"),
        ],
        rows=rows,
    )
    detail_filters = {
        "date_from": filters.date_from.isoformat(),
        "date_to": filters.date_to.isoformat(),
        "department_id": filters.department_id,
        "doctor_id": filters.doctor_id,
        "status": [s.value for s in filters.statuses or []],
    }
    return await _deliver(
        writer,
        staff=staff,
        hospital_id=hospital_id,
        sheet=sheet,
        fmt=fmt,
        name=("预约明细", "appointments"),
        span=(filters.date_from, filters.date_to),
        action="appointment.export",
        filters=detail_filters,
        now=now,
    )


async def schedules(
    session: AsyncSession,
    *,
    staff: StaffUser,
    date_from: date,
    date_to: date,
    fmt: Format,
    now: datetime,
    reads: AsyncSession | None = None,
) -> ExportFile:
    """The schedules (排班与号源) of the hospital administrator's hospital in the range: capacity, walk-in
    quota, booked, checked in and still bookable for each. Read with ``reads`` as ``appointments`` is."""
    require_role(staff, *SCHEDULE_ROLES)
    check_range(date_from, date_to)
    hospital_id = _hospital(staff)
    writer, session = session, reads or session
    found = (
        await session.execute(
            select(Schedule, Department.name, Doctor.name, Doctor.title)
            .join(Department, Department.id == Schedule.department_id)
            .join(Doctor, Doctor.id == Schedule.doctor_id)
            .where(Schedule.hospital_id == hospital_id, Schedule.visit_date.between(date_from, date_to))
            .order_by(Schedule.visit_date, Schedule.starts_at, Department.name, Doctor.name)
        )
    ).all()
    ids = [s.id for s, *_ in found]
    booked: dict[int, int] = defaultdict(int)
    arrived: dict[int, int] = defaultdict(int)
    available: dict[int, int] = defaultdict(int)
    if ids:
        for schedule_id, status, n in await session.execute(
            select(Appointment.schedule_id, Appointment.status, func.count())
            .where(Appointment.schedule_id.in_(ids))
            .group_by(Appointment.schedule_id, Appointment.status)
        ):
            if status in OCCUPYING:
                booked[schedule_id] += n
            if status in (AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED):
                arrived[schedule_id] += n
        for schedule_id, n in await session.execute(
            select(Slot.schedule_id, func.count())
            .where(Slot.schedule_id.in_(ids), Slot.status == SlotStatus.AVAILABLE)
            .group_by(Slot.schedule_id)
        ):
            available[schedule_id] = n
    rows = [
        [
            s.visit_date,
            WEEKDAYS[s.visit_date.weekday()],
            PERIOD_LABELS[Period(s.period)],
            _clock_time(s.starts_at),
            _clock_time(s.ends_at),
            department_name,
            doctor_name,
            doctor_title,
            "停诊" if s.status == ScheduleStatus.SUSPENDED else "出诊",
            s.capacity,
            s.onsite_quota,
            booked[s.id],
            arrived[s.id],
            0 if s.status == ScheduleStatus.SUSPENDED else available[s.id],
            s.fee_fen,
            s.release_at,
        ]
        for s, department_name, doctor_name, doctor_title in found
    ]
    sheet = Sheet(
        title="排班与号源",
        columns=[
            Column("出诊日期", 12, "date"),
            Column("星期", 6),
            Column("时段", 6),
            Column("开始时间", 9, "time"),
            Column("结束时间", 9, "time"),
            Column("科室", 16),
            Column("医生", 10),
            Column("职称", 11),
            Column("状态", 6),
            Column("总号源", 8, "int"),
            Column("现场号", 8, "int"),
            Column("已预约", 8, "int"),
            Column("已签到", 8, "int"),
            Column("剩余可约", 9, "int"),
            Column("挂号费（元）", 12, "yuan"),
            Column("放号时间", 17, "datetime"),
        ],
        rows=rows,
    )
    return await _deliver(
        writer,
        staff=staff,
        hospital_id=hospital_id,
        sheet=sheet,
        fmt=fmt,
        name=("排班与号源", "schedules"),
        span=(date_from, date_to),
        action="schedule.export",
        filters={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
        now=now,
    )


async def _deliver(
    session: AsyncSession,
    *,
    staff: StaffUser,
    hospital_id: int,
    sheet: Sheet,
    fmt: Format,
    name: tuple[str, str],
    span: tuple[date, date],
    action: str,
    filters: dict[str, Any],
    now: datetime,
) -> ExportFile:
    write: Callable[[Sheet], bytes] = to_xlsx if fmt == "xlsx" else to_csv
    content = await asyncio.to_thread(write, sheet)  # a month of a big hospital is seconds of CPU
    await begin_write(session)
    audit.record(
        session,
        actor=actor(staff),
        action=action,
        subject=f"hospital:{hospital_id}",
        at=now,
        hospital_id=hospital_id,
        detail={"format": fmt, "filters": filters, "rows": len(sheet.rows)},
    )
    stem = f"{span[0].isoformat()}_{span[1].isoformat()}" if span[0] != span[1] else span[0].isoformat()
    return ExportFile(
        filename=f"{name[0]}_{stem}.{fmt}",
        ascii_filename=f"{name[1]}_{stem}.{fmt}",
        media_type=MEDIA_TYPES[fmt],
        content=content,
        rows=len(sheet.rows),
    )


# --- the files ------------------------------------------------------------------------------------

_NUMBER_FORMATS: dict[Kind, str] = {
    "date": "yyyy-mm-dd",
    "time": "hh:mm",
    "datetime": "yyyy-mm-dd hh:mm",
    "yuan": "#,##0.00",
    "int": "0",
}


def to_xlsx(sheet: Sheet) -> bytes:
    """One worksheet, written as it goes (a month of rows does not sit in memory twice)."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet.title)
    for index, column in enumerate(sheet.columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width + 2
    ws.freeze_panes = "A2"
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", start_color="EEF2F7")
    header = []
    for column in sheet.columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        header.append(cell)
    ws.append(header)
    for row in sheet.rows:
        cells = []
        for column, value in zip(sheet.columns, row, strict=True):
            cell = WriteOnlyCell(ws, value=_excel_value(column.kind, value))
            if value is not None and column.kind in _NUMBER_FORMATS:
                cell.number_format = _NUMBER_FORMATS[column.kind]
            cells.append(cell)
        ws.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_csv(sheet: Sheet) -> bytes:
    """UTF-8 with a BOM and CRLF line ends: what Excel expects of a Chinese CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_text_value(c.kind, v) for c, v in zip(sheet.columns, row, strict=True)])
    return out.getvalue().encode("utf-8-sig")


def _excel_value(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind == "yuan":
        return Decimal(value) / 100
    if kind == "datetime":
        return local(value).replace(tzinfo=None, microsecond=0)  # Excel has no time zones: hospital local time
    return value


def _text_value(kind: Kind, value: Any) -> str:
    if value is None:
        return ""
    if kind == "yuan":
        return f"{Decimal(value) / 100:.2f}"
    if kind == "datetime":
        return local(value).strftime("%Y-%m-%d %H:%M")
    if kind == "time":
        return f"{value:%H:%M}"
    if kind == "date":
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)


def _clock_time(instant: datetime) -> time:
    return local(instant).time().replace(second=0, microsecond=0)


# --- scope and choices ---------------------------------------------------------------------------


def _hospital(staff: StaffUser) -> int:
    assert staff.hospital_id is not None  # the roles that export all belong to a hospital
    return staff.hospital_id


async def _own_department(session: AsyncSession, hospital_id: int, department_id: int) -> None:
    found = await session.scalar(select(Department.hospital_id).where(Department.id == department_id))
    if found != hospital_id:
        raise DepartmentNotFound()


async def _own_doctor(session: AsyncSession, hospital_id: int, doctor_id: int) -> None:
    found = await session.scalar(select(Doctor.hospital_id).where(Doctor.id == doctor_id))
    if found != hospital_id:
        raise DoctorNotFound()


@dataclass(frozen=True)
class Choices:
    """What the export form offers: the hospital's clinics and doctors."""

    departments: list[tuple[int, str]]
    doctors: list[tuple[int, str]]


async def choices(session: AsyncSession, *, hospital_id: int) -> Choices:
    parents = {
        i: n
        for i, n in await session.execute(
            select(Department.id, Department.name).where(
                Department.hospital_id == hospital_id, Department.parent_id.is_(None)
            )
        )
    }
    clinics = (
        await session.execute(
            select(Department.id, Department.name, Department.parent_id)
            .where(Department.hospital_id == hospital_id, Department.parent_id.is_not(None))
            .order_by(Department.parent_id, Department.sort_order, Department.id)
        )
    ).all()
    doctors = (
        await session.execute(
            select(Doctor.id, Doctor.name, Department.name)
            .join(Department, Department.id == Doctor.department_id)
            .where(Doctor.hospital_id == hospital_id)
            .order_by(Department.name, Doctor.name)
        )
    ).all()
    return Choices(
        departments=[(i, f"{parents.get(p, '')} · {n}" if p in parents else n) for i, n, p in clinics],
        doctors=[(i, f"{n}（{d}）") for i, n, d in doctors],
    )


def default_range(today: date) -> tuple[date, date]:
    """The export form's suggestion: the coming week."""
    return today, today + timedelta(days=6)
