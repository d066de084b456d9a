"""What the front desk answers when it cannot do what was asked."""

from __future__ import annotations

from yiyue.core.errors import Conflict, InvalidInput, NotFound


class ScheduleAlreadySuspended(Conflict):
    code = "SCHEDULE_ALREADY_SUSPENDED"
    message = "该排班已停诊"


class ScheduleAlreadyOver(Conflict):
    code = "SCHEDULE_OVER"
    message = "该时段已结束，无法停诊"


class CheckInNotOpen(Conflict):
    code = "CHECK_IN_NOT_OPEN"
    message = "尚未到签到时间（就诊时段开始前60分钟起可签到）"


class CheckInClosed(Conflict):
    code = "CHECK_IN_CLOSED"
    message = "该就诊时段已结束，无法签到"


class NotCheckable(Conflict):
    code = "NOT_CHECKABLE"
    message = "该预约当前状态不能签到"


class NotCompletable(Conflict):
    code = "NOT_COMPLETABLE"
    message = "该预约尚未签到或已结束，不能完成就诊"


class CheckInCodeNotFound(NotFound):
    code = "CHECK_IN_CODE_NOT_FOUND"
    message = "未找到今日待签到的预约，请核对签到码"


class CheckInCodeAmbiguous(Conflict):
    code = "CHECK_IN_CODE_AMBIGUOUS"
    message = "该签到码对应多个预约，请指定排班后重试"


class HospitalRequired(InvalidInput):
    code = "HOSPITAL_ID_REQUIRED"
    message = "平台管理员查询预约须指定医院（hospital_id）"


class NotNoShowable(Conflict):
    code = "NOT_NO_SHOWABLE"
    message = "只有待就诊（未签到）的预约才能记为爽约"


class NoShowTooEarly(Conflict):
    code = "NO_SHOW_TOO_EARLY"
    message = "就诊时段尚未结束，不能记录爽约"


class InvalidSearch(InvalidInput):
    code = "INVALID_SEARCH"
    message = "请输入8位签到码、手机号后4位或患者姓名"


class OnsiteSoldOut(Conflict):
    code = "ONSITE_SOLD_OUT"
    message = "该时段现场号已挂完，请选择其他医生或时段"


class SessionNotOpen(Conflict):
    code = "SESSION_NOT_OPEN"
    message = "该时段已停诊或已结束，不能挂号"


class IdNumberNameMismatch(Conflict):
    code = "ID_NUMBER_NAME_MISMATCH"
    message = "该身份证号已登记为其他姓名，请核对患者姓名与证件"


class BanNotFound(NotFound):
    code = "BAN_NOT_FOUND"
    message = "爽约限制记录不存在"


class BanNotInForce(Conflict):
    code = "BAN_NOT_IN_FORCE"
    message = "该限制已到期或已解除"
