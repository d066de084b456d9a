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
    remaining: int = Field(description="余号：可在线预约的空余号源（含会员预留）")
    member_reserved: int = Field(
        default=0,
        description="余号中为会员预留的号源数（会员预留开放给所有患者后为 0），非会员可约 remaining - member_reserved",
    )
    member_share_opens_at: datetime | None = Field(
        default=None, description="会员预留号源向所有患者开放的时间（有会员预留余号时）"
    )
    member_release_at: datetime | None = Field(
        default=None, description="会员最早可提前预约的时间（放号时间减去最高等级的提前分钟数；无等级提前时为 null）"
    )
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
    release_mode: str = Field(default="fcfs", description="放号方式：fcfs（先到先得）/ window（抽签放号）")
    release_mode_label: str = Field(default="先到先得", description="先到先得 / 抽签放号")
    release_window_closes_at: datetime | None = Field(
        default=None,
        description="抽签放号：放号窗口结束时间（release_at 至此时间内参加抽签，结束后统一抽签）；先到先得为 null",
    )
    release_window_open: bool = Field(default=False, description="抽签放号：现在处于放号窗口内，可参加抽签")


class ScheduleList(BaseModel):
    items: list[ScheduleOut]
    total: int


class SlotOut(BaseModel):
    id: int
    number: int
    starts_at: datetime
    ends_at: datetime
    status: str
    member_only: bool = Field(default=False, description="会员预留号源")
    reopening: bool = Field(
        default=False, description="该号源因未支付被取消或超时而释放，将在随机延时后回流（此前不可预约，显示为 held）"
    )
    reopening_note: str | None = Field(default=None, description="如「号源将随机回流」")


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
