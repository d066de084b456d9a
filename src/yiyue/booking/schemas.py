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


class RefundOut(BaseModel):
    status: str = Field(description="processing / succeeded / abnormal")
    status_label: str
    amount_fen: int
    refunded_at: datetime | None = None


class PaymentOut(BaseModel):
    """The appointment's money as the patient sees it."""

    status: str = Field(description="unpaid / paid / refunding / refunded / not_required / pay_on_site")
    status_label: str
    amount_fen: int = Field(description="应付（已付）金额：挂号费减去会员折扣")
    original_fen: int = Field(default=0, description="折前挂号费")
    discount_fen: int = Field(default=0, description="会员折扣优惠金额（按分向下取整应付，零头让利给患者）")
    discount_label: str | None = Field(default=None, description="如：会员优惠 -¥2.50（无折扣时为 null）")
    paid_at: datetime | None = None
    refund: RefundOut | None = None


class RebookOptionOut(BaseModel):
    schedule_id: int
    slot_id: int
    same_doctor: bool
    doctor: DoctorRef
    department: DepartmentRef
    visit_date: date
    period: str
    period_label: str
    starts_at: datetime
    ends_at: datetime
    queue_number: int
    fee_fen: int


class RebookOut(BaseModel):
    """停诊改约: slots held for this patient until ``expires_at``; one tap takes one of them."""

    expires_at: datetime
    accepted_appointment_id: int | None = None
    options: list[RebookOptionOut]


class RebookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedule_id: int = Field(gt=0, le=MAX_ID, description="改约到的排班（须为改约方案之一）")


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
    cancellable: bool = Field(description="现在能否取消：与取消接口执行的是同一条规则")
    refund_on_cancel: bool = Field(description="现在取消是否退款")
    cancel_rule: str = Field(description="取消规则（给患者看的文字）")
    pay_deadline: datetime | None = Field(default=None, description="在线支付的截止时间（支付或过期后仍保留）")
    payment_notice: str | None = Field(
        default=None, description="支付前须提示的文字，如：就诊当日预约，支付后不可取消退款"
    )
    payment: PaymentOut
    status_reason: str = Field(default="", description="取消或停诊的原因")
    rebook: RebookOut | None = None
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
