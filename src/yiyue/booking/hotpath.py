"""The booking's common case in few statements (issue 10): one read under the account lock, one guarded
claim, the inserts.

``book`` (``booking.service``) first tries this way. It reads, in the statement that locks the caller's
account, everything the rules need that no concurrent booking of the account can change (the visit
person, the schedule with its share lock, the hospital, doctor, clinic and the account's member level);
checks the rules that need nothing more in Python; then claims a slot in one statement whose conditions
are the rules that read other rows (no replay of the key, no ban, no other appointment with the doctor
that day, room under the active and unpaid-hold limits), counting what is left as it goes. The answer is
built from these rows, without reading them again.

Whenever anything is missing or refused here, nothing has been written and ``book`` takes the long way,
step by step, which says why (or books after all: a guard here may be stricter than its rule, never
laxer). So the refusals and their order are decided in one place, the step-by-step checks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from yiyue.accounts import service as accounts
from yiyue.accounts.models import Account, VisitPerson
from yiyue.booking import appointments, holds, release_window, rules
from yiyue.booking.errors import DuplicateBooking
from yiyue.booking.models import ACTIVE, Appointment, BookingBan, IdempotencyRecord
from yiyue.booking.schemas import BookingRequest
from yiyue.core.db import UtcDateTime
from yiyue.core.errors import DomainError
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.members import service as members
from yiyue.members.models import MemberLevel
from yiyue.members.rules import Privileges
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, Slot


@dataclass(frozen=True)
class Booked:
    """What ``book`` made (or replayed), with what its answer needs: the appointment's details are loaded
    (``read_model``'s relationships), so the view reads no row again."""

    appointment: Appointment
    can_cancel_late: bool
    """The booking account's level allows cancelling after the deadline (延时退号)."""
    remaining: int | None = None
    """Free online slots of the schedule after this booking; None for a replay (nothing was claimed)."""


@dataclass(frozen=True)
class Facts:
    """What the booking's rules read that no concurrent booking of the same account changes."""

    person: VisitPerson
    schedule: Schedule
    hospital: Hospital
    doctor: Doctor
    department: Department
    perks: Privileges
    sees_patients: bool
    """As ``hospitals.service.sees_patients``: the doctor works here and the clinic and its 大科室 are open."""


_Parent = aliased(Department)


@functools.cache
def _facts_statement() -> Select[tuple[VisitPerson, Schedule, Hospital, Doctor, Department, MemberLevel, bool]]:
    """``read_facts``' statement, built once (bind parameters ``account_id``, ``patient_id``,
    ``schedule_id``)."""
    account_id = bindparam("account_id", type_=BigInteger)
    return (
        select(
            VisitPerson,
            Schedule,
            Hospital,
            Doctor,
            Department,
            MemberLevel,
            (Doctor.active.is_(True) & Department.active.is_(True) & or_(_Parent.id.is_(None), _Parent.active))
            .self_group()
            .label("sees_patients"),
        )
        .select_from(Account)
        .join(
            VisitPerson,
            and_(VisitPerson.id == bindparam("patient_id", type_=BigInteger), VisitPerson.account_id == Account.id),
        )
        .join(Schedule, Schedule.id == bindparam("schedule_id", type_=BigInteger))
        .join(Hospital, Hospital.id == Schedule.hospital_id)
        .join(Doctor, Doctor.id == Schedule.doctor_id)
        .join(Department, Department.id == Schedule.department_id)
        .outerjoin(_Parent, _Parent.id == Department.parent_id)
        .outerjoin(MemberLevel, MemberLevel.id == members.level_id_of(Account.id))
        .where(Account.id == account_id)
        .with_for_update(of=Account, key_share=True)
        # SQLAlchemy renders one locking clause; the schedule's share lock is PostgreSQL's second.
        .suffix_with(f"FOR SHARE OF {Schedule.__tablename__}", dialect="postgresql")
    )


async def read_facts(session: AsyncSession, *, account_id: int, request: BookingRequest) -> Facts | None:
    """Locks the caller's account as ``accounts.lock_account`` does (``FOR NO KEY UPDATE``) and the
    schedule as ``scheduling.get_for_update`` does (``FOR SHARE``, PostgreSQL), reading the rest in the
    same statement; None when the account, the account's visit person or the schedule is not there (the
    long way says which).

    The rows read here are those no booking changes; what concurrent bookings of this account change (its
    appointments, holds and key) is read by the next statement, which sees what the one before committed.
    """
    params = {"account_id": account_id, "patient_id": request.patient_id, "schedule_id": request.schedule_id}
    row = (await session.execute(_facts_statement(), params)).first()
    if row is None:
        return None
    person, schedule, hospital, doctor, department, level, sees = row._tuple()
    return Facts(person, schedule, hospital, doctor, department, members.privileges_at(level), bool(sees))


def _rule_guards(pay_first: bool) -> list[ColumnElement[bool]]:
    """The booking rules that read rows concurrent bookings change, as SQL conditions that hold exactly
    when the step-by-step checks pass (``service._replay``, ``check_not_banned``,
    ``appointments.check_not_duplicate``, ``check_active_limit``, ``holds.check_room_for_hold``), with
    the bind parameters ``_guard_params`` gives."""
    account_id = bindparam("account_id", type_=BigInteger)
    hospital_id = bindparam("hospital_id", type_=BigInteger)
    now = bindparam("claim_now", type_=UtcDateTime)  # the claim's own
    guards = [
        ~exists().where(IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == bindparam("key")),
        ~exists().where(
            BookingBan.account_id == account_id,
            BookingBan.starts_at <= now,
            BookingBan.ends_at > now,
            BookingBan.lifted_at.is_(None),
        ),
        ~exists().where(
            *appointments.duplicate_of(
                person_index=bindparam("person_index", type_=String),
                doctor_id=bindparam("doctor_id", type_=BigInteger),
                day=bindparam("visit_date", type_=Date),
            )
        ),
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.person_index == bindparam("person_index", type_=String),
            Appointment.hospital_id == hospital_id,
            Appointment.status.in_(ACTIVE),
        )
        .scalar_subquery()
        < bindparam("max_active", type_=Integer),
    ]
    if pay_first:
        guards.append(
            select(func.count())
            .select_from(Appointment)
            .where(*holds.pending_holds_of(account_id=account_id, hospital_id=hospital_id, now=now))
            .scalar_subquery()
            < bindparam("max_holds", type_=Integer)
        )
    return guards


def _guard_params(*, account_id: int, key: str, facts: Facts) -> dict[str, object]:
    person, schedule, hospital = facts.person, facts.schedule, facts.hospital
    return {
        "account_id": account_id,
        "key": key,
        "person_index": person.id_number_index,
        "doctor_id": schedule.doctor_id,
        "visit_date": schedule.visit_date,
        "hospital_id": hospital.id,
        "max_active": hospital.max_active_appointments,
        "max_holds": hospital.max_unpaid_holds,
    }


async def book_at_once(
    session: AsyncSession,
    *,
    account_id: int,
    request: BookingRequest,
    idempotency_key: str,
    fingerprint: str,
    now: datetime,
    payment_hold: timedelta,
) -> Booked | None:
    """The booking made in the fewest statements, or None (nothing written) when ``book`` must take the
    long way: a fact is missing, a rule refuses or may refuse, or no free slot could be claimed at once."""
    facts = await read_facts(session, account_id=account_id, request=request)
    if facts is None or facts.person.deleted_at is not None or not facts.sees_patients:
        return None
    schedule, hospital, perks = facts.schedule, facts.hospital, facts.perks
    try:
        rules.check_bookable(schedule, hospital, now=now, early_minutes=perks.early_booking_minutes)
        accounts.require_verified(facts.person)
    except DomainError:
        return None
    if release_window.is_window(schedule, hospital):
        return None
    pay_first = rules.pays_first(schedule, hospital, perks)
    claimed = await scheduling.claim_guarded(
        session,
        schedule_id=schedule.id,
        slot_id=request.slot_id,
        hold=pay_first,
        members_share=perks.member_share or rules.member_share_open(schedule, hospital, now=now),
        now=now,
        guard_key=("booking", pay_first),
        guard=lambda: _rule_guards(pay_first),
        guard_params=_guard_params(account_id=account_id, key=idempotency_key, facts=facts),
    )
    if claimed is None:
        return None
    appointment = await add_booking(
        session,
        account_id=account_id,
        person=facts.person,
        schedule=schedule,
        slot=claimed.slot,
        pay_first=pay_first,
        payment_hold=payment_hold,
        now=now,
        discount_percent=perks.discount_percent,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )
    with_details(
        appointment,
        hospital=hospital,
        department=facts.department,
        doctor=facts.doctor,
        schedule=schedule,
        slot=claimed.slot,
        person=facts.person,
    )
    return Booked(appointment, perks.can_cancel_late, claimed.remaining)


def with_details(
    appointment: Appointment,
    *,
    hospital: Hospital,
    department: Department,
    doctor: Doctor,
    schedule: Schedule,
    slot: Slot,
    person: VisitPerson,
) -> None:
    """Gives a new appointment the details ``read_model`` would load, from rows this unit of work has."""
    for name, value in (
        ("hospital", hospital),
        ("department", department),
        ("doctor", doctor),
        ("schedule", schedule),
        ("slot", slot),
        ("visit_person", person),
    ):
        set_committed_value(appointment, name, value)


async def add_booking(
    session: AsyncSession,
    *,
    account_id: int,
    person: VisitPerson,
    schedule: Schedule,
    slot: Slot,
    pay_first: bool,
    payment_hold: timedelta,
    now: datetime,
    discount_percent: int,
    idempotency_key: str,
    fingerprint: str,
) -> Appointment:
    """The appointment on a claimed slot and the record of the key that made it (both ways of ``book``)."""
    try:
        appointment = await appointments.add_appointment(
            session,
            account_id=account_id,
            person=person,
            schedule=schedule,
            slot=slot,
            pay_first=pay_first,
            payment_hold=payment_hold,
            now=now,
            discount_percent=discount_percent,
        )
    except IntegrityError:  # the unique indexes caught what the rules and guards could not see
        raise DuplicateBooking() from None
    session.add(
        IdempotencyRecord(
            account_id=account_id,
            key=idempotency_key,
            fingerprint=fingerprint,
            appointment_id=appointment.id,
            created_at=now,
        )
    )
    return appointment
