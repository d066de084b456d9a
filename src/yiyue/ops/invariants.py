"""What every database of this application keeps true, checked after a restore (``yiyue backup verify``)
and at any time: a failed check names the broken rows, so an operator can tell a bad backup from a bug.

The checks read; none writes. The unique indexes already refuse most of these in a healthy database:
a restore that lost an index, a data-only restore or a hand edit is what they catch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking.models import OCCUPYING
from yiyue.booking.models import Appointment as A
from yiyue.core.db import Base
from yiyue.members import service as members
from yiyue.payments.models import Payment, Refund
from yiyue.scheduling.models import Slot, SlotStatus

CLAIMED = (SlotStatus.HELD, SlotStatus.BOOKED)

SHOWN = 5
"""Rows named per broken invariant; the count says how many there are."""


@dataclass(frozen=True)
class Problem:
    invariant: str
    detail: str


Check = Callable[[AsyncSession], Awaitable[list[Problem]]]


async def check(session: AsyncSession) -> list[Problem]:
    """Every invariant below, in order; an empty list means the database keeps them all."""
    found: list[Problem] = []
    for one in CHECKS:
        found += await one(session)
    return found


async def no_slot_sold_twice(session: AsyncSession) -> list[Problem]:
    rows = await session.execute(
        select(A.slot_id, func.count())
        .where(A.status.in_(OCCUPYING))
        .group_by(A.slot_id)
        .having(func.count() > 1)
        .order_by(A.slot_id)
    )
    return _problems("slot_sold_twice", [f"号源 {slot} 有 {n} 个有效预约" for slot, n in rows.tuples()])


async def no_person_twice_with_a_doctor_a_day(session: AsyncSession) -> list[Problem]:
    rows = await session.execute(
        select(A.doctor_id, A.visit_date, func.count())
        .where(A.status.in_(OCCUPYING))
        .group_by(A.person_index, A.doctor_id, A.visit_date)
        .having(func.count() > 1)
        .order_by(A.doctor_id, A.visit_date)
    )
    return _problems(
        "person_booked_twice",
        [f"医生 {doctor} {day}: 同一就诊人有 {n} 个有效预约" for doctor, day, n in rows.tuples()],
    )


async def every_appointment_holds_its_slot(session: AsyncSession) -> list[Problem]:
    """An appointment that occupies a slot (an unpaid hold, a booking, a visit done or missed) keeps it
    claimed (``held`` or ``booked``, never free for another), and the slot is of its schedule."""
    rows = await session.execute(
        select(A.id, A.status, Slot.id, Slot.status, Slot.schedule_id, A.schedule_id)
        .join(Slot, Slot.id == A.slot_id)
        .where(A.status.in_(OCCUPYING))
        .where(Slot.status.not_in(CLAIMED) | (Slot.schedule_id != A.schedule_id))
        .order_by(A.id)
    )
    return _problems(
        "appointment_slot_not_claimed",
        [
            f"预约 {a} ({status}) 的号源 {slot} 状态 {slot_status}，排班 {slot_schedule}/{schedule}"
            for a, status, slot, slot_status, slot_schedule, schedule in rows.tuples()
        ],
    )


async def every_claimed_slot_has_its_appointment(session: AsyncSession) -> list[Problem]:
    """The reverse: a slot claimed (``held`` or ``booked``) has an appointment that occupies it. One with
    none is capacity silently lost, no patient can take it (a partial restore, or a bug, leaves that)."""
    occupied = select(A.id).where(A.slot_id == Slot.id, A.status.in_(OCCUPYING)).exists()
    rows = await session.execute(
        select(Slot.id, Slot.status, Slot.schedule_id).where(Slot.status.in_(CLAIMED), ~occupied).order_by(Slot.id)
    )
    return _problems(
        "claimed_slot_without_appointment",
        [f"号源 {slot} ({status})，排班 {schedule}：没有占用它的预约" for slot, status, schedule in rows.tuples()],
    )


async def no_refund_exceeds_its_payment(session: AsyncSession) -> list[Problem]:
    rows = await session.execute(
        select(Refund.id, Refund.amount_fen, Payment.amount_fen)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Refund.amount_fen > Payment.amount_fen)
        .order_by(Refund.id)
    )
    return _problems(
        "refund_exceeds_payment", [f"退款 {r} 金额 {amount} 分 > 支付 {paid} 分" for r, amount, paid in rows.tuples()]
    )


async def points_balances_equal_their_ledgers(session: AsyncSession) -> list[Problem]:
    return _problems(
        "points_balance_mismatch",
        [
            f"account {m.account_id}: {m.problem}（余额 {m.balance}，流水合计 {m.ledger_sum}）"
            for m in await members.check_all(session)
        ],
    )


async def sequences_ahead_of_their_ids(session: AsyncSession) -> list[Problem]:
    """PostgreSQL: each table's id sequence is past its largest id, or the next insert collides with a row
    that is already there (what a data-only restore or a copy by hand leaves behind)."""
    if session.bind.dialect.name != "postgresql":
        return []
    behind: list[str] = []
    for table in Base.metadata.sorted_tables:
        if "id" not in table.c or not table.c.id.autoincrement:
            continue
        sequence = await session.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
        if sequence is None:
            continue
        largest = await session.scalar(select(func.max(table.c.id)))
        last = await session.scalar(text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}"))
        if largest is not None and (last or 0) < largest:
            behind.append(f"{table.name}: 序列 {last}，最大 id {largest}")
    return _problems("sequence_behind", behind)


CHECKS: tuple[Check, ...] = (
    no_slot_sold_twice,
    no_person_twice_with_a_doctor_a_day,
    every_appointment_holds_its_slot,
    every_claimed_slot_has_its_appointment,
    no_refund_exceeds_its_payment,
    points_balances_equal_their_ledgers,
    sequences_ahead_of_their_ids,
)


def _problems(invariant: str, details: list[str]) -> list[Problem]:
    if len(details) > SHOWN:
        details = [*details[:SHOWN], f"…共 {len(details)} 处"]
    return [Problem(invariant, d) for d in details]
