"""Walk-in registration at the hospital's window (现场挂号).

A session keeps its last numbers back for walk-ins (slots ``onsite``). The clerk picks a session with one
left, enters the patient (name, ID number, phone) and registers: one ``onsite`` slot is claimed in a single
atomic UPDATE, the appointment is ``booked`` on the ``onsite`` channel (the fee is paid at the window) and
the clerk prints its queue number and check-in code.

Walk-in patients have no WeChat account: each hospital has one system account (``onsite:<hospital id>``)
whose visit persons they become, sealed with the app's field cipher exactly as ``accounts.service`` does.
An ID number already held by a visit person (a patient who uses the mini-program, or came before) is that
person: the registration is theirs, provided the name matches. A new walk-in person is 实名认证 verified
(``realname_status``): the clerk has the ID card in hand.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts import service as accounts
from yiyue.accounts.idcard import IdNumber, is_mobile, normalize, parse_id_number
from yiyue.accounts.models import Account, Relationship, VisitPerson
from yiyue.accounts.realname import RealNameStatus
from yiyue.accounts.staff.models import StaffUser
from yiyue.accounts.staff.scope import actor, require_hospital, require_role
from yiyue.booking import appointments, read_model
from yiyue.booking.errors import DuplicateBooking
from yiyue.booking.models import Appointment, AppointmentEvent, AppointmentStatus
from yiyue.core import audit, outbox
from yiyue.core.clock import local_today
from yiyue.core.crypto import FieldCipher, mask_id_number, mask_phone
from yiyue.core.db import begin_write
from yiyue.core.events import AppointmentBooked
from yiyue.frontdesk.errors import IdNumberNameMismatch, OnsiteSoldOut, SessionNotOpen
from yiyue.frontdesk.rules import WALK_IN_ROLES, is_onsite_account, onsite_openid
from yiyue.frontdesk.service import DaySession, by_staff, day_sessions
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import ScheduleStatus

ONSITE = "onsite"
"""``Appointment.channel`` of a walk-in registration."""


@dataclass(frozen=True)
class WalkInPatient:
    """Who came to the window, as the clerk typed it (checked by ``register``)."""

    name: str
    id_number: str
    phone: str


@dataclass(frozen=True)
class Registered:
    appointment: Appointment
    """The read model: its queue number and check-in code are printed for the patient."""
    new_person: bool
    """The patient was not known yet (a new visit person of the walk-in account)."""


async def onsite_sessions(
    session: AsyncSession, *, staff: StaffUser, day: date, now: datetime, department_id: int | None = None
) -> list[DaySession]:
    """The sessions of ``day`` at the staff user's hospital that take walk-ins: open, not over yet, with
    numbers kept back for the window (those all taken are listed too, with none left)."""
    require_role(staff, *WALK_IN_ROLES)
    if day < local_today(now):
        return []
    found = await day_sessions(session, staff=staff, hospital_id=None, day=day, department_id=department_id)
    return [
        s
        for s in found
        if s.schedule.status == ScheduleStatus.OPEN
        and s.schedule.ends_at > now
        and (s.onsite_left > 0 or s.schedule.onsite_quota > 0)
    ]


async def register(
    session: AsyncSession,
    *,
    staff: StaffUser,
    schedule_id: int,
    patient: WalkInPatient,
    cipher: FieldCipher,
    now: datetime,
) -> Registered:
    """Registers a walk-in patient for one of the session's numbers kept back for the window.

    Refused: another hospital's session (not found), one suspended or over, an invalid ID number or
    phone, an ID number known under another name, a patient already registered with this doctor that
    day, and a session with no walk-in number left (``ONSITE_SOLD_OUT``).
    """
    require_role(staff, *WALK_IN_ROLES)
    id_number = _checked_id_number(patient.id_number, now=now)
    phone = _checked_phone(patient.phone)
    name = " ".join(patient.name.split())
    await begin_write(session)
    schedule = await scheduling.get_for_update(session, schedule_id)
    require_hospital(staff, schedule.hospital_id, not_found=scheduling.ScheduleNotFound)
    if schedule.status != ScheduleStatus.OPEN or schedule.ends_at <= now:
        raise SessionNotOpen()
    person, new_person = await _visit_person(
        session, hospital_id=schedule.hospital_id, name=name, id_number=id_number, phone=phone, cipher=cipher, now=now
    )
    await appointments.check_not_duplicate(
        session,
        person_index=person.id_number_index,
        doctor_id=schedule.doctor_id,
        day=schedule.visit_date,
        message="该患者当天已挂过这位医生的号，请勿重复挂号",
    )
    slot = await scheduling.claim_slot(session, schedule_id=schedule.id, slot_id=None, hold=False, onsite=True)
    if slot is None:  # every number left is being claimed right now: wait for those, one may roll back
        slot = await scheduling.claim_slot(
            session, schedule_id=schedule.id, slot_id=None, hold=False, wait=True, onsite=True
        )
    if slot is None:
        raise OnsiteSoldOut()

    appointment = Appointment(
        account_id=person.account_id,
        visit_person_id=person.id,
        person_index=person.id_number_index,
        hospital_id=schedule.hospital_id,
        department_id=schedule.department_id,
        doctor_id=schedule.doctor_id,
        schedule_id=schedule.id,
        slot_id=slot.id,
        visit_date=schedule.visit_date,
        queue_number=slot.number,
        fee_fen=schedule.fee_fen,
        status=AppointmentStatus.BOOKED,
        pay_deadline=None,
        check_in_code=f"{secrets.randbelow(10**8):08d}",
        created_at=now,
        updated_at=now,
        channel=ONSITE,
    )
    session.add(appointment)
    try:
        await session.flush()
    except IntegrityError:  # the unique indexes caught a registration made meanwhile
        raise DuplicateBooking() from None
    session.add(
        AppointmentEvent(
            appointment_id=appointment.id,
            from_status=None,
            to_status=appointment.status,
            reason=by_staff(staff, "现场挂号"),
            at=now,
        )
    )
    outbox.add(session, AppointmentBooked(appointment_id=appointment.id), now=now)
    audit.record(
        session,
        actor=actor(staff),
        action="appointment.walk_in",
        subject=f"appointment:{appointment.id}",
        at=now,
        hospital_id=schedule.hospital_id,
        detail={
            "schedule_id": schedule.id,
            "queue_number": slot.number,
            "visit_person_id": person.id,
            "new_person": new_person,
            "to_status": appointment.status,
        },
    )
    await session.flush()
    return Registered(appointment=await read_model.load_one(session, appointment.id), new_person=new_person)


async def onsite_account(session: AsyncSession, *, hospital_id: int, now: datetime) -> Account:
    """The hospital's walk-in account, made on first use (the writer's turn is the caller's)."""
    openid = onsite_openid(hospital_id)
    account = await session.scalar(select(Account).where(Account.openid == openid))
    if account is not None:
        return account
    account = Account(openid=openid, unionid=None, created_at=now, last_login_at=now)
    try:
        async with session.begin_nested():
            session.add(account)
    except IntegrityError:  # another window made it at the same instant (PostgreSQL)
        account = await session.scalar(select(Account).where(Account.openid == openid))
        assert account is not None
    return account


async def _visit_person(
    session: AsyncSession,
    *,
    hospital_id: int,
    name: str,
    id_number: IdNumber,
    phone: str,
    cipher: FieldCipher,
    now: datetime,
) -> tuple[VisitPerson, bool]:
    """The visit person holding this ID number, or a new one of the hospital's walk-in account."""
    index = cipher.blind_index(id_number.value, context=accounts.ID_NUMBER)
    known = await _holder(session, index)
    if known is None:
        account = await onsite_account(session, hospital_id=hospital_id, now=now)
        person = VisitPerson(
            account_id=account.id,
            name=name,
            relationship=Relationship.SELF,
            id_number_encrypted=cipher.encrypt(id_number.value, context=accounts.ID_NUMBER),
            id_number_index=index,
            id_number_masked=mask_id_number(id_number.value),
            phone_encrypted=cipher.encrypt(phone, context=accounts.PHONE),
            phone_masked=mask_phone(phone),
            birth_date=id_number.birth_date,
            sex=id_number.sex,
            created_at=now,
            updated_at=now,
            # 实名认证 at the window: the clerk reads the ID card and sees its holder, which is what the
            # verification service stands in for online.
            realname_status=RealNameStatus.VERIFIED,
            realname_checked_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(person)
        except IntegrityError:  # added by a patient or another window at the same instant
            known = await _holder(session, index)
            if known is None:
                raise
        else:
            return person, True
    if known.name != name:
        raise IdNumberNameMismatch()
    if known.phone_masked != mask_phone(phone) and await _is_onsite_person(session, known):
        # The window keeps its own patients' phones current; a patient's own visit person is theirs to edit.
        known.phone_encrypted = cipher.encrypt(phone, context=accounts.PHONE)
        known.phone_masked = mask_phone(phone)
        known.updated_at = now
    return known, False


async def _holder(session: AsyncSession, index: str) -> VisitPerson | None:
    """The earliest visit person holding the ID number (a family may hold it in several accounts)."""
    person: VisitPerson | None = await session.scalar(
        select(VisitPerson)
        .where(VisitPerson.id_number_index == index, VisitPerson.deleted_at.is_(None))
        .order_by(VisitPerson.id)
        .limit(1)
    )
    return person


async def _is_onsite_person(session: AsyncSession, person: VisitPerson) -> bool:
    openid = await session.scalar(select(Account.openid).where(Account.id == person.account_id))
    return openid is not None and is_onsite_account(openid)


def _checked_id_number(raw: str, *, now: datetime) -> IdNumber:
    try:
        return parse_id_number(raw, today=local_today(now))
    except ValueError as exc:
        raise accounts.InvalidIdNumber(f"身份证号码无效：{exc}") from None


def _checked_phone(raw: str) -> str:
    phone = normalize(raw)
    if not is_mobile(phone):
        raise accounts.InvalidPhone()
    return phone
