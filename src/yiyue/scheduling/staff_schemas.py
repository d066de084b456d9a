"""What the staff scheduling API reads and answers: weekly templates, schedules, one-off sessions, 放号."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yiyue.core.params import MAX_ID
from yiyue.scheduling.models import Period


class TemplateCellIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6, description="星期：0=周一 … 6=周日")
    period: Period = Field(description="时段：morning 上午 / afternoon 下午 / evening 晚上")
    capacity: int = Field(description="号源数（1-200；0 表示该时段不出诊）")
    onsite_quota: int = Field(default=0, description="现场号：末尾保留给现场挂号的号数（0-号源数）")
    slot_minutes: int | None = Field(default=None, description="每号时长（10-60分钟）；不填按人数自动 15/30 分钟")
    active: bool = Field(default=True, description="停用的格子保留设置，但不再放号")


class WeekIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cells: list[TemplateCellIn] = Field(
        max_length=21, description="一周出诊的格子；未列出的星期×时段视为不出诊（整周一次保存）"
    )


class TemplateCellOut(BaseModel):
    weekday: int
    weekday_label: str
    period: str
    period_label: str
    capacity: int
    onsite_quota: int
    slot_minutes: int | None
    active: bool


class WeekOut(BaseModel):
    doctor_id: int
    doctor_name: str
    department_id: int
    cells: list[TemplateCellOut]


class StaffScheduleOut(BaseModel):
    """A schedule as the hospital sees it."""

    id: int
    hospital_id: int
    visit_date: date
    period: str
    period_label: str
    starts_at: datetime
    ends_at: datetime
    department_id: int
    department_name: str
    doctor_id: int
    doctor_name: str
    doctor_title: str
    capacity: int
    onsite_quota: int
    taken: int = Field(description="已被预约（含待支付）的号数")
    available: int = Field(description="线上仍可预约的号数")
    onsite_free: int = Field(description="未用的现场号")
    fee_fen: int
    status: str = Field(description="open 开放 / suspended 停诊")
    state: str = Field(description="open 开放 / unreleased 未放号 / suspended 停诊 / over 已结束")
    state_label: str
    release_at: datetime
    release_mode: str | None = Field(
        default=None, description="本排班的放号方式：fcfs 先到先得 / window 抽签放号；null 跟随医院设置"
    )


class StaffScheduleList(BaseModel):
    items: list[StaffScheduleOut]
    total: int
    page: int
    page_size: int
    start: date
    end: date


class NewScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doctor_id: int = Field(gt=0, le=MAX_ID)
    visit_date: date
    period: Period
    capacity: int = Field(description="号源数（1-200）")
    onsite_quota: int = Field(default=0, description="现场号（0-号源数）")
    slot_minutes: int | None = Field(default=None, description="每号时长（10-60分钟）；不填自动")
    release_mode: Literal["fcfs", "window"] | None = Field(
        default=None, description="放号方式：fcfs 先到先得 / window 抽签放号；不填跟随医院设置"
    )


class ReleaseModeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    release_mode: Literal["fcfs", "window"] | None = Field(
        description="放号方式：fcfs 先到先得 / window 抽签放号；null 跟随医院设置（仅放号前可改）"
    )


class ScheduleChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    capacity: int | None = Field(default=None, description="新的号源数；放号后只能增加")
    onsite_quota: int | None = Field(default=None, description="新的现场号数；放号后只能随新增号源增加")


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(description="放未来几天的号（1-本院放号周期天数）")


class ReleaseOut(BaseModel):
    made: int = Field(description="新生成的排班数（已有的排班不会重复生成）")
    first: date
    last: date


class SubstituteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doctor_id: int = Field(gt=0, le=MAX_ID, description="替诊医生：同科室、在职、该时段无排班")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = Field(
        default="", description="原医生不能出诊的原因（可选），会告知患者"
    )


class SubstituteOut(BaseModel):
    schedule_id: int
    from_doctor_id: int
    doctor_id: int
    doctor_name: str
    moved_appointments: int = Field(description="转给替诊医生的预约数（序号、时间不变）")
