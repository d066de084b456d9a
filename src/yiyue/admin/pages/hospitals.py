"""医院管理 (platform administrators): the hospitals, their details and booking rules, and opening or
closing them for online booking."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse, Response

from yiyue.admin.console import Console, page
from yiyue.admin.forms import parse, values
from yiyue.admin.templating import render
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.errors import DomainError
from yiyue.core.params import IdPath
from yiyue.hospitals import staff_service
from yiyue.hospitals.models import Hospital
from yiyue.hospitals.staff_schemas import HOSPITAL_LEVELS, RELEASE_MODE_OPTIONS, HospitalIn

router = APIRouter()

HospitalsPage = Annotated[Console, Depends(page("hospitals"))]
PAGE_SIZE = 20
LIST = "/admin/hospitals"
KEPT = ("q", "city", "page")
"""The list's query parameters an action on a row comes back to."""
FIELD_OF = {"HOSPITAL_NAME_TAKEN": "name"}
SELECTS = ("level", "payment_required", "release_mode")
"""Fields chosen from a list: a missing one reads 请选择…."""
PAYMENT_OPTIONS = [("false", "到院缴费（网上预约免支付）"), ("true", "网上预约时在线支付")]
DEFAULTS = {name: field.default for name, field in HospitalIn.model_fields.items() if not field.is_required()}


def _back(query: str, ok: str) -> RedirectResponse:
    """Back to the list as it was (search, city, page), with a green toast."""
    kept = [(k, v) for k, v in parse_qsl(query) if k in KEPT]
    return RedirectResponse(f"{LIST}?{urlencode([*kept, ('ok', ok)])}", status_code=303)


def _form_values(source: Hospital | dict[str, Any]) -> dict[str, Any]:
    """What the form's fields show: the hospital's values, or the defaults, as form strings."""
    if isinstance(source, Hospital):
        shown = {name: getattr(source, name) for name in HospitalIn.model_fields}
    else:
        shown = dict(source)
    if hasattr(shown.get("release_time"), "strftime"):
        shown["release_time"] = shown["release_time"].strftime("%H:%M")
    if isinstance(shown.get("payment_required"), bool):
        shown["payment_required"] = "true" if shown["payment_required"] else "false"
    return shown


def _form(
    console: Console, hospital: Hospital | None, shown: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return render(
        console,
        "hospitals/form.html",
        status=status,
        hospital=hospital,
        values=shown,
        errors=errors,
        levels=[(level, level) for level in HOSPITAL_LEVELS],
        payment_options=PAYMENT_OPTIONS,
        release_modes=list(RELEASE_MODE_OPTIONS),
    )


def _refusal(refused: DomainError) -> dict[str, str]:
    return {FIELD_OF.get(refused.code, "__all__"): refused.text}


@router.get("/hospitals")
async def hospital_list(
    console: HospitalsPage,
    session: SessionDep,
    q: Annotated[str, Query(max_length=50)] = "",
    city: Annotated[str, Query(max_length=30)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    q, city = q.strip(), city.strip()
    hospitals, total = await staff_service.list_hospitals(
        session, staff=console.staff, q=q, city=city, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    query = {k: v for k, v in console.request.query_params.items() if k in KEPT}
    return render(
        console,
        "hospitals/list.html",
        hospitals=hospitals,
        total=total,
        page_number=page_number,
        page_size=PAGE_SIZE,
        q=q,
        city=city,
        cities=await staff_service.cities(session),
        query=query,
        back=urlencode(query),
    )


@router.get("/hospitals/new")
async def new_hospital(console: HospitalsPage) -> Response:
    return _form(console, None, _form_values(DEFAULTS), {})


@router.post("/hospitals/new")
async def create_hospital(console: HospitalsPage, session: SessionDep, clock: ClockDep) -> Response:
    submitted = values(await console.request.form())
    data, errors = parse(HospitalIn, submitted)
    errors = {k: v.replace("请填写", "请选择", 1) if k in SELECTS else v for k, v in errors.items()}
    if data is not None:
        try:
            hospital = await staff_service.create_hospital(session, staff=console.staff, data=data, now=clock.now())
        except DomainError as refused:
            errors = _refusal(refused)
        else:
            return _back("", f"已新增医院「{hospital.name}」")
    return _form(console, None, submitted, errors, status=422)


@router.get("/hospitals/{hospital_id}")
async def edit_hospital(hospital_id: IdPath, console: HospitalsPage, session: SessionDep) -> Response:
    hospital = await staff_service.get_hospital(session, staff=console.staff, hospital_id=hospital_id)
    return _form(console, hospital, _form_values(hospital), {})


@router.post("/hospitals/{hospital_id}")
async def update_hospital(
    hospital_id: IdPath, console: HospitalsPage, session: SessionDep, clock: ClockDep
) -> Response:
    hospital = await staff_service.get_hospital(session, staff=console.staff, hospital_id=hospital_id)
    submitted = values(await console.request.form())
    data, errors = parse(HospitalIn, submitted)
    errors = {k: v.replace("请填写", "请选择", 1) if k in SELECTS else v for k, v in errors.items()}
    if data is not None:
        try:
            await staff_service.update_hospital(
                session, staff=console.staff, hospital_id=hospital_id, data=data, now=clock.now()
            )
        except DomainError as refused:
            errors = _refusal(refused)
        else:
            return _back("", f"已保存「{data.name}」")
    return _form(console, hospital, submitted, errors, status=422)


@router.post("/hospitals/{hospital_id}/close-booking")
async def close_booking(hospital_id: IdPath, console: HospitalsPage, session: SessionDep, clock: ClockDep) -> Response:
    return await _set_booking_open(hospital_id, console, session, clock, booking_open=False)


@router.post("/hospitals/{hospital_id}/open-booking")
async def open_booking(hospital_id: IdPath, console: HospitalsPage, session: SessionDep, clock: ClockDep) -> Response:
    return await _set_booking_open(hospital_id, console, session, clock, booking_open=True)


async def _set_booking_open(
    hospital_id: int, console: Console, session: SessionDep, clock: ClockDep, *, booking_open: bool
) -> Response:
    back = str((await console.request.form()).get("back", ""))
    hospital = await staff_service.set_booking_open(
        session, staff=console.staff, hospital_id=hospital_id, booking_open=booking_open, now=clock.now()
    )
    done = "已恢复网上预约" if booking_open else "已暂停网上预约"
    return _back(back, f"「{hospital.name}」{done}")
