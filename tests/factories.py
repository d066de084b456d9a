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
    """A valid 18-digit resident ID number (GB 11643 checksum) for tests."""
    serial = next(_seq) % 1000 if serial is None else serial
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
        hospital = Hospital(
            name=name,
            name_initials=initials(name),
            level="三级甲等",
            city="北京",
            district="东城区",
            address="北京市东城区测试路1号",
            phone="010-12345678",
            intro="测试用医院",
            release_days=7,
            release_time=time(8, 0),
            stop_minutes_before=0,
            cancel_minutes_before=120,
            max_active_appointments=5,
            payment_required=False,
            created_at=_now(),
        )
        for key, value in rules.items():
            setattr(hospital, key, value)
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
