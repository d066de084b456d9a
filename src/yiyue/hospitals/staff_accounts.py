"""Staff accounts as a hospital makes them: the account (``accounts.staff``) plus the rule that its
hospital exists and its doctor (医生) works there, which only this package can check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.staff import service as staff_service
from yiyue.accounts.staff.errors import UnknownDoctor, UnknownHospital
from yiyue.accounts.staff.models import StaffUser
from yiyue.hospitals.models import Doctor, Hospital


async def check_workplace(session: AsyncSession, hospital_id: int | None, doctor_id: int | None) -> None:
    """The hospital exists, and the doctor (if any) is one of its doctors."""
    if hospital_id is not None and await session.scalar(select(Hospital.id).where(Hospital.id == hospital_id)) is None:
        raise UnknownHospital()
    if doctor_id is not None:
        works_at = await session.scalar(select(Doctor.hospital_id).where(Doctor.id == doctor_id))
        if works_at is None or works_at != hospital_id:
            raise UnknownDoctor()


async def create_staff_account(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    hospital_id: int | None = None,
    doctor_id: int | None = None,
    now: datetime,
) -> StaffUser:
    """``accounts.staff.service.create_staff`` for a hospital that exists and a doctor who works there."""
    return await staff_service.create_staff(
        session,
        username=username,
        password=password,
        role=role,
        display_name=display_name,
        hospital_id=hospital_id,
        doctor_id=doctor_id,
        now=now,
        check_workplace=check_workplace,
    )
