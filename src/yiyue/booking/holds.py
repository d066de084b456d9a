"""Holding limits (占号限制) against scalping (黄牛号): how many unpaid holds an account may have at once in
a hospital, the ban that repeated letting-go of holds brings, and the slot such a hold frees going back
to the open pool only after a random delay.

An unpaid hold is a ``pending_payment`` appointment: the slot is the patient's until the pay deadline. A
scalper holds many and hands them to buyers, or lets them go and holds again in a loop. So:

- an account may hold at most ``Hospital.max_unpaid_holds`` of them at once in a hospital (checked under
  the account lock by every use case that makes a hold: booking and confirming a waitlist offer);
- ``hold_abuse_threshold`` holds let go (cancelled by the patient, or left to expire) within
  ``hold_abuse_window_days`` ban the account from booking for ``hold_abuse_ban_days`` (a ``BookingBan``
  of kind ``hold_abuse``), in the unit of work of the cancellation or expiry that reached it; holds let
  go before the start of the account's last hold-abuse ban (lifted or not) are not counted again;
- the slot a let-go hold frees is offered to the waitlist first (``waitlist.slots_freed``); left free, it
  is bookable again only from ``Slot.reopens_at`` (now + a random delay), when ``SlotReopens`` offers it
  to the waitlist once more and reopens the gate.

Cancelling a paid booking frees its slot at once, as before: the patient paid, which a scalper's hold
loop never does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts import service as accounts
from yiyue.booking import rules
from yiyue.booking.errors import TooManyUnpaidHolds
from yiyue.booking.models import Appointment, AppointmentEvent, AppointmentStatus, BookingBan
from yiyue.core import outbox
from yiyue.core.events import SlotReopens
from yiyue.hospitals.models import Hospital
from yiyue.scheduling.models import Slot, SlotStatus

LET_GO = (AppointmentStatus.CANCELLED, AppointmentStatus.EXPIRED)
"""Where an unpaid hold ends when the patient does not pay: cancelled by them, or run out."""


async def check_room_for_hold(session: AsyncSession, *, account_id: int, hospital: Hospital, now: datetime) -> None:
    """Refuses a new unpaid hold while the account already has ``max_unpaid_holds`` in the hospital (holds
    past their deadline that the expiry job has not reached yet do not count). The caller holds the
    account lock, so two bookings of one account cannot both pass."""
    pending = list(
        await session.scalars(
            select(Appointment.id)
            .where(*pending_holds_of(account_id=account_id, hospital_id=hospital.id, now=now))
            .order_by(Appointment.id)
        )
    )
    if len(pending) >= hospital.max_unpaid_holds:
        raise TooManyUnpaidHolds(
            rules.unpaid_holds_refusal(hospital.max_unpaid_holds),
            detail={"pending_appointment_ids": pending, "limit": hospital.max_unpaid_holds},
        )


def pending_holds_of(
    *,
    account_id: int | ColumnElement[int],
    hospital_id: int | ColumnElement[int],
    now: datetime | ColumnElement[datetime],
) -> list[ColumnElement[bool]]:
    """SQL: the account's unpaid holds in the hospital that count against ``max_unpaid_holds`` now."""
    return [
        Appointment.account_id == account_id,
        Appointment.hospital_id == hospital_id,
        Appointment.status == AppointmentStatus.PENDING_PAYMENT,
        Appointment.pay_deadline > now,
    ]


async def ban_if_abusing(
    session: AsyncSession, *, account_id: int, hospital: Hospital, now: datetime
) -> BookingBan | None:
    """Bans the account (kind ``hold_abuse``) when its unpaid holds in the hospital let go within the
    window have reached the hospital's threshold, unless a hold-abuse ban is in force already. Call after
    the transition of this unit of work has been flushed."""
    # Two let-gos of one account at once (parallel cancels, a cancel beside the expiry sweep) would each
    # count the other's as uncommitted and both stay one short: the account lock makes them take turns.
    await accounts.lock_account(session, account_id)
    since = now - timedelta(days=hospital.hold_abuse_window_days)
    last_ban = await session.scalar(
        select(func.max(BookingBan.starts_at)).where(
            BookingBan.account_id == account_id, BookingBan.kind == rules.HOLD_ABUSE
        )
    )
    if last_ban is not None and last_ban > since:
        since = last_ban
    let_go = await session.scalar(
        select(func.count(func.distinct(AppointmentEvent.appointment_id)))
        .select_from(AppointmentEvent)
        .join(Appointment, Appointment.id == AppointmentEvent.appointment_id)
        .where(
            Appointment.account_id == account_id,
            Appointment.hospital_id == hospital.id,
            AppointmentEvent.from_status == AppointmentStatus.PENDING_PAYMENT,
            AppointmentEvent.to_status.in_(LET_GO),
            AppointmentEvent.at > since,
        )
    )
    count = int(let_go or 0)
    if count < hospital.hold_abuse_threshold:
        return None
    in_force = await session.scalar(
        select(BookingBan.id)
        .where(
            BookingBan.account_id == account_id,
            BookingBan.kind == rules.HOLD_ABUSE,
            BookingBan.starts_at <= now,
            BookingBan.ends_at > now,
            BookingBan.lifted_at.is_(None),
        )
        .limit(1)
    )
    if in_force is not None:
        return None
    ban = BookingBan(
        account_id=account_id,
        starts_at=now,
        ends_at=now + timedelta(days=hospital.hold_abuse_ban_days),
        kind=rules.HOLD_ABUSE,
        reason=rules.hold_abuse_reason(hospital.hold_abuse_window_days, count),
    )
    session.add(ban)
    await session.flush()
    return ban


async def reopen_later(
    session: AsyncSession,
    *,
    slots: Iterable[tuple[int, int]],
    now: datetime,
    delay_bounds: tuple[int, int] = rules.FREED_SLOT_DELAY_SECONDS,
) -> None:
    """Slots (``(schedule_id, slot_id)``) freed by let-go holds, after the waitlist had its pick: those
    still free are bookable only from now + a random delay, when ``SlotReopens`` hands them on."""
    for schedule_id, slot_id in sorted(set(slots)):
        delay = rules.freed_slot_delay(delay_bounds)
        delayed = await session.execute(
            update(Slot)
            .where(Slot.id == slot_id, Slot.status == SlotStatus.AVAILABLE)
            .values(reopens_at=now + delay)
            .execution_options(synchronize_session=False)
        )
        if delayed.rowcount:  # type: ignore[attr-defined]
            outbox.add(session, SlotReopens(schedule_id=schedule_id, slot_id=slot_id), now=now, delay=delay)
