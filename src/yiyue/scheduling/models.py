"""Schedules (排班): one doctor, one date, one period; each owns numbered slots (号源) 1..capacity."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from yiyue.core.db import Base, BigId, UtcDateTime


class Period(StrEnum):
    MORNING = "morning"  # 上午
    AFTERNOON = "afternoon"  # 下午
    EVENING = "evening"  # 晚上


PERIOD_LABELS = {Period.MORNING: "上午", Period.AFTERNOON: "下午", Period.EVENING: "晚上"}


class ScheduleStatus(StrEnum):
    OPEN = "open"
    SUSPENDED = "suspended"  # 停诊


class SlotStatus(StrEnum):
    AVAILABLE = "available"
    HELD = "held"  # claimed by an appointment awaiting payment
    BOOKED = "booked"
    ONSITE = "onsite"  # kept back for walk-in registration at the hospital (现场号), never booked online


class Schedule(Base):
    __tablename__ = "schedules"
    __table_args__ = (
        UniqueConstraint("doctor_id", "visit_date", "period"),
        Index("ix_schedules_department_date", "department_id", "visit_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    visit_date: Mapped[date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(10))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    fee_fen: Mapped[int] = mapped_column(Integer)
    """The registration fee for this session, fixed when the schedule is made."""
    release_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """When its slots open for booking (放号时间)."""
    status: Mapped[str] = mapped_column(String(12), default=ScheduleStatus.OPEN)
    onsite_quota: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Of ``capacity``, the last-numbered slots kept back for walk-in registration (现场号)."""
    release_mode: Mapped[str | None] = mapped_column(String(10))
    """``fcfs`` or ``window`` for this session alone; None follows the hospital's setting."""


class Slot(Base):
    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("schedule_id", "number"),
        Index("ix_slots_schedule_status_number", "schedule_id", "status", "number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    number: Mapped[int] = mapped_column(Integer)
    """The queue number (就诊序号) a patient holding this slot gets."""
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(10), default=SlotStatus.AVAILABLE)
    member_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Kept for members with the privilege until the share opens to everyone (会员预留, ``Hospital``)."""
    reopens_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """A slot given back by a cancelled or expired hold is bookable again only from this moment (回流号源
    随机放出), so a scalper cannot hand it to a buyer waiting at that millisecond."""


class ScheduleTemplate(Base):
    """A doctor's standing weekly session (排班模板), e.g. Tuesday mornings, 20 slots. The release job
    turns it into a schedule for each date as that date enters the hospital's booking window."""

    __tablename__ = "schedule_templates"
    __table_args__ = (UniqueConstraint("doctor_id", "weekday", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    weekday: Mapped[int] = mapped_column(Integer)
    """0 = Monday ... 6 = Sunday."""
    period: Mapped[str] = mapped_column(String(10))
    capacity: Mapped[int] = mapped_column(Integer)
    onsite_quota: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Of ``capacity``, slots kept back for walk-in registration at the hospital (现场号)."""
    slot_minutes: Mapped[int | None] = mapped_column(Integer)
    """Length of a slot's arrival window (分时段); None: 15 or 30 minutes by the crowd."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
