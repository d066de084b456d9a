"""What a patient sees of their draw entries (抽签放号: 排队中 / 已中签 / 未中签), the draw's public record,
and what the release API reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import VisitPerson
from yiyue.booking import release_window
from yiyue.booking.models import ReleaseEntry, ReleaseEntryStatus
from yiyue.booking.release_service import DrawRecord
from yiyue.booking.schemas import DoctorRef
from yiyue.core.params import MAX_ID
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.scheduling.models import PERIOD_LABELS, Period, Schedule

STATUS_LABELS = {
    ReleaseEntryStatus.QUEUED: "排队中",
    ReleaseEntryStatus.WON: "已中签",
    ReleaseEntryStatus.LOST: "未中签",
}


class EntryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedule_id: int = Field(gt=0, le=MAX_ID, description="抽签放号的排班")
    patient_id: int = Field(gt=0, le=MAX_ID, description="就诊人 id")


class EntrySchedule(BaseModel):
    id: int
    visit_date: date
    period: str
    period_label: str
    starts_at: datetime
    release_at: datetime = Field(description="放号窗口开始")
    window_closes_at: datetime = Field(description="放号窗口结束，届时统一抽签")


class NamedRef(BaseModel):
    id: int
    name: str


class ReleaseEntryOut(BaseModel):
    id: int
    status: str = Field(description="queued（排队中）/ won（已中签）/ lost（未中签）")
    status_label: str
    weight: int = Field(description="抽签权重：1 + 会员等级的预约优先级")
    result_reason: str = Field(description="未中签的原因，如：未抽中、该就诊人当天已预约过这位医生")
    appointment_id: int | None = Field(description="中签后生成的预约（在线支付的医院需在支付时限内支付）")
    created_at: datetime
    decided_at: datetime | None
    schedule: EntrySchedule
    hospital: NamedRef
    department: NamedRef
    doctor: DoctorRef
    patient: NamedRef


class ReleaseEntryPage(BaseModel):
    items: list[ReleaseEntryOut]
    total: int
    page: int
    page_size: int


class DrawEntryOut(BaseModel):
    entry_id: int
    weight: int


class DrawRecordOut(BaseModel):
    """Anyone can re-run the draw: ``algorithm`` over (``seed``, ``entries``, ``capacity``) gives ``winners``."""

    schedule_id: int
    algorithm: str = Field(
        description="es-hmac-sha256-v1：Efraimidis–Spirakis 加权无放回抽样，随机数为 HMAC-SHA256(seed, entry_id)"
    )
    seed: str = Field(description="本次抽签的随机种子（64 位十六进制）")
    capacity: int = Field(description="抽签时的空余在线号源数")
    drawn_at: datetime
    entries: list[DrawEntryOut]
    winners: list[int] = Field(description="抽中的 entry_id（含抽中后因不再符合条件而未预约成功的）")
    booked: list[int] = Field(description="其中预约成功的 entry_id")
    reproduced: bool = Field(description="服务器按记录重新抽签的结果与 winners 一致")


def record_view(record: DrawRecord) -> DrawRecordOut:
    return DrawRecordOut(
        schedule_id=record.schedule_id,
        algorithm=record.algorithm,
        seed=record.seed,
        capacity=record.capacity,
        drawn_at=record.drawn_at,
        entries=[DrawEntryOut(entry_id=i, weight=w) for i, w in record.entries],
        winners=record.winners,
        booked=record.booked,
        reproduced=record.reproduces(),
    )


@dataclass(frozen=True)
class LoadedEntry:
    """An entry with what is shown of it (the read model of the draw, for views and messages)."""

    entry: ReleaseEntry
    schedule: Schedule
    hospital: Hospital
    department: Department
    doctor: Doctor
    person: VisitPerson


async def load(session: AsyncSession, entry_ids: Sequence[int]) -> list[LoadedEntry]:
    """These entries with their details, in the order given (one query)."""
    if not entry_ids:
        return []
    rows = await session.execute(
        select(ReleaseEntry, Schedule, Hospital, Department, Doctor, VisitPerson)
        .join(Schedule, Schedule.id == ReleaseEntry.schedule_id)
        .join(Hospital, Hospital.id == Schedule.hospital_id)
        .join(Department, Department.id == Schedule.department_id)
        .join(Doctor, Doctor.id == Schedule.doctor_id)
        .join(VisitPerson, VisitPerson.id == ReleaseEntry.visit_person_id)
        .where(ReleaseEntry.id.in_(entry_ids))
        .execution_options(populate_existing=True)
    )
    by_id = {row[0].id: LoadedEntry(*row) for row in rows.tuples()}
    return [by_id[i] for i in entry_ids if i in by_id]


async def entry_views(session: AsyncSession, entries: Sequence[ReleaseEntry]) -> list[ReleaseEntryOut]:
    return [entry_view(loaded) for loaded in await load(session, [e.id for e in entries])]


def entry_view(loaded: LoadedEntry) -> ReleaseEntryOut:
    entry, schedule, hospital = loaded.entry, loaded.schedule, loaded.hospital
    return ReleaseEntryOut(
        id=entry.id,
        status=entry.status,
        status_label=STATUS_LABELS[ReleaseEntryStatus(entry.status)],
        weight=entry.weight,
        result_reason=entry.result_reason,
        appointment_id=entry.appointment_id,
        created_at=entry.created_at,
        decided_at=entry.decided_at,
        schedule=EntrySchedule(
            id=schedule.id,
            visit_date=schedule.visit_date,
            period=schedule.period,
            period_label=PERIOD_LABELS[Period(schedule.period)],
            starts_at=schedule.starts_at,
            release_at=schedule.release_at,
            window_closes_at=release_window.closes_at(schedule, hospital),
        ),
        hospital=NamedRef(id=hospital.id, name=hospital.name),
        department=NamedRef(id=loaded.department.id, name=loaded.department.name),
        doctor=DoctorRef(id=loaded.doctor.id, name=loaded.doctor.name, title=loaded.doctor.title),
        patient=NamedRef(id=loaded.person.id, name=loaded.person.name),
    )
