"""Members for the platform administrator (会员与积分): the levels and their privileges, an account's
standing and ledger, and manual adjustments with a reason. Every write and every look at an account is
audited; other roles are answered 403 ``FORBIDDEN_ROLE``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from yiyue.accounts.staff.deps import CurrentStaff
from yiyue.accounts.staff.errors import STAFF_AUTH_ERRORS, ForbiddenRole
from yiyue.accounts.staff.models import StaffUser
from yiyue.accounts.staff.scope import require_role
from yiyue.core.deps import CipherDep, ClockDep, SessionDep
from yiyue.core.errors import BODY_ERRORS, INPUT_ERRORS, responses
from yiyue.core.params import MAX_ID
from yiyue.members import rules, service
from yiyue.members.endpoints import entry_out
from yiyue.members.models import MemberLevel
from yiyue.members.schemas import (
    AdjustmentIn,
    LedgerOut,
    LevelIn,
    LevelRef,
    MemberSearchOut,
    PointsEntryOut,
    StaffLevelList,
    StaffLevelOut,
    StaffMemberOut,
)

router = APIRouter(prefix="/api/v1/staff", tags=["会员与积分（平台管理员）"])

AccountPath = Annotated[int, Path(title="账号", ge=1, le=MAX_ID, description="患者账号 id")]


def staff_level_out(level: MemberLevel) -> StaffLevelOut:
    return StaffLevelOut(
        id=level.id,
        code=level.code,
        name=level.name,
        min_points=level.min_points,
        booking_priority=level.booking_priority,
        early_booking_minutes=level.early_booking_minutes,
        member_share=level.member_share,
        can_cancel_late=level.can_cancel_late,
        discount_percent=level.discount_percent,
        descriptions=rules.describe(rules.privileges_of(level)),
        updated_at=level.updated_at,
    )


def member_file_out(found: service.MemberFile) -> StaffMemberOut:
    held = found.standing
    return StaffMemberOut(
        account_id=held.account_id,
        level=LevelRef(code=held.level.code, name=held.level.name),
        points_balance=held.points_balance,
        points_12m=held.points_12m,
        level_since=held.level_since,
        visit_persons=found.visit_persons,
        ledger=LedgerOut(items=[entry_out(e) for e in found.entries], total=found.total),
    )


def _platform(staff: StaffUser) -> None:
    require_role(staff, *service.EDIT_ROLES)


@router.get("/member-levels", summary="会员等级与权益", responses=responses(*STAFF_AUTH_ERRORS, ForbiddenRole))
async def list_levels(session: SessionDep, staff: CurrentStaff) -> StaffLevelList:
    _platform(staff)
    return StaffLevelList(items=[staff_level_out(level) for level in await service.levels(session)])


@router.put(
    "/member-levels/{code}",
    summary="修改会员等级与权益（已有会员按新门槛调整等级）",
    responses=responses(
        *STAFF_AUTH_ERRORS, *BODY_ERRORS, ForbiddenRole, service.MemberLevelNotFound, service.InvalidMemberLevel
    ),
)
async def update_level(
    code: Annotated[str, Path(title="等级代码", max_length=20, pattern=r"^[a-z_]+$", description="如 gold")],
    body: LevelIn,
    session: SessionDep,
    staff: CurrentStaff,
    clock: ClockDep,
) -> StaffLevelOut:
    change = rules.LevelChange(code=code, **body.model_dump())
    return staff_level_out(await service.update_level(session, staff=staff, change=change, now=clock.now()))


@router.get(
    "/members",
    summary="按就诊人身份证号查找账号",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole),
)
async def find_members(
    session: SessionDep,
    staff: CurrentStaff,
    cipher: CipherDep,
    id_number: Annotated[str, Query(min_length=15, max_length=18, description="就诊人身份证号")],
) -> MemberSearchOut:
    return MemberSearchOut(
        account_ids=await service.accounts_holding(session, staff=staff, id_number=id_number, cipher=cipher)
    )


@router.get(
    "/members/{account_id}",
    summary="账号的会员等级、积分与积分流水（查看留痕）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, service.MemberNotFound),
)
async def member_file(
    account_id: AccountPath,
    session: SessionDep,
    staff: CurrentStaff,
    clock: ClockDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> StaffMemberOut:
    found = await service.member_file(
        session, staff=staff, account_id=account_id, offset=offset, limit=limit, now=clock.now()
    )
    return member_file_out(found)


@router.post(
    "/members/{account_id}/adjustments",
    status_code=201,
    summary="人工调整积分（须填写原因，留痕）",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        service.MemberNotFound,
        service.InvalidAdjustment,
        service.InsufficientPoints,
    ),
)
async def adjust(
    account_id: AccountPath, body: AdjustmentIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> PointsEntryOut:
    entry = await service.adjust(
        session, staff=staff, account_id=account_id, delta=body.delta, reason=body.reason, now=clock.now()
    )
    return entry_out(entry)
