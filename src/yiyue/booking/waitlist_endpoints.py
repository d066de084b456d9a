"""候补 (waitlist) for patients: join a sold-out session, see the place in line, confirm a held slot, leave."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Response

from yiyue.accounts.realname import PersonNotVerified
from yiyue.accounts.service import AccountNotFound, VisitPersonNotFound
from yiyue.booking import waitlist, waitlist_service
from yiyue.booking.errors import (
    BookingBanned,
    BookingLimit,
    DoctorUnavailable,
    DuplicateBooking,
    HospitalClosed,
    TooManyUnpaidHolds,
)
from yiyue.booking.rules import BookingClosed, NotReleased, ScheduleSuspended
from yiyue.booking.schemas import AppointmentOut
from yiyue.booking.views import appointment_views
from yiyue.booking.waitlist_views import (
    JoinRequest,
    ScheduleWaitlistOut,
    WaitlistEntryOut,
    WaitlistPage,
    entry_views,
)
from yiyue.core.deps import ClockDep, CurrentAccount, SessionDep, SettingsDep
from yiyue.core.errors import AUTH_ERRORS, BODY_ERRORS, INPUT_ERRORS, responses
from yiyue.core.pagination import PageDep
from yiyue.core.params import MAX_ID, IdPath
from yiyue.scheduling.service import ScheduleNotFound

router = APIRouter(prefix="/api/v1", tags=["候补"])

EntryId = Annotated[int, Path(ge=1, le=MAX_ID, title="候补记录", description="候补记录 id")]

BOOKING_RULES = (
    PersonNotVerified,
    HospitalClosed,
    DoctorUnavailable,
    BookingBanned,
    DuplicateBooking,
    NotReleased,
    BookingClosed,
)


@router.post(
    "/waitlist",
    status_code=201,
    summary="加入候补（号源已约满时）",
    responses=responses(
        *AUTH_ERRORS,
        *BODY_ERRORS,
        AccountNotFound,
        VisitPersonNotFound,
        ScheduleNotFound,
        ScheduleSuspended,
        *BOOKING_RULES,
        waitlist.WaitlistNotNeeded,
        waitlist.WaitlistExists,
        waitlist.WaitlistLimit,
    ),
)
async def join(body: JoinRequest, session: SessionDep, account: CurrentAccount, clock: ClockDep) -> WaitlistEntryOut:
    now = clock.now()
    entry = await waitlist_service.join(
        session, account_id=account.subject_id, schedule_id=body.schedule_id, visit_person_id=body.patient_id, now=now
    )
    return (await entry_views(session, [entry], now=now))[0]


@router.get("/waitlist", summary="我的候补", responses=responses(*AUTH_ERRORS, *INPUT_ERRORS))
async def my_entries(session: SessionDep, account: CurrentAccount, clock: ClockDep, page: PageDep) -> WaitlistPage:
    entries, total = await waitlist_service.list_own(
        session, account_id=account.subject_id, offset=page.offset, limit=page.page_size
    )
    items = await entry_views(session, entries, now=clock.now())
    return WaitlistPage(items=items, total=total, page=page.page, page_size=page.page_size)


@router.get(
    "/waitlist/{entry_id}",
    summary="候补详情",
    responses=responses(*AUTH_ERRORS, *INPUT_ERRORS, waitlist.WaitlistEntryNotFound),
)
async def get_entry(
    entry_id: EntryId, session: SessionDep, account: CurrentAccount, clock: ClockDep
) -> WaitlistEntryOut:
    entry = await waitlist_service.get_own(session, account_id=account.subject_id, entry_id=entry_id)
    return (await entry_views(session, [entry], now=clock.now()))[0]


@router.delete(
    "/waitlist/{entry_id}",
    status_code=204,
    summary="取消候补（为您保留的号源将顺延给下一位）",
    responses=responses(*AUTH_ERRORS, *INPUT_ERRORS, waitlist.WaitlistEntryNotFound, waitlist.WaitlistAlreadyBooked),
)
async def leave(entry_id: EntryId, session: SessionDep, account: CurrentAccount, clock: ClockDep) -> Response:
    await waitlist_service.leave(session, account_id=account.subject_id, entry_id=entry_id, now=clock.now())
    return Response(status_code=204)


@router.post(
    "/waitlist/{entry_id}/confirm",
    status_code=201,
    summary="确认候补号源（生成预约；在线支付的医院需在支付时限内支付）",
    responses=responses(
        *AUTH_ERRORS,
        *INPUT_ERRORS,
        VisitPersonNotFound,
        waitlist.WaitlistEntryNotFound,
        waitlist.WaitlistNotOffered,
        waitlist.WaitlistOfferExpired,
        waitlist.WaitlistAlreadyBooked,
        waitlist.WaitlistClosed,
        ScheduleSuspended,
        *BOOKING_RULES,
        BookingLimit,
        TooManyUnpaidHolds,
    ),
)
async def confirm(
    entry_id: EntryId, session: SessionDep, account: CurrentAccount, clock: ClockDep, settings: SettingsDep
) -> AppointmentOut:
    now = clock.now()
    appointment = await waitlist_service.confirm(
        session,
        account_id=account.subject_id,
        entry_id=entry_id,
        now=now,
        payment_hold=timedelta(minutes=settings.payment_hold_minutes),
    )
    return (await appointment_views(session, [appointment], now=now))[0]


@router.get(
    "/schedules/{schedule_id}/waitlist",
    summary="排班的候补情况",
    responses=responses(*INPUT_ERRORS, ScheduleNotFound),
)
async def schedule_waitlist(schedule_id: IdPath, session: SessionDep, clock: ClockDep) -> ScheduleWaitlistOut:
    line = await waitlist_service.schedule_line(session, schedule_id=schedule_id, now=clock.now())
    return ScheduleWaitlistOut(waiting=line.waiting, can_join=line.can_join, hold_minutes=line.hold_minutes)
