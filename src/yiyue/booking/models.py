"""Appointments (预约), their status history, and idempotency records for booking retries."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yiyue.accounts.models import VisitPerson
from yiyue.core.db import Base, BigId, UtcDateTime
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.scheduling.models import Schedule, Slot


class AppointmentStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    NO_SHOW = "no_show"


# Not yet visited: counts against the account's limit and can still be cancelled.
ACTIVE = (AppointmentStatus.PENDING_PAYMENT, AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)
# Occupies its slot and its visit person's place with the doctor that day, for good.
OCCUPYING = (*ACTIVE, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)

_OCCUPYING_SQL = text("status IN ({})".format(", ".join(f"'{s.value}'" for s in OCCUPYING)))


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        # The last line of defence against overselling and double booking, whatever the code does.
        Index(
            "uq_appointments_slot", "slot_id", unique=True, sqlite_where=_OCCUPYING_SQL, postgresql_where=_OCCUPYING_SQL
        ),
        # The person is their ID number, not one account's entry for it: a family may add the same
        # mother to several accounts, and she still sees one doctor once a day.
        Index(
            "uq_appointments_person_doctor_day",
            "person_index",
            "doctor_id",
            "visit_date",
            unique=True,
            sqlite_where=_OCCUPYING_SQL,
            postgresql_where=_OCCUPYING_SQL,
        ),
        Index("ix_appointments_account_status", "account_id", "status"),
        Index("ix_appointments_person_status", "person_index", "status"),
        Index("ix_appointments_schedule", "schedule_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    visit_person_id: Mapped[int] = mapped_column(ForeignKey("visit_persons.id"))
    person_index: Mapped[str] = mapped_column(String(64))
    """The visit person's ID-number blind index: who the patient is, whichever account booked."""
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"))
    visit_date: Mapped[date] = mapped_column(Date)
    queue_number: Mapped[int] = mapped_column(Integer)
    fee_fen: Mapped[int] = mapped_column(Integer)
    """What the patient owes: the session's fee less ``discount_fen``."""
    discount_fen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """The member discount (会员折扣) taken off the session's fee when booked (``members.rules``)."""
    status: Mapped[str] = mapped_column(String(20))
    check_in_code: Mapped[str] = mapped_column(String(12))
    pay_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Set when the hospital takes payment online: the slot is held until then (then ``expired``)."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(10), default="online", server_default="online")
    """``online`` (the mini-program) or ``onsite`` (registered at the hospital's window, 现场挂号)."""
    status_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    """Why it left its way (the cancel or 停诊 reason the patient is shown); "" otherwise."""
    # The money as the patient sees it, kept by payments in the same unit of work as the payment and
    # refund rows (booking cannot read payments: it sits below it), so one query shows it.
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    refund_status: Mapped[str | None] = mapped_column(String(12))
    refund_amount_fen: Mapped[int | None] = mapped_column(Integer)
    refunded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    # Loaded only on purpose (``booking.read_model``): touching one that was not loaded raises, so no
    # page quietly issues a query per row.
    hospital: Mapped[Hospital] = relationship(lazy="raise")
    department: Mapped[Department] = relationship(lazy="raise")
    doctor: Mapped[Doctor] = relationship(lazy="raise")
    schedule: Mapped[Schedule] = relationship(lazy="raise")
    slot: Mapped[Slot] = relationship(lazy="raise")
    visit_person: Mapped[VisitPerson] = relationship(lazy="raise")


class AppointmentEvent(Base):
    """Every status change of an appointment, for support and audit."""

    __tablename__ = "appointment_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class IdempotencyRecord(Base):
    """A booking made under an ``Idempotency-Key``: the same key replayed answers with the same booking."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BookingBan(Base):
    """An account barred from booking for a while (爽约限制): too many no-shows."""

    __tablename__ = "booking_bans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(12), default="no_show", server_default="no_show")
    """``no_show`` (爽约) or ``hold_abuse`` (反复取消或超时未支付占号): both stop new bookings."""
    reason: Mapped[str] = mapped_column(String(100))
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Set when hospital staff lifted the ban early; it no longer applies from then."""
    lifted_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    lift_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")


class RebookOffer(Base):
    """停诊改约: slots held for the patient of a suspended appointment until ``expires_at``, one per option."""

    __tablename__ = "rebook_offers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), unique=True)
    """The suspended appointment the offer replaces."""
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    accepted_appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Set when the offer was taken or ran out and its other slots went back to the pool."""


class RebookOption(Base):
    __tablename__ = "rebook_options"
    __table_args__ = (UniqueConstraint("offer_id", "schedule_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("rebook_offers.id"), index=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"))
    """Held (``held``) for this offer while it is open."""
    same_doctor: Mapped[bool] = mapped_column(Boolean)


class WaitlistStatus(StrEnum):
    WAITING = "waiting"  # 候补中
    OFFERED = "offered"  # a freed slot is held for the entry until ``offer_expires_at``
    BOOKED = "booked"  # confirmed: ``appointment_id``
    ENDED = "ended"  # left, lapsed, session started or 停诊, booked elsewhere (``end_reason``)


OPEN_WAITLIST = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
_OPEN_WAITLIST_SQL = text("status IN ({})".format(", ".join(f"'{s.value}'" for s in OPEN_WAITLIST)))


class WaitlistEntry(Base):
    """候补: one visit person waiting for a slot of one sold-out session."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        Index(
            "uq_waitlist_open_person",
            "schedule_id",
            "person_index",
            unique=True,
            sqlite_where=_OPEN_WAITLIST_SQL,
            postgresql_where=_OPEN_WAITLIST_SQL,
        ),
        Index("ix_waitlist_schedule_status", "schedule_id", "status", "priority", "joined_at"),
        Index("ix_waitlist_account_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    visit_person_id: Mapped[int] = mapped_column(ForeignKey("visit_persons.id"))
    person_index: Mapped[str] = mapped_column(String(64))
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    visit_date: Mapped[date] = mapped_column(Date)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    """The member level's booking priority when joining: higher is offered first, then ``joined_at``."""
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(10), default=WaitlistStatus.WAITING)
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id"))
    """The slot held for the entry while ``offered`` (and kept by the appointment once ``booked``)."""
    offered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_reason: Mapped[str] = mapped_column(String(40), default="", server_default="")


class ReleaseEntryStatus(StrEnum):
    QUEUED = "queued"  # 排队中
    WON = "won"  # 已中签
    LOST = "lost"  # 未中签


class ReleaseEntry(Base):
    """One visit person's request for a session released in a window (放号窗口): queued, then drawn."""

    __tablename__ = "release_entries"
    __table_args__ = (
        # One entry per person (ID number) per session, whichever account asks for them.
        UniqueConstraint("schedule_id", "person_index"),
        Index("ix_release_entries_account", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    visit_person_id: Mapped[int] = mapped_column(ForeignKey("visit_persons.id"))
    person_index: Mapped[str] = mapped_column(String(64))
    weight: Mapped[int] = mapped_column(Integer, default=1)
    """The draw's weight (1 plus the member level's booking priority when the hospital weights the draw)."""
    status: Mapped[str] = mapped_column(String(10), default=ReleaseEntryStatus.QUEUED)
    result_reason: Mapped[str] = mapped_column(String(100), default="", server_default="")
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ReleaseDraw(Base):
    """The record of one session's draw: with its seed and the entries anyone can re-run it."""

    __tablename__ = "release_draws"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"), unique=True)
    seed: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(40))
    capacity: Mapped[int] = mapped_column(Integer)
    entries: Mapped[int] = mapped_column(Integer)
    winners: Mapped[int] = mapped_column(Integer)
    drawn_at: Mapped[datetime] = mapped_column(UtcDateTime)
