"""Bans (预约限制) as a hospital sees them: the accounts barred from booking for no-shows at its clinics
(爽约, kind ``no_show``) or for letting unpaid holds go again and again there (反复占号, kind
``hold_abuse``: cancelled or left to expire), and lifting one early, with a reason.

A ban belongs to an account, not a hospital; a hospital sees (and may lift) the no-show bans of accounts
that have no-shows at its clinics and the hold-abuse bans of accounts that let holds go there, and only
the visit persons concerned there (names masked).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import VisitPerson
from yiyue.accounts.staff.models import StaffUser
from yiyue.accounts.staff.scope import actor, require_role
from yiyue.booking.models import Appointment, AppointmentStatus, BookingBan
from yiyue.booking.rules import BAN_KIND_LABELS, HOLD_ABUSE
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
    """The account's visit persons concerned here (masked: 张*丰): who did not come (爽约), or whose unpaid
    holds were let go (反复占号)."""
    no_shows_here: int = 0
    last_no_show: date | None = None
    holds_let_go_here: int = 0
    """Unpaid holds at this hospital cancelled or left to expire (a hold-abuse ban's count)."""

    @property
    def kind_label(self) -> str:
        return BAN_KIND_LABELS.get(self.ban.kind, self.ban.kind)


def _in_force(now: datetime) -> list[ColumnElement[bool]]:
    return [BookingBan.starts_at <= now, BookingBan.ends_at > now, BookingBan.lifted_at.is_(None)]


def _no_shows_at(hospital_id: int) -> ColumnElement[bool]:
    return (Appointment.hospital_id == hospital_id) & (Appointment.status == AppointmentStatus.NO_SHOW)


def _holds_let_go_at(hospital_id: int) -> ColumnElement[bool]:
    """Unpaid holds at the hospital that ended without payment (cancelled by the patient or expired)."""
    return and_(
        Appointment.hospital_id == hospital_id,
        Appointment.pay_deadline.is_not(None),
        Appointment.paid_at.is_(None),
        Appointment.status.in_((AppointmentStatus.CANCELLED, AppointmentStatus.EXPIRED)),
    )


def _seen_at(hospital_id: int) -> ColumnElement[bool]:
    """SQL: the ban is one the hospital sees: a no-show ban of an account with no-shows there, a hold-abuse
    ban of an account that let holds go there."""
    no_shows = select(Appointment.account_id).where(_no_shows_at(hospital_id)).distinct()
    let_go = select(Appointment.account_id).where(_holds_let_go_at(hospital_id)).distinct()
    return or_(
        and_(BookingBan.kind != HOLD_ABUSE, BookingBan.account_id.in_(no_shows)),
        and_(BookingBan.kind == HOLD_ABUSE, BookingBan.account_id.in_(let_go)),
    )


async def list_bans(
    session: AsyncSession, *, staff: StaffUser, hospital_id: int | None, now: datetime, offset: int, limit: int
) -> tuple[list[BanLine], int]:
    """The bans in force the hospital sees (``_seen_at``), of either kind, the longest-running last. Audited."""
    require_role(staff, *BAN_READ_ROLES)
    scope = staff_hospital(staff, hospital_id)
    conditions = [*_in_force(now), _seen_at(scope)]
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
    """A hospital administrator lifts a ban in force early (提前解除), of either kind: the account may book
    again at once; the no-shows before a lifted no-show ban, and the holds let go before a hold-abuse ban,
    no longer count towards the next one. Audited with the reason."""
    require_role(staff, *BAN_LIFT_ROLES)
    scope = staff_hospital(staff, None)
    await begin_write(session)
    ban = await session.scalar(select(BookingBan).where(BookingBan.id == ban_id).with_for_update())
    if ban is None:
        raise BanNotFound()
    here = _holds_let_go_at(scope) if ban.kind == HOLD_ABUSE else _no_shows_at(scope)
    seen_here = await session.scalar(
        select(func.count()).select_from(Appointment).where(Appointment.account_id == ban.account_id, here)
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
            "kind": ban.kind,
            "reason": reason,
            "before": {"ends_at": ban.ends_at.isoformat(), "lifted_at": None},
            "after": {"lifted_at": now.isoformat()},
        },
    )
    await session.flush()
    return ban


@dataclass
class _Seen:
    names: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    last: dict[int, date] = field(default_factory=dict)


async def _seen(session: AsyncSession, accounts: list[int], here: ColumnElement[bool]) -> _Seen:
    """Per account, the visit persons (masked), how many appointments and the latest day matching ``here``."""
    seen = _Seen()
    if not accounts:
        return seen
    rows = await session.execute(
        select(Appointment.account_id, VisitPerson.name, func.count(), func.max(Appointment.visit_date))
        .join(VisitPerson, VisitPerson.id == Appointment.visit_person_id)
        .where(here, Appointment.account_id.in_(accounts))
        .group_by(Appointment.account_id, VisitPerson.id, VisitPerson.name)
        .order_by(Appointment.account_id, VisitPerson.id)
    )
    for account_id, name, n, latest in rows.tuples():
        seen.names[account_id].append(mask_name(name))
        seen.counts[account_id] += int(n)
        if latest is not None and (account_id not in seen.last or latest > seen.last[account_id]):
            seen.last[account_id] = latest
    return seen


async def _lines(session: AsyncSession, bans: list[BookingBan], *, hospital_id: int) -> list[BanLine]:
    if not bans:
        return []
    no_shows = await _seen(session, [b.account_id for b in bans if b.kind != HOLD_ABUSE], _no_shows_at(hospital_id))
    let_go = await _seen(session, [b.account_id for b in bans if b.kind == HOLD_ABUSE], _holds_let_go_at(hospital_id))
    lines = []
    for b in bans:
        if b.kind == HOLD_ABUSE:
            lines.append(
                BanLine(ban=b, names_masked=let_go.names[b.account_id], holds_let_go_here=let_go.counts[b.account_id])
            )
        else:
            lines.append(
                BanLine(
                    ban=b,
                    names_masked=no_shows.names[b.account_id],
                    no_shows_here=no_shows.counts[b.account_id],
                    last_no_show=no_shows.last.get(b.account_id),
                )
            )
    return lines
