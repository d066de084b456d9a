"""今日概览 in the staff API: the day of the caller's hospital (a doctor: their own sessions), or of every
hospital for the platform administrator."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from yiyue.accounts.staff.deps import CurrentStaff
from yiyue.accounts.staff.errors import STAFF_AUTH_ERRORS
from yiyue.accounts.staff.models import StaffRole
from yiyue.core.clock import local_today
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.errors import INPUT_ERRORS, responses
from yiyue.core.params import MAX_ID, IsoDate
from yiyue.frontdesk import today
from yiyue.hospitals.service import HospitalNotFound
from yiyue.scheduling.models import PERIOD_LABELS, Period

router = APIRouter(prefix="/api/v1/staff", tags=["医院工作人员"])


class TallyOut(BaseModel):
    sessions: int = Field(description="出诊排班数（含停诊）")
    suspended: int = Field(description="停诊排班数")
    capacity: int = Field(description="号源总数（不含停诊排班）")
    capacity_online: int = Field(description="线上号源")
    capacity_onsite: int = Field(description="现场号源")
    booked: int = Field(description="已占号（待支付、待就诊、已签到、已就诊、爽约）")
    booked_online: int
    booked_onsite: int
    checked_in: int = Field(description="已签到（含已完成就诊）")
    completed: int = Field(description="已完成就诊")
    no_shows: int = Field(description="爽约")


class DepartmentLoadOut(BaseModel):
    department_id: int
    name: str
    sessions: int
    booked: int
    capacity: int


class SessionLoadOut(BaseModel):
    schedule_id: int
    department_id: int
    department_name: str
    doctor_id: int
    doctor_name: str
    doctor_title: str
    period: str
    period_label: str
    starts_at: datetime
    ends_at: datetime
    booked: int
    capacity: int
    checked_in: int


class HospitalDayOut(BaseModel):
    hospital_id: int
    hospital_name: str
    booking_open: bool
    totals: TallyOut
    cancelled: int = Field(description="当日退号数（按退号时间，任意就诊日期）")
    departments: list[DepartmentLoadOut]
    upcoming: list[SessionLoadOut] = Field(description="当日尚未结束的出诊，按开始时间")


class HospitalLineOut(BaseModel):
    hospital_id: int
    name: str
    city: str
    booking_open: bool = Field(description="是否开放线上预约")
    sessions: int
    suspended: int
    booked: int
    capacity: int


class TodayOut(BaseModel):
    date: date
    hospital: HospitalDayOut | None = Field(description="一家医院的概览（平台管理员未指定医院时为 null）")
    hospitals: list[HospitalLineOut] = Field(description="平台管理员：每家医院一行；其他角色为空")


def tally_out(t: today.Tally) -> TallyOut:
    return TallyOut(
        sessions=t.sessions,
        suspended=t.suspended,
        capacity=t.capacity,
        capacity_online=t.capacity_online,
        capacity_onsite=t.capacity_onsite,
        booked=t.booked,
        booked_online=t.booked_online,
        booked_onsite=t.booked_onsite,
        checked_in=t.checked_in,
        completed=t.completed,
        no_shows=t.no_shows,
    )


def hospital_day_out(d: today.HospitalDay) -> HospitalDayOut:
    return HospitalDayOut(
        hospital_id=d.hospital_id,
        hospital_name=d.hospital_name,
        booking_open=d.booking_open,
        totals=tally_out(d.tally),
        cancelled=d.cancelled,
        departments=[
            DepartmentLoadOut(
                department_id=x.department_id,
                name=x.name,
                sessions=x.tally.sessions,
                booked=x.tally.booked,
                capacity=x.tally.capacity,
            )
            for x in d.departments
        ],
        upcoming=[
            SessionLoadOut(
                schedule_id=s.schedule_id,
                department_id=s.department_id,
                department_name=s.department_name,
                doctor_id=s.doctor_id,
                doctor_name=s.doctor_name,
                doctor_title=s.doctor_title,
                period=s.period,
                period_label=PERIOD_LABELS[Period(s.period)],
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                booked=s.tally.booked,
                capacity=s.tally.capacity,
                checked_in=s.tally.checked_in,
            )
            for s in d.upcoming
        ],
    )


@router.get(
    "/today",
    summary="今日概览：本院当日出诊、号源、签到、爽约、退号（医生仅本人；平台管理员为每家医院一行）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, HospitalNotFound),
)
async def day_overview(
    session: SessionDep,
    staff: CurrentStaff,
    clock: ClockDep,
    day: Annotated[IsoDate | None, Query(alias="date", description="日期（医院当地），默认今天")] = None,
    hospital_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="平台管理员查看某家医院")] = None,
) -> TodayOut:
    now = clock.now()
    if staff.role == StaffRole.PLATFORM_ADMIN and hospital_id is None:
        lines = await today.platform_day(session, staff=staff, day=day, now=now)
        return TodayOut(
            date=day or local_today(now),
            hospital=None,
            hospitals=[
                HospitalLineOut(
                    hospital_id=x.hospital_id,
                    name=x.name,
                    city=x.city,
                    booking_open=x.booking_open,
                    sessions=x.tally.sessions,
                    suspended=x.tally.suspended,
                    booked=x.tally.booked,
                    capacity=x.tally.capacity,
                )
                for x in lines
            ],
        )
    summary = await today.hospital_day(session, staff=staff, hospital_id=hospital_id, day=day, now=now)
    return TodayOut(date=summary.day, hospital=hospital_day_out(summary), hospitals=[])
