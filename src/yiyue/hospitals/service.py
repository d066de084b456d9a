"""Reading the catalog: hospitals, departments (大科室 > 科室) and doctors, as patients see it.

Patients see open departments only (a 科室 under a closed 大科室 is closed with it) and doctors still
working in an open 科室; the staff side (``staff_service``) sees everything.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from yiyue.core.errors import NotFound
from yiyue.core.pagination import PageParams, paginate
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.hospitals.search import matches


class HospitalNotFound(NotFound):
    code = "HOSPITAL_NOT_FOUND"
    message = "医院不存在"


class DepartmentNotFound(NotFound):
    code = "DEPARTMENT_NOT_FOUND"
    message = "科室不存在"


class DoctorNotFound(NotFound):
    code = "DOCTOR_NOT_FOUND"
    message = "医生不存在"


_Parent = aliased(Department)


def _open_department() -> ColumnElement[bool]:
    """For a query joined to ``Department`` and (outer) to its parent ``_Parent``: both open."""
    return Department.active.is_(True) & or_(_Parent.id.is_(None), _Parent.active.is_(True))


async def search_hospitals(
    session: AsyncSession, *, q: str | None, city: str | None, level: str | None, page: PageParams
) -> tuple[list[Hospital], int]:
    query = select(Hospital)
    if q:
        query = query.where(matches(q, Hospital.name, Hospital.name_initials))
    if city:
        query = query.where(Hospital.city == city)
    if level:
        query = query.where(Hospital.level == level)
    return await paginate(session, query.order_by(Hospital.id), offset=page.offset, limit=page.page_size)


async def get_hospital(session: AsyncSession, hospital_id: int) -> Hospital:
    hospital = await session.get(Hospital, hospital_id)
    if hospital is None:
        raise HospitalNotFound()
    return hospital


async def department_tree(
    session: AsyncSession, *, hospital_id: int, q: str | None
) -> list[tuple[Department, list[Department]]]:
    """Open top-level departments with their open clinics; with ``q``, only clinics that match (and their
    parents)."""
    await get_hospital(session, hospital_id)
    departments = list(
        await session.scalars(
            select(Department)
            .where(Department.hospital_id == hospital_id, Department.active.is_(True))
            .order_by(Department.sort_order, Department.id)
        )
    )
    wanted: set[int] | None = None
    if q:
        wanted = set(
            await session.scalars(
                select(Department.id).where(
                    Department.hospital_id == hospital_id, matches(q, Department.name, Department.name_initials)
                )
            )
        )
    tree = []
    for parent in (d for d in departments if d.parent_id is None):
        children = [d for d in departments if d.parent_id == parent.id]
        if wanted is not None and parent.id not in wanted:
            children = [c for c in children if c.id in wanted]
            if not children:
                continue
        tree.append((parent, children))
    return tree


async def get_department(session: AsyncSession, department_id: int) -> Department:
    """An open department (a closed one, or a 科室 of a closed 大科室, is not found)."""
    department = await session.scalar(
        select(Department)
        .outerjoin(_Parent, _Parent.id == Department.parent_id)
        .where(Department.id == department_id, _open_department())
    )
    if department is None:
        raise DepartmentNotFound()
    return department


async def sees_patients(session: AsyncSession, *, doctor_id: int, department_id: int) -> bool:
    """The doctor still works here and the clinic (and its 大科室) is open: patients may book them."""
    found = await session.scalar(
        select(Doctor.id)
        .join(Department, Department.id == department_id)
        .outerjoin(_Parent, _Parent.id == Department.parent_id)
        .where(Doctor.id == doctor_id, Doctor.active.is_(True), _open_department())
    )
    return found is not None


async def search_doctors(
    session: AsyncSession,
    *,
    q: str | None,
    hospital_id: int | None,
    department_id: int | None,
    page: PageParams,
) -> tuple[list[Doctor], int]:
    """Doctors still working, in open departments."""
    query = (
        select(Doctor)
        .join(Department, Department.id == Doctor.department_id)
        .outerjoin(_Parent, _Parent.id == Department.parent_id)
        .where(Doctor.active.is_(True), _open_department())
    )
    if q:
        query = query.where(matches(q, Doctor.name, Doctor.name_initials))
    if hospital_id is not None:
        query = query.where(Doctor.hospital_id == hospital_id)
    if department_id is not None:
        query = query.where(Doctor.department_id == department_id)
    return await paginate(session, query.order_by(Doctor.id), offset=page.offset, limit=page.page_size)


async def get_doctor(session: AsyncSession, doctor_id: int) -> tuple[Doctor, Hospital, Department]:
    """A doctor still working in an open department (one who left, or whose 科室 closed, is not found)."""
    row = (
        await session.execute(
            select(Doctor, Hospital, Department)
            .join(Hospital, Hospital.id == Doctor.hospital_id)
            .join(Department, Department.id == Doctor.department_id)
            .outerjoin(_Parent, _Parent.id == Department.parent_id)
            .where(Doctor.id == doctor_id, Doctor.active.is_(True), _open_department())
        )
    ).first()
    if row is None:
        raise DoctorNotFound()
    doctor, hospital, department = row
    return doctor, hospital, department
