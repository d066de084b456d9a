"""Sending a delivery over its channel: WeChat subscribe message or SMS, at most once.

A one-time subscription is used up by one send and a patient should not get the same SMS twice, so a
delivery is sent at most once, and a lost one is preferred to a duplicate:

1. the delivery is claimed, ``pending -> sending``, in a short transaction of its own that commits
   before the outside call (so the mark survives a crash, and SQLite's write lock is not held while
   WeChat answers);
2. the message is sent;
3. the outcome (``sent``, ``skipped``, ``failed``) is recorded in another short transaction of its own,
   so it stands even if the job's own transaction later rolls back.

A delivery made by an event's handler is written already claimed (``sending``): the handler's commit is
its claim, and the same job sends it right after (``send_batch``, decision 0019); ``send_batch`` also
sends a batch (the evening's reminders) a chunk at a time, each chunk claimed in one transaction.

Before 2, the delivery's notification must still apply to its appointment (``rules.stale_reason``): a
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

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import Row, Select, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import Account, VisitPerson
from yiyue.accounts.service import PHONE
from yiyue.booking.models import Appointment, WaitlistEntry
from yiyue.core import outbox
from yiyue.core.config import Settings
from yiyue.core.crypto import FieldCipher, mask_phone
from yiyue.core.db import Database, begin_write
from yiyue.core.events import DeliveryDue
from yiyue.core.outbox import Finish
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
    found = await _targets(session, [delivery_id])
    if not found:
        log.warning("delivery %s does not exist", delivery_id)
        return
    [target] = found
    status = DeliveryStatus(target.status)
    if status in _DONE:
        return
    if status is DeliveryStatus.SENDING:
        if now - target.updated_at < SENDING_GRACE:
            raise DeliveryInFlight(f"delivery {delivery_id} is being sent")
        await _finish(ctx.db, delivery_id, DeliveryStatus.FAILED, OUTCOME_UNKNOWN, now, expect=DeliveryStatus.SENDING)
        log.warning("delivery %s was left sending: outcome unknown, not sent again", delivery_id)
        return

    try:
        send = await _sender(ctx, target, now)
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


RETRY_AFTER = timedelta(seconds=10)
"""A send of a batch that surely did not go out (WeChat busy, SMS gateway down) is retried by a job of
its own this long after; that job backs off further if it keeps failing."""


SEND_CHUNK = 20
"""Sends of one batch under way at once (one chunk: claimed together, sent together, recorded together)."""


async def send_batch(
    ctx: DeliveryContext, delivery_ids: Sequence[int], now: datetime, *, claimed: Collection[int] = ()
) -> Finish:
    """Sends several deliveries in one go (all of one notification, or many of a batch of reminders), each
    at most once as ``deliver`` does, with fewer round trips: one read for everything they need, one
    transaction claiming them (a chunk at a time), the sends at once over the same HTTP client, and
    their outcomes returned as one write for the caller to commit (with the event's handled mark:
    ``outbox.then``). ``claimed``: deliveries the caller's committed unit of work made ``sending``
    already (an event's handler makes them so: its commit is their claim), sent without another claim.

    Never raises for a send that failed: a send that surely did not go out is put back to ``pending`` and
    retried by a ``DeliveryDue`` job of its own (``RETRY_AFTER``, then that job's backoff); one of unknown
    outcome is ``failed``, not repeated. A database error raises (nothing was claimed, or the claimed
    ones are found ``sending`` by the retry and counted as unknown)."""
    async with ctx.db.session() as session:
        targets = await _targets(session, delivery_ids)
    outcomes: list[dict[str, Any]] = []
    retries: list[tuple[int, timedelta]] = []

    def outcome(delivery_id: int, status: DeliveryStatus, error: str, *, expect: DeliveryStatus) -> None:
        outcomes.append(
            {
                "b_id": delivery_id,
                "b_expect": expect.value,
                "status": status.value,
                "last_error": error,
                "updated_at": now,
                "sent_at": now if status is DeliveryStatus.SENT else None,
            }
        )

    sends: dict[int, _Send] = {}
    ours: set[int] = set()
    """Claimed by the caller: ``sending`` because this run is to send them."""
    for target in targets:
        status = DeliveryStatus(target.status)
        if status in _DONE:
            continue
        mine = status is DeliveryStatus.SENDING and target.id in claimed
        if status is DeliveryStatus.SENDING and not mine:
            if now - target.updated_at < SENDING_GRACE:
                retries.append((target.id, SENDING_GRACE))  # maybe in flight elsewhere: its job looks again
            else:
                outcome(target.id, DeliveryStatus.FAILED, OUTCOME_UNKNOWN, expect=DeliveryStatus.SENDING)
            continue
        expect = DeliveryStatus.SENDING if mine else DeliveryStatus.PENDING
        try:
            sends[target.id] = await _sender(ctx, target, now)
        except _NotSent as not_sent:
            outcome(target.id, not_sent.status, not_sent.reason, expect=expect)
            continue
        except (WeChatUnavailable, WeChatMisconfigured) as exc:  # no access token: nothing went out
            outcome(target.id, DeliveryStatus.PENDING, _describe(exc), expect=expect)
            retries.append((target.id, RETRY_AFTER))
            continue
        if mine:
            ours.add(target.id)

    async def send(delivery_id: int) -> None:
        try:
            await sends[delivery_id]()
        except _NotSent as not_sent:
            outcome(delivery_id, not_sent.status, not_sent.reason, expect=DeliveryStatus.SENDING)
        except (WeChatUnavailable, WeChatMisconfigured, SmsUnavailable) as exc:
            if _surely_not_sent(exc):
                outcome(delivery_id, DeliveryStatus.PENDING, _describe(exc), expect=DeliveryStatus.SENDING)
                retries.append((delivery_id, RETRY_AFTER))
            else:
                error = f"{OUTCOME_UNKNOWN}：{_describe(exc)}"
                outcome(delivery_id, DeliveryStatus.FAILED, error, expect=DeliveryStatus.SENDING)
        except Exception as exc:  # unexpected: whether anything went out is unknown, so it is not sent again
            log.exception("delivery %s failed", delivery_id)
            error = f"{OUTCOME_UNKNOWN}：{_describe(exc)}"
            outcome(delivery_id, DeliveryStatus.FAILED, error, expect=DeliveryStatus.SENDING)
        else:
            outcome(delivery_id, DeliveryStatus.SENT, "", expect=DeliveryStatus.SENDING)

    async def record(session: AsyncSession) -> None:
        if outcomes:
            await session.execute(_RECORD_OUTCOME, list(outcomes), execution_options={"synchronize_session": False})
            outcomes.clear()

    # A large batch goes out a chunk at a time: claimed just before it is sent, its outcomes recorded
    # right after, so a crash leaves at most one chunk of unknown outcome and the rest pending for the retry.
    waiting = list(sends)
    for start in range(0, len(waiting), SEND_CHUNK):
        chunk = waiting[start : start + SEND_CHUNK]
        to_claim = [delivery_id for delivery_id in chunk if delivery_id not in ours]
        going = [delivery_id for delivery_id in chunk if delivery_id in ours]
        if to_claim:
            going += await _claim_all(ctx.db, to_claim, now)
        await asyncio.gather(*(send(delivery_id) for delivery_id in going))
        if start + SEND_CHUNK < len(waiting):
            async with ctx.db.session() as session:
                await begin_write(session)
                await record(session)

    async def finish(session: AsyncSession) -> None:
        """The outcomes, and a retry job for each send that is to be tried again."""
        await record(session)
        for delivery_id, delay in retries:
            outbox.add(session, DeliveryDue(delivery_id=delivery_id), now=now, delay=delay)

    return finish


_RECORD_OUTCOME = (
    update(Delivery.__table__)  # type: ignore[arg-type]
    .where(Delivery.__table__.c.id == bindparam("b_id"), Delivery.__table__.c.status == bindparam("b_expect"))
    .values(
        status=bindparam("status"),
        last_error=bindparam("last_error"),
        updated_at=bindparam("updated_at"),
        sent_at=bindparam("sent_at"),
    )
)
"""One delivery's outcome, if it is still in the state this run left it in (executed for many at once)."""


async def _claim_all(db: Database, delivery_ids: list[int], now: datetime) -> list[int]:
    """Claims those of ``delivery_ids`` still pending (``pending -> sending``) in one short transaction that
    commits before anything is sent; returns the ids this run claimed (another run claimed the others)."""
    async with db.session() as session:
        await begin_write(session)
        claimed = await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.PENDING.value)
            .values(status=DeliveryStatus.SENDING.value, attempts=Delivery.attempts + 1, updated_at=now)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(claimed.scalars())


class _Send(Protocol):
    async def __call__(self) -> None: ...


def _targets_query() -> Select[Any]:
    """Everything sending a delivery needs, in one read: the delivery, its notification, the recipient
    (openid, the visit person's phone encrypted) and the state of what it is about (the appointment or
    the waitlist entry), to check it still applies."""
    return (
        select(
            Delivery.id,
            Delivery.channel,
            Delivery.status,
            Delivery.content,
            Delivery.updated_at,
            Notification.kind,
            Notification.appointment_id,
            Notification.waitlist_entry_id,
            Account.openid,
            Appointment.status.label("appointment_status"),
            Appointment.pay_deadline,
            VisitPerson.phone_encrypted,
            WaitlistEntry.status.label("entry_status"),
            WaitlistEntry.offer_expires_at,
        )
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(Account, Account.id == Notification.account_id)
        .outerjoin(Appointment, Appointment.id == Notification.appointment_id)
        .outerjoin(VisitPerson, VisitPerson.id == Appointment.visit_person_id)
        .outerjoin(WaitlistEntry, WaitlistEntry.id == Notification.waitlist_entry_id)
    )


async def _targets(session: AsyncSession, delivery_ids: Sequence[int]) -> list[Row[Any]]:
    rows = await session.execute(_targets_query().where(Delivery.id.in_(delivery_ids)).order_by(Delivery.id))
    return list(rows.all())


async def _sender(ctx: DeliveryContext, target: Row[Any], now: datetime) -> _Send:
    """Everything the send needs, from the delivery's row (``_targets``), before claiming; raises
    ``_NotSent`` when there is no way to send, or nothing to send any more (the notification no longer
    applies)."""
    stale = _no_longer_applies(target, now)
    if stale is not None:
        raise _NotSent(DeliveryStatus.CANCELLED, stale)
    content: Mapping[str, Any] = target.content
    if target.channel == DeliveryChannel.WECHAT_SUBSCRIBE:
        template_id = ctx.settings.subscribe_templates.get(str(content.get("purpose")))
        if not template_id:
            raise _NotSent(DeliveryStatus.SKIPPED, f"未配置订阅消息模板：{content.get('purpose')}")
        openid = target.openid
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
    if target.channel == DeliveryChannel.SMS:
        # The phone of the appointment's visit person (就诊人), decrypted only for the send, never stored.
        encrypted = target.phone_encrypted if target.appointment_id is not None else None
        phone = ctx.cipher.decrypt(encrypted, context=PHONE) if encrypted else None
        if not phone:
            raise _NotSent(DeliveryStatus.SKIPPED, "就诊人没有手机号")
        text = str(content.get("text") or "")
        template = str(target.kind)
        sms: SmsProvider = getattr(ctx, "sms", None) or LoggingSmsProvider()

        async def send_sms() -> None:
            try:
                await sms.send(phone, text, template=template)
            except SmsRejected as exc:
                raise _NotSent(DeliveryStatus.FAILED, f"短信被拒绝（{exc}）") from exc

        return send_sms
    raise _NotSent(DeliveryStatus.FAILED, f"未知的渠道：{target.channel}")


def _no_longer_applies(target: Row[Any], now: datetime) -> str | None:
    """Why the delivery's notification no longer applies to its appointment (or waitlist entry) as it
    stands now, or None."""
    if target.waitlist_entry_id is not None:
        if target.entry_status is None:
            return None
        expires_at = target.offer_expires_at
        return waitlist_stale_reason(target.kind, target.entry_status, offer_expires_at=expires_at, now=now)
    if target.appointment_id is None or target.appointment_status is None:
        return None
    return stale_reason(target.kind, target.appointment_status, pay_deadline=target.pay_deadline, now=now)


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
