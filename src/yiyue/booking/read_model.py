"""One read model of an appointment: the appointment with its hospital, clinic (科室), doctor, schedule,
slot and visit person (就诊人), loaded in one query. The patient's view, the front desk's list and the
notifications' facts are all rendered from it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from yiyue.booking.errors import AppointmentNotFound
from yiyue.booking.models import Appointment

DETAILS = (
    joinedload(Appointment.hospital),
    joinedload(Appointment.department),
    joinedload(Appointment.doctor),
    joinedload(Appointment.schedule),
    joinedload(Appointment.slot),
    joinedload(Appointment.visit_person),
)
"""Loader options that make an ``Appointment`` query return the whole read model."""


def with_details() -> Select[tuple[Appointment]]:
    """``select(Appointment)`` that loads the read model; add ``where``/``order_by`` as needed."""
    return select(Appointment).options(*DETAILS)


async def load(session: AsyncSession, appointment_ids: Sequence[int]) -> list[Appointment]:
    """These appointments with their details, in the order given, leaving out ids that do not exist
    (appointments already in the session get their details filled in)."""
    if not appointment_ids:
        return []
    rows = await session.scalars(with_details().where(Appointment.id.in_(appointment_ids)))
    by_id = {a.id: a for a in rows.unique()}
    return [by_id[i] for i in appointment_ids if i in by_id]


async def load_one(session: AsyncSession, appointment_id: int) -> Appointment:
    found = await load(session, [appointment_id])
    if not found:
        raise AppointmentNotFound()
    return found[0]
