"""What the booking API reads and answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yiyue.booking.models import AppointmentStatus
from yiyue.core.errors import InvalidInput
from yiyue.core.params import MAX_ID


class BookingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedule_id: int = Field(gt=0, le=MAX_ID)
    slot_id: int | None = Field(default=None, gt=0, le=MAX_ID, description="指定号源；不填则分配最早的空闲号源")
    patient_id: int = Field(gt=0, le=MAX_ID, description="就诊人 id")


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class HospitalRef(BaseModel):
    id: int
    name: str
    address: str


class DepartmentRef(BaseModel):
    id: int
    name: str
    location: str


class DoctorRef(BaseModel):
    id: int
    name: str
    title: str


class PatientRef(BaseModel):
    id: int
    name: str
    id_number_masked: str
    phone_masked: str


class AppointmentOut(BaseModel):
    id: int
    status: str
    status_label: str
    queue_number: int
    fee_fen: int
    visit_date: date
    period: str
    period_label: str
    starts_at: datetime = Field(description="所持号源的就诊时段开始")
    ends_at: datetime
    check_in_code: str
    created_at: datetime
    cancel_deadline: datetime
    cancellable: bool
    pay_deadline: datetime | None = None
    hospital: HospitalRef
    department: DepartmentRef
    doctor: DoctorRef
    patient: PatientRef
    schedule_id: int
    slot_id: int


class InvalidStatusFilter(InvalidInput):
    code = "INVALID_STATUS_FILTER"
    message = "预约状态筛选值无效"


def parse_statuses(status: str | None) -> list[AppointmentStatus] | None:
    """``booked,cancelled`` -> the statuses; an unknown one is a 422 naming the allowed values."""
    if not status:
        return None
    try:
        return [AppointmentStatus(s.strip()) for s in status.split(",") if s.strip()]
    except ValueError:
        raise InvalidStatusFilter(detail={"allowed": [s.value for s in AppointmentStatus]}) from None
