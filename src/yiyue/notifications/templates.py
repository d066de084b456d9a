"""What each notification says: the in-app title and body, the WeChat subscribe message, the SMS.

Pure functions of an appointment's facts, so every wording is tested without a database. Times are
shown in hospital local time (Asia/Shanghai); money is fen, shown as yuan with two decimals.

WeChat checks each template value against its kind (docs/WECHAT.md section 3): ``thing`` at most 20
characters, ``name`` at most 10 Chinese characters (or 20 letters) and no digits, ``phrase`` at most 5
Chinese characters, ``character_string`` at most 32 printable ASCII characters, ``time`` like
``2026年03月03日 08:00~08:15``. A value that breaks a rule makes WeChat refuse the whole message, so
every value goes through the matching helper below, which shortens or cleans it instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from yiyue.core.clock import local
from yiyue.notifications.models import NotificationKind

SMS_SIGNATURE = "【医约】"
WEEKDAYS = "一二三四五六日"

PURPOSE_BOOKING_CONFIRMED = "booking_confirmed"
PURPOSE_VISIT_REMINDER = "visit_reminder"
PURPOSE_CANCELLED = "cancelled"
PURPOSE_WAITLIST_OFFERED = "waitlist_offered"
"""Keys of ``settings.subscribe_templates``: which subscribe-message template a message uses."""

NO_SHOW_THRESHOLD = 3
NO_SHOW_WINDOW_DAYS = 90
NO_SHOW_BAN_DAYS = 90
"""The defaults of ``booking.service.mark_no_shows``, quoted in the no-show message unless told otherwise."""


@dataclass(frozen=True)
class AppointmentFacts:
    """What a message may say about an appointment; loaded by the service, rendered here."""

    appointment_id: int
    hospital: str
    hospital_address: str
    department: str
    location: str
    """Where in the hospital the clinic is (门诊楼3层); may be empty."""
    doctor: str
    doctor_title: str
    patient_name: str
    visit_date: date
    period_label: str
    starts_at: datetime
    ends_at: datetime
    """The slot's time window (aware datetimes; shown in hospital local time)."""
    queue_number: int
    fee_fen: int
    status_reason: str = ""
    """Why the appointment is in its status, as the transition into it recorded it (the 停诊 reason)."""


@dataclass(frozen=True)
class WeChatMessage:
    purpose: str
    """Which template (a key of ``settings.subscribe_templates``)."""
    data: dict[str, str]
    page: str


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    sms: str | None
    """None for in-app-only kinds (told while the patient is at the hospital, in the mini-program)."""
    wechat: WeChatMessage | None
    """None for kinds that have no subscribe-message template (SMS and in-app only)."""


# --- values that fit WeChat's rules ---------------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_NOT_CJK = re.compile(f"[^{_CJK}]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"\s+")
_NOT_ASCII_PRINTABLE = re.compile(r"[^\x21-\x7e]")
ELLIPSIS = "…"


def _clean(value: str) -> str:
    """No control or zero-width characters, whitespace runs as one space, trimmed."""
    without_control = _CONTROL.sub(lambda m: " " if m.group().isspace() else "", value)
    return _SPACES.sub(" ", without_control).strip()


def thing(value: str, *, fallback: str = "无") -> str:
    """A ``thing`` value: at most 20 characters; a longer one keeps 19 and ends with an ellipsis."""
    cleaned = _clean(value) or fallback
    return cleaned if len(cleaned) <= 20 else cleaned[:19].rstrip() + ELLIPSIS


def name(value: str, *, fallback: str = "就诊人") -> str:
    """A ``name`` value: no digits; at most 10 characters when it holds Chinese, else 20. Names are cut,
    not given an ellipsis (WeChat shows them as they are)."""
    cleaned = _clean("".join(ch for ch in value if not ch.isdigit()))
    if not cleaned:
        return fallback
    limit = 10 if _HAS_CJK.search(cleaned) else 20
    return cleaned[:limit].rstrip()


def phrase(value: str, *, fallback: str = "已取消") -> str:
    """A ``phrase`` value: Chinese characters only, at most 5."""
    return _NOT_CJK.sub("", value)[:5] or fallback


def character_string(value: str, *, fallback: str = "-") -> str:
    """A ``character_string`` value: printable ASCII without spaces, at most 32."""
    return _NOT_ASCII_PRINTABLE.sub("", value)[:32] or fallback


def time_window(starts_at: datetime, ends_at: datetime) -> str:
    """A ``time`` value: ``2026年03月03日 08:00~08:15`` in hospital local time."""
    start, end = local(starts_at), local(ends_at)
    if start.date() != end.date():
        return f"{start:%Y年%m月%d日 %H:%M}~{end:%Y年%m月%d日 %H:%M}"
    return f"{start:%Y年%m月%d日 %H:%M}~{end:%H:%M}"


# --- words used by every message ------------------------------------------------------------------


def yuan(fen: int) -> str:
    """``5000`` -> ``50.00``: integer arithmetic, never a float."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def visit_time(facts: AppointmentFacts) -> str:
    """``2026年03月03日（周二）上午 08:00-08:15``."""
    start, end = local(facts.starts_at), local(facts.ends_at)
    weekday = WEEKDAYS[facts.visit_date.weekday()]
    return f"{facts.visit_date:%Y年%m月%d日}（周{weekday}）{facts.period_label} {start:%H:%M}-{end:%H:%M}"


def _short_time(facts: AppointmentFacts) -> str:
    """``3月3日上午08:00``: for SMS, where every character counts."""
    start = local(facts.starts_at)
    return f"{facts.visit_date.month}月{facts.visit_date.day}日{facts.period_label}{start:%H:%M}"


def _visit(facts: AppointmentFacts) -> str:
    """``测试人民医院 心血管内科 李明华（主任医师）2026年03月03日（周二）上午 08:00-08:15``."""
    return f"{facts.hospital} {facts.department} {facts.doctor}（{facts.doctor_title}）{visit_time(facts)}"


def _sms_visit(facts: AppointmentFacts) -> str:
    return f"{_short_time(facts)}{facts.hospital}{facts.department}{facts.doctor}医生"


def _where(facts: AppointmentFacts) -> str:
    return facts.location or facts.hospital_address or facts.hospital


def _page(facts: AppointmentFacts) -> str:
    return f"pages/appointment/appointment?id={facts.appointment_id}"


def _patient_and_department(facts: AppointmentFacts) -> dict[str, str]:
    return {"name1": name(facts.patient_name), "thing2": thing(facts.department)}


def _cancelled_message(facts: AppointmentFacts, status: str, reason: str) -> WeChatMessage:
    data = {
        **_patient_and_department(facts),
        "time3": time_window(facts.starts_at, facts.ends_at),
        "phrase4": phrase(status),
        "thing5": thing(reason),
    }
    return WeChatMessage(PURPOSE_CANCELLED, data, _page(facts))


def _int(extra: Mapping[str, Any], key: str) -> int | None:
    value = extra.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(extra: Mapping[str, Any], key: str) -> str:
    value = extra.get(key)
    return _clean(value) if isinstance(value, str) else ""


# --- the messages ---------------------------------------------------------------------------------


def _booking_confirmed(facts: AppointmentFacts, extra: Mapping[str, Any]) -> Rendered:
    body = (
        f"{facts.patient_name}，您已成功预约{_visit(facts)}，就诊序号{facts.queue_number}号，"
        f"挂号费{yuan(facts.fee_fen)}元。请于就诊当天按时到{_where(facts)}签到。"
    )
    data = {
        "name1": name(facts.patient_name),
        "thing2": thing(facts.department),
        "thing3": thing(f"{facts.doctor} {facts.doctor_title}"),
        "time4": time_window(facts.starts_at, facts.ends_at),
        "character_string5": character_string(str(facts.appointment_id)),
    }
    sms = (
        f"{SMS_SIGNATURE}{facts.patient_name}，您已预约{_sms_visit(facts)}，"
        f"就诊序号{facts.queue_number}号，请按时签到。"
    )
    return Rendered("预约成功", body, sms, WeChatMessage(PURPOSE_BOOKING_CONFIRMED, data, _page(facts)))


def _payment_reminder(facts: AppointmentFacts, extra: Mapping[str, Any]) -> Rendered:
    minutes = _int(extra, "minutes")
    within = f"请在{minutes}分钟内" if minutes is not None and minutes > 0 else "请尽快"
    body = (
        f"{facts.patient_name}预约的{_visit(facts)}尚未支付，{within}完成支付（挂号费{yuan(facts.fee_fen)}元），"
        "逾期未支付预约将自动取消。"
    )
    sms = (
        f"{SMS_SIGNATURE}{facts.patient_name}预约的{_sms_visit(facts)}尚未支付，"
        f"{within}在小程序完成支付，逾期自动取消。"
    )
    return Rendered("待支付提醒", body, sms, None)


def _payment_expired(facts: AppointmentFacts, extra: Mapping[str, Any]) -> Rendered:
    body = (
        f"{facts.patient_name}预约的{_visit(facts)}因未在规定时间内支付，已自动取消，号源已释放。"
        "如仍需就诊，请重新预约。"
    )
    sms = f"{SMS_SIGNATURE}{facts.patient_name}预约的{_sms_visit(facts)}因未按时支付已自动取消，如需就诊请重新预约。"
    return Rendered("预约已取消（未支付）", body, sms, None)


def _visit_reminder(facts: AppointmentFacts, extra: Mapping[str, Any]) -> Rendered:
    body = (
        f"{facts.patient_name}，您预约的{_visit(facts)}即将就诊，就诊序号{facts.queue_number}号。"
        f"请携带有效身份证件提前到{_where(facts)}签到；如不能前往，请及时取消预约。"
    )
    data = {
        "name1": name(facts.patient_name),
        "thing2": thing(facts.department),
        "time3": time_window(facts.starts_at, facts.ends_at),
        "thing4": thing(f"{facts.hospital}{facts.location}"),
        "thing5": thing("请携带身份证件提前到院签到"),
    }
    sms = (
        f"{SMS_SIGNATURE}就诊提醒：{facts.patient_name}，您已预约{_sms_visit(facts)}，"
        f"就诊序号{facts.queue_number}号，请提前到{_where(facts)}签到。"
    )
    return Rendered("就诊提醒", body, sms, WeChatMessage(PURPOSE_VISIT_REMINDER, data, _page(facts)))


def _cancelled(facts: AppointmentFacts, extra: Mapping[str, Any]) -> Rendered:
    reason = _text(extra, "reason")
    refund = "已支付的挂号费将按退号规则原路退回。" if extra.get("refund") is True else ""
    because = f"（原因：{reason}）" if reason else ""
    body = f"{facts.patient_name}预约的{_visit(facts)}已取消{because}。{refund}"
    sms = f"{SMS_SIGNATURE}{facts.patient_name}预约的{_sms_visit(facts)}已取消。{refund}"
    wechat = _cancelled_message(facts, "已取消", reason or "预约已取消，号源已释放")
    return Rendered("已取消预约", body, sms, wechat)


def _refunded(facts: AppointmentFacts, extra: Mapping[str, Any]) -> Rendered:
    amount = _int(extra, "amount_fen")
    amount = facts.fee_fen if amount is None else amount
    body = (
        f"{facts.patient_name}预约的{_visit(facts)}已退款{yuan(amount)}元，"
        "款项将原路退回您的支付账户，到账时间以支付渠道为准。"
    )
    sms = f"{SMS_SIGNATURE}{facts.patient_name}预约的{_sms_visit(facts)}已退款{yuan(amount)}元，将原路退回。"
    wechat = _cancelled_message(facts, "已退款", f"已退款{yuan(amount)}元，原路退回")
    return Rendered("退款成功", body, sms, wechat)


GENERIC_SUSPENSION_REASON = "医生停诊"
"""What 停诊 records when staff gave no reason: not repeated as a reason ("因医生停诊（原因：医生停诊）")."""


def _suspended(facts: AppointmentFacts, extra: Mapping[str, Any]) -> Rendered:
    refund = extra.get("refund")
    if refund is True:
        note, short = f"已支付的挂号费{yuan(facts.fee_fen)}元将全额原路退回。", "医生停诊，挂号费全额退回"
    elif refund is False:
        note, short = "本次预约未支付费用，无需退款。", "医生停诊，请改约其他号源"
    else:
        note, short = "如已支付挂号费，将全额原路退回。", "医生停诊，已付费用全额退回"
    reason = _text(extra, "reason") or _clean(facts.status_reason)
    if reason == GENERIC_SUSPENSION_REASON:
        reason = ""
    because = f"停诊原因：{reason}。" if reason else ""
    offered = extra.get("rebook_offered") is True
    rebook = "已为您保留可改约的号源，请在预约详情中一键改约。" if offered else ""
    body = (
        f"很抱歉，因医生停诊，{facts.patient_name}预约的{_visit(facts)}已取消。{because}{note}{rebook}"
        "给您带来不便，敬请谅解。"
    )
    sms = f"{SMS_SIGNATURE}因医生停诊，{facts.patient_name}预约的{_sms_visit(facts)}已取消。{because}{note}"
    if offered:
        sms += "可在小程序一键改约。"
    # thing5 is the template's 取消原因: the reason itself when there is one, else what happens next.
    return Rendered("停诊通知", body, sms, _cancelled_message(facts, "已停诊", reason or short))


def _no_show(facts: AppointmentFacts, extra: Mapping[str, Any]) -> Rendered:
    threshold = _int(extra, "threshold") or NO_SHOW_THRESHOLD
    window = _int(extra, "window_days") or NO_SHOW_WINDOW_DAYS
    ban = _int(extra, "ban_days") or NO_SHOW_BAN_DAYS
    rule = f"{window}天内累计爽约{threshold}次将暂停预约{ban}天"
    body = (
        f"{facts.patient_name}预约的{_visit(facts)}未按时签到就诊，已记爽约一次。"
        f"{rule}；如不能就诊，请在退号截止前取消预约。"
    )
    sms = f"{SMS_SIGNATURE}{facts.patient_name}预约的{_sms_visit(facts)}未按时就诊，已记爽约一次，{rule}。"
    return Rendered("爽约记录", body, sms, None)


def _doctor_changed(facts: AppointmentFacts, extra: Mapping[str, Any]) -> Rendered:
    before = _text(extra, "from_doctor")
    reason = _text(extra, "reason")
    who = f"{before}医生" if before else "原出诊医生"
    because = f"（{reason}）" if reason else ""
    body = (
        f"{facts.patient_name}，您预约的{facts.hospital} {facts.department} {visit_time(facts)}，"
        f"因{who}临时不能出诊{because}，改由{facts.doctor}（{facts.doctor_title}）接诊。"
        f"就诊时间和就诊序号{facts.queue_number}号不变，挂号费不变。如不便前往，可在退号截止前取消预约。"
    )
    sms = (
        f"{SMS_SIGNATURE}{facts.patient_name}预约的{_short_time(facts)}{facts.hospital}{facts.department}，"
        f"因{who}不能出诊，改由{facts.doctor}医生接诊，就诊序号{facts.queue_number}号不变；如需取消请在小程序办理。"
    )
    return Rendered("就诊医生变更", body, sms, None)


def _seen_by(facts: AppointmentFacts) -> str:
    """``测试人民医院 心血管内科 李明华（主任医师）``."""
    return f"{facts.hospital} {facts.department} {facts.doctor}（{facts.doctor_title}）"


# Check-in and completion are told in the mini-program only: the patient is at the hospital, and no
# subscribe-message template exists for them (settings.subscribe_templates).


def _checked_in(facts: AppointmentFacts, extra: Mapping[str, Any]) -> Rendered:
    body = (
        f"{facts.patient_name}已签到，请候诊。{_seen_by(facts)}，就诊序号{facts.queue_number}号，"
        f"请到{_where(facts)}候诊，留意叫号。"
    )
    return Rendered("已签到，请候诊", body, None, None)


def _completed(facts: AppointmentFacts, extra: Mapping[str, Any]) -> Rendered:
    review_link = _text(extra, "review_link")
    invitation = f"欢迎对本次就诊进行评价：{review_link}" if review_link else ""
    body = f"{facts.patient_name}在{_seen_by(facts)}的就诊已完成。感谢您的就诊，祝您早日康复！{invitation}"
    return Rendered("就诊完成", body, None, None)


_RENDERERS: dict[NotificationKind, Callable[[AppointmentFacts, Mapping[str, Any]], Rendered]] = {
    NotificationKind.BOOKING_CONFIRMED: _booking_confirmed,
    NotificationKind.PAYMENT_REMINDER: _payment_reminder,
    NotificationKind.PAYMENT_EXPIRED: _payment_expired,
    NotificationKind.VISIT_REMINDER: _visit_reminder,
    NotificationKind.CANCELLED: _cancelled,
    NotificationKind.REFUNDED: _refunded,
    NotificationKind.SUSPENDED: _suspended,
    NotificationKind.NO_SHOW: _no_show,
    NotificationKind.DOCTOR_CHANGED: _doctor_changed,
    NotificationKind.CHECKED_IN: _checked_in,
    NotificationKind.COMPLETED: _completed,
}
APPOINTMENT_KINDS: frozenset[NotificationKind] = frozenset(_RENDERERS)
"""Kinds about an appointment (``render``); the others are about a waitlist entry (``render_waitlist``)."""


def render(kind: NotificationKind | str, facts: AppointmentFacts, extra: Mapping[str, Any] | None = None) -> Rendered:
    """The message of ``kind`` about an appointment. ``extra`` adds what the appointment does not know:
    ``minutes`` (payment_reminder: pay within), ``reason`` and ``refund`` (cancelled), ``amount_fen``
    (refunded; default the fee), ``refund`` and ``rebook_offered`` (suspended: whether money was
    taken, whether slots are held to rebook into), ``threshold``,
    ``window_days`` and ``ban_days`` (no_show: the ban rule), ``from_doctor`` and ``reason``
    (doctor_changed: who the patient had booked, why they cannot come), ``reason`` (suspended: instead
    of ``facts.status_reason``), ``review_link`` (completed: where to review the visit, for the reviews
    feature to come; without it no invitation is written). Raises ``ValueError`` for an unknown kind."""
    renderer = _RENDERERS.get(NotificationKind(kind))
    if renderer is None:
        raise ValueError(f"{kind!r} is not a message about an appointment (see render_waitlist)")
    return renderer(facts, extra or {})


# --- the waitlist (候补): messages about an entry, not an appointment -------------------------------------

WAITLIST_PAGE = "pages/waitlist/waitlist"


@dataclass(frozen=True)
class WaitlistFacts:
    """What a waitlist message may say about an entry; loaded by the service, rendered here."""

    entry_id: int
    hospital: str
    department: str
    doctor: str
    doctor_title: str
    patient_name: str
    visit_date: date
    period_label: str
    starts_at: datetime
    """The session's start (aware; shown in hospital local time)."""
    slot_number: int | None = None
    slot_starts_at: datetime | None = None
    slot_ends_at: datetime | None = None
    """The slot held for the entry (offered)."""
    offered_at: datetime | None = None
    offer_expires_at: datetime | None = None
    end_reason: str = ""


def _session(facts: WaitlistFacts) -> str:
    """``测试人民医院 心血管内科 李明华（主任医师）2026年03月03日（周二）上午``."""
    weekday = WEEKDAYS[facts.visit_date.weekday()]
    return (
        f"{facts.hospital} {facts.department} {facts.doctor}（{facts.doctor_title}）"
        f"{facts.visit_date:%Y年%m月%d日}（周{weekday}）{facts.period_label}"
    )


def _confirm_by(facts: WaitlistFacts) -> str:
    """``10:15``, or ``03月03日 10:15`` when the offer ends on another day than it was made."""
    if facts.offer_expires_at is None:
        return ""
    until = local(facts.offer_expires_at)
    if facts.offered_at is not None and local(facts.offered_at).date() != until.date():
        return f"{until:%m月%d日 %H:%M}"
    return f"{until:%H:%M}"


def _waitlist_offered(facts: WaitlistFacts) -> Rendered:
    number = f"{facts.slot_number}号" if facts.slot_number is not None else "号源"
    by = _confirm_by(facts)
    when = f"请于{by}前确认" if by else "请尽快确认"
    window = ""
    if facts.slot_starts_at is not None and facts.slot_ends_at is not None:
        window = f" {local(facts.slot_starts_at):%H:%M}-{local(facts.slot_ends_at):%H:%M}"
    body = (
        f"候补成功：已为{facts.patient_name}保留{_session(facts)}{window} {number}，{when}预约，"
        "逾期未确认将顺延给下一位候补患者。"
    )
    start = facts.slot_starts_at or facts.starts_at
    data = {
        "name1": name(facts.patient_name),
        "thing2": thing(facts.department),
        "thing3": thing(f"{facts.doctor} {facts.doctor_title}"),
        "time4": time_window(start, facts.slot_ends_at or start),
        "thing5": thing(f"已为您保留{number}，{when}"),
    }
    return Rendered("候补成功，请确认预约", body, None, WeChatMessage(PURPOSE_WAITLIST_OFFERED, data, WAITLIST_PAGE))


WAITLIST_END_WORDS = {
    "超时未确认": "未在规定时间内确认，为您保留的号源已顺延给下一位候补患者。如仍需就诊，请重新预约或候补。",
    "医生停诊": "因医生停诊，候补已结束，给您带来不便，敬请谅解。请预约其他时段或其他医生。",
    "已停止挂号": "该时段已停止挂号，未能为您候补到号源。",
    "已预约该医生当日号源": "该就诊人已预约这位医生当日的号源，此候补已自动结束。",
}
"""What follows an end reason (``booking.waitlist``) in the message."""


def _waitlist_ended(facts: WaitlistFacts) -> Rendered:
    reason = _clean(facts.end_reason)
    words = WAITLIST_END_WORDS.get(reason) or (f"原因：{reason}。" if reason else "")
    body = f"{facts.patient_name}候补的{_session(facts)}已结束。{words}"
    return Rendered("候补已结束", body, None, None)


_WAITLIST_RENDERERS: dict[NotificationKind, Callable[[WaitlistFacts], Rendered]] = {
    NotificationKind.WAITLIST_OFFERED: _waitlist_offered,
    NotificationKind.WAITLIST_ENDED: _waitlist_ended,
}


def render_waitlist(kind: NotificationKind | str, facts: WaitlistFacts) -> Rendered:
    """The waitlist message of ``kind`` (in-app; the offer also as a WeChat subscribe message, for the
    patient must act within minutes). Raises ``ValueError`` for a kind that is not about an entry."""
    renderer = _WAITLIST_RENDERERS.get(NotificationKind(kind))
    if renderer is None:
        raise ValueError(f"{kind!r} is not a waitlist message")
    return renderer(facts)


# --- 抽签放号: the result of a draw entry (issue 9, part A) --------------------------------------------

PURPOSE_RELEASE_RESULT = "release_result"
RELEASE_PAGE = "pages/release/release"


@dataclass(frozen=True)
class ReleaseFacts:
    """What a draw result message may say about an entry; loaded by the service, rendered here."""

    entry_id: int
    hospital: str
    department: str
    doctor: str
    doctor_title: str
    patient_name: str
    visit_date: date
    period_label: str
    starts_at: datetime
    ends_at: datetime
    result_reason: str = ""
    queue_number: int | None = None
    pay_deadline: datetime | None = None
    """The won appointment's number and, when it is to be paid online first, its pay deadline."""


def _release_session(facts: ReleaseFacts) -> str:
    weekday = WEEKDAYS[facts.visit_date.weekday()]
    return (
        f"{facts.hospital} {facts.department} {facts.doctor}（{facts.doctor_title}）"
        f"{facts.visit_date:%Y年%m月%d日}（周{weekday}）{facts.period_label}"
    )


def _release_won(facts: ReleaseFacts) -> Rendered:
    number = f"{facts.queue_number}号" if facts.queue_number is not None else "号源"
    if facts.pay_deadline is not None:
        then = f"请于{local(facts.pay_deadline):%H:%M}前完成支付，逾期号源将释放"
        tip = f"已中签{number}，请于{local(facts.pay_deadline):%H:%M}前支付"
    else:
        then = "预约已成功，请按时就诊"
        tip = f"已中签{number}，预约成功"
    body = f"已中签：{facts.patient_name}抽中{_release_session(facts)} {number}，{then}。"
    data = {
        "name1": name(facts.patient_name),
        "thing2": thing(facts.department),
        "thing3": thing(f"{facts.doctor} {facts.doctor_title}"),
        "time4": time_window(facts.starts_at, facts.ends_at),
        "thing5": thing(tip),
    }
    page = f"{RELEASE_PAGE}?id={facts.entry_id}"
    return Rendered("抽签结果：已中签", body, None, WeChatMessage(PURPOSE_RELEASE_RESULT, data, page))


def _release_lost(facts: ReleaseFacts) -> Rendered:
    reason = _clean(facts.result_reason)
    why = "本次未抽中" if reason in ("", "未抽中") else f"原因：{reason}"
    body = (
        f"未中签：{facts.patient_name}参加的{_release_session(facts)}抽签放号未中签（{why}）。"
        "如有剩余号源，可在放号后直接预约。"
    )
    data = {
        "name1": name(facts.patient_name),
        "thing2": thing(facts.department),
        "thing3": thing(f"{facts.doctor} {facts.doctor_title}"),
        "time4": time_window(facts.starts_at, facts.ends_at),
        "thing5": thing(f"未中签：{why}"),
    }
    page = f"{RELEASE_PAGE}?id={facts.entry_id}"
    return Rendered("抽签结果：未中签", body, None, WeChatMessage(PURPOSE_RELEASE_RESULT, data, page))


def render_release(kind: NotificationKind | str, facts: ReleaseFacts) -> Rendered:
    """The result of a draw entry, in-app and as a subscribe message. ``ValueError`` for another kind."""
    renderer = {NotificationKind.RELEASE_WON: _release_won, NotificationKind.RELEASE_LOST: _release_lost}.get(
        NotificationKind(kind)
    )
    if renderer is None:
        raise ValueError(f"{kind!r} is not a draw result")
    return renderer(facts)
