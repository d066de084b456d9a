"""抽签放号 for patients: enter a session's release window, see the entries and results; the draw's
public record for anyone to re-run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from yiyue.accounts.realname import PersonNotVerified
from yiyue.accounts.service import AccountNotFound, VisitPersonNotFound
from yiyue.booking import release_service
from yiyue.booking.errors import BookingBanned, DoctorUnavailable, DuplicateBooking, HospitalClosed
from yiyue.booking.release_views import (
    DrawRecordOut,
    EntryRequest,
    ReleaseEntryOut,
    ReleaseEntryPage,
    entry_views,
    record_view,
)
from yiyue.booking.release_window import (
    NotReleaseWindow,
    ReleaseDrawNotFound,
    ReleaseEntryNotFound,
    ReleaseNotOpen,
    ReleaseWindowClosed,
)
from yiyue.booking.rules import BookingClosed, NotReleased, ScheduleSuspended
from yiyue.core.deps import ClockDep, CurrentAccount, SessionDep
from yiyue.core.errors import AUTH_ERRORS, BODY_ERRORS, INPUT_ERRORS, RateLimited, responses
from yiyue.core.pagination import PageDep
from yiyue.core.params import MAX_ID, IdPath
from yiyue.core.ratelimit import rate_limit
from yiyue.scheduling.service import ScheduleNotFound

router = APIRouter(prefix="/api/v1", tags=["抽签放号"])

EntryId = Annotated[int, Path(ge=1, le=MAX_ID, title="抽签记录", description="抽签记录 id")]


@router.post(
    "/release-entries",
    status_code=201,
    dependencies=[rate_limit("release", per="account"), rate_limit("release", per="ip")],
    summary="参加抽签放号（放号窗口内；同一就诊人同一时段只有一条，再次提交返回已有记录）",
    responses={
        200: {"description": "该就诊人已参加本时段抽签：返回已有记录", "model": ReleaseEntryOut},
        **responses(
            *AUTH_ERRORS,
            *BODY_ERRORS,
            AccountNotFound,
            VisitPersonNotFound,
            PersonNotVerified,
            ScheduleNotFound,
            NotReleaseWindow,
            ReleaseNotOpen,
            ReleaseWindowClosed,
            ScheduleSuspended,
            HospitalClosed,
            DoctorUnavailable,
            BookingBanned,
            DuplicateBooking,
            NotReleased,
            BookingClosed,
            RateLimited,
        ),
    },
)
async def enter(
    body: EntryRequest, response: Response, session: SessionDep, account: CurrentAccount, clock: ClockDep
) -> ReleaseEntryOut:
    entry, made = await release_service.enter(
        session,
        account_id=account.subject_id,
        schedule_id=body.schedule_id,
        visit_person_id=body.patient_id,
        now=clock.now(),
    )
    if not made:
        response.status_code = 200
    return (await entry_views(session, [entry]))[0]


@router.get("/me/release-entries", summary="我的抽签", responses=responses(*AUTH_ERRORS, *INPUT_ERRORS))
async def my_entries(session: SessionDep, account: CurrentAccount, page: PageDep) -> ReleaseEntryPage:
    entries, total = await release_service.list_own(
        session, account_id=account.subject_id, offset=page.offset, limit=page.page_size
    )
    items = await entry_views(session, entries)
    return ReleaseEntryPage(items=items, total=total, page=page.page, page_size=page.page_size)


@router.get(
    "/release-entries/{entry_id}",
    summary="抽签详情（排队中 / 已中签 / 未中签）",
    responses=responses(*AUTH_ERRORS, *INPUT_ERRORS, ReleaseEntryNotFound),
)
async def get_entry(entry_id: EntryId, session: SessionDep, account: CurrentAccount) -> ReleaseEntryOut:
    entry = await release_service.get_own(session, account_id=account.subject_id, entry_id=entry_id)
    return (await entry_views(session, [entry]))[0]


@router.get(
    "/schedules/{schedule_id}/draw",
    summary="抽签记录（种子、参与记录与权重、中签记录：任何人可按算法复核）",
    responses=responses(*INPUT_ERRORS, ScheduleNotFound, ReleaseDrawNotFound),
)
async def draw_record(schedule_id: IdPath, session: SessionDep) -> DrawRecordOut:
    return record_view(await release_service.draw_record(session, schedule_id))
