"""Membership as it is kept: each account's standing and its append-only points ledger (积分流水).

Every change of points is one ledger entry, written in the same unit of work as the standing beside it
(``MemberAccount``): the balance after it, the points earned in the last 12 months, and the level they
reach. The account's standing row is locked first, so one account's entries are chained one after
another (each ``balance_after`` is the one before plus its ``delta``); ``(kind, cause)`` is unique, so
a fact credited twice (an event handled again) leaves one entry. ``check_all`` proves the two agree.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import SQLCoreOperations

from yiyue.accounts.idcard import normalize
from yiyue.accounts.models import Account, VisitPerson
from yiyue.accounts.service import ID_NUMBER
from yiyue.accounts.staff.models import StaffRole, StaffUser
from yiyue.accounts.staff.scope import actor, require_role
from yiyue.core import audit
from yiyue.core.crypto import FieldCipher
from yiyue.core.db import begin_write
from yiyue.core.errors import Conflict, InvalidInput, NotFound
from yiyue.members import rules
from yiyue.members.models import MemberAccount, MemberLevel, PointsEntry
from yiyue.members.rules import Privileges


class InsufficientPoints(Conflict):
    code = "POINTS_INSUFFICIENT"
    message = "积分余额不足"


class InvalidAdjustment(InvalidInput):
    code = "INVALID_POINTS_ADJUSTMENT"
    message = "积分调整有误"


class MemberLevelNotFound(NotFound):
    code = "MEMBER_LEVEL_NOT_FOUND"
    message = "会员等级不存在"


class InvalidMemberLevel(InvalidInput):
    code = "INVALID_MEMBER_LEVEL"
    message = "会员等级设置有误，请按提示修改"


class MemberNotFound(NotFound):
    code = "MEMBER_NOT_FOUND"
    message = "用户不存在"


EDIT_ROLES = (StaffRole.PLATFORM_ADMIN,)
"""Who configures levels and adjusts points: the platform, not a hospital (points are platform-wide)."""


# --- levels and privileges ---------------------------------------------------------------------------


async def levels(session: AsyncSession) -> list[MemberLevel]:
    """Every level, lowest first."""
    return list(await session.scalars(select(MemberLevel).order_by(MemberLevel.min_points)))


async def privileges(session: AsyncSession, account_id: int) -> Privileges:
    """What the account's level allows now: the lowest level's when it has no standing yet (one query)."""
    level = await session.scalar(select(MemberLevel).where(MemberLevel.id == level_id_of(account_id)))
    return privileges_at(level)


def privileges_at(level: MemberLevel | None) -> Privileges:
    """What a level (``level_id_of``'s) allows; none at all when no level is configured."""
    return rules.privileges_of(level) if level is not None else rules.REGULAR


def level_id_of(account_id: int | SQLCoreOperations[int]) -> ColumnElement[int]:
    """SQL: the id of the account's level, or of the lowest level when the account has no standing yet;
    for a query that joins ``MemberLevel`` on it (the booking reads the level with its other facts)."""
    own = select(MemberAccount.level_id).where(MemberAccount.account_id == account_id).scalar_subquery()
    lowest = select(MemberLevel.id).order_by(MemberLevel.min_points).limit(1).scalar_subquery()
    return func.coalesce(own, lowest)


async def early_windows(session: AsyncSession) -> list[rules.EarlyWindow]:
    """The levels that book early (提前预约), lowest level first: for a refusal that says so."""
    return [
        rules.EarlyWindow(level.name, level.early_booking_minutes)
        for level in await levels(session)
        if level.early_booking_minutes > 0
    ]


async def _lowest_level(session: AsyncSession) -> MemberLevel | None:
    level: MemberLevel | None = await session.scalar(select(MemberLevel).order_by(MemberLevel.min_points).limit(1))
    return level


# --- an account's standing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """An account's membership as it is shown: its level, points, the next level and every level."""

    account_id: int
    level: MemberLevel
    points_balance: int
    points_12m: int
    level_since: datetime | None
    next_level: tuple[MemberLevel, int] | None
    """The next level up and the points still needed for it."""
    levels: list[MemberLevel]

    @property
    def privileges(self) -> Privileges:
        return rules.privileges_of(self.level)


async def standing(session: AsyncSession, *, account_id: int) -> Standing:
    """The account's standing; an account that never earned a point is at the lowest level with 0."""
    all_levels = await levels(session)
    member = await session.get(MemberAccount, account_id)
    by_id = {level.id: level for level in all_levels}
    points_12m = member.points_12m if member is not None else 0
    level = by_id[member.level_id] if member is not None else rules.level_for(0, all_levels)
    return Standing(
        account_id=account_id,
        level=level,
        points_balance=member.points_balance if member is not None else 0,
        points_12m=points_12m,
        level_since=member.level_since if member is not None else None,
        next_level=rules.next_level(points_12m, [lv for lv in all_levels if lv.min_points > level.min_points]),
        levels=all_levels,
    )


async def ledger(
    session: AsyncSession, *, account_id: int, offset: int = 0, limit: int = 20
) -> tuple[list[PointsEntry], int]:
    """The account's ledger entries, newest first, and how many there are."""
    condition = PointsEntry.account_id == account_id
    total = await session.scalar(select(func.count()).select_from(PointsEntry).where(condition))
    entries = await session.scalars(
        select(PointsEntry).where(condition).order_by(PointsEntry.id.desc()).offset(offset).limit(limit)
    )
    return list(entries), int(total or 0)


# --- changing points ---------------------------------------------------------------------------------


async def credit(
    session: AsyncSession,
    *,
    account_id: int,
    kind: str,
    cause: str,
    points: int | None = None,
    note: str = "",
    now: datetime,
) -> PointsEntry | None:
    """Credits the points a fact earns (``rules.EARNED_POINTS`` unless ``points`` is given), once per
    ``(kind, cause)``: a fact credited before answers None and writes nothing. Runs in the caller's unit
    of work; balance, 12-month points and level change with the entry."""
    if kind not in rules.EARNING_KINDS:
        raise ValueError(f"{kind!r} is not a kind of earning")
    amount = rules.EARNED_POINTS[kind] if points is None else points
    if amount <= 0:
        raise ValueError("a credit earns points")
    if await _exists(session, kind, cause):
        return None
    return await _append(
        session,
        account_id=account_id,
        delta=amount,
        kind=kind,
        cause=cause,
        note=note or rules.KIND_LABELS[kind],
        now=now,
    )


async def spend(
    session: AsyncSession, *, account_id: int, points: int, cause: str, note: str = "", now: datetime
) -> PointsEntry | None:
    """Takes ``points`` from the balance for what ``cause`` names (once per cause: None when it was taken
    before); refused when the balance is smaller. Spending uses the oldest points first (see
    ``rules.expiring``) and never lowers the level."""
    if points <= 0:
        raise ValueError("spend a positive number of points")
    if await _exists(session, "spend", cause):
        return None
    await expire_due(session, now=now, account_id=account_id)  # lapsed points are not there to spend
    return await _append(
        session, account_id=account_id, delta=-points, kind="spend", cause=cause, note=note or "积分使用", now=now
    )


async def adjust(
    session: AsyncSession, *, staff: StaffUser, account_id: int, delta: int, reason: str, now: datetime
) -> PointsEntry:
    """A manual adjustment (人工调整) by the platform administrator, with the reason, audited. Taking
    more than the balance is refused; a positive adjustment counts for the level like earned points and
    lapses like them."""
    require_role(staff, *EDIT_ROLES)
    problems: dict[str, str] = {}
    reason = reason.strip()
    if delta == 0 or abs(delta) > rules.MAX_ADJUST:
        problems["delta"] = f"调整积分须为非0整数，绝对值不超过{rules.MAX_ADJUST}"
    if not 2 <= len(reason) <= 200:
        problems["reason"] = "请填写调整原因（2-200字）"
    if problems:
        raise InvalidAdjustment("；".join(problems.values()), detail=problems)
    if await session.get(Account, account_id) is None:
        raise MemberNotFound()
    await begin_write(session)
    if delta < 0:
        await expire_due(session, now=now, account_id=account_id)
    entry = await _append(
        session,
        account_id=account_id,
        delta=delta,
        kind="adjust",
        cause=f"staff:{staff.id}:{uuid.uuid4().hex}",  # each adjustment is a fact of its own
        note=reason,
        actor=actor(staff),
        now=now,
    )
    assert entry is not None  # a fresh cause is never a duplicate
    audit.record(
        session,
        actor=actor(staff),
        action="points.adjust",
        subject=f"account:{account_id}",
        at=now,
        detail={"delta": delta, "reason": reason, "entry_id": entry.id, "balance_after": entry.balance_after},
    )
    return entry


async def expire_due(session: AsyncSession, *, now: datetime, account_id: int | None = None) -> list[PointsEntry]:
    """Points whose 24 months have passed lapse, oldest first: per account,
    ``max(0, points earned that are due − every point taken out so far)`` (``rules.expiring``), as one
    ``expire`` entry named after the newest due earning, so running again writes nothing more."""
    due = (
        select(PointsEntry.account_id)
        .where(PointsEntry.delta > 0, PointsEntry.expires_at <= now)
        .group_by(PointsEntry.account_id)
        .order_by(PointsEntry.account_id)
    )
    if account_id is not None:
        due = due.where(PointsEntry.account_id == account_id)
    written: list[PointsEntry] = []
    for candidate in list(await session.scalars(due)):
        await begin_write(session)
        entries = await _entries(session, candidate)
        lapsing = rules.expiring(entries, now=now)
        if lapsing == 0:
            continue
        newest_due = max(e.id for e in entries if e.delta > 0 and e.expires_at is not None and e.expires_at <= now)
        entry = await _append(
            session,
            account_id=candidate,
            delta=-lapsing,
            kind="expire",
            cause=f"account:{candidate}:through:{newest_due}",
            note=f"积分有效期{rules.EXPIRY_MONTHS}个月已到，{lapsing}积分过期",
            now=now,
        )
        if entry is not None:
            written.append(entry)
    return written


async def recompute_level(session: AsyncSession, *, account_id: int, now: datetime) -> MemberAccount | None:
    """The account's 12-month points and level as of ``now`` (earnings older than 12 months no longer
    count); None for an account that has no standing."""
    if await session.get(MemberAccount, account_id) is None:
        return None
    await begin_write(session)
    member = await _locked(session, account_id)
    if member is None:
        return None
    await _refresh(session, member, now=now)
    return member


async def refresh_levels(session: AsyncSession, *, now: datetime) -> int:
    """Recomputes the accounts whose 12-month window has lost an earning since their last recompute (an
    entry counted then, at ``updated_at``, is older than 12 months now). Returns how many changed level."""
    since = rules.level_window_start(now)
    members = list(await session.scalars(select(MemberAccount).order_by(MemberAccount.account_id)))
    changed = 0
    for member in members:
        counted_from = rules.level_window_start(member.updated_at)
        aged_out = await session.scalar(
            select(func.count())
            .select_from(PointsEntry)
            .where(
                PointsEntry.account_id == member.account_id,
                PointsEntry.created_at >= counted_from,
                PointsEntry.created_at < since,
            )
        )
        if not aged_out:
            continue
        before = member.level_id
        refreshed = await recompute_level(session, account_id=member.account_id, now=now)
        if refreshed is not None and refreshed.level_id != before:
            changed += 1
    return changed


async def _exists(session: AsyncSession, kind: str, cause: str) -> bool:
    found = await session.scalar(select(PointsEntry.id).where(PointsEntry.kind == kind, PointsEntry.cause == cause))
    return found is not None


async def _append(
    session: AsyncSession,
    *,
    account_id: int,
    delta: int,
    kind: str,
    cause: str,
    note: str,
    now: datetime,
    actor: str = "",
) -> PointsEntry | None:
    """One ledger entry after the account's last, under the account's lock; None when ``(kind, cause)``
    is there already (another unit of work wrote it first)."""
    await begin_write(session)
    member = await _locked_or_new(session, account_id, now=now)
    if await _exists(session, kind, cause):
        return None
    balance_after = member.points_balance + delta
    if balance_after < 0:
        raise InsufficientPoints(
            f"积分余额不足（当前{member.points_balance}积分）", detail={"balance": member.points_balance}
        )
    entry = PointsEntry(
        account_id=account_id,
        delta=delta,
        balance_after=balance_after,
        kind=kind,
        cause=cause,
        note=note[:200],
        actor=actor,
        created_at=now,
        expires_at=rules.expires_at(now) if delta > 0 else None,
    )
    try:
        async with session.begin_nested():  # the unique (kind, cause) is the backstop; the caller's work survives
            session.add(entry)
            await session.flush()
    except IntegrityError:
        return None
    member.points_balance = balance_after
    await _refresh(session, member, now=now)
    return entry


async def _locked(session: AsyncSession, account_id: int) -> MemberAccount | None:
    member: MemberAccount | None = await session.scalar(
        select(MemberAccount)
        .where(MemberAccount.account_id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return member


async def _locked_or_new(session: AsyncSession, account_id: int, *, now: datetime) -> MemberAccount:
    """The account's standing row, locked; made at the lowest level with 0 points on its first entry."""
    member = await _locked(session, account_id)
    if member is not None:
        return member
    lowest = await _lowest_level(session)
    if lowest is None:
        raise RuntimeError("no member levels: the migration seeds them")
    try:
        async with session.begin_nested():
            session.add(
                MemberAccount(
                    account_id=account_id,
                    level_id=lowest.id,
                    points_balance=0,
                    points_12m=0,
                    level_since=now,
                    updated_at=now,
                )
            )
            await session.flush()
    except IntegrityError:  # made meanwhile by another unit of work, which has committed it
        pass
    member = await _locked(session, account_id)
    if member is None:
        raise MemberNotFound()
    return member


async def _refresh(session: AsyncSession, member: MemberAccount, *, now: datetime) -> None:
    """The 12-month points and the level they reach, as of ``now``."""
    since = rules.level_window_start(now)
    earned = await session.scalar(
        select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
            PointsEntry.account_id == member.account_id,
            PointsEntry.kind.in_([*rules.EARNING_KINDS, "adjust"]),
            PointsEntry.created_at >= since,
            PointsEntry.created_at <= now,
        )
    )
    member.points_12m = max(0, int(earned or 0))
    level = rules.level_for(member.points_12m, await levels(session))
    if level.id != member.level_id:
        member.level_id = level.id
        member.level_since = now
    member.updated_at = now
    await session.flush()


async def _entries(session: AsyncSession, account_id: int) -> list[PointsEntry]:
    return list(
        await session.scalars(select(PointsEntry).where(PointsEntry.account_id == account_id).order_by(PointsEntry.id))
    )


# --- levels as the platform administrator keeps them ------------------------------------------------


async def get_level(session: AsyncSession, code: str) -> MemberLevel:
    level = await session.scalar(select(MemberLevel).where(MemberLevel.code == code))
    if level is None:
        raise MemberLevelNotFound()
    return level


async def update_level(
    session: AsyncSession, *, staff: StaffUser, change: rules.LevelChange, now: datetime
) -> MemberLevel:
    """Saves one level's name, threshold and privileges (platform administrator; audited with what
    changed). Every account's level follows the new thresholds in the same unit of work."""
    require_role(staff, *EDIT_ROLES)
    level = await get_level(session, change.code)
    problems = rules.level_problems(change, await levels(session))
    if problems:
        raise InvalidMemberLevel("；".join(problems.values()), detail=problems)
    fields = [f.name for f in dataclasses.fields(rules.LevelChange) if f.name != "code"]
    before = {f: getattr(level, f) for f in fields}
    after = {f: getattr(change, f) for f in fields}
    after["name"] = change.name.strip()
    if before == after:
        return level
    await begin_write(session)
    level = await get_level(session, change.code)
    for f, value in after.items():
        setattr(level, f, value)
    level.updated_at = now
    await session.flush()
    await _relevel_everyone(session, now=now)
    audit.record(
        session,
        actor=actor(staff),
        action="member_level.update",
        subject=f"member_level:{level.id}",
        at=now,
        detail={"code": level.code, "before": before, "after": after},
    )
    return level


async def _relevel_everyone(session: AsyncSession, *, now: datetime) -> None:
    """Each account at the level its stored 12-month points reach under the current thresholds: one
    UPDATE per level, lowest first, so each account ends at the highest it reaches."""
    for level in await levels(session):
        await session.execute(
            update(MemberAccount)
            .where(MemberAccount.points_12m >= level.min_points, MemberAccount.level_id != level.id)
            .values(level_id=level.id, level_since=now)
            .execution_options(synchronize_session=False)
        )
    await session.flush()


# --- the ledger proves the balance ------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """An account whose balance and ledger disagree."""

    account_id: int
    problem: str
    balance: int | None = None
    ledger_sum: int | None = None
    entry_id: int | None = None


async def check_all(session: AsyncSession) -> list[Mismatch]:
    """Every account whose standing disagrees with its ledger: the balance is not the sum of its entries,
    an entry's ``balance_after`` is not the running sum up to it, or entries exist with no standing."""
    found: list[Mismatch] = []
    sums_query = select(PointsEntry.account_id, func.sum(PointsEntry.delta)).group_by(PointsEntry.account_id)
    sums = {a: int(total or 0) for a, total in (await session.execute(sums_query)).tuples()}
    balances_query = select(MemberAccount.account_id, MemberAccount.points_balance)
    balances = {a: balance for a, balance in (await session.execute(balances_query)).tuples()}
    for account_id in sorted(set(sums) | set(balances)):
        total = sums.get(account_id, 0)
        if account_id not in balances:
            found.append(Mismatch(account_id, "有积分流水但无会员账户", None, total))
        elif balances[account_id] != total:
            found.append(Mismatch(account_id, "积分余额与流水合计不符", balances[account_id], total))
    running = (
        func.sum(PointsEntry.delta).over(partition_by=PointsEntry.account_id, order_by=PointsEntry.id).label("running")
    )
    chain = select(PointsEntry.id, PointsEntry.account_id, PointsEntry.balance_after, running).subquery()
    broken = await session.execute(
        select(chain.c.account_id, chain.c.id, chain.c.balance_after, chain.c.running)
        .where(chain.c.balance_after != chain.c.running)
        .order_by(chain.c.account_id, chain.c.id)
    )
    seen: set[int] = set()
    for account_id, entry_id, balance_after, total in broken.tuples():
        if account_id in seen:
            continue  # the first broken link says enough
        seen.add(account_id)
        found.append(Mismatch(account_id, "流水的结余与累计不符", int(balance_after), int(total), entry_id))
    return sorted(found, key=lambda m: (m.account_id, m.entry_id or 0))


# --- an account as the platform administrator looks it up --------------------------------------------


@dataclass(frozen=True)
class MemberFile:
    """An account's standing, a page of its ledger and who its visit persons are (name, masked phone)."""

    standing: Standing
    entries: list[PointsEntry]
    total: int
    visit_persons: list[str]


async def member_file(
    session: AsyncSession, *, staff: StaffUser, account_id: int, offset: int = 0, limit: int = 20, now: datetime
) -> MemberFile:
    """The account's standing and ledger for the platform administrator; the read is audited (it shows
    who the visit persons are)."""
    require_role(staff, *EDIT_ROLES)
    if await session.get(Account, account_id) is None:
        raise MemberNotFound()
    held = await standing(session, account_id=account_id)
    entries, total = await ledger(session, account_id=account_id, offset=offset, limit=limit)
    persons = await session.scalars(
        select(VisitPerson)
        .where(VisitPerson.account_id == account_id, VisitPerson.deleted_at.is_(None))
        .order_by(VisitPerson.id)
    )
    await begin_write(session)
    audit.record(session, actor=actor(staff), action="member.view", subject=f"account:{account_id}", at=now)
    return MemberFile(held, entries, total, [f"{p.name}（{p.phone_masked}）" for p in persons])


async def accounts_holding(
    session: AsyncSession, *, staff: StaffUser, id_number: str, cipher: FieldCipher
) -> list[int]:
    """The accounts that hold a visit person with this ID number (身份证号), found by its blind index:
    phones and ID numbers are stored encrypted, so this is the one way to find a patient's account."""
    require_role(staff, *EDIT_ROLES)
    index = cipher.blind_index(normalize(id_number).upper(), context=ID_NUMBER)
    rows = await session.scalars(
        select(VisitPerson.account_id)
        .where(VisitPerson.id_number_index == index, VisitPerson.deleted_at.is_(None))
        .distinct()
        .order_by(VisitPerson.account_id)
    )
    return list(rows)
