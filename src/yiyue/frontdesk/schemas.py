"""What the front desk reads and answers: appointments as hospital staff see them, check-in, 停诊."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yiyue.core.params import MAX_ID


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
    updated_at: datetime


class SuspendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)] = Field(
        description="停诊原因，会告知每位患者"
    )


class SuspendOut(BaseModel):
    schedule_id: int
    status: str
    suspended_appointments: int
