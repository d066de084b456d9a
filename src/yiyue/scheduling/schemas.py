from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from yiyue.hospitals.schemas import DoctorBrief


class ScheduleOut(BaseModel):
    id: int
    doctor_id: int
    visit_date: date
    period: str
    period_label: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    remaining: int
    fee_fen: int
    status: str = Field(description="open / suspended (停诊: remaining is 0)")
    status_label: str
    released: bool
    release_at: datetime
    booking_closes_at: datetime
    bookable: bool
    cancel_deadline: datetime = Field(description="退号截止时间")
    booking_notice: str | None = Field(
        default=None, description="现在预约将不可取消/退款时须在预约前提示的文字，如：就诊当日预约，支付后不可取消退款"
    )


class ScheduleList(BaseModel):
    items: list[ScheduleOut]
    total: int


class SlotOut(BaseModel):
    id: int
    number: int
    starts_at: datetime
    ends_at: datetime
    status: str


class SlotList(BaseModel):
    items: list[SlotOut]
    total: int
    schedule: ScheduleOut


class DoctorOnDay(DoctorBrief):
    remaining: int
    schedules: list[ScheduleOut]


class DoctorsOnDay(BaseModel):
    items: list[DoctorOnDay]
    total: int
    page: int
    page_size: int
    date: date


class DayAvailability(BaseModel):
    date: date
    capacity: int
    remaining: int
    released: bool
    release_at: datetime


class DayAvailabilityList(BaseModel):
    items: list[DayAvailability]
