"""医院资料 (hospital administrators): the two-level departments (科室管理) and the doctors (医生管理).

The changes go through ``hospitals.staff_service``; what they leave behind (future appointments of a
department being closed, future sessions of a doctor leaving) is counted here, where the console can
see schedules and appointments, so the page can warn before it acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import Field
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.admin.console import Console, page
from yiyue.admin.errors import is_htmx
from yiyue.admin.forms import parse, values
from yiyue.admin.templating import render
from yiyue.booking.models import ACTIVE, Appointment
from yiyue.core.clock import local_today
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.errors import DomainError
from yiyue.core.params import MAX_ID, IdPath
from yiyue.hospitals import staff_service
from yiyue.hospitals.models import Department, Doctor, DoctorTitle
from yiyue.hospitals.staff_schemas import GENDERS, DepartmentIn, DoctorFields, DoctorIn
from yiyue.scheduling.models import Schedule, ScheduleStatus

router = APIRouter()

DepartmentsPage = Annotated[Console, Depends(page("departments"))]
DoctorsPage = Annotated[Console, Depends(page("doctors"))]
TITLES = [(t.value, t.value) for t in DoctorTitle]
TITLE_VALUES = frozenset(t.value for t in DoctorTitle)


def _done(path: str, ok: str) -> RedirectResponse:
    """A redirect after a change, with a green toast."""
    return RedirectResponse(f"{path}?{urlencode({'ok': ok})}", status_code=303)


def _pick(errors: dict[str, str], *selects: str) -> dict[str, str]:
    """A missing choice reads 请选择…, not 请填写…."""
    return {k: v.replace("请填写", "请选择", 1) if k in selects else v for k, v in errors.items()}


def _as_id(value: str | None) -> int | None:
    """A lenient id from a query string (a blank or bad one is no filter)."""
    if value is None or not value.strip().isdigit():
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


# --- departments (科室管理) -------------------------------------------------------------------------

DEPARTMENT_FIELD_OF = {
    "DEPARTMENT_NAME_TAKEN": "name",
    "INVALID_PARENT_DEPARTMENT": "parent_id",
    "DEPARTMENT_HAS_CLINICS": "parent_id",
    "DEPARTMENT_HAS_DOCTORS": "parent_id",
}


@dataclass(frozen=True)
class DepartmentUse:
    doctors: int
    """Doctors working there (a 大科室: in its 科室 too)."""
    appointments: int
    """Appointments still to be seen there from today on (a 大科室: in its 科室 too)."""


Tree = list[tuple[Department, list[Department]]]


async def _counts(session: AsyncSession, query: Select[tuple[int, int]]) -> dict[int, int]:
    return {key: count for key, count in (await session.execute(query)).tuples()}


async def _department_use(
    session: AsyncSession, hospital_id: int, tree: Tree, now: datetime
) -> dict[int, DepartmentUse]:
    doctors = await _counts(
        session,
        select(Doctor.department_id, func.count())
        .where(Doctor.hospital_id == hospital_id, Doctor.active.is_(True))
        .group_by(Doctor.department_id),
    )
    appointments = await _counts(
        session,
        select(Appointment.department_id, func.count())
        .where(
            Appointment.hospital_id == hospital_id,
            Appointment.status.in_(ACTIVE),
            Appointment.visit_date >= local_today(now),
        )
        .group_by(Appointment.department_id),
    )
    use: dict[int, DepartmentUse] = {}
    for top, children in tree:
        members = [top.id, *(c.id for c in children)]
        use[top.id] = DepartmentUse(
            doctors=sum(doctors.get(i, 0) for i in members), appointments=sum(appointments.get(i, 0) for i in members)
        )
        for child in children:
            use[child.id] = DepartmentUse(doctors=doctors.get(child.id, 0), appointments=appointments.get(child.id, 0))
    return use


async def _departments(
    console: Console,
    session: AsyncSession,
    now: datetime,
    *,
    problem: str | None = None,
    moved: int | None = None,
    status: int = 200,
) -> Response:
    """The department page (or, for an htmx move, just its rows)."""
    hospital, tree = await staff_service.department_tree(session, staff=console.staff, hospital_id=console.hospital_id)
    use = await _department_use(session, hospital.id, tree, now)
    template = "catalog/_department_rows.html" if moved is not None and is_htmx(console.request) else None
    return render(
        console,
        template or "catalog/departments.html",
        status=status,
        tree=tree,
        use=use,
        problem=problem,
        moved=moved,
        closed=sum(1 for top, children in tree for d in (top, *children) if not d.active),
    )


@router.get("/departments")
async def department_list(console: DepartmentsPage, session: SessionDep, clock: ClockDep) -> Response:
    return await _departments(console, session, clock.now())


async def _department_form(
    console: Console,
    session: AsyncSession,
    department: Department | None,
    shown: dict[str, Any],
    errors: dict[str, str],
    *,
    status: int = 200,
) -> Response:
    _, tree = await staff_service.department_tree(session, staff=console.staff, hospital_id=console.hospital_id)
    current_parent = department.parent_id if department is not None else None
    parents = [
        (top.id, top.name if top.active else f"{top.name}（已关闭）")
        for top, _ in tree
        if (top.active or top.id == current_parent) and (department is None or top.id != department.id)
    ]
    children = next((c for top, c in tree if department is not None and top.id == department.id), [])
    return render(
        console,
        "catalog/department_form.html",
        status=status,
        department=department,
        parents=parents,
        children=children,
        values=shown,
        errors=errors,
    )


def _department_values(department: Department) -> dict[str, Any]:
    return {name: getattr(department, name) for name in DepartmentIn.model_fields}


def _department_refusal(refused: DomainError) -> dict[str, str]:
    return {DEPARTMENT_FIELD_OF.get(refused.code, "__all__"): refused.text}


@router.get("/departments/new")
async def new_department(
    console: DepartmentsPage,
    session: SessionDep,
    parent_id: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return await _department_form(console, session, None, {"parent_id": _as_id(parent_id)}, {})


@router.post("/departments/new")
async def create_department(console: DepartmentsPage, session: SessionDep, clock: ClockDep) -> Response:
    submitted = values(await console.request.form())
    data, errors = parse(DepartmentIn, submitted)
    errors = _pick(errors, "parent_id")
    if data is not None:
        try:
            department = await staff_service.create_department(
                session, staff=console.staff, hospital_id=console.hospital_id, data=data, now=clock.now()
            )
        except DomainError as refused:
            errors = _department_refusal(refused)
        else:
            kind = "科室" if department.parent_id is not None else "大科室"
            return _done("/admin/departments", f"已新增{kind}「{department.name}」")
    return await _department_form(console, session, None, submitted, errors, status=422)


@router.get("/departments/{department_id}")
async def edit_department(department_id: IdPath, console: DepartmentsPage, session: SessionDep) -> Response:
    department = await staff_service.get_department(session, staff=console.staff, department_id=department_id)
    return await _department_form(console, session, department, _department_values(department), {})


@router.post("/departments/{department_id}")
async def update_department(
    department_id: IdPath, console: DepartmentsPage, session: SessionDep, clock: ClockDep
) -> Response:
    department = await staff_service.get_department(session, staff=console.staff, department_id=department_id)
    submitted = values(await console.request.form())
    data, errors = parse(DepartmentIn, submitted)
    errors = _pick(errors, "parent_id")
    if data is not None:
        try:
            await staff_service.update_department(
                session, staff=console.staff, department_id=department_id, data=data, now=clock.now()
            )
        except DomainError as refused:
            errors = _department_refusal(refused)
        else:
            return _done("/admin/departments", f"已保存「{data.name}」")
    return await _department_form(console, session, department, submitted, errors, status=422)


@router.post("/departments/{department_id}/move")
async def move_department(
    department_id: IdPath, console: DepartmentsPage, session: SessionDep, clock: ClockDep
) -> Response:
    direction: Literal["up", "down"] = "up" if (await console.request.form()).get("direction") == "up" else "down"
    department = await staff_service.move_department(
        session, staff=console.staff, department_id=department_id, direction=direction, now=clock.now()
    )
    if is_htmx(console.request):
        return await _departments(console, session, clock.now(), moved=department.id)
    return _done("/admin/departments", f"已{'上移' if direction == 'up' else '下移'}「{department.name}」")


@router.post("/departments/{department_id}/close")
async def close_department(
    department_id: IdPath, console: DepartmentsPage, session: SessionDep, clock: ClockDep
) -> Response:
    now = clock.now()
    department = await staff_service.set_department_active(
        session, staff=console.staff, department_id=department_id, active=False, now=now
    )
    _, tree = await staff_service.department_tree(session, staff=console.staff, hospital_id=console.hospital_id)
    left = (await _department_use(session, department.hospital_id, tree, now))[department.id].appointments
    note = f"，{left} 个未就诊的预约照常有效" if left else ""
    return _done("/admin/departments", f"已关闭「{department.name}」，患者端不再显示{note}")


@router.post("/departments/{department_id}/reopen")
async def reopen_department(
    department_id: IdPath, console: DepartmentsPage, session: SessionDep, clock: ClockDep
) -> Response:
    try:
        department = await staff_service.set_department_active(
            session, staff=console.staff, department_id=department_id, active=True, now=clock.now()
        )
    except staff_service.ParentDepartmentClosed as refused:
        return await _departments(console, session, clock.now(), problem=refused.text, status=refused.status)
    return _done("/admin/departments", f"已恢复「{department.name}」，患者端重新显示")


# --- doctors (医生管理) -----------------------------------------------------------------------------

DOCTOR_FIELD_OF = {"INVALID_DOCTOR_DEPARTMENT": "department_id"}
DOCTOR_LIST_KEPT = ("q", "department_id", "title", "active", "sort", "page")
PAGE_SIZE = 20


class DoctorForm(DoctorFields):
    """The console's doctor form: the fee in yuan (元), as the clerk reads it off the fee schedule."""

    fee_yuan: Decimal = Field(title="挂号费", ge=0, le=10000, decimal_places=2)

    def doctor(self) -> DoctorIn:
        fee_fen = int(self.fee_yuan * 100)  # exact: at most two decimal places
        return DoctorIn(**self.model_dump(exclude={"fee_yuan"}), fee_fen=fee_fen)


def fee_yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@router.get("/doctors")
async def doctor_list(
    console: DoctorsPage,
    session: SessionDep,
    q: Annotated[str, Query(max_length=30)] = "",
    department_id: Annotated[str, Query(max_length=20)] = "",
    title: Annotated[str, Query(max_length=10)] = "",
    active: Annotated[str, Query(max_length=5)] = "",
    sort: Annotated[str, Query(max_length=12)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    filters = staff_service.DoctorFilter(
        sort=sort if sort.removeprefix("-") in staff_service.DOCTOR_SORTS else "",
        department_id=_as_id(department_id),
        title=DoctorTitle(title) if title in TITLE_VALUES else None,
        active={"true": True, "false": False}.get(active),
        q=q.strip() or None,
    )
    rows, total = await staff_service.list_doctors(
        session,
        staff=console.staff,
        hospital_id=console.hospital_id,
        filters=filters,
        offset=(page_number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    _, tree = await staff_service.department_tree(session, staff=console.staff, hospital_id=console.hospital_id)
    parents = {d.id: top for top, children in tree for d in children}
    query = {k: v for k, v in console.request.query_params.items() if k in DOCTOR_LIST_KEPT}
    return render(
        console,
        "catalog/doctors.html",
        rows=[(doctor, clinic, parents.get(clinic.id)) for doctor, clinic in rows],
        total=total,
        page_number=page_number,
        page_size=PAGE_SIZE,
        tree=tree,
        titles=TITLES,
        filters={"q": q.strip(), "department_id": department_id, "title": title, "active": active},
        query=query,
        sort=filters.sort,
    )


@dataclass(frozen=True)
class FutureWork:
    sessions: int
    """Open sessions (出诊时段) not yet over."""
    appointments: int
    """Appointments still to be seen in them."""


async def _future_work(session: AsyncSession, doctor_id: int, now: datetime) -> FutureWork:
    sessions = await session.scalar(
        select(func.count())
        .select_from(Schedule)
        .where(Schedule.doctor_id == doctor_id, Schedule.status == ScheduleStatus.OPEN, Schedule.ends_at > now)
    )
    appointments = await session.scalar(
        select(func.count())
        .select_from(Appointment)
        .join(Schedule, Schedule.id == Appointment.schedule_id)
        .where(Appointment.doctor_id == doctor_id, Appointment.status.in_(ACTIVE), Schedule.ends_at > now)
    )
    return FutureWork(sessions=int(sessions or 0), appointments=int(appointments or 0))


async def _doctor_form(
    console: Console,
    session: AsyncSession,
    doctor: Doctor | None,
    shown: dict[str, Any],
    errors: dict[str, str],
    *,
    now: datetime,
    status: int = 200,
) -> Response:
    _, tree = await staff_service.department_tree(session, staff=console.staff, hospital_id=console.hospital_id)
    current = doctor.department_id if doctor is not None else None
    groups = [
        (
            top.name if top.active else f"{top.name}（已关闭）",
            [
                (
                    c.id,
                    c.name if c.active and top.active else f"{c.name}（已关闭）",
                    c.id != current and not (c.active and top.active),
                )
                for c in children
            ],
        )
        for top, children in tree
        if children
    ]
    return render(
        console,
        "catalog/doctor_form.html",
        status=status,
        doctor=doctor,
        groups=groups,
        titles=TITLES,
        genders=[(g, g) for g in GENDERS],
        work=await _future_work(session, doctor.id, now) if doctor is not None else None,
        values=shown,
        errors=errors,
    )


def _doctor_values(doctor: Doctor) -> dict[str, Any]:
    shown = {name: getattr(doctor, name) for name in DoctorFields.model_fields}
    shown["fee_yuan"] = fee_yuan(doctor.fee_fen)
    return shown


def _doctor_refusal(refused: DomainError) -> dict[str, str]:
    return {DOCTOR_FIELD_OF.get(refused.code, "__all__"): refused.text}


@router.get("/doctors/new")
async def new_doctor(
    console: DoctorsPage,
    session: SessionDep,
    clock: ClockDep,
    department_id: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    shown = {"department_id": _as_id(department_id), "title": DoctorTitle.ATTENDING.value}
    return await _doctor_form(console, session, None, shown, {}, now=clock.now())


@router.post("/doctors/new")
async def create_doctor(console: DoctorsPage, session: SessionDep, clock: ClockDep) -> Response:
    submitted = values(await console.request.form())
    form, errors = parse(DoctorForm, submitted)
    errors = _pick(errors, "gender", "title", "department_id")
    if form is not None:
        try:
            doctor, _ = await staff_service.create_doctor(
                session, staff=console.staff, hospital_id=console.hospital_id, data=form.doctor(), now=clock.now()
            )
        except DomainError as refused:
            errors = _doctor_refusal(refused)
        else:
            return _done("/admin/doctors", f"已新增医生「{doctor.name}」")
    return await _doctor_form(console, session, None, submitted, errors, now=clock.now(), status=422)


@router.get("/doctors/{doctor_id}")
async def edit_doctor(doctor_id: IdPath, console: DoctorsPage, session: SessionDep, clock: ClockDep) -> Response:
    doctor, _ = await staff_service.get_doctor(session, staff=console.staff, doctor_id=doctor_id)
    return await _doctor_form(console, session, doctor, _doctor_values(doctor), {}, now=clock.now())


@router.post("/doctors/{doctor_id}")
async def update_doctor(doctor_id: IdPath, console: DoctorsPage, session: SessionDep, clock: ClockDep) -> Response:
    doctor, _ = await staff_service.get_doctor(session, staff=console.staff, doctor_id=doctor_id)
    submitted = values(await console.request.form())
    form, errors = parse(DoctorForm, submitted)
    errors = _pick(errors, "gender", "title", "department_id")
    if form is not None:
        try:
            await staff_service.update_doctor(
                session, staff=console.staff, doctor_id=doctor_id, data=form.doctor(), now=clock.now()
            )
        except DomainError as refused:
            errors = _doctor_refusal(refused)
        else:
            return _done("/admin/doctors", f"已保存「{form.name}」")
    return await _doctor_form(console, session, doctor, submitted, errors, now=clock.now(), status=422)


@router.post("/doctors/{doctor_id}/leave")
async def leave(doctor_id: IdPath, console: DoctorsPage, session: SessionDep, clock: ClockDep) -> Response:
    doctor, _ = await staff_service.set_doctor_active(
        session, staff=console.staff, doctor_id=doctor_id, active=False, now=clock.now()
    )
    return _done(f"/admin/doctors/{doctor.id}", f"「{doctor.name}」已离开本院，患者端不再显示")


@router.post("/doctors/{doctor_id}/rejoin")
async def rejoin(doctor_id: IdPath, console: DoctorsPage, session: SessionDep, clock: ClockDep) -> Response:
    doctor, _ = await staff_service.set_doctor_active(
        session, staff=console.staff, doctor_id=doctor_id, active=True, now=clock.now()
    )
    return _done(f"/admin/doctors/{doctor.id}", f"「{doctor.name}」已回到本院，患者端重新显示")
