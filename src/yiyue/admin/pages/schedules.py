"""排班 (hospital administrators; doctors read their own): doctors' weekly templates, the schedules list,
one-off sessions, changes of numbers, 放号 now, 停诊 and 替诊."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from yiyue.accounts.staff.errors import ForbiddenRole
from yiyue.accounts.staff.models import StaffRole
from yiyue.admin.console import Console, page
from yiyue.admin.forms import parse, values
from yiyue.admin.templating import render
from yiyue.core.clock import local_today
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.errors import DomainError
from yiyue.core.params import EARLIEST_DATE, LATEST_DATE, MAX_ID, IdPath
from yiyue.frontdesk import service as frontdesk
from yiyue.frontdesk import substitute as substitution
from yiyue.hospitals.models import Hospital
from yiyue.scheduling import rules
from yiyue.scheduling import service as scheduling
from yiyue.scheduling import staff_service as service
from yiyue.scheduling.models import PERIOD_LABELS, Period, ScheduleTemplate

router = APIRouter()

TemplatesPage = Annotated[Console, Depends(page("templates"))]
SchedulesPage = Annotated[Console, Depends(page("schedules"))]
PAGE_SIZE = 50
LIST = "/admin/schedules"
KEPT = ("start", "end", "department_id", "doctor_id", "page")
"""The list's query parameters a schedule's page goes back to."""
PERIODS = [(p.value, PERIOD_LABELS[p]) for p in Period]
PERIOD_NAMES = {p.value: label for p, label in PERIOD_LABELS.items()}
HOURS = {p.value: f"{start:%H:%M}-{end:%H:%M}" for p, (start, end) in rules.SESSION_HOURS.items()}
FIELD_OF = {
    "CAPACITY_BELOW_TAKEN": "capacity",
    "RELEASED_CAPACITY_ONLY_GROWS": "capacity",
    "ONSITE_SLOTS_TAKEN": "onsite_quota",
    "RELEASED_ONSITE_QUOTA": "onsite_quota",
    "VISIT_DATE_OUT_OF_WINDOW": "visit_date",
    "DOCTOR_INACTIVE": "doctor_id",
    "INVALID_RELEASE_DAYS": "days",
    "DOCTOR_NOT_FOUND": "substitute_doctor_id",
    "SUBSTITUTE_SAME_DOCTOR": "substitute_doctor_id",
    "SUBSTITUTE_OTHER_DEPARTMENT": "substitute_doctor_id",
    "SUBSTITUTE_DOCTOR_INACTIVE": "substitute_doctor_id",
    "SUBSTITUTE_DOCTOR_BUSY": "substitute_doctor_id",
    "SUBSTITUTE_PATIENT_CLASH": "substitute_doctor_id",
}
"""Which form field a refusal of the services is shown beside (the rest: above the form)."""


# --- forms ------------------------------------------------------------------------------------------


class CellForm(BaseModel):
    capacity: int = Field(default=0, title="号源数")
    onsite_quota: int = Field(default=0, title="现场号")
    slot_minutes: int | None = Field(default=None, title="每号时长")
    paused: bool = Field(default=False, title="暂停")


class NewSessionForm(BaseModel):
    doctor_id: int = Field(gt=0, le=MAX_ID, title="医生")
    visit_date: date = Field(title="出诊日期")
    period: Period = Field(title="时段")
    capacity: int = Field(title="号源数")
    onsite_quota: int = Field(default=0, title="现场号")
    slot_minutes: int | None = Field(default=None, title="每号时长")
    release_mode: Literal["", "fcfs", "window"] = Field(default="", title="放号方式")


class ReleaseModeForm(BaseModel):
    release_mode: Literal["", "fcfs", "window"] = Field(default="", title="放号方式")


RELEASE_MODE_OPTIONS = [
    ("", "跟随医院设置"),
    ("fcfs", "先到先得"),
    ("window", "抽签放号（放号窗口内排队，结束后统一抽签）"),
]
"""The console's choice of a session's release mode (issue 9 A); blank follows the hospital."""


class NumbersForm(BaseModel):
    capacity: int = Field(title="号源数")
    onsite_quota: int = Field(default=0, title="现场号")


class SubstituteForm(BaseModel):
    substitute_doctor_id: int = Field(gt=0, le=MAX_ID, title="替诊医生")
    substitute_reason: str = Field(default="", max_length=100, title="原因")


class SuspendForm(BaseModel):
    suspend_reason: str = Field(min_length=2, max_length=100, title="停诊原因")


class ReleaseForm(BaseModel):
    days: int = Field(title="放号天数")


def _refusal(refused: DomainError, form: str, fields: dict[str, str] | None = None) -> dict[str, str]:
    """A service's refusal as form errors: beside its field, or above the form ``form``. Refusals of the
    page itself (another hospital's schedule, a role that may not act) stay error pages."""
    field_of = {**FIELD_OF, **(fields or {})}
    if refused.status in (403, 404) and refused.code not in field_of:
        raise refused
    if isinstance(refused, rules.InvalidSession) and isinstance(refused.detail, dict):
        return {str(k): str(v) for k, v in refused.detail.items()}
    return {field_of.get(refused.code, f"{form}__all__"): refused.text}


def _require_editor(console: Console) -> None:
    if console.staff.role not in service.EDIT_ROLES:
        raise ForbiddenRole()


# --- weekly templates (排班模板) ----------------------------------------------------------------------


@router.get("/templates")
async def template_overview(
    console: TemplatesPage,
    session: SessionDep,
    department: Annotated[str, Query(alias="department_id", max_length=20)] = "",
) -> Response:
    department_id = _picked(department)
    weeks = await service.hospital_weeks(
        session, staff=console.staff, hospital_id=console.hospital_id, department_id=department_id
    )
    clinics = await service.doctors_by_clinic(session, staff=console.staff, hospital_id=console.hospital_id)
    return render(
        console,
        "schedules/templates.html",
        weeks=[(w, _week_table(w.templates)) for w in weeks],
        clinics=clinics,
        department_id=department_id,
        period_labels=PERIOD_NAMES,
    )


@router.get("/templates/go")
async def template_switch(console: TemplatesPage, doctor_id: Annotated[int, Query(ge=1, le=MAX_ID)]) -> Response:
    """The doctor picker of the grid page (a GET form): on to that doctor's week."""
    return RedirectResponse(f"/admin/templates/{doctor_id}", status_code=303)


@router.get("/templates/{doctor_id}")
async def template_grid(doctor_id: IdPath, console: TemplatesPage, session: SessionDep) -> Response:
    _, templates = await service.week_of(session, staff=console.staff, doctor_id=doctor_id)
    shown = {
        f"{t.weekday}-{t.period}-{name}": value
        for t in templates
        for name, value in (
            ("capacity", t.capacity),
            ("onsite_quota", t.onsite_quota or None),
            ("slot_minutes", t.slot_minutes),
            ("paused", not t.active),
        )
    }
    return await _grid(console, session, doctor_id, shown, {})


@router.post("/templates/{doctor_id}")
async def save_template(doctor_id: IdPath, console: TemplatesPage, session: SessionDep, clock: ClockDep) -> Response:
    submitted = values(await console.request.form())
    cells: list[service.TemplateCell] = []
    errors: dict[str, dict[str, str]] = {}
    for weekday in range(7):
        for period in Period:
            prefix = f"{weekday}-{period.value}-"
            raw = {k.removeprefix(prefix): v for k, v in submitted.items() if k.startswith(prefix)}
            cell, problems = parse(CellForm, raw)
            if cell is None:
                errors[service.cell_key(weekday, period)] = problems
            else:
                # the service checks again; here too, so every wrong cell is shown at once
                found = rules.template_cell_problems(cell.capacity, cell.onsite_quota, cell.slot_minutes)
                if found:
                    errors[service.cell_key(weekday, period)] = found
                cells.append(
                    service.TemplateCell(
                        weekday, period, cell.capacity, cell.onsite_quota, cell.slot_minutes, not cell.paused
                    )
                )
    form_error = ""
    if not errors:
        try:
            doctor, _ = await service.save_week(
                session, staff=console.staff, doctor_id=doctor_id, cells=cells, now=clock.now()
            )
        except service.InvalidTemplate as refused:
            errors = refused.detail["cells"]
        except DomainError as refused:
            if refused.status in (403, 404):
                raise
            form_error = refused.text
        else:
            return RedirectResponse(
                f"/admin/templates/{doctor_id}?{urlencode({'ok': f'已保存{doctor.name}的排班模板'})}", status_code=303
            )
    return await _grid(console, session, doctor_id, submitted, errors, form_error=form_error, status=422)


async def _grid(
    console: Console,
    session: SessionDep,
    doctor_id: int,
    shown: dict[str, Any],
    errors: dict[str, dict[str, str]],
    *,
    form_error: str = "",
    status: int = 200,
) -> Response:
    doctor, _ = await service.week_of(session, staff=console.staff, doctor_id=doctor_id)
    clinics = await service.doctors_by_clinic(session, staff=console.staff, hospital_id=console.hospital_id)
    department = next((c for c, doctors in clinics if any(d.id == doctor.id for d in doctors)), None)
    return render(
        console,
        "schedules/template_grid.html",
        status=status,
        doctor=doctor,
        department=department,
        clinics=clinics,
        values=shown,
        cell_errors=errors,
        form_error=form_error or ("有格子填写有误，请按红色提示修改，修改前未保存任何内容" if errors else ""),
        periods=PERIODS,
        hours=HOURS,
        limits={"capacity": rules.MAX_CAPACITY, "min": rules.MIN_SLOT_MINUTES, "max": rules.MAX_SLOT_MINUTES},
    )


def _week_table(templates: list[ScheduleTemplate]) -> dict[int, list[ScheduleTemplate]]:
    table: dict[int, list[ScheduleTemplate]] = {}
    for t in templates:
        table.setdefault(t.weekday, []).append(t)
    return table


# --- the schedules list -----------------------------------------------------------------------------


@router.get("/schedules")
async def schedule_list(
    console: SchedulesPage,
    session: SessionDep,
    clock: ClockDep,
    start: Annotated[str, Query(max_length=10)] = "",
    end: Annotated[str, Query(max_length=10)] = "",
    department: Annotated[str, Query(alias="department_id", max_length=20)] = "",
    doctor: Annotated[str, Query(alias="doctor_id", max_length=20)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    return await _list_page(console, session, clock, start, end, _picked(department), _picked(doctor), page_number, {})


async def _list_page(
    console: Console,
    session: SessionDep,
    clock: ClockDep,
    start: str,
    end: str,
    department_id: int | None,
    doctor_id: int | None,
    page_number: int,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    now = clock.now()
    hospital = await session.get_one(Hospital, console.hospital_id)
    clinics = await service.doctors_by_clinic(session, staff=console.staff, hospital_id=console.hospital_id)
    if department_id is not None and doctor_id is not None:  # a doctor of another clinic: the clinic wins
        shown = [c for c, _ in clinics if department_id in (c.id, c.parent_id)]
        if not any(d.id == doctor_id for c, doctors in clinics if c in shown for d in doctors):
            doctor_id = None
    filter_errors: dict[str, str] = {}
    first = _date_or_none(start, "start", filter_errors)
    last = _date_or_none(end, "end", filter_errors)
    rows: list[service.ScheduleRow] = []
    total = 0
    covered = None
    if not filter_errors:
        try:
            rows, total, covered = await service.list_schedules(
                session,
                staff=console.staff,
                hospital_id=console.hospital_id,
                filters=service.ScheduleFilter(first, last, department_id, doctor_id),
                offset=(page_number - 1) * PAGE_SIZE,
                limit=PAGE_SIZE,
                now=now,
            )
        except service.InvalidScheduleRange as refused:
            filter_errors["end"] = refused.text
            status = 422
    query = {k: v for k, v in console.request.query_params.items() if k in KEPT}
    today = local_today(now)
    return render(
        console,
        "schedules/list.html",
        status=422 if filter_errors else status,
        rows=rows,
        total=total,
        page_number=page_number,
        page_size=PAGE_SIZE,
        covered=covered,
        filters={
            "start": start or (covered[0].isoformat() if covered else ""),
            "end": end or (covered[1].isoformat() if covered else ""),
            "department_id": department_id,
            "doctor_id": doctor_id,
        },
        filter_errors=filter_errors,
        errors=errors,
        clinics=clinics,
        hospital=hospital,
        release_choices=list(range(1, max(hospital.release_days, 1) + 1)),
        editor=console.staff.role in service.EDIT_ROLES,
        is_doctor=console.staff.role == StaffRole.DOCTOR,
        query=query,
        back=urlencode(query),
        period_labels=PERIOD_NAMES,
        today=today,
    )


def _picked(raw: str) -> int | None:
    """An id picked in a filter's select; blank (a form sends every field) or anything else: none."""
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def _date_or_none(raw: str, name: str, errors: dict[str, str]) -> date | None:
    if not raw.strip():
        return None
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        errors[name] = "日期格式应为 2026-03-02"
        return None
    if not EARLIEST_DATE <= day <= LATEST_DATE:  # a day either side must stay a date (9999-12-31)
        errors[name] = f"日期须在{EARLIEST_DATE.isoformat()}至{LATEST_DATE.isoformat()}之间"
        return None
    return day


@router.post("/schedules/release")
async def release_now(console: SchedulesPage, session: SessionDep, clock: ClockDep) -> Response:
    _require_editor(console)
    submitted = values(await console.request.form())
    data, errors = parse(ReleaseForm, submitted)
    if data is not None:
        try:
            released = await service.release_now(
                session, staff=console.staff, hospital_id=console.hospital_id, days=data.days, now=clock.now()
            )
        except DomainError as refused:
            errors = _refusal(refused, "release")
        else:
            done = (
                f"已按排班模板生成至{released.last:%m月%d日}：新增{released.made}个出诊时段"
                if released.made
                else f"{released.last:%m月%d日}及以前的排班都已生成，没有新增出诊时段"
            )
            return RedirectResponse(f"{LIST}?{urlencode({'ok': done})}", status_code=303)
    return await _list_page(console, session, clock, "", "", None, None, 1, errors, status=422)


# --- one-off sessions (临时加诊) ------------------------------------------------------------------------


@router.get("/schedules/new")
async def new_schedule(console: SchedulesPage, session: SessionDep, clock: ClockDep) -> Response:
    _require_editor(console)
    tomorrow = local_today(clock.now()).toordinal() + 1
    shown = {"visit_date": date.fromordinal(tomorrow).isoformat(), "period": Period.MORNING.value}
    return await _new_form(console, session, clock, shown, {})


@router.post("/schedules/new")
async def create_schedule(console: SchedulesPage, session: SessionDep, clock: ClockDep) -> Response:
    _require_editor(console)
    submitted = values(await console.request.form())
    data, errors = parse(NewSessionForm, submitted)
    if data is not None:
        try:
            row = await service.add_schedule(
                session,
                staff=console.staff,
                new=service.NewSession(**{**data.model_dump(), "release_mode": data.release_mode or None}),
                now=clock.now(),
            )
        except DomainError as refused:
            errors = _refusal(refused, "new", {"DOCTOR_NOT_FOUND": "doctor_id"})
        else:
            s = row.schedule
            done = f"已新增{row.doctor.name} {s.visit_date:%m月%d日}{PERIOD_LABELS[Period(s.period)]}的出诊"
            return RedirectResponse(f"{LIST}/{s.id}?{urlencode({'ok': done})}", status_code=303)
    return await _new_form(console, session, clock, submitted, errors, status=422)


async def _new_form(
    console: Console,
    session: SessionDep,
    clock: ClockDep,
    shown: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    hospital = await session.get_one(Hospital, console.hospital_id)
    today = local_today(clock.now())
    return render(
        console,
        "schedules/new.html",
        status=status,
        values=shown,
        errors=errors,
        clinics=await service.doctors_by_clinic(
            session, staff=console.staff, hospital_id=console.hospital_id, active_only=True
        ),
        periods=PERIODS,
        today=today,
        latest=rules.last_plannable_day(today, release_days=hospital.release_days),
        hospital=hospital,
        limits={"capacity": rules.MAX_CAPACITY, "min": rules.MIN_SLOT_MINUTES, "max": rules.MAX_SLOT_MINUTES},
        release_modes=RELEASE_MODE_OPTIONS,
    )


# --- one schedule: its numbers, 替诊, 停诊 --------------------------------------------------------------


@router.get("/schedules/{schedule_id}")
async def schedule_page(
    schedule_id: IdPath,
    console: SchedulesPage,
    session: SessionDep,
    clock: ClockDep,
    back: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    return await _detail(console, session, clock, schedule_id, back, {}, {})


@router.post("/schedules/{schedule_id}/numbers")
async def change_numbers(schedule_id: IdPath, console: SchedulesPage, session: SessionDep, clock: ClockDep) -> Response:
    _require_editor(console)
    submitted = values(await console.request.form())
    data, errors = parse(NumbersForm, submitted)
    if data is not None:
        try:
            await service.change_numbers(
                session,
                staff=console.staff,
                schedule_id=schedule_id,
                capacity=data.capacity,
                onsite_quota=data.onsite_quota,
                now=clock.now(),
            )
        except DomainError as refused:
            errors = _refusal(refused, "numbers")
        else:
            return _back_to(schedule_id, submitted, f"号源已改为{data.capacity}个（现场号{data.onsite_quota}个）")
    return await _detail(console, session, clock, schedule_id, submitted.get("back", ""), submitted, errors)


@router.post("/schedules/{schedule_id}/release-mode")
async def set_release_mode(
    schedule_id: IdPath, console: SchedulesPage, session: SessionDep, clock: ClockDep
) -> Response:
    _require_editor(console)
    submitted = values(await console.request.form())
    data, errors = parse(ReleaseModeForm, submitted)
    if data is not None:
        try:
            await service.set_release_mode(
                session, staff=console.staff, schedule_id=schedule_id, mode=data.release_mode or None, now=clock.now()
            )
        except DomainError as refused:
            errors = _refusal(refused, "release_mode")
        else:
            label = dict(RELEASE_MODE_OPTIONS)[data.release_mode].split("（")[0]
            return _back_to(schedule_id, submitted, f"放号方式已改为{label}")
    return await _detail(console, session, clock, schedule_id, submitted.get("back", ""), submitted, errors)


@router.post("/schedules/{schedule_id}/substitute")
async def substitute(schedule_id: IdPath, console: SchedulesPage, session: SessionDep, clock: ClockDep) -> Response:
    _require_editor(console)
    submitted = values(await console.request.form())
    data, errors = parse(SubstituteForm, submitted)
    if data is not None:
        try:
            done = await substitution.substitute(
                session,
                staff=console.staff,
                schedule_id=schedule_id,
                doctor_id=data.substitute_doctor_id,
                reason=data.substitute_reason.strip(),
                now=clock.now(),
            )
        except DomainError as refused:
            errors = _refusal(refused, "substitute")
        else:
            told = f"，已通知{len(done.moved)}位患者" if done.moved else ""
            return _back_to(schedule_id, submitted, f"已改由{done.to_doctor.name}出诊{told}")
    return await _detail(console, session, clock, schedule_id, submitted.get("back", ""), submitted, errors)


@router.post("/schedules/{schedule_id}/suspend")
async def suspend(schedule_id: IdPath, console: SchedulesPage, session: SessionDep, clock: ClockDep) -> Response:
    _require_editor(console)
    submitted = values(await console.request.form())
    data, errors = parse(SuspendForm, submitted)
    if data is not None:
        try:
            _, affected = await frontdesk.suspend(
                session, staff=console.staff, schedule_id=schedule_id, reason=data.suspend_reason, now=clock.now()
            )
        except DomainError as refused:
            errors = _refusal(refused, "suspend")
        else:
            told = f"，{len(affected)}个预约已取消并通知患者" if affected else ""
            return _back_to(schedule_id, submitted, f"已停诊{told}")
    return await _detail(console, session, clock, schedule_id, submitted.get("back", ""), submitted, errors)


def _back_to(schedule_id: int, submitted: dict[str, Any], ok: str) -> RedirectResponse:
    params = {"ok": ok}
    if submitted.get("back"):
        params["back"] = _safe_back(str(submitted["back"]))
    return RedirectResponse(f"{LIST}/{schedule_id}?{urlencode(params)}", status_code=303)


def _safe_back(back: str) -> str:
    """Only the list's own filters go back into its URL."""
    return urlencode([(k, v) for k, v in parse_qsl(back) if k in KEPT])


async def _detail(
    console: Console,
    session: SessionDep,
    clock: ClockDep,
    schedule_id: int,
    back: str,
    shown: dict[str, Any],
    errors: dict[str, str],
) -> Response:
    now = clock.now()
    row = await service.schedule_row(session, staff=console.staff, schedule_id=schedule_id, now=now)
    editor = console.staff.role in service.EDIT_ROLES
    open_now = row.state in (rules.ScheduleState.OPEN, rules.ScheduleState.UNRELEASED, rules.ScheduleState.IN_SESSION)
    shown = {
        "capacity": row.schedule.capacity,
        "onsite_quota": row.schedule.onsite_quota,
        "release_mode": row.schedule.release_mode or "",
        **shown,
    }
    hospital = await session.get_one(Hospital, row.schedule.hospital_id)
    mode = rules.release_mode(row.schedule.release_mode, hospital.release_mode)
    return render(
        console,
        "schedules/detail.html",
        status=422 if errors else 200,
        row=row,
        s=row.schedule,
        slots=await scheduling.list_slots(session, schedule_id),
        released=row.schedule.release_at <= now,
        editor=editor,
        open_now=open_now,
        candidates=(
            await substitution.candidates(session, staff=console.staff, schedule_id=schedule_id)
            if editor and open_now
            else []
        ),
        values=shown,
        errors=errors,
        back=_safe_back(back),
        period_label=PERIOD_LABELS[Period(row.schedule.period)],
        release_modes=RELEASE_MODE_OPTIONS,
        release_mode_label=rules.RELEASE_MODE_LABELS[mode],
        release_mode_own=row.schedule.release_mode is not None,
        release_window_closes_at=rules.release_window_closes_at(
            row.schedule.release_at, window_seconds=hospital.release_window_seconds
        )
        if mode == rules.RELEASE_WINDOW
        else None,
    )
