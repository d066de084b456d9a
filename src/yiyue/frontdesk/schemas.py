"""What the front desk reads and answers: appointments as hospital staff see them, the day's sessions,
check-in, no-shows, 停诊, walk-in registration, bans and revealing a patient's full details."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yiyue.accounts.schemas import PersonName
from yiyue.booking.schemas import PaymentOut
from yiyue.core.params import MAX_ID

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]


class CheckInByCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{8}$")] = Field(
        description="患者出示的8位签到码"
    )
    schedule_id: int | None = Field(default=None, gt=0, le=MAX_ID, description="签到码重复时指定排班")


class StaffDepartmentRef(BaseModel):
    id: int
    name: str


class StaffDoctorRef(BaseModel):
    id: int
    name: str
    title: str


class StaffPatientRef(BaseModel):
    name_masked: str = Field(description="脱敏姓名，如 张*丰")
    sex: str


class StaffAppointmentOut(BaseModel):
    """An appointment as hospital staff see it: no ID number, no phone, no check-in code."""

    id: int
    status: str
    status_label: str
    queue_number: int
    visit_date: date
    period: str
    period_label: str
    starts_at: datetime = Field(description="号源就诊时段开始")
    ends_at: datetime
    hospital_id: int
    schedule_id: int
    department: StaffDepartmentRef
    doctor: StaffDoctorRef
    patient: StaffPatientRef
    channel: str = Field(description="online：线上预约；onsite：现场挂号")
    updated_at: datetime
    payment: PaymentOut
    status_reason: str = Field(default="", description="取消或停诊的原因")


class SuspendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)] = Field(
        description="停诊原因，会告知每位患者"
    )


class SuspendOut(BaseModel):
    schedule_id: int
    status: str
    suspended_appointments: int


class SessionCountsOut(BaseModel):
    booked: int = Field(description="待就诊（未签到）")
    pending_payment: int = Field(description="待支付（线上支付未完成）")
    checked_in: int
    completed: int
    no_show: int
    cancelled: int = Field(description="已取消、已过期或已停诊")


class StaffSessionOut(BaseModel):
    """One session (排班) of the day with where its patients stand; no patient is named."""

    schedule_id: int
    visit_date: date
    period: str
    period_label: str
    starts_at: datetime
    ends_at: datetime
    status: str
    department: StaffDepartmentRef
    doctor: StaffDoctorRef
    capacity: int
    fee_fen: int
    counts: SessionCountsOut
    online_left: int = Field(description="剩余线上号源")
    onsite_left: int = Field(description="剩余现场号")


class WalkInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedule_id: int = Field(gt=0, le=MAX_ID, description="有现场号的排班")
    name: PersonName = Field(description="患者姓名")
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] = Field(
        description="居民身份证号码（性别、出生日期由号码得出）"
    )
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] = Field(description="手机号")


class WalkInOut(StaffAppointmentOut):
    """The registration as the window prints it: with the check-in code the patient shows."""

    check_in_code: str = Field(description="8位签到码，打印给患者")
    fee_fen: int = Field(description="挂号费（分），在窗口收取")
    new_patient: bool = Field(description="首次登记的患者")


class BanOut(BaseModel):
    id: int
    account_id: int
    kind: str = Field(default="no_show", description="no_show：爽约；hold_abuse：反复取消或超时未支付占号")
    kind_label: str = Field(default="爽约", description="限制类型（爽约 / 反复占号）")
    patients_masked: list[str] = Field(description="在本院爽约（或占号未支付）的就诊人（脱敏姓名）")
    no_shows_here: int = Field(description="在本院的爽约次数")
    last_no_show: date | None
    holds_let_go_here: int = Field(default=0, description="在本院取消或超时未支付的占号次数（反复占号限制）")
    reason: str
    starts_at: datetime
    ends_at: datetime


class LiftBanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="提前解除的原因（记入操作日志）")


class LiftedBanOut(BaseModel):
    id: int
    account_id: int
    ends_at: datetime
    lifted_at: datetime
    lifted_by: str
    lift_reason: str


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="查看原因（记入操作日志）")


class RevealedOut(BaseModel):
    """A visit person's full details, shown once; the access is audited."""

    appointment_id: int
    visit_person_id: int
    name: str
    sex: str
    birth_date: date
    id_number: str
    phone: str
