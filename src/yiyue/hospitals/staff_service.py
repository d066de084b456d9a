"""The catalog as the hospital side keeps it (医院资料): hospitals and their booking rules (platform
administrators), two-level departments and doctors (hospital administrators).

Role and hospital scope are checked here: a platform administrator acts on any hospital; everyone else
only on their own, where another hospital's department or doctor is answered as not found. Front desk
and doctors may read their hospital's departments and doctors. Every write is audited with what it
changed. Closing a department or a doctor leaving hides them from patients; neither touches schedules
or appointments (停诊 does that, in ``frontdesk``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Literal

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from yiyue.accounts.staff.models import StaffRole, StaffUser
from yiyue.accounts.staff.scope import actor, require_hospital, require_role
from yiyue.core import audit
from yiyue.core.db import begin_write
from yiyue.core.errors import Conflict, InvalidInput
from yiyue.hospitals.models import Department, Doctor, DoctorTitle, Hospital
from yiyue.hospitals.search import matches, name_columns
from yiyue.hospitals.service import DepartmentNotFound, DoctorNotFound, HospitalNotFound
from yiyue.hospitals.staff_schemas import DepartmentIn, DoctorIn, HospitalIn

CATALOG_EDITORS = (StaffRole.PLATFORM_ADMIN, StaffRole.HOSPITAL_ADMIN)
"""Who may change departments and doctors (every staff role may read its own hospital's)."""


class HospitalIdRequired(InvalidInput):
    code = "HOSPITAL_ID_REQUIRED"
    message = "平台管理员须指定医院（hospital_id）"


class HospitalNameTaken(Conflict):
    code = "HOSPITAL_NAME_TAKEN"
    message = "已有同名医院"


class DepartmentNameTaken(Conflict):
    code = "DEPARTMENT_NAME_TAKEN"
    message = "同一上级科室下已有同名科室"


class InvalidParentDepartment(InvalidInput):
    code = "INVALID_PARENT_DEPARTMENT"
    message = "上级科室须为本院开放中的大科室"


class DepartmentHasClinics(Conflict):
    code = "DEPARTMENT_HAS_CLINICS"
    message = "该大科室下还有科室，不能改为二级科室"


class DepartmentHasDoctors(Conflict):
    code = "DEPARTMENT_HAS_DOCTORS"
    message = "该科室还有医生，不能改为大科室"


class ParentDepartmentClosed(Conflict):
    code = "PARENT_DEPARTMENT_CLOSED"
    message = "所属大科室已关闭，请先恢复大科室"


class InvalidDoctorDepartment(InvalidInput):
    code = "INVALID_DOCTOR_DEPARTMENT"
    message = "所属科室须为本院开放中的二级科室"


# --- scope ------------------------------------------------------------------------------------------


def staff_hospital(staff: StaffUser, hospital_id: int | None) -> int:
    """The hospital a request is about: the staff user's own; for a platform admin, the one named.

    Naming another hospital than one's own is answered as not found, like any of its records.
    """
    if staff.role == StaffRole.PLATFORM_ADMIN:
        if hospital_id is None:
            raise HospitalIdRequired()
        return hospital_id
    if hospital_id is not None:
        require_hospital(staff, hospital_id, not_found=HospitalNotFound)
    assert staff.hospital_id is not None  # the staff_users check constraint guarantees it
    return staff.hospital_id


async def _existing_hospital(session: AsyncSession, hospital_id: int) -> Hospital:
    hospital = await session.get(Hospital, hospital_id)
    if hospital is None:
        raise HospitalNotFound()
    return hospital


def _audit(
    session: AsyncSession,
    staff: StaffUser,
    action: str,
    subject: str,
    *,
    hospital_id: int,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    audit.record(
        session, actor=actor(staff), action=action, subject=subject, at=now, hospital_id=hospital_id, detail=detail
    )


_HIDDEN = frozenset({"phone"})
"""Never written to the audit log, even when changed (it only says that they changed)."""


def _shown(value: Any) -> Any:
    """A value as the audit log keeps it: JSON, long texts cut short."""
    if isinstance(value, str) and len(value) > 80:
        return value[:80] + "…"
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value


def _summary(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _shown(v) for k, v in values.items() if k not in _HIDDEN}


_DERIVED = frozenset({"name_initials", "name_pinyin", "name_pinyin_keys", "sort_order"})
"""Follow from other fields (or have their own audit action): not listed among an edit's changes."""


def _changes(row: object, values: dict[str, Any]) -> dict[str, Any]:
    """Applies ``values`` to ``row``; the audit detail of what changed (before and after)."""
    changed = [k for k, v in values.items() if getattr(row, k) != v]
    before = {k: getattr(row, k) for k in changed if k not in _DERIVED}
    for key in changed:
        setattr(row, key, values[key])
    return {
        "changed": [k for k in changed if k not in _DERIVED],
        "before": _summary(before),
        "after": _summary({k: values[k] for k in before}),
    }


# --- hospitals (platform administrators) ------------------------------------------------------------


async def list_hospitals(
    session: AsyncSession, *, staff: StaffUser, q: str | None, city: str | None, offset: int, limit: int
) -> tuple[list[Hospital], int]:
    """Every hospital, open for online booking or not (platform administrators)."""
    require_role(staff, StaffRole.PLATFORM_ADMIN)
    query = select(Hospital)
    if q:
        query = query.where(matches(q, Hospital.name, Hospital.name_initials))
    if city:
        query = query.where(Hospital.city == city)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(Hospital.id).offset(offset).limit(limit))
    return list(rows), int(total or 0)


async def cities(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(Hospital.city).distinct().order_by(Hospital.city)))


async def get_hospital(session: AsyncSession, *, staff: StaffUser, hospital_id: int) -> Hospital:
    """A hospital with its rules: any for a platform administrator, their own for other staff."""
    require_hospital(staff, hospital_id, not_found=HospitalNotFound)
    return await _existing_hospital(session, hospital_id)


def _hospital_values(data: HospitalIn) -> dict[str, Any]:
    return {**data.model_dump(), **name_columns(data.name)}


async def _check_hospital_name(session: AsyncSession, name: str, *, other_than: int | None = None) -> None:
    query = select(Hospital.id).where(Hospital.name == name)
    if other_than is not None:
        query = query.where(Hospital.id != other_than)
    if await session.scalar(query.limit(1)) is not None:
        raise HospitalNameTaken()


async def create_hospital(session: AsyncSession, *, staff: StaffUser, data: HospitalIn, now: datetime) -> Hospital:
    """A new hospital, open for online booking; its departments, doctors and staff come after."""
    require_role(staff, StaffRole.PLATFORM_ADMIN)
    await begin_write(session)
    await _check_hospital_name(session, data.name)
    hospital = Hospital(**_hospital_values(data), booking_open=True, created_at=now)
    session.add(hospital)
    await session.flush()
    _audit(
        session,
        staff,
        "hospital.create",
        f"hospital:{hospital.id}",
        hospital_id=hospital.id,
        detail={"after": _summary(data.model_dump())},
        now=now,
    )
    return hospital


async def update_hospital(
    session: AsyncSession, *, staff: StaffUser, hospital_id: int, data: HospitalIn, now: datetime
) -> Hospital:
    """Changes a hospital's details and booking rules (rules apply to what is released and booked next)."""
    require_role(staff, StaffRole.PLATFORM_ADMIN)
    await begin_write(session)
    hospital = await _existing_hospital(session, hospital_id)
    await _check_hospital_name(session, data.name, other_than=hospital.id)
    detail = _changes(hospital, _hospital_values(data))
    if detail["changed"]:
        _audit(
            session,
            staff,
            "hospital.update",
            f"hospital:{hospital.id}",
            hospital_id=hospital.id,
            detail=detail,
            now=now,
        )
    await session.flush()
    return hospital


async def set_booking_open(
    session: AsyncSession, *, staff: StaffUser, hospital_id: int, booking_open: bool, now: datetime
) -> Hospital:
    """Opens or closes a hospital for online booking (暂停/恢复网上预约). Closed, it still shows in the
    catalog and its booked patients keep their appointments; new bookings are refused."""
    require_role(staff, StaffRole.PLATFORM_ADMIN)
    await begin_write(session)
    hospital = await _existing_hospital(session, hospital_id)
    if hospital.booking_open != booking_open:
        detail = _changes(hospital, {"booking_open": booking_open})
        action = "hospital.open_booking" if booking_open else "hospital.close_booking"
        _audit(session, staff, action, f"hospital:{hospital.id}", hospital_id=hospital.id, detail=detail, now=now)
        await session.flush()
    return hospital


# --- departments (hospital administrators) ----------------------------------------------------------


async def department_tree(
    session: AsyncSession, *, staff: StaffUser, hospital_id: int | None
) -> tuple[Hospital, list[tuple[Department, list[Department]]]]:
    """Every department of the hospital, closed ones too, 大科室 with their 科室, in display order."""
    hospital = await _existing_hospital(session, staff_hospital(staff, hospital_id))
    rows = list(
        await session.scalars(
            select(Department)
            .where(Department.hospital_id == hospital.id)
            .order_by(Department.sort_order, Department.id)
        )
    )
    tree = [(top, [d for d in rows if d.parent_id == top.id]) for top in rows if top.parent_id is None]
    return hospital, tree


async def get_department(session: AsyncSession, *, staff: StaffUser, department_id: int) -> Department:
    """A department of the staff user's hospital (any, for a platform admin), open or closed."""
    department = await session.get(Department, department_id)
    if department is None:
        raise DepartmentNotFound()
    require_hospital(staff, department.hospital_id, not_found=DepartmentNotFound)
    return department


async def _parent(session: AsyncSession, hospital_id: int, parent_id: int | None) -> Department | None:
    """The 大科室 a department goes under: a top-level department of the same hospital."""
    if parent_id is None:
        return None
    parent = await session.get(Department, parent_id)
    if parent is None or parent.hospital_id != hospital_id or parent.parent_id is not None:
        raise InvalidParentDepartment()
    return parent


async def _check_department_name(
    session: AsyncSession, hospital_id: int, parent_id: int | None, name: str, *, other_than: int | None = None
) -> None:
    query = select(Department.id).where(
        Department.hospital_id == hospital_id,
        Department.parent_id.is_(None) if parent_id is None else Department.parent_id == parent_id,
        Department.name == name,
    )
    if other_than is not None:
        query = query.where(Department.id != other_than)
    if await session.scalar(query.limit(1)) is not None:
        raise DepartmentNameTaken()


def _siblings_of(hospital_id: int, parent_id: int | None) -> ColumnElement[bool]:
    parent = Department.parent_id.is_(None) if parent_id is None else Department.parent_id == parent_id
    return (Department.hospital_id == hospital_id) & parent


async def _next_sort_order(session: AsyncSession, hospital_id: int, parent_id: int | None) -> int:
    last = await session.scalar(select(func.max(Department.sort_order)).where(_siblings_of(hospital_id, parent_id)))
    return int(last or 0) + 1


async def create_department(
    session: AsyncSession, *, staff: StaffUser, hospital_id: int | None, data: DepartmentIn, now: datetime
) -> Department:
    """A new 大科室, or a 科室 under an open 大科室 of the same hospital; it goes last among its siblings."""
    require_role(staff, *CATALOG_EDITORS)
    scope = staff_hospital(staff, hospital_id)
    await begin_write(session)
    await _existing_hospital(session, scope)
    parent = await _parent(session, scope, data.parent_id)
    if parent is not None and not parent.active:
        raise InvalidParentDepartment()
    await _check_department_name(session, scope, data.parent_id, data.name)
    department = Department(
        hospital_id=scope,
        parent_id=data.parent_id,
        name=data.name,
        **name_columns(data.name),
        location=data.location,
        intro=data.intro,
        sort_order=await _next_sort_order(session, scope, data.parent_id),
        active=True,
    )
    session.add(department)
    await session.flush()
    _audit(
        session,
        staff,
        "department.create",
        f"department:{department.id}",
        hospital_id=scope,
        detail={"after": _summary(data.model_dump())},
        now=now,
    )
    return department


async def update_department(
    session: AsyncSession, *, staff: StaffUser, department_id: int, data: DepartmentIn, now: datetime
) -> Department:
    """Renames, relocates or moves a department between levels: a 大科室 with 科室 under it stays top
    level, a 科室 with doctors stays a 科室; one that changes parent goes last among its new siblings."""
    require_role(staff, *CATALOG_EDITORS)
    await begin_write(session)
    department = await get_department(session, staff=staff, department_id=department_id)
    hospital_id = department.hospital_id
    moving = data.parent_id != department.parent_id
    if moving:
        if data.parent_id == department.id:
            raise InvalidParentDepartment()
        parent = await _parent(session, hospital_id, data.parent_id)
        if parent is not None and not parent.active:
            raise InvalidParentDepartment()
        if parent is not None and await _has_clinics(session, department.id):
            raise DepartmentHasClinics()
        if parent is None and await _has_doctors(session, department.id):
            raise DepartmentHasDoctors()
    await _check_department_name(session, hospital_id, data.parent_id, data.name, other_than=department.id)
    values: dict[str, Any] = {
        "name": data.name,
        **name_columns(data.name),
        "parent_id": data.parent_id,
        "location": data.location,
        "intro": data.intro,
    }
    if moving:
        values["sort_order"] = await _next_sort_order(session, hospital_id, data.parent_id)
    detail = _changes(department, values)
    if detail["changed"]:
        subject = f"department:{department.id}"
        _audit(session, staff, "department.update", subject, hospital_id=hospital_id, detail=detail, now=now)
    await session.flush()
    return department


async def _has_clinics(session: AsyncSession, department_id: int) -> bool:
    found = await session.scalar(select(Department.id).where(Department.parent_id == department_id).limit(1))
    return found is not None


async def _has_doctors(session: AsyncSession, department_id: int) -> bool:
    found = await session.scalar(select(Doctor.id).where(Doctor.department_id == department_id).limit(1))
    return found is not None


async def move_department(
    session: AsyncSession, *, staff: StaffUser, department_id: int, direction: Literal["up", "down"], now: datetime
) -> Department:
    """Moves a department one place up or down among its siblings (the order patients see). At the
    top (bottom) already, nothing changes."""
    require_role(staff, *CATALOG_EDITORS)
    await begin_write(session)
    department = await get_department(session, staff=staff, department_id=department_id)
    siblings = list(
        await session.scalars(
            select(Department)
            .where(_siblings_of(department.hospital_id, department.parent_id))
            .order_by(Department.sort_order, Department.id)
        )
    )
    at = siblings.index(department)
    to = at - 1 if direction == "up" else at + 1
    if not 0 <= to < len(siblings):
        return department
    siblings[at], siblings[to] = siblings[to], siblings[at]
    for position, sibling in enumerate(siblings, start=1):
        if sibling.sort_order != position:
            sibling.sort_order = position
    _audit(
        session,
        staff,
        "department.move",
        f"department:{department.id}",
        hospital_id=department.hospital_id,
        detail={"direction": direction, "before": {"position": at + 1}, "after": {"position": to + 1}},
        now=now,
    )
    await session.flush()
    return department


async def set_department_active(
    session: AsyncSession, *, staff: StaffUser, department_id: int, active: bool, now: datetime
) -> Department:
    """Closes a department (hidden from patients, with the 科室 under it) or reopens it. Its schedules
    and booked appointments stay as they are. A 科室 reopens only under an open 大科室."""
    require_role(staff, *CATALOG_EDITORS)
    await begin_write(session)
    department = await get_department(session, staff=staff, department_id=department_id)
    if department.active == active:
        return department
    if active and department.parent_id is not None:
        parent = await session.get_one(Department, department.parent_id)
        if not parent.active:
            raise ParentDepartmentClosed()
    detail = _changes(department, {"active": active})
    action = "department.reopen" if active else "department.close"
    subject = f"department:{department.id}"
    _audit(session, staff, action, subject, hospital_id=department.hospital_id, detail=detail, now=now)
    await session.flush()
    return department


# --- doctors (hospital administrators) --------------------------------------------------------------


@dataclass(frozen=True)
class DoctorFilter:
    department_id: int | None = None
    """A 科室, or a 大科室 (its 科室 together)."""
    title: DoctorTitle | None = None
    active: bool | None = None
    q: str | None = None
    """Part of the name, or its pinyin initials."""
    sort: str = ""
    """A column of ``DOCTOR_SORTS`` (``-`` before it: descending); blank: by department."""


TITLE_RANK = {title.value: rank for rank, title in enumerate(DoctorTitle)}
"""Seniority for sorting: 主任医师 first."""
DOCTOR_SORTS: dict[str, Any] = {
    "name": Doctor.name_initials,
    "title": case(TITLE_RANK, value=Doctor.title, else_=len(TITLE_RANK)),
    "fee": Doctor.fee_fen,
}


async def list_doctors(
    session: AsyncSession,
    *,
    staff: StaffUser,
    hospital_id: int | None,
    filters: DoctorFilter,
    offset: int,
    limit: int,
) -> tuple[list[tuple[Doctor, Department]], int]:
    """The hospital's doctors with their 科室, those still working first, in department order."""
    scope = staff_hospital(staff, hospital_id)
    parent = aliased(Department)
    conditions: list[ColumnElement[bool]] = [Doctor.hospital_id == scope]
    if filters.department_id is not None:
        conditions.append(
            (Doctor.department_id == filters.department_id) | (Department.parent_id == filters.department_id)
        )
    if filters.title is not None:
        conditions.append(Doctor.title == filters.title)
    if filters.active is not None:
        conditions.append(Doctor.active.is_(filters.active))
    if filters.q:
        conditions.append(matches(filters.q, Doctor.name, Doctor.name_initials))
    base = (
        select(Doctor, Department)
        .join(Department, Department.id == Doctor.department_id)
        .outerjoin(parent, parent.id == Department.parent_id)
        .where(*conditions)
    )
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    rows = await session.execute(
        base.order_by(
            Doctor.active.desc(),
            *_sorted_by(filters.sort),
            func.coalesce(parent.sort_order, Department.sort_order),
            func.coalesce(parent.id, Department.id),
            Department.sort_order,
            Department.id,
            Doctor.id,
        )
        .offset(offset)
        .limit(limit)
    )
    return [(doctor, department) for doctor, department in rows.tuples()], int(total or 0)


async def get_doctor(session: AsyncSession, *, staff: StaffUser, doctor_id: int) -> tuple[Doctor, Department]:
    """A doctor of the staff user's hospital (any, for a platform admin), working or not, with their 科室."""
    row = (
        (
            await session.execute(
                select(Doctor, Department)
                .join(Department, Department.id == Doctor.department_id)
                .where(Doctor.id == doctor_id)
            )
        )
        .tuples()
        .first()
    )
    if row is None:
        raise DoctorNotFound()
    doctor, department = row
    require_hospital(staff, doctor.hospital_id, not_found=DoctorNotFound)
    return doctor, department


async def _clinic(session: AsyncSession, hospital_id: int, department_id: int) -> Department:
    """A doctor's department: an open 科室 (second level) under an open 大科室 of the hospital."""
    clinic = await session.get(Department, department_id)
    if clinic is None or clinic.hospital_id != hospital_id or clinic.parent_id is None or not clinic.active:
        raise InvalidDoctorDepartment()
    parent = await session.get_one(Department, clinic.parent_id)
    if not parent.active:
        raise InvalidDoctorDepartment()
    return clinic


def _doctor_values(data: DoctorIn) -> dict[str, Any]:
    values = data.model_dump(include=set(DoctorIn.model_fields))
    values["title"] = DoctorTitle(data.title).value
    values.update(name_columns(data.name))
    return values


async def create_doctor(
    session: AsyncSession, *, staff: StaffUser, hospital_id: int | None, data: DoctorIn, now: datetime
) -> tuple[Doctor, Department]:
    """A new doctor of an open 科室 of the hospital, working from now on."""
    require_role(staff, *CATALOG_EDITORS)
    scope = staff_hospital(staff, hospital_id)
    await begin_write(session)
    await _existing_hospital(session, scope)
    clinic = await _clinic(session, scope, data.department_id)
    doctor = Doctor(hospital_id=scope, **_doctor_values(data), active=True)
    session.add(doctor)
    await session.flush()
    detail = {"after": _summary({k: v for k, v in _doctor_values(data).items() if k not in _DERIVED})}
    _audit(session, staff, "doctor.create", f"doctor:{doctor.id}", hospital_id=scope, detail=detail, now=now)
    return doctor, clinic


async def update_doctor(
    session: AsyncSession, *, staff: StaffUser, doctor_id: int, data: DoctorIn, now: datetime
) -> tuple[Doctor, Department]:
    """Changes a doctor's details. A new 科室 must be open; a new fee applies to sessions made from now
    on (a schedule keeps the fee it was made with)."""
    require_role(staff, *CATALOG_EDITORS)
    await begin_write(session)
    doctor, clinic = await get_doctor(session, staff=staff, doctor_id=doctor_id)
    if data.department_id != doctor.department_id:
        clinic = await _clinic(session, doctor.hospital_id, data.department_id)
    detail = _changes(doctor, _doctor_values(data))
    if detail["changed"]:
        subject = f"doctor:{doctor.id}"
        _audit(session, staff, "doctor.update", subject, hospital_id=doctor.hospital_id, detail=detail, now=now)
    await session.flush()
    return doctor, clinic


async def set_doctor_active(
    session: AsyncSession, *, staff: StaffUser, doctor_id: int, active: bool, now: datetime
) -> tuple[Doctor, Department]:
    """A doctor leaves the hospital (hidden from patients) or comes back. Their schedules stay as they
    are: sessions still to come are stopped with 停诊."""
    require_role(staff, *CATALOG_EDITORS)
    await begin_write(session)
    doctor, clinic = await get_doctor(session, staff=staff, doctor_id=doctor_id)
    if doctor.active != active:
        detail = _changes(doctor, {"active": active})
        action = "doctor.rejoin" if active else "doctor.leave"
        _audit(session, staff, action, f"doctor:{doctor.id}", hospital_id=doctor.hospital_id, detail=detail, now=now)
        await session.flush()
    return doctor, clinic


def _sorted_by(sort: str) -> list[Any]:
    """The ORDER BY of a chosen column (unknown names are ignored: the default order applies)."""
    column = DOCTOR_SORTS.get(sort.removeprefix("-"))
    if column is None:
        return []
    return [column.desc() if sort.startswith("-") else column.asc()]
