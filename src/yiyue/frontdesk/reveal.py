"""Seeing a patient's full ID number and phone (查看完整信息): a hospital administrator, on one of the
hospital's appointments, with a reason. Every screen shows them masked; this is the one way to the full
values, and each use is audited with its reason (never the values)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts import service as accounts
from yiyue.accounts.staff.models import StaffUser
from yiyue.accounts.staff.scope import actor, require_hospital, require_role
from yiyue.booking import read_model
from yiyue.booking.errors import AppointmentNotFound
from yiyue.booking.models import Appointment
from yiyue.core import audit
from yiyue.core.crypto import FieldCipher
from yiyue.core.db import begin_write
from yiyue.frontdesk.rules import REVEAL_ROLES


@dataclass(frozen=True)
class Revealed:
    appointment: Appointment
    """The read model (its visit person's name is shown in full beside the values)."""
    id_number: str
    phone: str


async def reveal(
    session: AsyncSession, *, staff: StaffUser, appointment_id: int, reason: str, cipher: FieldCipher, now: datetime
) -> Revealed:
    """The full ID number and phone of the appointment's visit person, decrypted once for the caller;
    another hospital's appointment is not found. Writes ``visit_person.reveal`` with the reason."""
    require_role(staff, *REVEAL_ROLES)
    appointment = await read_model.load_one(session, appointment_id)
    require_hospital(staff, appointment.hospital_id, not_found=AppointmentNotFound)
    person = appointment.visit_person
    id_number = cipher.decrypt(person.id_number_encrypted, context=accounts.ID_NUMBER)
    phone = cipher.decrypt(person.phone_encrypted, context=accounts.PHONE)
    await begin_write(session)
    audit.record(
        session,
        actor=actor(staff),
        action="visit_person.reveal",
        subject=f"visit_person:{person.id}",
        at=now,
        hospital_id=appointment.hospital_id,
        detail={"appointment_id": appointment.id, "reason": reason, "fields": ["id_number", "phone"]},
    )
    return Revealed(appointment=appointment, id_number=id_number, phone=phone)
