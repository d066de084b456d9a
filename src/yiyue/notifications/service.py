"""Making notifications and reading them: one in-app message per event, deliveries queued through the outbox.

A notification is keyed by what it is about (``dedupe_key``, unique), so the handler of an event that
runs twice creates nothing the second time. Its deliveries (WeChat subscribe message, SMS) are rows
written in the same transaction; made by an event's handler, they are sent by the same job once it has
committed (``outbox.then``, ``channels.send_batch``: one job per fact, not one per channel), otherwise
each by a ``DeliveryDue`` job of its own (``channels.deliver``). A delivery that fails never touches the
appointment.

A message that no longer applies (``rules``: a payment reminder once the hold is paid, cancelled or
expired; a visit reminder once the visit is cancelled) is withdrawn by ``withdraw_stale``: its pending
deliveries are cancelled and, for a prompt, ``read_at`` is set, so it no longer counts as unread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking import read_model, release_views, waitlist_views
from yiyue.booking.models import Appointment, AppointmentEvent, ReleaseEntryStatus, WaitlistEntry
from yiyue.booking.waitlist import WaitlistEntryNotFound
from yiyue.core import outbox
from yiyue.core.db import begin_write
from yiyue.core.errors import NotFound
from yiyue.core.events import DeliveryDue
from yiyue.core.outbox import Finish
from yiyue.core.pagination import PageParams
from yiyue.notifications.channels import DeliveryContext, send_batch
from yiyue.notifications.events import DeliveriesDue
from yiyue.notifications.models import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    Notification,
    NotificationKind,
)
from yiyue.notifications.rules import PROMPTS, WAITLIST_PROMPTS, stale_reason, waitlist_stale_reason
from yiyue.notifications.templates import (
    AppointmentFacts,
    ReleaseFacts,
    Rendered,
    WaitlistFacts,
    render,
    render_release,
    render_waitlist,
)
from yiyue.scheduling.models import PERIOD_LABELS, Period


class NotificationNotFound(NotFound):
    code = "NOTIFICATION_NOT_FOUND"
    message = "消息不存在"


def dedupe_key(kind: NotificationKind | str, appointment_id: int, about: str = "") -> str:
    key = f"{NotificationKind(kind).value}:appointment:{appointment_id}"
    return f"{key}:{about}" if about else key


async def appointment_facts(session: AsyncSession, appointment_id: int) -> tuple[Appointment, AppointmentFacts]:
    """The appointment (read model) and everything a message says about it."""
    a = await read_model.load_one(session, appointment_id)
    facts = AppointmentFacts(
        appointment_id=a.id,
        hospital=a.hospital.name,
        hospital_address=a.hospital.address,
        department=a.department.name,
        location=a.department.location,
        doctor=a.doctor.name,
        doctor_title=a.doctor.title,
        patient_name=a.visit_person.name,
        visit_date=a.visit_date,
        period_label=PERIOD_LABELS[Period(a.schedule.period)],
        starts_at=a.slot.starts_at,
        ends_at=a.slot.ends_at,
        queue_number=a.queue_number,
        fee_fen=a.fee_fen,
        status_reason=await status_reason(session, a.id, a.status),
    )
    return a, facts


async def status_reason(session: AsyncSession, appointment_id: int, status: str) -> str:
    """The reason the latest transition into ``status`` recorded (the 停诊 reason staff gave), "" if none."""
    reason = await session.scalar(
        select(AppointmentEvent.reason)
        .where(AppointmentEvent.appointment_id == appointment_id, AppointmentEvent.to_status == status)
        .order_by(AppointmentEvent.id.desc())
        .limit(1)
    )
    return reason or ""


async def _stale(session: AsyncSession, kind: str, appointment_id: int, now: datetime) -> str | None:
    row = (
        await session.execute(
            select(Appointment.status, Appointment.pay_deadline)
            .where(Appointment.id == appointment_id)
            .with_for_update(read=True)  # PostgreSQL: a payment confirming it waits, or is seen (SQLite: one writer)
        )
    ).one_or_none()
    if row is None:
        return None  # reported as not found by whoever loads it
    return stale_reason(kind, row.status, pay_deadline=row.pay_deadline, now=now)


async def notify(
    session: AsyncSession,
    *,
    kind: NotificationKind | str,
    appointment_id: int,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
    about: str = "",
) -> Notification | None:
    """Tells the appointment's account about it: an in-app message, plus a WeChat subscribe message (for
    kinds that have a template) and an SMS to the visit person, each sent after commit by its own job.

    Once per kind and appointment (and ``about``, for a kind that can happen to an appointment more than
    once, e.g. each change of doctor): when the notification exists already this returns None and writes
    nothing. Nor is a prompt made that no longer applies (``rules``: a payment reminder for a hold paid
    meanwhile, a visit reminder for a cancelled visit); that is checked again once this unit of work
    writes, so a payment committed meanwhile is seen. Any other message is kept as history even when
    the appointment moved on (预约成功 of a booking cancelled since); its deliveries are not sent then
    (``channels.deliver``). ``extra`` carries what the appointment does not know (see
    ``templates.render``).
    """
    kind = NotificationKind(kind)
    key = dedupe_key(kind, appointment_id, about)
    if await _made_already(session, key):
        return None
    appointment, facts = await appointment_facts(session, appointment_id)
    prompt = kind.value in PROMPTS
    if prompt and stale_reason(kind, appointment.status, pay_deadline=appointment.pay_deadline, now=now):
        return None
    message = render(kind, facts, extra)

    await begin_write(session)
    if prompt and await _stale(session, kind, appointment_id, now) is not None:
        return None
    return await _store(
        session,
        account_id=appointment.account_id,
        kind=kind,
        message=message,
        key=key,
        now=now,
        appointment_id=appointment.id,
    )


async def _store(
    session: AsyncSession,
    *,
    account_id: int,
    kind: NotificationKind,
    message: Rendered,
    key: str,
    now: datetime,
    appointment_id: int | None = None,
    waitlist_entry_id: int | None = None,
) -> Notification | None:
    """The in-app message and its deliveries, each sent after commit by its own job; None when another run
    of the same event made it meanwhile. The caller has called ``begin_write``."""
    notification = Notification(
        account_id=account_id,
        kind=kind.value,
        title=message.title,
        body=message.body,
        appointment_id=appointment_id,
        waitlist_entry_id=waitlist_entry_id,
        created_at=now,
        read_at=None,
        dedupe_key=key,
    )
    try:
        async with session.begin_nested():
            session.add(notification)
    except IntegrityError:  # made meanwhile by another run of the same event (PostgreSQL; SQLite queues writers)
        await _made_already(session, key)  # this run sends what that one has not yet, should that one die
        return None

    contents: list[tuple[DeliveryChannel, dict[str, Any]]] = []
    if message.wechat is not None:
        wechat = message.wechat
        contents.append(
            (DeliveryChannel.WECHAT_SUBSCRIBE, {"purpose": wechat.purpose, "page": wechat.page, "data": wechat.data})
        )
    if message.sms is not None:
        contents.append((DeliveryChannel.SMS, {"text": message.sms}))
    # Made by an event's handler, the deliveries are claimed by this very commit (``sending``, one attempt):
    # the same job sends them right after it, with no transaction of its own to claim them (decision 0019).
    claimed = outbox.handling(session)
    deliveries = [
        Delivery(
            notification_id=notification.id,
            channel=channel.value,
            status=(DeliveryStatus.SENDING if claimed else DeliveryStatus.PENDING).value,
            content=content,
            attempts=1 if claimed else 0,
            last_error="",
            created_at=now,
            updated_at=now,
            sent_at=None,
        )
        for channel, content in contents
    ]
    session.add_all(deliveries)
    await session.flush()
    _send_after_commit(session, [delivery.id for delivery in deliveries], now=now)
    return notification


_DUE = "notifications.deliveries_due"
_CLAIMED = "notifications.deliveries_claimed"


_BATCH = "notifications.batch"


def _send_after_commit(session: AsyncSession, delivery_ids: list[int], *, now: datetime) -> None:
    """In an event's handler (``outbox.handling``): every channel is sent in the same job once the handler's
    writes commit, all the unit of work's deliveries in one batch (``channels.send_batch``), and the event
    counts as handled only then (decision 0019). Inside ``one_job_for_deliveries`` (the evening's visit
    reminders) they wait for that one job. Anywhere else (a script) each delivery gets a ``DeliveryDue``
    job of its own. Either way the job is written with the deliveries, so it is as durable as they are."""
    if outbox.handling(session):
        send_in_this_job(session, delivery_ids, claimed=True)
        return
    batch: list[int] | None = session.info.get(_BATCH)
    if batch is not None:
        batch.extend(delivery_ids)
        return
    for delivery_id in delivery_ids:
        outbox.add(session, DeliveryDue(delivery_id=delivery_id), now=now)


@contextmanager
def one_job_for_deliveries(session: AsyncSession, *, now: datetime) -> Iterator[None]:
    """The deliveries the notifications made inside this block are sent by one ``DeliveriesDue`` job (in
    one batch: ``channels.send_batch``) instead of a job each."""
    batch: list[int] = session.info.setdefault(_BATCH, [])
    try:
        yield
    finally:
        session.info.pop(_BATCH, None)
    if batch:
        outbox.add(session, DeliveriesDue(delivery_ids=batch), now=now)


def send_in_this_job(session: AsyncSession, delivery_ids: list[int], *, claimed: bool = False) -> None:
    """For an event's handler: sends ``delivery_ids`` (those not done yet) once the handler's writes have
    committed, in one batch with the others of this unit of work, before the event counts as handled.
    ``claimed``: this unit of work made them ``sending`` (its commit claims them for this job)."""
    if not delivery_ids:
        return
    due: list[int] = session.info.setdefault(_DUE, [])
    due.extend(delivery_ids)
    ours: set[int] = session.info.setdefault(_CLAIMED, set())
    if claimed:
        ours.update(delivery_ids)

    async def send(ctx: DeliveryContext, at: datetime) -> Finish | None:
        return await send_batch(ctx, due, at, claimed=ours)

    outbox.then(session, _DUE, send)


async def _made_already(session: AsyncSession, key: str) -> bool:
    """Whether the notification ``key`` exists. In an event's handler that runs again (a crash after its
    writes committed but before its sends were recorded), its deliveries not done are looked at in this
    job: one still ``pending`` is sent; one left ``sending`` may have gone out, so it is never sent again
    (a job of its own marks it 结果未知 once no run can still be sending it)."""
    made = await session.scalar(select(Notification.id).where(Notification.dedupe_key == key))
    if made is None:
        return False
    if outbox.handling(session):
        waiting = await session.scalars(
            select(Delivery.id).where(
                Delivery.notification_id == made,
                Delivery.status.in_((DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)),
            )
        )
        send_in_this_job(session, list(waiting))
    return True


async def withdraw_stale(session: AsyncSession, *, appointment_id: int, now: datetime) -> int:
    """Withdraws the appointment's messages that no longer apply to it (``rules``): each one's deliveries
    not yet sent become ``cancelled`` with the reason, and a prompt still unread is marked read now; and
    the offer of a waitlist entry confirmed into it (候补成功，请确认). Safe to run twice; writes nothing
    when nothing is stale. Returns how many messages were withdrawn."""
    withdrawn = 0
    confirmed = select(WaitlistEntry.id).where(WaitlistEntry.appointment_id == appointment_id)
    for entry_id in list(await session.scalars(confirmed)):
        withdrawn += await withdraw_waitlist(session, entry_id=entry_id, now=now)
    if not await _stale_notifications(session, appointment_id, now):
        return withdrawn
    await begin_write(session)
    stale = await _stale_notifications(session, appointment_id, now)  # again, under the writer's turn
    await _withdraw(session, stale, prompts=PROMPTS, now=now)
    return withdrawn + len(stale)


async def withdraw_waitlist(session: AsyncSession, *, entry_id: int, now: datetime) -> int:
    """Withdraws the entry's messages that no longer apply (the offer, once confirmed, let go or run out),
    as ``withdraw_stale`` does for an appointment's. Returns how many were withdrawn."""
    if not await _stale_waitlist_notifications(session, entry_id, now):
        return 0
    await begin_write(session)
    stale = await _stale_waitlist_notifications(session, entry_id, now)
    await _withdraw(session, stale, prompts=WAITLIST_PROMPTS, now=now)
    return len(stale)


async def _withdraw(
    session: AsyncSession, stale: list[tuple[int, str, str]], *, prompts: frozenset[str], now: datetime
) -> None:
    for notification_id, kind, reason in stale:
        if kind in prompts:
            await session.execute(
                update(Notification)
                .where(Notification.id == notification_id, Notification.read_at.is_(None))
                .values(read_at=now)
                .execution_options(synchronize_session=False)
            )
        await session.execute(
            update(Delivery)
            .where(Delivery.notification_id == notification_id, Delivery.status == DeliveryStatus.PENDING.value)
            .values(status=DeliveryStatus.CANCELLED.value, last_error=reason, updated_at=now)
            .execution_options(synchronize_session=False)
        )


async def _stale_notifications(session: AsyncSession, appointment_id: int, now: datetime) -> list[tuple[int, str, str]]:
    """(id, kind, reason) of the appointment's messages that no longer apply and still have something to
    withdraw: an unread prompt, or a delivery not yet sent."""
    appointment = (
        await session.execute(
            select(Appointment.status, Appointment.pay_deadline).where(Appointment.id == appointment_id)
        )
    ).one_or_none()
    if appointment is None:
        return []
    return await _stale_among(
        session,
        Notification.appointment_id == appointment_id,
        prompts=PROMPTS,
        reason=lambda kind: stale_reason(kind, appointment.status, pay_deadline=appointment.pay_deadline, now=now),
    )


async def list_for(session: AsyncSession, account_id: int, page: PageParams) -> tuple[list[Notification], int, int]:
    """The account's notifications, newest first; with how many there are and how many are unread."""
    items = list(
        await session.scalars(
            select(Notification)
            .where(Notification.account_id == account_id)
            .order_by(Notification.id.desc())
            .offset(page.offset)
            .limit(page.page_size)
        )
    )
    counts = (
        await session.execute(
            select(func.count(), func.count().filter(Notification.read_at.is_(None))).where(
                Notification.account_id == account_id
            )
        )
    ).one()
    return items, int(counts[0]), int(counts[1])


async def mark_read(session: AsyncSession, account_id: int, notification_id: int, now: datetime) -> Notification:
    """Marks one of the caller's notifications read (once: reading it again keeps the first time).
    Anyone else's is reported as not found."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.account_id != account_id:
        raise NotificationNotFound()
    if notification.read_at is None:
        await begin_write(session)
        await session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.read_at.is_(None))
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(notification)
    return notification


async def mark_all_read(session: AsyncSession, account_id: int, now: datetime) -> int:
    """Marks every unread notification of the caller read; returns how many changed."""
    await begin_write(session)
    result = await session.execute(
        update(Notification)
        .where(Notification.account_id == account_id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- the waitlist (候补): messages about an entry ---------------------------------------------------------


def waitlist_key(kind: NotificationKind | str, entry_id: int) -> str:
    """An entry is offered a slot at most once (an offer that ends ends the entry), so one message of each
    kind per entry."""
    return f"{NotificationKind(kind).value}:waitlist:{entry_id}"


async def waitlist_facts(session: AsyncSession, entry_id: int) -> tuple[WaitlistEntry, WaitlistFacts]:
    """The entry (read model) and everything a message says about it."""
    found = await waitlist_views.load(session, [entry_id])
    if not found:
        raise WaitlistEntryNotFound()
    loaded = found[0]
    entry, schedule, slot = loaded.entry, loaded.schedule, loaded.slot
    return entry, WaitlistFacts(
        entry_id=entry.id,
        hospital=loaded.hospital.name,
        department=loaded.department.name,
        doctor=loaded.doctor.name,
        doctor_title=loaded.doctor.title,
        patient_name=loaded.person.name,
        visit_date=schedule.visit_date,
        period_label=PERIOD_LABELS[Period(schedule.period)],
        starts_at=schedule.starts_at,
        slot_number=slot.number if slot is not None else None,
        slot_starts_at=slot.starts_at if slot is not None else None,
        slot_ends_at=slot.ends_at if slot is not None else None,
        offered_at=entry.offered_at,
        offer_expires_at=entry.offer_expires_at,
        end_reason=entry.end_reason,
    )


async def notify_waitlist(
    session: AsyncSession, *, kind: NotificationKind | str, entry_id: int, now: datetime
) -> Notification | None:
    """Tells the entry's account about it: an in-app message, and for an offer a WeChat subscribe message
    (the patient has minutes to confirm). Once per kind and entry; an offer that no longer applies
    (confirmed, let go or run out meanwhile) is not made, checked again once this unit of work writes."""
    kind = NotificationKind(kind)
    key = waitlist_key(kind, entry_id)
    if await _made_already(session, key):
        return None
    entry, facts = await waitlist_facts(session, entry_id)
    prompt = kind.value in WAITLIST_PROMPTS
    if prompt and waitlist_stale_reason(kind, entry.status, offer_expires_at=entry.offer_expires_at, now=now):
        return None
    message = render_waitlist(kind, facts)

    await begin_write(session)
    if prompt and await _waitlist_stale(session, kind, entry_id, now) is not None:
        return None
    return await _store(
        session, account_id=entry.account_id, kind=kind, message=message, key=key, now=now, waitlist_entry_id=entry.id
    )


async def _waitlist_stale(session: AsyncSession, kind: str, entry_id: int, now: datetime) -> str | None:
    row = (
        await session.execute(
            select(WaitlistEntry.status, WaitlistEntry.offer_expires_at)
            .where(WaitlistEntry.id == entry_id)
            .with_for_update(read=True)  # PostgreSQL: a confirmation in flight waits, or is seen
        )
    ).one_or_none()
    if row is None:
        return None
    return waitlist_stale_reason(kind, row.status, offer_expires_at=row.offer_expires_at, now=now)


async def _stale_waitlist_notifications(
    session: AsyncSession, entry_id: int, now: datetime
) -> list[tuple[int, str, str]]:
    """(id, kind, reason) of the entry's messages that no longer apply and still have something to
    withdraw: an unread prompt, or a delivery not yet sent."""
    entry = (
        await session.execute(
            select(WaitlistEntry.status, WaitlistEntry.offer_expires_at).where(WaitlistEntry.id == entry_id)
        )
    ).one_or_none()
    if entry is None:
        return []
    return await _stale_among(
        session,
        Notification.waitlist_entry_id == entry_id,
        prompts=WAITLIST_PROMPTS,
        reason=lambda kind: waitlist_stale_reason(kind, entry.status, offer_expires_at=entry.offer_expires_at, now=now),
    )


async def _stale_among(
    session: AsyncSession,
    about: ColumnElement[bool],
    *,
    prompts: frozenset[str],
    reason: Callable[[str], str | None],
) -> list[tuple[int, str, str]]:
    """(id, kind, reason) of the notifications ``about`` selects that no longer apply (``reason`` of their
    kind) and still have something to withdraw: an unread prompt, or a delivery not yet sent."""
    pending = (
        select(Delivery.id)
        .where(Delivery.notification_id == Notification.id, Delivery.status == DeliveryStatus.PENDING.value)
        .exists()
    )
    rows = await session.execute(
        select(Notification.id, Notification.kind, Notification.read_at.is_(None), pending)
        .where(about)
        .order_by(Notification.id)
    )
    found: list[tuple[int, str, str]] = []
    for notification_id, kind, unread, has_pending in rows.tuples():
        why = reason(kind)
        if why is not None and (has_pending or (unread and kind in prompts)):
            found.append((notification_id, kind, why))
    return found


# --- 抽签放号: the result of a draw entry (issue 9, part A) --------------------------------------------


def release_key(kind: NotificationKind | str, entry_id: int) -> str:
    """An entry is decided once: one result message per entry."""
    return f"{NotificationKind(kind).value}:release:{entry_id}"


async def notify_release(session: AsyncSession, *, entry_id: int, now: datetime) -> Notification | None:
    """Tells the entry's account the draw's result (已中签 / 未中签): an in-app message and a subscribe
    message. A won message points at the appointment. Once per entry; nothing while the entry is queued."""
    found = await release_views.load(session, [entry_id])
    if not found:
        return None
    loaded = found[0]
    entry = loaded.entry
    if entry.status == ReleaseEntryStatus.QUEUED:
        return None
    kind = NotificationKind.RELEASE_WON if entry.status == ReleaseEntryStatus.WON else NotificationKind.RELEASE_LOST
    key = release_key(kind, entry_id)
    if await _made_already(session, key):
        return None
    appointment = await session.get(Appointment, entry.appointment_id) if entry.appointment_id else None
    schedule = loaded.schedule
    facts = ReleaseFacts(
        entry_id=entry.id,
        hospital=loaded.hospital.name,
        department=loaded.department.name,
        doctor=loaded.doctor.name,
        doctor_title=loaded.doctor.title,
        patient_name=loaded.person.name,
        visit_date=schedule.visit_date,
        period_label=PERIOD_LABELS[Period(schedule.period)],
        starts_at=schedule.starts_at,
        ends_at=schedule.ends_at,
        result_reason=entry.result_reason,
        queue_number=appointment.queue_number if appointment is not None else None,
        pay_deadline=appointment.pay_deadline if appointment is not None else None,
    )
    await begin_write(session)
    return await _store(
        session,
        account_id=entry.account_id,
        kind=kind,
        message=render_release(kind, facts),
        key=key,
        now=now,
        appointment_id=entry.appointment_id,
    )
