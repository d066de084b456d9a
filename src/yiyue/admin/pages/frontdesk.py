"""门诊: the front desk's day (导诊签到: the appointments of a day by session, search, check-in by code or
from the row, completion, no-shows, a patient's full details for the administrator), walk-in registration
(现场挂号) and bans (爽约限制)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.schemas import PersonName
from yiyue.accounts.service import InvalidIdNumber, InvalidPhone
from yiyue.admin.console import Console, page
from yiyue.admin.errors import error_page, is_htmx
from yiyue.admin.forms import parse, values
from yiyue.admin.templating import render, replace_query
from yiyue.booking.errors import AppointmentNotFound
from yiyue.booking.models import Appointment, AppointmentEvent, AppointmentStatus
from yiyue.booking.views import STATUS_LABELS, payment_view
from yiyue.core.clock import local_today
from yiyue.core.crypto import mask_name
from yiyue.core.db import begin_write
from yiyue.core.deps import CipherDep, ClockDep, SessionDep, SettingsDep
from yiyue.core.errors import DomainError
from yiyue.core.params import MAX_ID, IdPath, IsoDate
from yiyue.frontdesk import bans, no_shows, service, walk_in
from yiyue.frontdesk.errors import CheckInCodeAmbiguous, IdNumberNameMismatch, InvalidSearch
from yiyue.frontdesk.reveal import Revealed, reveal
from yiyue.frontdesk.rules import CHECK_IN_OPENS_BEFORE, REVEAL_ROLES, parse_search
from yiyue.scheduling.models import PERIOD_LABELS, Period

router = APIRouter()
T = TypeVar("T")

FrontDesk = Annotated[Console, Depends(page("frontdesk"))]
WalkIn = Annotated[Console, Depends(page("walkin"))]
Bans = Annotated[Console, Depends(page("bans"))]

PAGE_SIZE = 100
"""Appointments per page of the day list (a busy clinic's session fits on one)."""
WALK_IN_DAYS = 7
"""How far ahead the window registers walk-ins."""

S = AppointmentStatus
STATUS_CHOICES: dict[str, tuple[str, list[AppointmentStatus] | None]] = {
    "": ("全部有效", [S.PENDING_PAYMENT, S.BOOKED, S.CHECKED_IN, S.COMPLETED, S.NO_SHOW, S.SUSPENDED]),
    "booked": ("待就诊", [S.BOOKED]),
    "checked_in": ("已签到", [S.CHECKED_IN]),
    "completed": ("已就诊", [S.COMPLETED]),
    "no_show": ("爽约", [S.NO_SHOW]),
    "pending_payment": ("待支付", [S.PENDING_PAYMENT]),
    "suspended": ("已停诊", [S.SUSPENDED]),
    "cancelled": ("已取消/过期", [S.CANCELLED, S.EXPIRED]),
    "all": ("全部（含取消）", None),
}
"""The status filter of the day list: by default the appointments still in the session."""
BADGES = {
    S.PENDING_PAYMENT: "orange",
    S.BOOKED: "blue",
    S.CHECKED_IN: "green",
    S.COMPLETED: "gray",
    S.NO_SHOW: "red",
    S.CANCELLED: "gray",
    S.EXPIRED: "gray",
    S.SUSPENDED: "orange",
}
StatusChoice = Literal[
    "", "booked", "checked_in", "completed", "no_show", "pending_payment", "suspended", "cancelled", "all"
]
Action = Literal["check-in", "complete", "no-show"]
DONE = {"check-in": "已签到", "complete": "已完成就诊", "no-show": "已记录爽约"}


class DayQuery(BaseModel):
    date: IsoDate | None = Field(default=None, title="日期")
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID, title="科室")
    doctor_id: int | None = Field(default=None, ge=1, le=MAX_ID, title="医生")
    status: StatusChoice = Field(default="", title="状态")
    q: str | None = Field(default=None, max_length=30, title="搜索")
    page: int = Field(default=1, ge=1, le=10_000, title="页码")


class CodeForm(BaseModel):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")] = Field(title="签到码")
    schedule_id: int | None = Field(default=None, ge=1, le=MAX_ID, title="就诊时段")


class ReasonForm(BaseModel):
    reason: Annotated[str, StringConstraints(min_length=2, max_length=100)] = Field(title="原因")


class WalkInForm(BaseModel):
    schedule_id: int = Field(ge=1, le=MAX_ID, title="就诊时段")
    name: PersonName = Field(title="姓名")
    id_number: Annotated[str, StringConstraints(max_length=32)] = Field(title="身份证号")
    phone: Annotated[str, StringConstraints(max_length=20)] = Field(title="手机号")


@dataclass(frozen=True)
class Row:
    """One appointment of the day list, with what the desk may do with it now."""

    a: Appointment
    name_masked: str
    status_label: str
    badge: str
    can_check_in: bool
    opens_at: dt.datetime | None
    """Booked, check-in not open yet: from when it is."""
    can_complete: bool
    can_no_show: bool


async def attempt(session: AsyncSession, use_case: Callable[[], Awaitable[T]]) -> T:
    """Runs a use case whose refusal the page shows (instead of the request failing): in a savepoint, so a
    refusal leaves nothing it may have written behind, while the page's own reads and audit rows commit."""
    await begin_write(session)
    async with session.begin_nested():
        return await use_case()


def row(a: Appointment, now: dt.datetime) -> Row:
    booked = a.status == S.BOOKED
    opens_at = a.schedule.starts_at - CHECK_IN_OPENS_BEFORE
    return Row(
        a=a,
        name_masked=mask_name(a.visit_person.name),
        status_label=STATUS_LABELS[S(a.status)],
        badge=BADGES[S(a.status)],
        can_check_in=booked and opens_at <= now < a.schedule.ends_at,
        opens_at=opens_at if booked and now < opens_at else None,
        can_complete=a.status == S.CHECKED_IN,
        can_no_show=booked and now >= a.schedule.ends_at,
    )


# --- 导诊签到: the day ---------------------------------------------------------------------------------


@router.get("/frontdesk")
async def day(console: FrontDesk, session: SessionDep, clock: ClockDep) -> Response:
    return await _day_page(console, session, now=clock.now(), params=console.request.query_params)


@router.post("/frontdesk/check-in")
async def check_in_by_code(console: FrontDesk, session: SessionDep, clock: ClockDep) -> Response:
    """The code box: the 8-digit code typed or scanned, Enter submits."""
    request = console.request
    now = clock.now()
    data = values(await request.form())
    form, errors = parse(CodeForm, data)
    code_choices: list[service.DaySession] = []
    status = 422
    if form is not None:
        code, schedule_id = form.code, form.schedule_id
        try:
            checked = await attempt(
                session,
                lambda: service.check_in_by_code(
                    session, staff=console.staff, code=code, schedule_id=schedule_id, now=now
                ),
            )
        except DomainError as refused:
            errors, status = {"code": refused.text}, refused.status
            if isinstance(refused, CheckInCodeAmbiguous):
                wanted = set((refused.detail or {}).get("schedule_ids", []))
                today = await service.day_sessions(session, staff=console.staff, hospital_id=None, day=local_today(now))
                code_choices = [s for s in today if s.schedule.id in wanted]
        else:
            if is_htmx(request):
                answer = render(console, "frontdesk/_result.html", result=row(checked, now), periods=PERIOD_LABELS)
                answer.headers["HX-Trigger"] = "checked-in"
                return answer
            return RedirectResponse(f"/admin/frontdesk?checked={checked.id}&ok=已签到", status_code=303)
    context: dict[str, Any] = {"code_values": data, "code_choices": code_choices}
    if is_htmx(request):
        return render(
            console,
            "frontdesk/_result.html",
            status=status,
            result=None,
            errors=errors,
            periods=PERIOD_LABELS,
            **context,
        )
    return await _day_page(console, session, now=now, params={}, errors=errors, status=status, **context)


@router.post("/frontdesk/appointments/{appointment_id}/reveal")
async def reveal_details(
    console: FrontDesk, session: SessionDep, clock: ClockDep, cipher: CipherDep, appointment_id: IdPath
) -> Response:
    """查看完整信息: the administrator gives a reason and sees the full ID number and phone, once."""
    now = clock.now()
    data = values(await console.request.form())
    form, errors = parse(ReasonForm, data)
    if form is None:
        return await _appointment_page(
            console, session, now=now, appointment_id=appointment_id, errors=errors, reason_values=data, status=422
        )
    shown = await reveal(
        session, staff=console.staff, appointment_id=appointment_id, reason=form.reason, cipher=cipher, now=now
    )
    answer = await _appointment_page(console, session, now=now, appointment_id=appointment_id, revealed=shown)
    answer.headers["Cache-Control"] = "no-store"
    return answer


@router.post("/frontdesk/appointments/{appointment_id}/{action}")
async def move_on(
    console: FrontDesk,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    appointment_id: IdPath,
    action: Action,
) -> Response:
    """签到, 完成就诊 or 记录爽约 from a row of the list (htmx swaps the row) or the appointment's page."""
    request = console.request
    now = clock.now()
    back = _safe_back(values(await request.form()).get("next"))
    staff = console.staff

    async def act() -> Appointment:
        if action == "check-in":
            return await service.check_in(session, staff=staff, appointment_id=appointment_id, now=now)
        if action == "complete":
            return await service.complete(session, staff=staff, appointment_id=appointment_id, now=now)
        rule = no_shows.BanRule.from_settings(settings)
        return await no_shows.record_no_show(session, staff=staff, appointment_id=appointment_id, rule=rule, now=now)

    try:
        moved = await attempt(session, act)
    except DomainError as refused:
        if is_htmx(request) or isinstance(refused, AppointmentNotFound):
            return error_page(request, refused.status, refused.text)
        if back.startswith("/admin/frontdesk/appointments/"):
            return await _appointment_page(
                console,
                session,
                now=now,
                appointment_id=appointment_id,
                errors={"__all__": refused.text},
                status=refused.status,
            )
        params = dict(parse_qsl(urlsplit(back).query))
        return await _day_page(
            console, session, now=now, params=params, errors={"__all__": refused.text}, status=refused.status
        )
    message = f"{DONE[action]}：{mask_name(moved.visit_person.name)}（{moved.queue_number}号）"
    if is_htmx(request):
        sessions = await service.day_sessions(
            session, staff=console.staff, hospital_id=None, day=moved.visit_date, doctor_id=moved.doctor_id
        )
        header = next((s for s in sessions if s.schedule.id == moved.schedule_id), None)
        answer = render(
            console,
            "frontdesk/_moved.html",
            r=row(moved, now),
            header=header,
            message=message,
            back=back,
            periods=PERIOD_LABELS,
        )
        answer.headers["HX-Trigger"] = "checked-in"  # the day list (and its totals) reloads
        return answer
    separator = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{separator}ok={message}", status_code=303)


@router.get("/frontdesk/appointments/{appointment_id}")
async def appointment(console: FrontDesk, session: SessionDep, clock: ClockDep, appointment_id: IdPath) -> Response:
    return await _appointment_page(console, session, now=clock.now(), appointment_id=appointment_id)


async def _day_page(
    console: Console,
    session: AsyncSession,
    *,
    now: dt.datetime,
    params: Mapping[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    """The day list: filters from ``params`` (the query string); a filter that does not read is shown
    beside its field (422) and lists nothing."""
    request = console.request
    query_values = {k: v.strip() for k, v in params.items() if k in DayQuery.model_fields and v.strip()}
    query, query_errors = parse(DayQuery, query_values)
    errors = {**query_errors, **(errors or {})}
    search = None
    if query is not None:
        try:
            search = parse_search(query.q)
        except InvalidSearch as refused:
            errors["q"] = refused.text
            query = None
    today = local_today(now)
    shown = query.date if query is not None and query.date is not None else today
    choices = await service.filter_choices(session, staff=console.staff, hospital_id=None)
    here = _here(query_values)
    page_context: dict[str, Any] = {
        "query": query_values,
        "errors": errors,
        "department_options": [(d.id, d.name) for d in choices.departments],
        "doctor_options": [(d.id, f"{d.name}（{d.title}）") for d in choices.doctors],
        "status_options": [(key, label) for key, (label, _) in STATUS_CHOICES.items()],
        "periods": PERIOD_LABELS,
        "now": now,
        "day": shown,
        "is_today": shown == today,
        "previous": shown - dt.timedelta(days=1),
        "next_day": shown + dt.timedelta(days=1),
        "here": here,
        "back": here,
        "checked": None,
        "code_values": {},
        "code_choices": [],
        "rows": [],
        "sessions": {},
        "all_sessions": [],
        "total": 0,
        "page": 1,
        "page_size": PAGE_SIZE,
        "searching": search is not None,
    }
    page_context.update(context)
    if query is None:
        return render(console, "frontdesk/day.html", status=422, **page_context)
    filters = service.AppointmentFilter(
        visit_date=shown,
        department_id=query.department_id,
        doctor_id=query.doctor_id,
        statuses=STATUS_CHOICES[query.status][1],
        search=search,
    )
    found, total = await service.list_appointments(
        session,
        staff=console.staff,
        hospital_id=None,
        filters=filters,
        offset=(query.page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        now=now,
    )
    sessions = await service.day_sessions(
        session,
        staff=console.staff,
        hospital_id=None,
        day=shown,
        department_id=query.department_id,
        doctor_id=query.doctor_id,
    )
    page_context.update(
        rows=[row(a, now) for a in found],
        sessions={s.schedule.id: s for s in sessions},
        all_sessions=sessions,
        total=total,
        page=query.page,
    )
    checked_id = params.get("checked", "")
    if checked_id.isdigit() and int(checked_id) <= MAX_ID:
        try:
            checked = await service.get_appointment(
                session, staff=console.staff, appointment_id=int(checked_id), now=now
            )
        except AppointmentNotFound:
            pass
        else:
            page_context["checked"] = row(checked, now)
    if is_htmx(request) and request.headers.get("hx-target") == "day-list":
        return render(console, "frontdesk/_list.html", status=status, **page_context)
    return render(console, "frontdesk/day.html", status=status, **page_context)


async def _appointment_page(
    console: Console,
    session: AsyncSession,
    *,
    now: dt.datetime,
    appointment_id: int,
    errors: dict[str, str] | None = None,
    reason_values: dict[str, Any] | None = None,
    revealed: Revealed | None = None,
    status: int = 200,
) -> Response:
    a = (
        revealed.appointment
        if revealed is not None
        else await service.get_appointment(session, staff=console.staff, appointment_id=appointment_id, now=now)
    )
    history = list(
        await session.scalars(
            select(AppointmentEvent).where(AppointmentEvent.appointment_id == a.id).order_by(AppointmentEvent.id)
        )
    )
    return render(
        console,
        "frontdesk/appointment.html",
        status=status,
        r=row(a, now),
        money=payment_view(a),
        history=history,
        status_labels={s.value: label for s, label in STATUS_LABELS.items()},
        periods=PERIOD_LABELS,
        can_reveal=console.staff.role in REVEAL_ROLES,
        revealed=revealed,
        errors=errors or {},
        values=reason_values or {},
        back=f"/admin/frontdesk/appointments/{a.id}",
    )


def _here(query: Mapping[str, str]) -> str:
    """The day list as it is shown (filters kept), for the row actions to come back to."""
    kept = replace_query(query, page=query.get("page"))
    return "/admin/frontdesk" + (f"?{kept}" if kept else "")


def _safe_back(target: Any) -> str:
    """Back to a page of the front desk only, never elsewhere (an open redirect)."""
    if isinstance(target, str) and target.startswith("/admin/frontdesk") and not target.startswith("//"):
        parts = urlsplit(target)
        kept = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("ok", "checked")]
        return parts.path + (f"?{replace_query(dict(kept))}" if kept else "")
    return "/admin/frontdesk"


# --- 现场挂号: walk-ins ---------------------------------------------------------------------------------


@router.get("/walk-in")
async def walk_in_form(console: WalkIn, session: SessionDep, clock: ClockDep) -> Response:
    params = console.request.query_params
    picked = params.get("schedule_id", "")
    return await _walk_in_page(
        console,
        session,
        now=clock.now(),
        day_text=params.get("date", ""),
        form_values={"schedule_id": picked} if picked.isdigit() else {},
    )


@router.post("/walk-in")
async def register_walk_in(console: WalkIn, session: SessionDep, clock: ClockDep, cipher: CipherDep) -> Response:
    now = clock.now()
    data = values(await console.request.form())
    day_text = str(data.pop("date", ""))
    form, errors = parse(WalkInForm, data)
    if "schedule_id" in errors:
        errors["schedule_id"] = "请先选择就诊时段"
    status = 422
    if form is not None:
        schedule_id = form.schedule_id
        patient = walk_in.WalkInPatient(name=form.name, id_number=form.id_number, phone=form.phone)
        try:
            registered = await attempt(
                session,
                lambda: walk_in.register(
                    session, staff=console.staff, schedule_id=schedule_id, patient=patient, cipher=cipher, now=now
                ),
            )
        except DomainError as refused:
            field = {InvalidIdNumber: "id_number", IdNumberNameMismatch: "id_number", InvalidPhone: "phone"}
            errors, status = {field.get(type(refused), "__all__"): refused.text}, refused.status
        else:
            a = registered.appointment
            return RedirectResponse(f"/admin/walk-in/{a.id}?ok=挂号成功，请打印挂号单", status_code=303)
    return await _walk_in_page(
        console, session, now=now, day_text=day_text, form_values=data, errors=errors, status=status
    )


@router.get("/walk-in/{appointment_id}")
async def walk_in_slip(console: WalkIn, session: SessionDep, clock: ClockDep, appointment_id: IdPath) -> Response:
    """The registration slip (挂号单) to print: queue number and check-in code."""
    a = await service.get_appointment(session, staff=console.staff, appointment_id=appointment_id, now=clock.now())
    if a.channel != walk_in.ONSITE:
        raise AppointmentNotFound()
    return render(
        console,
        "frontdesk/slip.html",
        a=a,
        name_masked=mask_name(a.visit_person.name),
        status_label=STATUS_LABELS[S(a.status)],
        period_label=PERIOD_LABELS[Period(a.schedule.period)],
    )


async def _walk_in_page(
    console: Console,
    session: AsyncSession,
    *,
    now: dt.datetime,
    day_text: str,
    form_values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    today = local_today(now)
    errors = dict(errors or {})
    try:
        shown = dt.date.fromisoformat(day_text) if day_text else today
    except ValueError:
        shown = today
        errors["date"] = "日期格式不正确，如 2026-12-01"
    if not today <= shown <= today + dt.timedelta(days=WALK_IN_DAYS):
        errors["date"] = f"只能为今天起{WALK_IN_DAYS}天内的出诊现场挂号"
        shown = today
    sessions = await walk_in.onsite_sessions(session, staff=console.staff, day=shown, now=now)
    return render(
        console,
        "frontdesk/walk_in.html",
        status=422 if "date" in errors and status == 200 else status,
        sessions=sessions,
        values=form_values,
        errors=errors,
        day=shown,
        today=today,
        days=[today + dt.timedelta(days=i) for i in range(WALK_IN_DAYS + 1)],
        periods=PERIOD_LABELS,
    )


# --- 爽约限制: bans -------------------------------------------------------------------------------------

BANS_PAGE_SIZE = 50


@router.get("/bans")
async def ban_list(console: Bans, session: SessionDep, clock: ClockDep) -> Response:
    page_text = console.request.query_params.get("page", "1")
    return await _bans_page(console, session, now=clock.now(), page_number=int(page_text) if page_text.isdigit() else 1)


@router.post("/bans/{ban_id}/lift")
async def lift(console: Bans, session: SessionDep, clock: ClockDep, ban_id: IdPath) -> Response:
    now = clock.now()
    data = values(await console.request.form())
    form, errors = parse(ReasonForm, data)
    status = 422
    alert = ""
    if form is not None:
        reason = form.reason
        try:
            await attempt(
                session, lambda: bans.lift_ban(session, staff=console.staff, ban_id=ban_id, reason=reason, now=now)
            )
        except DomainError as refused:
            alert, status = refused.text, refused.status
        else:
            return RedirectResponse("/admin/bans?ok=已提前解除限制", status_code=303)
    return await _bans_page(
        console,
        session,
        now=now,
        page_number=1,
        errors={ban_id: errors, "__all__": alert} if alert else {ban_id: errors},
        reasons={ban_id: data},
        status=status,
    )


async def _bans_page(
    console: Console,
    session: AsyncSession,
    *,
    now: dt.datetime,
    page_number: int,
    errors: Mapping[int | str, Any] | None = None,
    reasons: dict[int, dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    page_number = max(1, min(page_number, 10_000))
    lines, total = await bans.list_bans(
        session,
        staff=console.staff,
        hospital_id=None,
        now=now,
        offset=(page_number - 1) * BANS_PAGE_SIZE,
        limit=BANS_PAGE_SIZE,
    )
    return render(
        console,
        "frontdesk/bans.html",
        status=status,
        lines=lines,
        total=total,
        page=page_number,
        page_size=BANS_PAGE_SIZE,
        errors=errors or {},
        reasons=reasons or {},
        now=now,
    )
