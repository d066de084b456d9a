"""What booking answers when it cannot do what was asked: stable codes, Chinese messages."""

from __future__ import annotations

from yiyue.core.errors import Conflict, Forbidden, InvalidInput, NotFound


class HospitalClosed(Conflict):
    code = "HOSPITAL_CLOSED"
    message = "该医院暂停网上预约"


class DoctorUnavailable(Conflict):
    code = "DOCTOR_UNAVAILABLE"
    message = "该医生或科室已停止网上预约"


class SoldOut(Conflict):
    code = "SOLD_OUT"
    message = "该时段号源已约满"


class SlotTaken(Conflict):
    code = "SLOT_TAKEN"
    message = "该号源已被预约，请选择其他号源"


class SlotNotFound(NotFound):
    code = "SLOT_NOT_FOUND"
    message = "号源不存在"


class DuplicateBooking(Conflict):
    code = "DUPLICATE_BOOKING"
    message = "该就诊人当天已预约过这位医生，请勿重复预约"


class BookingLimit(Conflict):
    code = "BOOKING_LIMIT"
    message = "该就诊人在本院的待就诊预约已达上限"


class AppointmentNotFound(NotFound):
    code = "APPOINTMENT_NOT_FOUND"
    message = "预约不存在"


class NotCancellable(Conflict):
    code = "NOT_CANCELLABLE"
    message = "该预约当前状态不能取消"


class IdempotencyKeyReused(InvalidInput):
    code = "IDEMPOTENCY_KEY_REUSED"
    message = "该幂等键已用于另一笔不同的预约请求"


class BookingBanned(Forbidden):
    code = "BOOKING_BANNED"
    message = "因多次爽约，暂时无法预约"


class VisitPersonHasAppointments(Conflict):
    code = "VISIT_PERSON_HAS_APPOINTMENTS"
    message = "该就诊人还有待就诊的预约，请先取消后再删除"


class TooManyUnpaidHolds(Conflict):
    code = "TOO_MANY_UNPAID_HOLDS"
    message = "您在本院有尚未支付的预约，请先完成支付或取消后再预约"
