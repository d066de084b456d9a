"""Reading the catalog: hospitals, departments (大科室 > 科室) and doctors, as patients see it.

Patients see open departments only (a 科室 under a closed 大科室 is closed with it) and doctors still
working in an open 科室; the staff side (``staff_service``) sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from yiyue.core.errors import InvalidInput, NotFound
from yiyue.core.pagination import PageParams, paginate
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.hospitals.search import (
    RANK_MATCH,
    Ranked,
    Searchable,
    Terms,
    any_of,
    contains,
    ordering,
    rank,
    terms,
)


class HospitalNotFound(NotFound):
    code = "HOSPITAL_NOT_FOUND"
    message = "医院不存在"


class DepartmentNotFound(NotFound):
    code = "DEPARTMENT_NOT_FOUND"
    message = "科室不存在"


class DoctorNotFound(NotFound):
    code = "DOCTOR_NOT_FOUND"
    message = "医生不存在"


class SearchQueryEmpty(InvalidInput):
    code = "SEARCH_QUERY_EMPTY"
    message = "请输入医院、科室、医生姓名或擅长疾病"


_Parent = aliased(Department)


def _open_department() -> ColumnElement[bool]:
    """For a query joined to ``Department`` and (outer) to its parent ``_Parent``: both open."""
    return Department.active.is_(True) & or_(_Parent.id.is_(None), _Parent.active.is_(True))


# --- search: what a query matches, best first (``hospitals.search``) ---------------------------------


def _query_terms(q: str | None) -> Terms | None:
    """The terms of an optional list filter (blank: no filter)."""
    t = terms(q or "")
    return t if t.text else None


def _hospital_found(t: Terms) -> Ranked:
    return Searchable.of(Hospital).ranked(t)


def _department_found(t: Terms) -> Ranked:
    return Searchable.of(Department).ranked(t)


def _doctor_found(t: Terms) -> Ranked:
    """By name (and its pinyin), then specialty (擅长), then the name of their 科室."""
    return [
        *Searchable.of(Doctor).ranked(t),
        (contains(Doctor.specialty, t), 7),
        (Searchable.of(Department).matches(t), 8),
    ]


@dataclass(frozen=True)
class SearchResults:
    query: str
    hospitals: list[tuple[Hospital, str]]
    """Each with what matched (``hospitals.search.RANK_MATCH``)."""
    departments: list[tuple[Department, str | None, Hospital, str]]
    """Each with its 大科室's name (None for a 大科室), its hospital and what matched."""
    doctors: list[tuple[Doctor, Department, Hospital, str]]


async def search(session: AsyncSession, *, q: str, city: str | None, limit: int) -> SearchResults:
    """Hospitals, open departments and doctors seeing patients that match ``q`` (name, full pinyin,
    initials, a mix of Chinese and pinyin; doctors also by specialty and 科室), ``limit`` of each, best
    first: the whole name, its start, part of it, pinyin, initials, specialty, 科室."""
    t = terms(q)
    if not t.text:
        raise SearchQueryEmpty()
    in_city = [Hospital.city == city] if city else []

    found = _hospital_found(t)
    best = rank(found).label("rank")
    hospitals = await session.execute(
        select(Hospital, best)
        .where(any_of(found), *in_city)
        .order_by(best, *ordering(Hospital.name, Hospital.id))
        .limit(limit)
    )

    found = _department_found(t)
    best = rank(found).label("rank")
    departments = await session.execute(
        select(Department, _Parent.name, Hospital, best)
        .join(Hospital, Hospital.id == Department.hospital_id)
        .outerjoin(_Parent, _Parent.id == Department.parent_id)
        .where(_open_department(), any_of(found), *in_city)
        .order_by(best, *ordering(Department.name, Department.id))
        .limit(limit)
    )

    found = _doctor_found(t)
    best = rank(found).label("rank")
    doctors = await session.execute(
        select(Doctor, Department, Hospital, best)
        .join(Department, Department.id == Doctor.department_id)
        .outerjoin(_Parent, _Parent.id == Department.parent_id)
        .join(Hospital, Hospital.id == Doctor.hospital_id)
        .where(Doctor.active.is_(True), _open_department(), any_of(found), *in_city)
        .order_by(best, *ordering(Doctor.name, Doctor.id))
        .limit(limit)
    )
    return SearchResults(
        query=t.text,
        hospitals=[(h, RANK_MATCH[r]) for h, r in hospitals.tuples()],
        departments=[(d, parent, h, RANK_MATCH[r]) for d, parent, h, r in departments.tuples()],
        doctors=[(d, dept, h, RANK_MATCH[r]) for d, dept, h, r in doctors.tuples()],
    )


async def cities(session: AsyncSession) -> list[tuple[str, int]]:
    """Each city with its number of hospitals, most first (then by name)."""
    count = func.count(Hospital.id)
    rows = await session.execute(
        select(Hospital.city, count).group_by(Hospital.city).order_by(count.desc(), Hospital.city)
    )
    return [(city, int(n)) for city, n in rows.tuples()]


async def search_hospitals(
    session: AsyncSession, *, q: str | None, city: str | None, level: str | None, page: PageParams
) -> tuple[list[Hospital], int]:
    """Hospitals, all or those matching ``q`` (best first, as ``search`` ranks them)."""
    query = select(Hospital)
    order: list[Any] = [Hospital.id]
    if t := _query_terms(q):
        found = _hospital_found(t)
        query = query.where(any_of(found))
        order = [rank(found), *ordering(Hospital.name, Hospital.id)]
    if city:
        query = query.where(Hospital.city == city)
    if level:
        query = query.where(Hospital.level == level)
    return await paginate(session, query.order_by(*order), offset=page.offset, limit=page.page_size)


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
    if t := _query_terms(q):
        wanted = set(
            await session.scalars(
                select(Department.id).where(Department.hospital_id == hospital_id, any_of(_department_found(t)))
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
    """Doctors still working, in open departments; with ``q``, those it matches, best first (as ``search``
    ranks them)."""
    query = (
        select(Doctor)
        .join(Department, Department.id == Doctor.department_id)
        .outerjoin(_Parent, _Parent.id == Department.parent_id)
        .where(Doctor.active.is_(True), _open_department())
    )
    order: list[Any] = [Doctor.id]
    if t := _query_terms(q):
        found = _doctor_found(t)
        query = query.where(any_of(found))
        order = [rank(found), *ordering(Doctor.name, Doctor.id)]
    if hospital_id is not None:
        query = query.where(Doctor.hospital_id == hospital_id)
    if department_id is not None:
        query = query.where(Doctor.department_id == department_id)
    return await paginate(session, query.order_by(*order), offset=page.offset, limit=page.page_size)


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
