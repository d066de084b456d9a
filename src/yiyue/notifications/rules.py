"""When a message still applies to its appointment, or to its waitlist entry (pure: no database, no web).

A message about an appointment may stop being true before the patient reads it or before it goes out:
"尚未支付，请在15分钟内完成支付" once the hold is paid, cancelled or expired; "明天就诊" once the visit is
cancelled or 停诊; "候补成功，请于09:15前确认" once the offer is confirmed, let go or past its time. Such a
message is *stale*:

- none of its deliveries still pending (subscribe message, SMS) is sent; each is marked ``cancelled``
  with the reason, when the appointment moves on and again at send time (``channels.deliver``);
- a *prompt* (a message asking the patient to do something) is withdrawn from the unread list: its
  ``read_at`` is set at the moment it went stale, so it is kept in the list, read;
- a prompt that is stale already when it would be made is not made (any other message is made, for
  the history, and its deliveries are cancelled when they come to be sent).

Kinds and statuses are their stored strings (``NotificationKind``, ``booking.models.AppointmentStatus`` and
``WaitlistStatus``), so this module imports no models; ``tests/notifications/test_rules.py`` and
``tests/booking/test_waitlist_messages.py`` check they are real ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

LIVE_WHILE: Mapping[str, frozenset[str]] = {
    "payment_reminder": frozenset({"pending_payment"}),
    "visit_reminder": frozenset({"booked"}),
    "checked_in": frozenset({"checked_in"}),
    "booking_confirmed": frozenset({"booked", "checked_in", "completed"}),
    "doctor_changed": frozenset({"pending_payment", "booked", "checked_in"}),
}
"""The appointment statuses in which a message of the kind still applies. A kind not listed tells of
something that happened and stays true (cancelled, refunded, 停诊, no-show, completed, expired)."""

PROMPTS: frozenset[str] = frozenset({"payment_reminder", "visit_reminder", "checked_in"})
"""Messages that ask the patient to act (pay, come tomorrow, wait to be called): withdrawn (marked read)
when they no longer apply."""

STATUS_WORDS: Mapping[str, str] = {
    "pending_payment": "待支付",
    "booked": "已确认",
    "checked_in": "已签到",
    "completed": "已就诊",
    "cancelled": "已取消",
    "expired": "已过期",
    "suspended": "已停诊",
    "no_show": "已爽约",
}


def stale_reason(kind: str, status: str, *, pay_deadline: datetime | None, now: datetime) -> str | None:
    """None while a message of ``kind`` applies to an appointment in ``status``; else why it no longer
    does, in words for the delivery's record (e.g. "消息已失效：预约已支付")."""
    live = LIVE_WHILE.get(kind)
    if live is None:
        return None
    if status not in live:
        if kind == "payment_reminder" and status in {"booked", "checked_in", "completed"}:
            return "消息已失效：预约已支付"
        return f"消息已失效：预约{STATUS_WORDS.get(status, status)}"
    if kind == "payment_reminder" and pay_deadline is not None and now >= pay_deadline:
        return "消息已失效：已超过支付时限"
    return None


# --- the waitlist's messages (about an entry, 候补, not an appointment) ---------------------------------

WAITLIST_LIVE_WHILE: Mapping[str, frozenset[str]] = {"waitlist_offered": frozenset({"offered"})}
"""The entry statuses (``booking.models.WaitlistStatus``) in which a waitlist message still applies."""

WAITLIST_PROMPTS: frozenset[str] = frozenset({"waitlist_offered"})
"""候补成功，请确认: withdrawn (marked read) once the offer is confirmed, let go or ran out."""

WAITLIST_STATUS_WORDS: Mapping[str, str] = {
    "waiting": "候补中",
    "offered": "待确认",
    "booked": "已预约",
    "ended": "已结束",
}

LEFT_BY_PATIENT = "已取消候补"
"""The end the patient made themselves (``booking.waitlist.LEFT``): nothing to tell them."""


def waitlist_stale_reason(kind: str, status: str, *, offer_expires_at: datetime | None, now: datetime) -> str | None:
    """None while a waitlist message of ``kind`` applies to an entry in ``status``; else why not (e.g.
    "消息已失效：候补已预约"). An offer stops applying when its time is up, even before the job passes it on."""
    live = WAITLIST_LIVE_WHILE.get(kind)
    if live is None:
        return None
    if status not in live:
        return f"消息已失效：候补{WAITLIST_STATUS_WORDS.get(status, status)}"
    if offer_expires_at is not None and now >= offer_expires_at:
        return "消息已失效：已超过确认时限"
    return None


def tells_ending(end_reason: str) -> bool:
    """Whether the end of an entry is told to the patient: every end but their own leaving."""
    return end_reason != LEFT_BY_PATIENT
