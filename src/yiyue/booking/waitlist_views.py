"""What a patient sees of their waitlist entries (候补), the read model it is rendered from, and what the
waitlist API reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from yiyue.accounts.models import VisitPerson
from yiyue.booking.models import WaitlistEntry, WaitlistStatus
from yiyue.booking.schemas import DoctorRef
from yiyue.booking.waitlist import ahead_of
from yiyue.core.params import MAX_ID
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.scheduling.models import PERIOD_LABELS, Period, Schedule, Slot

STATUS_LABELS = {
    WaitlistStatus.WAITING: "候补中",
    WaitlistStatus.OFFERED: "待确认",
    WaitlistStatus.BOOKED: "已预约",
    WaitlistStatus.ENDED: "已结束",
}


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedule_id: int = Field(gt=0, le=MAX_ID, description="已约满的排班")
    patient_id: int = Field(gt=0, le=MAX_ID, description="就诊人 id")


class EntrySchedule(BaseModel):
    id: int
    visit_date: date
    period: str
    period_label: str
    starts_at: datetime


class NamedRef(BaseModel):
    id: int
    name: str


class OfferOut(BaseModel):
    """The slot held for the entry until ``expires_at``; confirm before then or it passes on."""

    slot_number: int = Field(description="为您保留的就诊序号")
    expires_at: datetime
    seconds_left: int = Field(description="距确认截止的秒数（服务器此刻计算，0 表示已到期）")


class WaitlistEntryOut(BaseModel):
    id: int
    status: str = Field(description="waiting / offered / booked / ended")
    status_label: str
    position: int | None = Field(description="候补中时排第几位（从 1 开始），其他状态为空")
    waiting_ahead: int | None = Field(description="候补中时前面还有几人，其他状态为空")
    joined_at: datetime
    schedule: EntrySchedule
    hospital: NamedRef
    department: NamedRef
    doctor: DoctorRef
    patient: NamedRef
    offer: OfferOut | None
    appointment_id: int | None = Field(description="候补成功后的预约")
    end_reason: str = Field(description="候补结束的原因，如：超时未确认、已取消候补、医生停诊、已停止挂号")


class WaitlistPage(BaseModel):
    items: list[WaitlistEntryOut]
    total: int
    page: int
    page_size: int


class ScheduleWaitlistOut(BaseModel):
    waiting: int = Field(description="正在候补的人数")
    can_join: bool = Field(description="现在能否加入候补：该时段可预约且网上号源已约满")
    hold_minutes: int = Field(description="候补到号源后为您保留的分钟数")


@dataclass(frozen=True)
class LoadedEntry:
    """An entry with what is shown of it (the read model of the waitlist, for views and messages)."""

    entry: WaitlistEntry
    schedule: Schedule
    hospital: Hospital
    department: Department
    doctor: Doctor
    person: VisitPerson
    slot: Slot | None
    """The slot held for it (offered) or booked from it."""
    waiting_ahead: int
    """Entries ahead of it in line (meaningful while it waits)."""


async def load(session: AsyncSession, entry_ids: Sequence[int]) -> list[LoadedEntry]:
    """These entries with their details and places in line, in the order given (one query)."""
    if not entry_ids:
        return []
    other = aliased(WaitlistEntry)
    ahead = select(func.count()).where(ahead_of(WaitlistEntry, other)).correlate(WaitlistEntry).scalar_subquery()
    rows = await session.execute(
        select(WaitlistEntry, Schedule, Hospital, Department, Doctor, VisitPerson, Slot, ahead)
        .join(Schedule, Schedule.id == WaitlistEntry.schedule_id)
        .join(Hospital, Hospital.id == WaitlistEntry.hospital_id)
        .join(Department, Department.id == Schedule.department_id)
        .join(Doctor, Doctor.id == WaitlistEntry.doctor_id)
        .join(VisitPerson, VisitPerson.id == WaitlistEntry.visit_person_id)
        .outerjoin(Slot, Slot.id == WaitlistEntry.slot_id)
        .where(WaitlistEntry.id.in_(entry_ids))
        .execution_options(populate_existing=True)
    )
    by_id = {
        entry.id: LoadedEntry(entry, schedule, hospital, department, doctor, person, slot, int(ahead_count or 0))
        for entry, schedule, hospital, department, doctor, person, slot, ahead_count in rows.tuples()
    }
    return [by_id[i] for i in entry_ids if i in by_id]


async def entry_views(
    session: AsyncSession, entries: Sequence[WaitlistEntry], *, now: datetime
) -> list[WaitlistEntryOut]:
    """Renders entries with one query for all their details and places in line."""
    return [entry_view(loaded, now=now) for loaded in await load(session, [e.id for e in entries])]


def entry_view(loaded: LoadedEntry, *, now: datetime) -> WaitlistEntryOut:
    entry, schedule, slot = loaded.entry, loaded.schedule, loaded.slot
    waiting = entry.status == WaitlistStatus.WAITING
    offer = None
    if entry.status == WaitlistStatus.OFFERED and slot is not None and entry.offer_expires_at is not None:
        left = max(0, int((entry.offer_expires_at - now).total_seconds()))
        offer = OfferOut(slot_number=slot.number, expires_at=entry.offer_expires_at, seconds_left=left)
    return WaitlistEntryOut(
        id=entry.id,
        status=entry.status,
        status_label=STATUS_LABELS[WaitlistStatus(entry.status)],
        position=loaded.waiting_ahead + 1 if waiting else None,
        waiting_ahead=loaded.waiting_ahead if waiting else None,
        joined_at=entry.joined_at,
        schedule=EntrySchedule(
            id=schedule.id,
            visit_date=schedule.visit_date,
            period=schedule.period,
            period_label=PERIOD_LABELS[Period(schedule.period)],
            starts_at=schedule.starts_at,
        ),
        hospital=NamedRef(id=loaded.hospital.id, name=loaded.hospital.name),
        department=NamedRef(id=loaded.department.id, name=loaded.department.name),
        doctor=DoctorRef(id=loaded.doctor.id, name=loaded.doctor.name, title=loaded.doctor.title),
        patient=NamedRef(id=loaded.person.id, name=loaded.person.name),
        offer=offer,
        appointment_id=entry.appointment_id,
        end_reason=entry.end_reason,
    )
