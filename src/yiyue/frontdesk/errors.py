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
