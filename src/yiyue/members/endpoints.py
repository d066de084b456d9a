"""会员中心 for the patient: their level, points, privileges, every level and the rules, and the ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from yiyue.accounts.service import AccountNotFound
from yiyue.core.deps import CurrentAccount, SessionDep
from yiyue.core.errors import AUTH_ERRORS, INPUT_ERRORS, responses
from yiyue.members import rules, service
from yiyue.members.models import MemberLevel, PointsEntry
from yiyue.members.schemas import (
    LedgerOut,
    LevelOut,
    LevelRef,
    MemberOut,
    NextLevelOut,
    PointsEntryOut,
    PrivilegesOut,
)

router = APIRouter(prefix="/api/v1/members", tags=["会员与积分"])


def privileges_out(p: rules.Privileges) -> PrivilegesOut:
    return PrivilegesOut(
        booking_priority=p.booking_priority,
        early_booking_minutes=p.early_booking_minutes,
        member_share=p.member_share,
        can_cancel_late=p.can_cancel_late,
        discount_percent=p.discount_percent,
        descriptions=rules.describe(p),
    )


def level_out(level: MemberLevel) -> LevelOut:
    return LevelOut(
        code=level.code,
        name=level.name,
        min_points=level.min_points,
        descriptions=rules.describe(rules.privileges_of(level)),
    )


def member_out(held: service.Standing) -> MemberOut:
    following = None
    if held.next_level is not None:
        level, needed = held.next_level
        following = NextLevelOut(code=level.code, name=level.name, min_points=level.min_points, points_needed=needed)
    return MemberOut(
        level=LevelRef(code=held.level.code, name=held.level.name),
        points_balance=held.points_balance,
        points_12m=held.points_12m,
        next_level=following,
        privileges=privileges_out(held.privileges),
        levels=[level_out(level) for level in held.levels],
        earning_rules=rules.earning_rules(),
        expiry_rule=rules.EXPIRY_RULE,
    )


def entry_out(e: PointsEntry) -> PointsEntryOut:
    return PointsEntryOut(
        id=e.id,
        delta=e.delta,
        balance_after=e.balance_after,
        kind=e.kind,
        kind_label=rules.KIND_LABELS.get(e.kind, e.kind),
        note=e.note,
        created_at=e.created_at,
        expires_at=e.expires_at,
    )


@router.get("/me", summary="会员中心：等级、积分、权益与规则", responses=responses(*AUTH_ERRORS, AccountNotFound))
async def me(session: SessionDep, account: CurrentAccount) -> MemberOut:
    return member_out(await service.standing(session, account_id=account.subject_id))


@router.get(
    "/me/ledger", summary="积分流水（最新在前）", responses=responses(*AUTH_ERRORS, *INPUT_ERRORS, AccountNotFound)
)
async def my_ledger(
    session: SessionDep,
    account: CurrentAccount,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="跳过的条数")] = 0,
    limit: Annotated[int, Query(ge=1, le=100, description="条数")] = 20,
) -> LedgerOut:
    entries, total = await service.ledger(session, account_id=account.subject_id, offset=offset, limit=limit)
    return LedgerOut(items=[entry_out(e) for e in entries], total=total)
