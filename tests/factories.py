"""Builders for catalog data and valid visit persons, used across test levels."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import httpx
from argon2 import PasswordHasher

from yiyue.accounts.idcard import check_digit
from yiyue.accounts.staff.models import StaffUser
from yiyue.core.clock import local_today
from yiyue.core.db import Database
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.hospitals.search import initials
from yiyue.hospitals.staff_accounts import create_staff_account
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Period, Schedule

_seq = itertools.count(1)


def id_number(birth: date = date(1990, 1, 1), serial: int | None = None, region: str = "110105") -> str:
    """A valid 18-digit resident ID number (GB 11643 checksum) for tests. Sequence digits 999 are only
    given on request: the fake real-name service answers them with a provider error."""
    serial = next(_seq) % 999 if serial is None else serial
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    return first17 + check_digit(first17)


def patient_body(name: str = "张三", relationship: str = "self", **overrides: str) -> dict[str, str]:
    body = {"name": name, "id_number": id_number(), "phone": "13812345678", "relationship": relationship}
    body.update(overrides)
    return body


@dataclass
class Catalog:
    hospital: Hospital
    parent: Department
    clinic: Department
    doctor: Doctor
    other_doctor: Doctor


async def make_catalog(db: Database, *, name: str = "测试人民医院", **rules: object) -> Catalog:
    async with db.session() as session:
        hospital = _hospital(
            name,
            **{
                "level": "三级甲等",
                "district": "东城区",
                "address": "北京市东城区测试路1号",
                "phone": "010-12345678",
                "intro": "测试用医院",
                **rules,
            },
        )
        session.add(hospital)
        await session.flush()
        parent = Department(hospital_id=hospital.id, name="内科", name_initials="nk", sort_order=1)
        session.add(parent)
        await session.flush()
        clinic = Department(
            hospital_id=hospital.id, parent_id=parent.id, name="心血管内科", name_initials="xxgnk", location="门诊楼3层"
        )
        session.add(clinic)
        await session.flush()
        doctor = _doctor(hospital, clinic, "李明华", "主任医师", 5000)
        other = _doctor(hospital, clinic, "王芳", "主治医师", 2000)
        session.add_all([doctor, other])
        await session.flush()
        return Catalog(hospital, parent, clinic, doctor, other)


def _doctor(hospital: Hospital, clinic: Department, name: str, title: str, fee: int) -> Doctor:
    return Doctor(
        hospital_id=hospital.id,
        department_id=clinic.id,
        name=name,
        name_initials=initials(name),
        gender="男",
        title=title,
        specialty="冠心病、高血压",
        intro="从医二十年",
        fee_fen=fee,
    )


async def make_schedule(
    db: Database,
    catalog: Catalog,
    *,
    days_ahead: int = 1,
    capacity: int = 10,
    period: Period = Period.MORNING,
    doctor: Doctor | None = None,
) -> Schedule:
    """A schedule ``days_ahead`` days after the tests' frozen today (already released when within 7 days)."""
    async with db.session() as session:
        hospital = await session.get_one(Hospital, catalog.hospital.id)
        return await scheduling.create_schedule(
            session,
            hospital=hospital,
            doctor=doctor or catalog.doctor,
            visit_date=local_today(_now()) + timedelta(days=days_ahead),
            period=period,
            capacity=capacity,
        )


def _now():  # type: ignore[no-untyped-def]
    from tests.conftest import NOW

    return NOW


# --- staff (医院工作人员) ----------------------------------------------------------------------------

STAFF_PASSWORD = "correct-horse-battery"
# argon2 at its production cost takes ~0.1 s a hash; tests that make many staff users swap this in.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


async def make_staff(
    db: Database,
    *,
    role: str = "hospital_admin",
    catalog: Catalog | None = None,
    doctor: Doctor | None = None,
    username: str | None = None,
    password: str = STAFF_PASSWORD,
    display_name: str | None = None,
) -> StaffUser:
    """A staff user through the real service: a platform admin, or staff of ``catalog``'s hospital (a doctor
    account is ``doctor``, by default the catalog's first doctor)."""
    if role == "doctor":
        assert catalog is not None or doctor is not None, "a doctor account needs its doctor"
        doctor = doctor or (catalog.doctor if catalog else None)
    hospital_id = None
    if role != "platform_admin":
        hospital_id = doctor.hospital_id if doctor is not None else (catalog.hospital.id if catalog else None)
    async with db.session() as session:
        return await create_staff_account(
            session,
            username=username or f"staff{next(_seq)}",
            password=password,
            role=role,
            display_name=display_name,
            hospital_id=hospital_id,
            doctor_id=doctor.id if role == "doctor" and doctor is not None else None,
            now=_now(),
        )


async def staff_login(client: httpx.AsyncClient, username: str, password: str = STAFF_PASSWORD) -> dict[str, str]:
    """Logs a staff user in through the API and returns the Authorization header."""
    answer = await client.post("/api/v1/staff/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def book_appointment(
    client: httpx.AsyncClient, auth: dict[str, str], schedule_id: int, *, name: str = "张三丰"
) -> dict[str, Any]:
    """Adds a visit person named ``name`` to the logged-in account and books ``schedule_id`` for them, through
    the patient API; returns the appointment as the patient sees it (check-in code included)."""
    person = await client.post("/api/v1/me/patients", json=patient_body(name=name), headers=auth)
    assert person.status_code == 201, person.text
    answer = await client.post(
        "/api/v1/appointments",
        json={"schedule_id": schedule_id, "patient_id": person.json()["id"]},
        headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


# --- a working day (今日概览, exports) -------------------------------------------------------------


@dataclass
class BusyDay:
    """Today at the catalog's hospital, by 17:45 (the clock is left there)."""

    catalog: Catalog
    admin: StaffUser
    afternoon: Schedule
    """The doctor's, 13:30-17:30, 5 slots of which 1 kept for walk-ins: A completed, B checked in, C no-show."""
    colleague: Schedule
    """The other doctor's, 13:30-17:30, 4 slots: D checked in, F cancelled at 09:00."""
    evening: Schedule
    """The doctor's, 18:00-21:00, 3 slots: suspended (停诊) at 09:00 with G in it."""
    tomorrow: Schedule
    """The doctor's, tomorrow morning, 10 slots: E booked."""
    appointments: dict[str, int]


async def make_busy_day(
    client: httpx.AsyncClient, db: Database, clock: Any, patient_login: Any, *, admin_username: str = "day.admin"
) -> BusyDay:
    """Builds ``BusyDay`` through the APIs (patients book and cancel, the administrator suspends and checks
    in, the no-show sweep runs after the afternoon), starting at the tests' 09:00 ``clock``."""
    from tests.conftest import NOW
    from yiyue.core.clock import at_local
    from yiyue.frontdesk.no_shows import mark_no_shows

    clock.set(NOW)
    catalog = await make_catalog(db)
    admin = await make_staff(db, catalog=catalog, username=admin_username, display_name="值班管理员")
    async with db.session() as session:
        hospital = await session.get_one(Hospital, catalog.hospital.id)
        doctor = await session.get_one(Doctor, catalog.doctor.id)
        colleague_doctor = await session.get_one(Doctor, catalog.other_doctor.id)
        today = local_today(NOW)
        afternoon = await scheduling.create_schedule(
            session,
            hospital=hospital,
            doctor=doctor,
            visit_date=today,
            period=Period.AFTERNOON,
            capacity=5,
            onsite_quota=1,
        )
        colleague = await scheduling.create_schedule(
            session, hospital=hospital, doctor=colleague_doctor, visit_date=today, period=Period.AFTERNOON, capacity=4
        )
        evening = await scheduling.create_schedule(
            session, hospital=hospital, doctor=doctor, visit_date=today, period=Period.EVENING, capacity=3
        )
        tomorrow = await scheduling.create_schedule(
            session,
            hospital=hospital,
            doctor=doctor,
            visit_date=today + timedelta(days=1),
            period=Period.MORNING,
            capacity=10,
        )
    ids: dict[str, int] = {}
    for key, schedule, name in (
        ("A", afternoon, "张三丰"),
        ("B", afternoon, "李四"),
        ("C", afternoon, "王小五"),
        ("D", colleague, "赵六"),
        ("F", colleague, "钱七"),
        ("G", evening, "孙八"),
        ("E", tomorrow, "周九"),
    ):
        auth = await patient_login()
        booked = await book_appointment(client, auth, schedule.id, name=name)
        ids[key] = booked["id"]
        if key == "F":
            cancelled = await client.post(f"/api/v1/appointments/{booked['id']}/cancel", json={}, headers=auth)
            assert cancelled.status_code == 200, cancelled.text
    staff_auth = await staff_login(client, admin.username)
    suspended = await client.post(
        f"/api/v1/staff/schedules/{evening.id}/suspend", json={"reason": "医生临时出诊任务"}, headers=staff_auth
    )
    assert suspended.status_code == 200, suspended.text

    clock.set(at_local(today, time(13, 0)))
    staff_auth = await staff_login(client, admin.username)
    for key in ("A", "B", "D"):
        checked = await client.post(f"/api/v1/staff/appointments/{ids[key]}/check-in", headers=staff_auth)
        assert checked.status_code == 200, checked.text
    completed = await client.post(f"/api/v1/staff/appointments/{ids['A']}/complete", headers=staff_auth)
    assert completed.status_code == 200, completed.text

    clock.set(at_local(today, time(17, 45)))
    async with db.session() as session:
        assert await mark_no_shows(session, now=clock.now()) == [ids["C"]]
    return BusyDay(catalog, admin, afternoon, colleague, evening, tomorrow, ids)


# --- the front desk: walk-in numbers (现场号) -----------------------------------------------------------


async def keep_onsite(db: Database, schedule: Schedule, count: int) -> list[int]:
    """Keeps the schedule's last ``count`` numbers back for walk-ins (slots ``onsite``), as the release job
    does from a template's ``onsite_quota``; returns those numbers."""
    from sqlalchemy import select, update

    from yiyue.scheduling.models import Slot, SlotStatus

    async with db.session() as session:
        numbers = list(
            await session.scalars(
                select(Slot.number).where(Slot.schedule_id == schedule.id).order_by(Slot.number.desc()).limit(count)
            )
        )
        await session.execute(
            update(Slot)
            .where(Slot.schedule_id == schedule.id, Slot.number.in_(numbers))
            .values(status=SlotStatus.ONSITE)
        )
        await session.execute(update(Schedule).where(Schedule.id == schedule.id).values(onsite_quota=count))
    return sorted(numbers)


async def book_family(
    client: httpx.AsyncClient, auth: dict[str, str], schedule_id: int, names: list[str]
) -> list[dict[str, Any]]:
    """One account books ``schedule_id`` for several of its visit persons (本人, 父母, 子女, ... in order)."""
    relationships = ("self", "parent", "child", "spouse", "other")
    booked = []
    for name, relationship in zip(names, relationships, strict=False):
        person = await client.post(
            "/api/v1/me/patients", json=patient_body(name=name, relationship=relationship), headers=auth
        )
        assert person.status_code == 201, person.text
        answer = await client.post(
            "/api/v1/appointments",
            json={"schedule_id": schedule_id, "patient_id": person.json()["id"]},
            headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code == 201, answer.text
        booked.append(answer.json())
    return booked


# --- the console in a browser --------------------------------------------------------------------------


async def make_hospital(db: Database, *, name: str = "新建人民医院", **rules: object) -> Hospital:
    """A hospital with no departments, doctors or schedules yet (the day its administrator starts), with
    the same booking rules as ``make_catalog``'s."""
    async with db.session() as session:
        hospital = _hospital(
            name, **{"level": "二级甲等", "district": "朝阳区", "address": "北京市朝阳区新建路8号", **rules}
        )
        session.add(hospital)
        await session.flush()
        return hospital


def _hospital(name: str, **fields: object) -> Hospital:
    """A hospital in Beijing with the tests' usual booking rules, ``fields`` overriding any of them."""
    hospital = Hospital(
        name=name,
        name_initials=initials(name),
        level="三级甲等",
        city="北京",
        district="东城区",
        address="北京市东城区测试路1号",
        phone="010-87654321",
        intro="",
        release_days=7,
        release_time=time(8, 0),
        stop_minutes_before=0,
        cancel_minutes_before=120,
        max_active_appointments=5,
        payment_required=False,
        created_at=_now(),
    )
    for key, value in fields.items():
        setattr(hospital, key, value)
    return hospital
