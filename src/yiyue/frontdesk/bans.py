"""Bans (爽约限制) as a hospital sees them: the accounts barred from booking for no-shows at its clinics,
and lifting one early, with a reason.

A ban belongs to an account, not a hospital; a hospital sees (and may lift) the bans of accounts that
have no-shows at its clinics, and only the visit persons who did not come there (names masked).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import VisitPerson
from yiyue.accounts.staff.models import StaffUser
from yiyue.accounts.staff.scope import actor, require_role
from yiyue.booking.models import Appointment, AppointmentStatus, BookingBan
from yiyue.core import audit
from yiyue.core.crypto import mask_name
from yiyue.core.db import begin_write
from yiyue.frontdesk.errors import BanNotFound, BanNotInForce
from yiyue.frontdesk.rules import BAN_LIFT_ROLES, BAN_READ_ROLES
from yiyue.frontdesk.service import staff_hospital


@dataclass(frozen=True)
class BanLine:
    """A ban in force, with what the hospital knows of the account behind it."""

    ban: BookingBan
    names_masked: list[str] = field(default_factory=list)
    """The account's visit persons who did not come to this hospital (masked: 张*丰)."""
    no_shows_here: int = 0
    last_no_show: date | None = None


def _in_force(now: datetime) -> list[ColumnElement[bool]]:
    return [BookingBan.starts_at <= now, BookingBan.ends_at > now, BookingBan.lifted_at.is_(None)]


def _no_shows_at(hospital_id: int) -> ColumnElement[bool]:
    return (Appointment.hospital_id == hospital_id) & (Appointment.status == AppointmentStatus.NO_SHOW)


async def list_bans(
    session: AsyncSession, *, staff: StaffUser, hospital_id: int | None, now: datetime, offset: int, limit: int
) -> tuple[list[BanLine], int]:
    """The bans in force of accounts with no-shows at the hospital, the longest-running last. Audited."""
    require_role(staff, *BAN_READ_ROLES)
    scope = staff_hospital(staff, hospital_id)
    accounts_here = select(Appointment.account_id).where(_no_shows_at(scope)).distinct()
    conditions = [*_in_force(now), BookingBan.account_id.in_(accounts_here)]
    total = await session.scalar(select(func.count()).select_from(BookingBan).where(*conditions))
    bans = list(
        await session.scalars(
            select(BookingBan)
            .where(*conditions)
            .order_by(BookingBan.ends_at, BookingBan.id)
            .offset(offset)
            .limit(limit)
        )
    )
    lines = await _lines(session, bans, hospital_id=scope)
    await begin_write(session)
    audit.record(
        session,
        actor=actor(staff),
        action="booking_ban.list",
        subject=f"hospital:{scope}",
        at=now,
        hospital_id=scope,
        detail={"ban_ids": [b.id for b in bans], "total": int(total or 0)},
    )
    return lines, int(total or 0)


async def lift_ban(session: AsyncSession, *, staff: StaffUser, ban_id: int, reason: str, now: datetime) -> BookingBan:
    """A hospital administrator lifts a ban in force early (提前解除): the account may book again at once,
    and the no-shows before it no longer count towards the next ban. Audited with the reason."""
    require_role(staff, *BAN_LIFT_ROLES)
    scope = staff_hospital(staff, None)
    await begin_write(session)
    ban = await session.scalar(select(BookingBan).where(BookingBan.id == ban_id).with_for_update())
    if ban is None:
        raise BanNotFound()
    seen_here = await session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(Appointment.account_id == ban.account_id, _no_shows_at(scope))
    )
    if not seen_here:
        raise BanNotFound()
    if ban.lifted_at is not None or not ban.starts_at <= now < ban.ends_at:
        raise BanNotInForce()
    ban.lifted_at = now
    ban.lifted_by = actor(staff)
    ban.lift_reason = reason
    audit.record(
        session,
        actor=actor(staff),
        action="booking_ban.lift",
        subject=f"booking_ban:{ban.id}",
        at=now,
        hospital_id=scope,
        detail={
            "account_id": ban.account_id,
            "reason": reason,
            "before": {"ends_at": ban.ends_at.isoformat(), "lifted_at": None},
            "after": {"lifted_at": now.isoformat()},
        },
    )
    await session.flush()
    return ban


async def _lines(session: AsyncSession, bans: list[BookingBan], *, hospital_id: int) -> list[BanLine]:
    if not bans:
        return []
    rows = await session.execute(
        select(Appointment.account_id, VisitPerson.name, func.count(), func.max(Appointment.visit_date))
        .join(VisitPerson, VisitPerson.id == Appointment.visit_person_id)
        .where(_no_shows_at(hospital_id), Appointment.account_id.in_([b.account_id for b in bans]))
        .group_by(Appointment.account_id, VisitPerson.id, VisitPerson.name)
        .order_by(Appointment.account_id, VisitPerson.id)
    )
    names: dict[int, list[str]] = defaultdict(list)
    counts: dict[int, int] = defaultdict(int)
    last: dict[int, date] = {}
    for account_id, name, n, latest in rows.tuples():
        names[account_id].append(mask_name(name))
        counts[account_id] += int(n)
        if latest is not None and (account_id not in last or latest > last[account_id]):
            last[account_id] = latest
    return [
        BanLine(
            ban=b,
            names_masked=names[b.account_id],
            no_shows_here=counts[b.account_id],
            last_no_show=last.get(b.account_id),
        )
        for b in bans
    ]
