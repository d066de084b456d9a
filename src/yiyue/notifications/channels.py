"""Sending a delivery over its channel: WeChat subscribe message or SMS, at most once.

A one-time subscription is used up by one send and a patient should not get the same SMS twice, so a
delivery is sent at most once, and a lost one is preferred to a duplicate:

1. the delivery is claimed, ``pending -> sending``, in a short transaction of its own that commits
   before the outside call (so the mark survives a crash, and SQLite's write lock is not held while
   WeChat answers);
2. the message is sent;
3. the outcome (``sent``, ``skipped``, ``failed``) is recorded in another short transaction of its own,
   so it stands even if the job's own transaction later rolls back.

Before 1, the delivery's notification must still apply to its appointment (``rules.stale_reason``): a
payment reminder whose hold was paid, cancelled or expired, a visit reminder whose visit was cancelled
after it was queued, is never sent late; it is marked ``cancelled`` with the reason instead.

A delivery found ``sending`` by a later run is one whose outcome is unknown (a crash between 1 and 3,
or a timeout after the request went out): it is marked ``failed`` with "结果未知，未重发" and not sent
again. While it is recent it may still be in flight in another worker, so the job is retried later
instead (``DeliveryInFlight``). Errors that prove nothing was sent (WeChat busy, no connection, SMS
gateway unavailable) put the delivery back to ``pending`` and raise, so the job system retries with
backoff. Nothing here touches the appointment: a failed send never affects the booking.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import Account, VisitPerson
from yiyue.accounts.service import PHONE
from yiyue.booking.models import Appointment, WaitlistEntry
from yiyue.core.config import Settings
from yiyue.core.crypto import FieldCipher, mask_phone
from yiyue.core.db import Database, begin_write
from yiyue.frontdesk.rules import is_onsite_account
from yiyue.notifications.models import Delivery, DeliveryChannel, DeliveryStatus, Notification
from yiyue.notifications.rules import stale_reason, waitlist_stale_reason
from yiyue.wechat.client import WeChatClient
from yiyue.wechat.errors import SubscribeMessageRejected, WeChatMisconfigured, WeChatUnavailable

log = logging.getLogger("yiyue.notifications")

SENDING_GRACE = timedelta(minutes=5)
"""A delivery ``sending`` for longer than this is no longer in flight anywhere: its outcome is unknown."""
OUTCOME_UNKNOWN = "结果未知，未重发"


class SmsProvider(Protocol):
    async def send(self, phone: str, text: str, *, template: str) -> None:
        """Sends one SMS. ``template`` names what it says (the notification's kind, e.g.
        ``booking_confirmed``: a gateway's template id). Raises ``SmsUnavailable`` when it surely was not
        sent (retry later) and ``SmsRejected`` when the gateway refuses it for good. Never log ``text``:
        it names the patient, the hospital and the doctor."""


class SmsUnavailable(Exception):
    """The SMS gateway could not be asked; nothing was sent."""


class SmsRejected(Exception):
    """The SMS gateway refused the message (bad number, blocked content); sending again will not help."""


class LoggingSmsProvider:
    """The embedded default: notes in the log that an SMS would go out (its template and the phone
    masked) instead of sending it. The text stays out of the log: it carries personal data (the
    patient's name, the hospital, the department, the doctor)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or log

    async def send(self, phone: str, text: str, *, template: str) -> None:
        self._log.info("SMS %s to %s (%d characters, not sent: no SMS gateway)", template, mask_phone(phone), len(text))


class DeliveryContext(Protocol):
    """What ``deliver`` needs from the job context (``sms`` is optional: logging by default)."""

    @property
    def db(self) -> Database: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def wechat(self) -> WeChatClient: ...
    @property
    def cipher(self) -> FieldCipher: ...


class DeliveryInFlight(Exception):
    """Another run claimed this delivery moments ago and may still be sending it; try again later."""


class _NotSent(Exception):
    """Nothing went out and nothing will: ``status`` says why (``skipped`` or ``failed``)."""

    def __init__(self, status: DeliveryStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


_DONE = frozenset({DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED, DeliveryStatus.CANCELLED})


async def deliver(session: AsyncSession, ctx: DeliveryContext, delivery_id: int, now: datetime) -> None:
    """Sends one delivery at most once (see the module docstring). Safe to run twice: a delivery that is
    done is left alone. ``session`` is only read from; state changes commit in their own transactions, so
    it must not have begun writing (on SQLite that would wait for its own write lock)."""
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        log.warning("delivery %s does not exist", delivery_id)
        return
    status = DeliveryStatus(delivery.status)
    if status in _DONE:
        return
    if status is DeliveryStatus.SENDING:
        if now - delivery.updated_at < SENDING_GRACE:
            raise DeliveryInFlight(f"delivery {delivery_id} is being sent")
        await _finish(ctx.db, delivery_id, DeliveryStatus.FAILED, OUTCOME_UNKNOWN, now, expect=DeliveryStatus.SENDING)
        log.warning("delivery %s was left sending: outcome unknown, not sent again", delivery_id)
        return

    try:
        send = await _sender(session, ctx, delivery, now)
    except _NotSent as not_sent:
        await _finish(ctx.db, delivery_id, not_sent.status, not_sent.reason, now, expect=DeliveryStatus.PENDING)
        return
    if not await _claim(ctx.db, delivery_id, now):
        return  # another run claimed it first and records the outcome
    try:
        await send()
    except _NotSent as not_sent:
        await _finish(ctx.db, delivery_id, not_sent.status, not_sent.reason, now)
    except (WeChatUnavailable, WeChatMisconfigured, SmsUnavailable) as exc:
        if not _surely_not_sent(exc):
            await _finish(ctx.db, delivery_id, DeliveryStatus.FAILED, f"{OUTCOME_UNKNOWN}：{_describe(exc)}", now)
            return
        await _release(ctx.db, delivery_id, _describe(exc), now)
        raise  # the job system retries with backoff
    except Exception as exc:
        # Unexpected: whether anything went out is unknown, so it is not sent again; the error is raised
        # for the log and the job's retry, which finds the delivery done.
        await _finish(ctx.db, delivery_id, DeliveryStatus.FAILED, f"{OUTCOME_UNKNOWN}：{_describe(exc)}", now)
        raise
    else:
        await _finish(ctx.db, delivery_id, DeliveryStatus.SENT, "", now)


class _Send(Protocol):
    async def __call__(self) -> None: ...


async def _sender(session: AsyncSession, ctx: DeliveryContext, delivery: Delivery, now: datetime) -> _Send:
    """Everything the send needs, looked up before claiming; raises ``_NotSent`` when there is no way to
    send, or nothing to send any more (the notification no longer applies)."""
    notification = await session.get_one(Notification, delivery.notification_id)
    stale = await _no_longer_applies(session, notification, now)
    if stale is not None:
        raise _NotSent(DeliveryStatus.CANCELLED, stale)
    content: Mapping[str, Any] = delivery.content
    if delivery.channel == DeliveryChannel.WECHAT_SUBSCRIBE:
        template_id = ctx.settings.subscribe_templates.get(str(content.get("purpose")))
        if not template_id:
            raise _NotSent(DeliveryStatus.SKIPPED, f"未配置订阅消息模板：{content.get('purpose')}")
        openid = await session.scalar(select(Account.openid).where(Account.id == notification.account_id))
        if not openid:
            raise _NotSent(DeliveryStatus.SKIPPED, "账号没有微信 openid")
        if is_onsite_account(openid):  # a walk-in registered at the window: no WeChat to send to
            raise _NotSent(DeliveryStatus.SKIPPED, "现场挂号患者没有微信账号")
        data = {str(k): str(v) for k, v in dict(content.get("data") or {}).items()}
        page = content.get("page")
        # The access token is fetched (or taken from the cache) before claiming, so a token failure
        # leaves the delivery pending for a retry instead of counting as a send of unknown outcome.
        await ctx.wechat.access_token()

        async def send_wechat() -> None:
            try:
                await ctx.wechat.send_subscribe_message(
                    openid=openid, template_id=template_id, data=data, page=str(page) if page else None
                )
            except SubscribeMessageRejected as exc:
                reason = f"{exc.errcode} {exc.errmsg}"
                if exc.no_subscription_left:
                    raise _NotSent(DeliveryStatus.SKIPPED, f"用户未订阅或订阅次数已用完（{reason}）") from exc
                raise _NotSent(DeliveryStatus.FAILED, f"微信拒绝发送（{reason}）") from exc

        return send_wechat
    if delivery.channel == DeliveryChannel.SMS:
        phone = await _phone(session, ctx.cipher, notification)
        if not phone:
            raise _NotSent(DeliveryStatus.SKIPPED, "就诊人没有手机号")
        text = str(content.get("text") or "")
        template = str(notification.kind)
        sms: SmsProvider = getattr(ctx, "sms", None) or LoggingSmsProvider()

        async def send_sms() -> None:
            try:
                await sms.send(phone, text, template=template)
            except SmsRejected as exc:
                raise _NotSent(DeliveryStatus.FAILED, f"短信被拒绝（{exc}）") from exc

        return send_sms
    raise _NotSent(DeliveryStatus.FAILED, f"未知的渠道：{delivery.channel}")


async def _no_longer_applies(session: AsyncSession, notification: Notification, now: datetime) -> str | None:
    """Why the notification no longer applies to its appointment (or waitlist entry) as it stands now, or
    None."""
    if notification.waitlist_entry_id is not None:
        entry = (
            await session.execute(
                select(WaitlistEntry.status, WaitlistEntry.offer_expires_at).where(
                    WaitlistEntry.id == notification.waitlist_entry_id
                )
            )
        ).one_or_none()
        if entry is None:
            return None
        return waitlist_stale_reason(notification.kind, entry.status, offer_expires_at=entry.offer_expires_at, now=now)
    if notification.appointment_id is None:
        return None
    appointment = (
        await session.execute(
            select(Appointment.status, Appointment.pay_deadline).where(Appointment.id == notification.appointment_id)
        )
    ).one_or_none()
    if appointment is None:
        return None
    return stale_reason(notification.kind, appointment.status, pay_deadline=appointment.pay_deadline, now=now)


async def _phone(session: AsyncSession, cipher: FieldCipher, notification: Notification) -> str | None:
    """The phone of the appointment's visit person (就诊人), decrypted only for the send, never stored."""
    if notification.appointment_id is None:
        return None
    encrypted = await session.scalar(
        select(VisitPerson.phone_encrypted)
        .join(Appointment, Appointment.visit_person_id == VisitPerson.id)
        .where(Appointment.id == notification.appointment_id)
    )
    return cipher.decrypt(encrypted, context=PHONE) if encrypted else None


def _surely_not_sent(exc: Exception) -> bool:
    """Whether an error proves the request never reached the channel, so sending again is safe.

    A timeout or a broken connection after the request went out may hide a message that was delivered."""
    if isinstance(exc, SmsUnavailable):
        return True  # the provider's promise (see SmsProvider.send)
    cause = exc.__cause__
    if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    return not isinstance(cause, httpx.HTTPError)


def _describe(exc: Exception) -> str:
    cause = exc.__cause__
    text = f"{type(exc).__name__}: {exc}"
    if cause is not None:
        text += f" ({type(cause).__name__})"
    return text[:2000]


async def _claim(db: Database, delivery_id: int, now: datetime) -> bool:
    async with db.session() as session:
        await begin_write(session)
        claimed = await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING.value)
            .values(status=DeliveryStatus.SENDING.value, attempts=Delivery.attempts + 1, updated_at=now)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def _release(db: Database, delivery_id: int, error: str, now: datetime) -> None:
    async with db.session() as session:
        await begin_write(session)
        await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.SENDING.value)
            .values(status=DeliveryStatus.PENDING.value, last_error=error, updated_at=now)
        )


async def _finish(
    db: Database,
    delivery_id: int,
    status: DeliveryStatus,
    error: str,
    now: datetime,
    *,
    expect: DeliveryStatus = DeliveryStatus.SENDING,
) -> None:
    async with db.session() as session:
        await begin_write(session)
        await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == expect.value)
            .values(
                status=status.value,
                last_error=error,
                updated_at=now,
                sent_at=now if status is DeliveryStatus.SENT else None,
            )
        )
