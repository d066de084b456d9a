from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from yiyue.accounts.realname import PersonNotVerified
from yiyue.accounts.service import AccountNotFound, VisitPersonNotFound
from yiyue.booking import rebook, service
from yiyue.booking.errors import (
    AppointmentNotFound,
    BookingBanned,
    BookingLimit,
    DoctorUnavailable,
    DuplicateBooking,
    HospitalClosed,
    IdempotencyKeyReused,
    NotCancellable,
    SlotNotFound,
    SlotTaken,
    SoldOut,
    TooManyUnpaidHolds,
    VisitPersonHasAppointments,
)
from yiyue.booking.gate import BookingGate
from yiyue.booking.release_window import ReleaseDrawPending, ReleaseNotOpen, ReleaseWindowOpen
from yiyue.booking.rules import BookingClosed, CancelDeadlinePassed, MemberShareOnly, NotReleased, ScheduleSuspended
from yiyue.booking.schemas import (
    AppointmentOut,
    BookingRequest,
    CancelRequest,
    InvalidStatusFilter,
    RebookRequest,
    parse_statuses,
)
from yiyue.booking.views import appointment_views, booked_view
from yiyue.core import metrics
from yiyue.core.deps import ClockDep, CurrentAccount, SessionDep, SettingsDep
from yiyue.core.errors import AUTH_ERRORS, BODY_ERRORS, INPUT_ERRORS, DomainError, InvalidInput, RateLimited, responses
from yiyue.core.pagination import Page, PageDep
from yiyue.core.params import IdPath
from yiyue.core.ratelimit import rate_limit
from yiyue.scheduling.service import ScheduleNotFound

router = APIRouter(prefix="/api/v1", tags=["预约"])


class IdempotencyKeyRequired(InvalidInput):
    status = 400
    code = "IDEMPOTENCY_KEY_REQUIRED"
    message = "缺少 Idempotency-Key 请求头（每次预约尝试一个唯一值，重试时沿用）"


async def _gate(request: Request) -> BookingGate:
    gate: BookingGate = request.app.state.gate
    return gate


async def _idempotency_key(
    key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=100, description="每次预约尝试唯一，重试时沿用")
    ] = None,
) -> str:
    if not key or not key.strip():
        raise IdempotencyKeyRequired()
    return key.strip()


GateDep = Annotated[BookingGate, Depends(_gate)]
IdempotencyKey = Annotated[str, Depends(_idempotency_key)]


@router.post(
    "/appointments",
    status_code=201,
    summary="预约挂号",
    dependencies=[rate_limit("booking", per="account"), rate_limit("booking", per="ip")],
    responses=responses(
        RateLimited,
        *AUTH_ERRORS,
        *BODY_ERRORS,
        IdempotencyKeyRequired,
        IdempotencyKeyReused,
        AccountNotFound,
        VisitPersonNotFound,
        PersonNotVerified,
        ScheduleNotFound,
        SlotNotFound,
        HospitalClosed,
        DoctorUnavailable,
        BookingBanned,
        SoldOut,
        SlotTaken,
        DuplicateBooking,
        BookingLimit,
        TooManyUnpaidHolds,
        NotReleased,
        ReleaseNotOpen,
        ReleaseWindowOpen,
        ReleaseDrawPending,
        BookingClosed,
        ScheduleSuspended,
        MemberShareOnly,
    ),
)
async def book(
    body: BookingRequest,
    session: SessionDep,
    account: CurrentAccount,
    idempotency_key: IdempotencyKey,
    gate: GateDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> AppointmentOut:
    now = clock.now()
    try:
        booked = await service.book(
            session,
            account_id=account.subject_id,
            request=body,
            idempotency_key=idempotency_key,
            gate=gate,
            now=now,
            payment_hold=timedelta(minutes=settings.payment_hold_minutes),
        )
    except DomainError as refusal:
        metrics.booking_refused(refusal.code)
        raise
    metrics.booking_made(session, replayed=booked.remaining is None)  # counted once it commits
    return await booked_view(session, booked, now=now)


@router.get(
    "/me/appointments", summary="我的预约", responses=responses(*AUTH_ERRORS, *INPUT_ERRORS, InvalidStatusFilter)
)
async def my_appointments(
    session: SessionDep,
    account: CurrentAccount,
    clock: ClockDep,
    page: PageDep,
    status: Annotated[str | None, Query(max_length=200, description="状态，可用逗号分隔多个")] = None,
) -> Page[AppointmentOut]:
    items, total = await service.list_own(
        session,
        account_id=account.subject_id,
        statuses=parse_statuses(status),
        offset=page.offset,
        limit=page.page_size,
    )
    return Page.of(await appointment_views(session, items, now=clock.now()), total, page)


@router.get(
    "/appointments/{appointment_id}",
    summary="预约详情",
    responses=responses(*AUTH_ERRORS, *INPUT_ERRORS, AppointmentNotFound),
)
async def get_appointment(
    appointment_id: IdPath, session: SessionDep, account: CurrentAccount, clock: ClockDep
) -> AppointmentOut:
    appointment = await service.get_own(session, account_id=account.subject_id, appointment_id=appointment_id)
    return (await appointment_views(session, [appointment], now=clock.now()))[0]


@router.post(
    "/appointments/{appointment_id}/cancel",
    summary="取消预约（退号）",
    responses=responses(*AUTH_ERRORS, *BODY_ERRORS, AppointmentNotFound, NotCancellable, CancelDeadlinePassed),
)
async def cancel(
    appointment_id: IdPath,
    session: SessionDep,
    account: CurrentAccount,
    clock: ClockDep,
    body: CancelRequest | None = None,
) -> AppointmentOut:
    now = clock.now()
    appointment = await service.cancel(
        session,
        account_id=account.subject_id,
        appointment_id=appointment_id,
        reason=body.reason if body else "",
        now=now,
    )
    return (await appointment_views(session, [appointment], now=now))[0]


@router.post(
    "/appointments/{appointment_id}/rebook",
    status_code=201,
    summary="停诊改约：改到为您保留的号源",
    responses=responses(
        *AUTH_ERRORS,
        *BODY_ERRORS,
        AppointmentNotFound,
        VisitPersonNotFound,
        rebook.RebookOptionNotFound,
        rebook.RebookOfferExpired,
        rebook.RebookAlreadyAccepted,
        DuplicateBooking,
        HospitalClosed,
        BookingClosed,
        ScheduleSuspended,
    ),
)
async def rebook_suspended(
    appointment_id: IdPath,
    body: RebookRequest,
    session: SessionDep,
    account: CurrentAccount,
    clock: ClockDep,
    settings: SettingsDep,
) -> AppointmentOut:
    now = clock.now()
    appointment = await rebook.accept(
        session,
        account_id=account.subject_id,
        appointment_id=appointment_id,
        schedule_id=body.schedule_id,
        now=now,
        payment_hold=timedelta(minutes=settings.payment_hold_minutes),
    )
    return (await appointment_views(session, [appointment], now=now))[0]


@router.delete(
    "/me/patients/{patient_id}",
    status_code=204,
    summary="删除就诊人（无待就诊预约时）",
    responses=responses(*AUTH_ERRORS, *INPUT_ERRORS, VisitPersonNotFound, VisitPersonHasAppointments),
)
async def remove_patient(patient_id: IdPath, session: SessionDep, account: CurrentAccount, clock: ClockDep) -> Response:
    # Lives here, not in accounts: whether a visit person may go depends on their appointments.
    await service.remove_visit_person(
        session, account_id=account.subject_id, visit_person_id=patient_id, now=clock.now()
    )
    return Response(status_code=204)
