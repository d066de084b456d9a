"""Repeatable demo data (演示数据): hospitals, two-level departments, doctors and two weeks of schedules.

Everything is drawn from one ``random.Random(random_seed)`` in a fixed order, so the same seed and the
same ``today`` give the same rows (ids too, on a fresh database) on any machine. Hospital names are invented.
The literal data lives in ``yiyue.demo.data``, the drawing in ``yiyue.demo.generator``; this module writes
the rows. Schedules go through the scheduling service (``create_schedules``, the batch form of
``create_schedule``), so their slots, release times and fees follow the same rules as in production.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.demo.data.departments import TOP_DEPARTMENTS, ClinicSpec, TopDepartmentSpec
from yiyue.demo.data.doctors import FEMALE, MALE, POPULAR_EXPERTS, TITLE_WEIGHTS, PopularExpert
from yiyue.demo.data.hospitals import (
    FEES_FEN,
    HOSPITALS,
    MIN_CLINICS_PER_HOSPITAL,
    MIN_DOCTORS_PER_HOSPITAL,
    HospitalSpec,
)
from yiyue.demo.data.names import SURNAME_WEIGHTS
from yiyue.demo.data.rosters import CAPACITY_RANGES, SESSIONS_PER_WEEK
from yiyue.demo.generator import BuiltHospital, Roster, build_hospital, schedule_specs, weekly_rosters
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.scheduling import service as scheduling_service
from yiyue.scheduling.models import Schedule, ScheduleTemplate, Slot
from yiyue.scheduling.service import ScheduleSpec

__all__ = [
    "CAPACITY_RANGES",
    "DEFAULT_RANDOM_SEED",
    "FEES_FEN",
    "FEMALE",
    "HOSPITALS",
    "MALE",
    "MIN_CLINICS_PER_HOSPITAL",
    "MIN_DOCTORS_PER_HOSPITAL",
    "POPULAR_EXPERTS",
    "SESSIONS_PER_WEEK",
    "SURNAME_WEIGHTS",
    "TITLE_WEIGHTS",
    "TOP_DEPARTMENTS",
    "ClinicSpec",
    "HospitalSpec",
    "PopularExpert",
    "SeedSummary",
    "TopDepartmentSpec",
    "seed_demo",
]

DEFAULT_RANDOM_SEED = 20261121


@dataclass(frozen=True)
class SeedSummary:
    """Row counts of the demo data; ``departments`` counts both levels (大科室 and 科室)."""

    hospitals: int
    departments: int
    doctors: int
    schedules: int
    slots: int
    created: bool


async def seed_demo(
    session: AsyncSession, *, today: date, random_seed: int = DEFAULT_RANDOM_SEED, days: int = 14
) -> SeedSummary:
    """Fills an empty database with demo hospitals, departments, doctors and ``days`` days of schedules.

    ``today`` (a hospital-local date) is the first schedule day. If any hospital exists nothing is
    written and the existing counts come back with ``created=False``. It flushes but never commits: the
    caller's unit of work does, and on SQLite with other writers about it should ``begin_write`` first.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if await session.scalar(select(Hospital.id).limit(1)) is not None:
        return await _existing_summary(session)

    rng = random.Random(random_seed)
    created_at = datetime.now(UTC)
    built = [build_hospital(rng, spec, created_at) for spec in HOSPITALS]
    await _insert_hospitals(session, built)

    schedules = 0
    slots = 0
    for b in built:
        specs = await _insert_schedules(session, rng, b, today=today, days=days)
        schedules += len(specs)
        slots += sum(spec.capacity for spec in specs)

    return SeedSummary(
        hospitals=len(built),
        departments=sum(len(b.tops) + len(b.clinics) for b in built),
        doctors=sum(len(b.doctors) for b in built),
        schedules=schedules,
        slots=slots,
        created=True,
    )


async def _insert_hospitals(session: AsyncSession, built: list[BuiltHospital]) -> None:
    """Hospitals, 大科室, clinics and doctors, a level at a time so each parent has its id first."""
    session.add_all(b.hospital for b in built)
    await session.flush()
    for b in built:
        for top in b.tops:
            top.hospital_id = b.hospital.id
    session.add_all(top for b in built for top in b.tops)
    await session.flush()
    for b in built:
        for clinic, top_index in zip(b.clinics, b.clinic_parent, strict=True):
            clinic.hospital_id = b.hospital.id
            clinic.parent_id = b.tops[top_index].id
    session.add_all(clinic for b in built for clinic in b.clinics)
    await session.flush()
    for b in built:
        for doctor, clinic_index in zip(b.doctors, b.doctor_clinic, strict=True):
            doctor.hospital_id = b.hospital.id
            doctor.department_id = b.clinics[clinic_index].id
    session.add_all(doctor for b in built for doctor in b.doctors)
    await session.flush()


async def _insert_schedules(
    session: AsyncSession, rng: random.Random, built: BuiltHospital, *, today: date, days: int
) -> list[ScheduleSpec]:
    """One hospital's schedules and weekly templates, from newly drawn rosters; the specs it made."""
    rosters = weekly_rosters(rng, built)
    specs = schedule_specs(rng, built, rosters, today=today, days=days)
    # One batch per hospital: the same rules as create_schedule, without a flush per schedule.
    await scheduling_service.create_schedules(session, hospital=built.hospital, specs=specs)
    built.hospital.released_through = today + timedelta(days=days - 1)
    # The rosters are also the doctors' weekly templates (排班模板): the release job keeps the booking
    # window filled as days pass, so a demo left running keeps having slots to book.
    session.add_all(_templates(built, rosters))
    return specs


def _templates(built: BuiltHospital, rosters: list[Roster]) -> Iterator[ScheduleTemplate]:
    for doctor, roster in zip(built.doctors, rosters, strict=True):
        for weekday, sessions in roster.items():
            for period, capacity in sessions:
                yield ScheduleTemplate(
                    hospital_id=built.hospital.id,
                    doctor_id=doctor.id,
                    weekday=weekday,
                    period=period,
                    capacity=capacity,
                    active=True,
                )


async def _existing_summary(session: AsyncSession) -> SeedSummary:
    async def count(model: type[Hospital | Department | Doctor | Schedule | Slot]) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return SeedSummary(
        hospitals=await count(Hospital),
        departments=await count(Department),
        doctors=await count(Doctor),
        schedules=await count(Schedule),
        slots=await count(Slot),
        created=False,
    )
