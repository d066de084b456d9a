"""Hospitals, their two-level departments (大科室 > 科室) and doctors."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, Time, UniqueConstraint, text, true
from sqlalchemy.orm import Mapped, mapped_column

from yiyue.core.db import Base, BigId, UtcDateTime
from yiyue.hospitals.search import name_column_default


class DoctorTitle(StrEnum):
    CHIEF = "主任医师"
    ASSOCIATE_CHIEF = "副主任医师"
    ATTENDING = "主治医师"
    RESIDENT = "住院医师"


class Hospital(Base):
    __tablename__ = "hospitals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_initials: Mapped[str] = mapped_column(String(100), index=True)
    name_pinyin: Mapped[str] = mapped_column(String(600), default=name_column_default("name_pinyin"), server_default="")
    """Full pinyin of the name, ``zhouzhenhua``; computed when the name is written (``hospitals.search``)."""
    name_pinyin_keys: Mapped[str] = mapped_column(
        Text, default=name_column_default("name_pinyin_keys"), server_default=""
    )
    """What the name is found by as pinyin or initials (``hospitals.search.pinyin_keys``)."""
    level: Mapped[str] = mapped_column(String(20))  # 三级甲等, 二级甲等, ...
    city: Mapped[str] = mapped_column(String(30), index=True)
    district: Mapped[str] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))
    intro: Mapped[str] = mapped_column(Text, default="")
    # Booking rules (预约规则), one set per hospital.
    release_days: Mapped[int] = mapped_column(Integer, default=7)
    """Slots for day D open on D - release_days at release_time (放号周期)."""
    release_time: Mapped[time] = mapped_column(Time, default=time(8, 0))
    stop_minutes_before: Mapped[int] = mapped_column(Integer, default=0)
    """Booking closes this many minutes before a session starts (停止挂号时间)."""
    cancel_minutes_before: Mapped[int] = mapped_column(Integer, default=120)
    """Cancellation is allowed until this many minutes before the session starts (退号截止)."""
    max_active_appointments: Mapped[int] = mapped_column(Integer, default=5)
    """Active (unvisited) appointments one person (ID number, across accounts) may hold at this hospital."""
    payment_required: Mapped[bool] = mapped_column(Boolean, default=False)
    booking_open: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False while the platform has closed the hospital for online booking (its catalog stays visible)."""
    waitlist_hold_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    """How long a freed slot is held for the waitlist's head to confirm (候补确认时限)."""
    waitlist_max_entries: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    """Open waitlist entries (候补) one account may have at this hospital at once."""
    member_share_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Of each session's online slots, this share is kept for members with the privilege (会员预留号源)."""
    member_share_opens_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    """The members' share opens to everyone this many hours before the session starts."""
    release_mode: Mapped[str] = mapped_column(String(10), default="fcfs", server_default="fcfs")
    """How a session's numbers are released: ``fcfs`` (先到先得) or ``window`` (放号窗口内排队，截止后公平抽签)."""
    release_window_seconds: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    """In ``window`` mode: how long after the release time requests are queued for the draw."""
    max_unpaid_holds: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """How many unpaid holds (待支付) one account may have at once in this hospital."""
    hold_abuse_threshold: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    """Unpaid holds cancelled or left to expire within ``hold_abuse_window_days`` that ban the account from
    booking for ``hold_abuse_ban_days`` (反复占号)."""
    hold_abuse_window_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    hold_abuse_ban_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    released_through: Mapped[date | None] = mapped_column(Date)
    """The last visit date whose schedules the release job has made from templates (放号进度)."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (
        Index("ix_departments_hospital_parent", "hospital_id", "parent_id"),
        UniqueConstraint("hospital_id", "parent_id", "name"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    """None for a top-level department (大科室); a clinic (科室) points to its parent."""
    name: Mapped[str] = mapped_column(String(60))
    name_initials: Mapped[str] = mapped_column(String(60), index=True)
    name_pinyin: Mapped[str] = mapped_column(String(360), default=name_column_default("name_pinyin"), server_default="")
    name_pinyin_keys: Mapped[str] = mapped_column(
        Text, default=name_column_default("name_pinyin_keys"), server_default=""
    )
    location: Mapped[str] = mapped_column(String(100), default="")
    intro: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False once closed by the hospital: hidden from patients, kept for history."""


class Doctor(Base):
    __tablename__ = "doctors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(30))
    name_initials: Mapped[str] = mapped_column(String(30), index=True)
    name_pinyin: Mapped[str] = mapped_column(String(180), default=name_column_default("name_pinyin"), server_default="")
    name_pinyin_keys: Mapped[str] = mapped_column(
        Text, default=name_column_default("name_pinyin_keys"), server_default=""
    )
    gender: Mapped[str] = mapped_column(String(2))  # 男 / 女
    title: Mapped[str] = mapped_column(String(10))  # DoctorTitle
    specialty: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    fee_fen: Mapped[int] = mapped_column(Integer)
    """Registration fee (挂号费) in fen."""
    rating_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Visible reviews (评价) of the doctor; kept by ``reviews`` in the unit of work that changes them."""
    rating_star_sum: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating_tags: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    """How many visible reviews carry each tag, ``{"耐心细致": 12}``."""
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False once the doctor has left the hospital: no new schedules, hidden from patients."""
