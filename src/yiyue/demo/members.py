"""Demo members (演示会员): one patient account at 金卡 level, and a session of a popular expert whose public
release is about 20 minutes away, so the gold member can book it in the members' early window
(提前预约) while everyone else is told when it opens and that members book 30 minutes earlier.

The level comes from the ledger, as in production: visits credited through ``members.service.credit``
over the last months (points earned in the last 12 months decide the level). The session is the expert's
first one not yet released, its release moved to ``now + 20 minutes``; the expert's hospital keeps a
members' share (会员预留号源) of it, laid out by the scheduling service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import Account
from yiyue.core.db import begin_write
from yiyue.demo.data.doctors import POPULAR_EXPERTS
from yiyue.hospitals.models import Doctor, Hospital
from yiyue.members import rules
from yiyue.members import service as members
from yiyue.members.models import MemberLevel
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, ScheduleStatus

GOLD = "gold"
RELEASE_IN = timedelta(minutes=20)
DEMO_OPENID = "demo-user"
"""The account made when the demo has no patient yet (the README's curl login uses this openid)."""
SHARE_PERCENT = 20
"""The members' share the expert's hospital keeps in the demo."""


@dataclass(frozen=True)
class MembersSeedSummary:
    account_id: int
    openid: str
    level: str
    points_12m: int
    schedule_id: int | None
    """The expert's session released at ``release_at`` (None: no popular expert has one left to move)."""
    release_at: datetime | None
    doctor: str


async def seed_members(session: AsyncSession, *, now: datetime) -> MembersSeedSummary:
    """Makes the demo's first patient account (the lowest id; ``demo-user`` if there is none) a 金卡会员
    through visits in its ledger, and moves the first unreleased session of a popular expert to be
    released 20 minutes after ``now``. Safe to run again: the points are topped up only as far as gold
    needs, and a fresh session is given an early window each time. Declares its write; flushes, never
    commits."""
    await begin_write(session)
    account = await session.scalar(select(Account).order_by(Account.id).limit(1))
    if account is None:
        account = Account(openid=DEMO_OPENID, created_at=now, last_login_at=now)
        session.add(account)
        await session.flush()
    await _gold(session, account.id, now=now)
    schedule, doctor = await _early_session(session, now=now)
    held = await members.standing(session, account_id=account.id)
    return MembersSeedSummary(
        account_id=account.id,
        openid=account.openid,
        level=held.level.name,
        points_12m=held.points_12m,
        schedule_id=schedule.id if schedule is not None else None,
        release_at=schedule.release_at if schedule is not None else None,
        doctor=doctor,
    )


async def _gold(session: AsyncSession, account_id: int, *, now: datetime) -> None:
    """Visits credited a month apart, the oldest first, until the last 12 months reach gold."""
    gold = await session.scalar(select(MemberLevel).where(MemberLevel.code == GOLD))
    assert gold is not None  # the migration seeds the four levels
    held = await members.standing(session, account_id=account_id)
    needed = gold.min_points - held.points_12m
    per_visit = rules.EARNED_POINTS["visit"]
    visits = max(0, -(-needed // per_visit))
    for n in range(visits):
        at = now - timedelta(days=30 * (visits - n))
        await members.credit(
            session,
            account_id=account_id,
            kind="visit",
            cause=f"demo:{account_id}:visit:{at:%Y%m%d}",
            note="就诊完成（演示数据）",
            now=at,
        )
    await members.recompute_level(session, account_id=account_id, now=now)


async def _early_session(session: AsyncSession, *, now: datetime) -> tuple[Schedule | None, str]:
    """The first open session of a popular expert not released by ``now + 20 minutes``, now released
    then; its hospital keeps a members' share, laid out on the session."""
    for expert in POPULAR_EXPERTS:
        found = (
            await session.execute(
                select(Doctor, Hospital)
                .join(Hospital, Hospital.id == Doctor.hospital_id)
                .where(Doctor.name == expert.name, Hospital.name == expert.hospital, Doctor.active.is_(True))
            )
        ).first()
        if found is None:
            continue
        doctor, hospital = found
        schedule = await session.scalar(
            select(Schedule)
            .where(
                Schedule.doctor_id == doctor.id,
                Schedule.status == ScheduleStatus.OPEN,
                Schedule.release_at > now + RELEASE_IN,
            )
            .order_by(Schedule.visit_date, Schedule.starts_at)
            .limit(1)
        )
        if schedule is None:
            continue
        schedule.release_at = now + RELEASE_IN
        hospital.member_share_percent = max(hospital.member_share_percent, SHARE_PERCENT)
        await session.flush()
        await scheduling.mark_member_share(session, schedule_id=schedule.id, hospital=hospital)
        return schedule, f"{hospital.name} {doctor.name}"
    return None, ""
