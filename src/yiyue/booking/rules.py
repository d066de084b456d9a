"""Pure booking rules: when a schedule can be booked and an appointment cancelled. No database."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from yiyue.booking.errors import HospitalClosed, NotCancellable
from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.core.clock import HOSPITAL_TZ
from yiyue.core.errors import Conflict
from yiyue.hospitals.models import Hospital
from yiyue.members.rules import EarlyWindow, Privileges, describe_early, discounted
from yiyue.scheduling import rules as scheduling_rules
from yiyue.scheduling.models import Schedule, ScheduleStatus


class NotReleased(Conflict):
    code = "NOT_RELEASED"
    message = "该日号源尚未开放预约"


class BookingClosed(Conflict):
    code = "BOOKING_CLOSED"
    message = "该时段已停止预约"


class ScheduleSuspended(Conflict):
    code = "SCHEDULE_SUSPENDED"
    message = "该医生此时段已停诊"


class MemberShareOnly(Conflict):
    code = "MEMBER_SHARE_ONLY"
    message = "剩余号源为会员预留，暂未向所有患者开放"


class CancelDeadlinePassed(Conflict):
    code = "CANCEL_DEADLINE_PASSED"
    message = "已过退号截止时间，无法取消"


def check_bookable(
    schedule: Schedule,
    hospital: Hospital,
    *,
    now: datetime,
    early_minutes: int = 0,
    early_windows: Sequence[EarlyWindow] = (),
) -> None:
    """The hospital takes online bookings; the schedule is open, released (放号), and before the hospital's
    cut-off for the session. A member whose level books ``early_minutes`` before the release may book
    from then (提前预约); a refusal before the release names the levels that book early
    (``early_windows``)."""
    if hospital.booking_open is False:  # (None on a hospital not yet saved: the column's default, open)
        raise HospitalClosed()
    if schedule.status == ScheduleStatus.SUSPENDED:
        raise ScheduleSuspended()
    closes_at = scheduling_rules.booking_closes_at(schedule.starts_at, stop_minutes_before=hospital.stop_minutes_before)
    if now >= closes_at:
        raise BookingClosed()
    if now < schedule.release_at - timedelta(minutes=max(early_minutes, 0)):
        release = schedule.release_at.astimezone(HOSPITAL_TZ)
        members = describe_early(early_windows)
        raise NotReleased(
            f"该日号源将于{release:%m月%d日 %H:%M}开放预约" + (f"（会员提前预约：{members}）" if members else ""),
            detail={
                "release_at": schedule.release_at.isoformat(),
                "early_booking": [
                    {
                        "level_name": w.level_name,
                        "minutes": w.minutes,
                        "opens_at": (schedule.release_at - timedelta(minutes=w.minutes)).isoformat(),
                    }
                    for w in early_windows
                ],
            },
        )


def member_share_open(schedule: Schedule, hospital: Hospital, *, now: datetime) -> bool:
    """Whether the members' share of the session (会员预留号源) is open to everyone by ``now``."""
    return now >= scheduling_rules.member_share_opens_at(
        schedule.starts_at, opens_hours=hospital.member_share_opens_hours
    )


def member_share_refusal(schedule: Schedule, hospital: Hospital) -> MemberShareOnly:
    """What a patient without the privilege is told when only the members' share is left."""
    opens = scheduling_rules.member_share_opens_at(schedule.starts_at, opens_hours=hospital.member_share_opens_hours)
    return MemberShareOnly(
        f"剩余号源为会员预留，将于{opens.astimezone(HOSPITAL_TZ):%m月%d日 %H:%M}向所有患者开放",
        detail={"opens_at": opens.isoformat()},
    )


def pays_first(schedule: Schedule, hospital: Hospital, perks: Privileges) -> bool:
    """The slot is held until paid online: the hospital takes payment online and, after the member
    discount, something is left to pay."""
    payable, _ = discounted(schedule.fee_fen, perks.discount_percent)
    return hospital.payment_required and payable > 0


def cancel_deadline(schedule: Schedule, hospital: Hospital) -> datetime:
    return scheduling_rules.cancel_deadline(schedule.starts_at, cancel_minutes_before=hospital.cancel_minutes_before)


VISITED_OR_DUE = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
)


def was_paid_online(appointment: Appointment) -> bool:
    """Its fee reached us through WeChat Pay: payments noted the time, or (rows older than that note) a
    hold that went on to be booked, which only a payment does."""
    if appointment.paid_at is not None:
        return True
    return appointment.pay_deadline is not None and appointment.status in VISITED_OR_DUE


REFUND_LABELS = {"processing": "退款中", "succeeded": "已退款", "abnormal": "退款异常", "closed": "退款异常"}
"""``payments.models.RefundStatus`` as the patient reads it (a closed refund failed: staff follow it up)."""


def money_state(appointment: Appointment) -> tuple[str, str]:
    """Where the appointment's fee stands: (status, label) — refunded, refunding, paid, unpaid (an online
    payment not made), not_required (free), pay_on_site (paid at the hospital's window, 到院支付)."""
    if appointment.refund_status == "succeeded":
        return "refunded", "已退款"
    if appointment.refund_status is not None:
        return "refunding", "退款中"
    if was_paid_online(appointment):
        return "paid", "已支付"
    if appointment.pay_deadline is not None:
        pending = appointment.status == AppointmentStatus.PENDING_PAYMENT
        return "unpaid", "待支付" if pending else "未支付"
    if appointment.fee_fen == 0:
        return "not_required", "无需支付"
    return "pay_on_site", "到院支付"


@dataclass(frozen=True)
class CancelTerms:
    """Whether the patient may cancel now and what happens to the money: the one rule the cancel use case
    enforces and every view shows."""

    cancellable: bool
    refund_on_cancel: bool
    rule: str
    """The rule in the patient's words."""
    refusal: Conflict | None = None
    """What cancelling now is answered with, when it is refused."""


def cancel_terms(
    appointment: Appointment, hospital: Hospital, deadline: datetime, *, now: datetime, can_cancel_late: bool = False
) -> CancelTerms:
    """An unpaid hold can always be let go (nothing was paid); a booking until the cancel deadline
    (退号截止), with the online payment refunded in full; nothing else can be cancelled. A member whose
    level allows late cancellation (``can_cancel_late``, 延时退号) may cancel on the same terms after the
    deadline until the session starts."""
    local_deadline = f"{deadline.astimezone(HOSPITAL_TZ):%m月%d日 %H:%M}"
    paid_online = was_paid_online(appointment)
    in_advance = scheduling_rules.describe_minutes(hospital.cancel_minutes_before)
    starts_at = deadline + timedelta(minutes=hospital.cancel_minutes_before)
    local_start = f"{starts_at.astimezone(HOSPITAL_TZ):%m月%d日 %H:%M}"
    if appointment.status == AppointmentStatus.PENDING_PAYMENT:
        return CancelTerms(True, False, "尚未支付，可随时取消，号源将释放给其他患者")
    if appointment.status == AppointmentStatus.BOOKED:
        money = "，已支付的挂号费原路全额退回" if paid_online else ""
        late = f"；您的会员等级享延时退号，截止后至就诊开始（{local_start}）前仍可取消" if can_cancel_late else ""
        if now <= deadline:
            return CancelTerms(True, paid_online, f"就诊前{in_advance}（{local_deadline}前）可取消{money}{late}")
        if can_cancel_late and now < starts_at:
            return CancelTerms(
                True, paid_online, f"已过退号截止时间，您的会员等级享延时退号：就诊开始（{local_start}）前可取消{money}"
            )
        refusal = CancelDeadlinePassed(f"已过退号截止时间（{local_deadline}），无法取消")
        return CancelTerms(False, False, f"已过退号截止时间（{local_deadline}），不可取消", refusal)
    why = NOT_CANCELLABLE_BECAUSE.get(AppointmentStatus(appointment.status), NotCancellable.message)
    return CancelTerms(False, False, why, NotCancellable(why))


NOT_CANCELLABLE_BECAUSE = {
    AppointmentStatus.CHECKED_IN: "已签到，不能取消",
    AppointmentStatus.COMPLETED: "已就诊，不能取消",
    AppointmentStatus.CANCELLED: "该预约已取消",
    AppointmentStatus.EXPIRED: "该预约已超时未支付，号源已释放",
    AppointmentStatus.SUSPENDED: "医生已停诊，该预约已自动取消，无需再取消",
    AppointmentStatus.NO_SHOW: "已记爽约，不能取消",
}
"""The real reason a cancellation is refused, by the appointment's state."""


def payment_notice(
    appointment: Appointment, schedule: Schedule, deadline: datetime, *, now: datetime, can_cancel_late: bool = False
) -> str | None:
    """Said on the payment page before paying a hold that, once paid, can no longer be cancelled, or whose
    refund deadline (退号截止) passes before its payment window closes; nothing for a member who may cancel
    until the session starts (``can_cancel_late``), since the hold itself ends before it."""
    if appointment.status != AppointmentStatus.PENDING_PAYMENT or appointment.pay_deadline is None:
        return None
    if can_cancel_late and appointment.pay_deadline <= schedule.starts_at:
        return None
    late = scheduling_rules.late_booking_notice(starts_at=schedule.starts_at, deadline=deadline, pay_first=True, at=now)
    if late is None and deadline < appointment.pay_deadline:
        return f"退号截止时间为{deadline.astimezone(HOSPITAL_TZ):%m月%d日 %H:%M}，此后支付将不可取消退款"
    return late


# --- holding limits and hold abuse (占号限制) ----------------------------------------------------------

NO_SHOW = "no_show"
HOLD_ABUSE = "hold_abuse"
BAN_KIND_LABELS = {NO_SHOW: "爽约", HOLD_ABUSE: "反复占号"}
"""``BookingBan.kind`` as staff read it."""

FREED_SLOT_DELAY_SECONDS = (60, 300)
"""A slot freed by a cancelled or expired unpaid hold goes back to the open pool after a random delay in
this range (seconds, both ends included), not to whoever asks at that millisecond."""

_random = secrets.SystemRandom()


def freed_slot_delay(bounds: tuple[int, int] = FREED_SLOT_DELAY_SECONDS) -> timedelta:
    """A random delay within ``bounds`` (from the system's random source: not predictable by a scalper)."""
    low, high = bounds
    return timedelta(seconds=_random.randint(low, max(low, high)))


def hold_abuse_reason(window_days: int, count: int) -> str:
    """Why a hold-abuse ban was set, as the patient and staff read it."""
    return f"{window_days}天内{count}次取消或超时未支付"


def ban_refusal(kind: str, reason: str, until: datetime) -> str:
    """What a banned account is told when it tries to book, by the ban's kind."""
    local_until = f"{until.astimezone(HOSPITAL_TZ):%Y年%m月%d日}"
    if kind == HOLD_ABUSE:
        return f"因多次取消或超时未支付占用号源（{reason}），{local_until}前暂停预约"
    return f"因多次爽约（{reason}），{local_until}前暂停预约"


def unpaid_holds_refusal(limit: int) -> str:
    """What an account told to pay or let go of its pending holds reads."""
    if limit == 1:
        return "您在本院有一笔尚未支付的预约，请先完成支付或取消该预约后再预约"
    return f"您在本院尚未支付的预约已达{limit}笔，请先完成支付或取消后再预约"
