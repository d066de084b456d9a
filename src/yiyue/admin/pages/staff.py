"""工作人员: the platform manages the hospital administrators of every hospital; a hospital administrator
the staff of their hospital (hospital administrators, front desk, doctors). Create, rename, change the
role, reset the password (typed twice), disable and enable (``accounts.staff.management``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.staff import management
from yiyue.accounts.staff import service as staff_service
from yiyue.accounts.staff.errors import InvalidDisplayName
from yiyue.accounts.staff.models import MAX_DISPLAY_NAME, ROLE_LABELS, StaffRole, StaffSession, StaffUser
from yiyue.admin import forms
from yiyue.admin.console import Console, page
from yiyue.admin.templating import render
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.errors import DomainError
from yiyue.core.params import MAX_ID, IdPath
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.hospitals.staff_accounts import check_workplace

router = APIRouter()

StaffPage = Annotated[Console, Depends(page("staff"))]
PAGE_SIZE = 30

FIELD_OF_CODE = {
    "INVALID_USERNAME": "username",
    "USERNAME_TAKEN": "username",
    "WEAK_PASSWORD": "password",
    "INVALID_DISPLAY_NAME": "display_name",
    "INVALID_ROLE": "role",
    "ROLE_NOT_ASSIGNABLE": "role",
    "NOT_ON_YOURSELF": "role",
    "LAST_HOSPITAL_ADMIN": "role",
    "INVALID_STAFF_SCOPE": "doctor_id",
    "UNKNOWN_DOCTOR": "doctor_id",
    "DOCTOR_HAS_ACCOUNT": "doctor_id",
    "UNKNOWN_HOSPITAL": "hospital_id",
    "HOSPITAL_NOT_FOUND": "hospital_id",
}
"""Where a refusal of the service is shown on the form (the services check before they change anything,
so a refused form leaves nothing behind)."""


class StaffForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: str = Field(default="", max_length=64, title="用户名")
    display_name: str = Field(default="", max_length=64, title="姓名")
    role: StaffRole | None = Field(default=None, title="角色")
    hospital_id: int | None = Field(default=None, ge=1, le=MAX_ID, title="所属医院")
    doctor_id: int | None = Field(default=None, ge=1, le=MAX_ID, title="对应医生")


# --- the list ---------------------------------------------------------------------------------------


@router.get("/staff")
async def staff_list(
    console: StaffPage,
    session: SessionDep,
    hospital_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    role: Annotated[StaffRole | None, Query()] = None,
    state: Annotated[str | None, Query(pattern="^(active|disabled)$")] = None,
    q: Annotated[str | None, Query(max_length=32)] = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    filters = management.StaffFilter(
        hospital_id=hospital_id,
        role=role,
        active=None if state is None else state == "active",
        q=q or None,
    )
    rows, total = await management.list_accounts(
        session, staff=console.staff, filters=filters, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return render(
        console,
        "staff/index.html",
        rows=rows,
        total=total,
        page=page_number,
        page_size=PAGE_SIZE,
        query={k: v for k, v in console.request.query_params.items() if k != "page"},
        values={"hospital_id": hospital_id, "role": role or "", "state": state or "", "q": q or ""},
        errors={},
        hospitals=await _hospital_names(session) if console.is_platform else {},
        doctors=await _doctor_names(session, [r.doctor_id for r in rows if r.doctor_id is not None]),
        role_options=_role_options(console),
        me=console.staff.id,
    )


# --- creating ---------------------------------------------------------------------------------------


@router.get("/staff/new")
async def new_staff(console: StaffPage, session: SessionDep) -> Response:
    values: dict[str, Any] = {"role": "hospital_admin" if console.is_platform else "front_desk"}
    return await _new_page(console, session, values=values, errors={})


@router.post("/staff/new")
async def create_staff(console: StaffPage, session: SessionDep, clock: ClockDep) -> Response:
    form = await console.request.form()
    data = forms.values(form)
    password, confirm = _passwords(form)
    parsed, errors = forms.parse(StaffForm, data)
    if parsed is not None:
        errors |= _check_new(console, parsed)
    errors |= _check_passwords(password, confirm)
    if parsed is None or errors:
        return await _new_page(console, session, values=data, errors=errors, status=422)
    try:
        created = await management.create_account(
            session,
            staff=console.staff,
            username=parsed.username.lower(),
            password=password,
            role=parsed.role or "",
            display_name=parsed.display_name,
            hospital_id=parsed.hospital_id if console.is_platform else None,
            doctor_id=parsed.doctor_id if parsed.role == StaffRole.DOCTOR else None,
            now=clock.now(),
            check_workplace=check_workplace,
        )
    except DomainError as refused:
        return await _new_page(console, session, values=data, errors=_placed(refused), status=422)
    return _done(f"/admin/staff/{created.id}", f"已创建账号 {created.username}，请将初始密码告知本人")


# --- one account ------------------------------------------------------------------------------------


@router.get("/staff/{staff_id}")
async def staff_detail(staff_id: IdPath, console: StaffPage, session: SessionDep, clock: ClockDep) -> Response:
    target = await management.get_account(session, staff=console.staff, staff_id=staff_id)
    return await _detail_page(console, session, target, now=clock.now())


@router.post("/staff/{staff_id}")
async def update_staff(staff_id: IdPath, console: StaffPage, session: SessionDep, clock: ClockDep) -> Response:
    target = await management.get_account(session, staff=console.staff, staff_id=staff_id)
    data = forms.values(await console.request.form())
    parsed, errors = forms.parse(StaffForm, data)
    if parsed is not None and not errors:
        errors |= _check_display_name(parsed.display_name)
        if parsed.role == StaffRole.DOCTOR and parsed.doctor_id is None:
            errors["doctor_id"] = "医生账号请选择对应的医生"
    if parsed is None or errors:
        return await _detail_page(console, session, target, now=clock.now(), profile=data, profile_errors=errors)
    changes_role = not console.is_platform and parsed.role is not None and target.id != console.staff.id
    try:
        await management.update_account(
            session,
            staff=console.staff,
            staff_id=staff_id,
            display_name=parsed.display_name,
            role=parsed.role if changes_role else None,
            doctor_id=parsed.doctor_id if changes_role and parsed.role == StaffRole.DOCTOR else None,
            now=clock.now(),
            check_workplace=check_workplace,
        )
    except DomainError as refused:
        return await _detail_page(
            console, session, target, now=clock.now(), profile=data, profile_errors=_placed(refused)
        )
    return _done(f"/admin/staff/{staff_id}", "已保存")


@router.post("/staff/{staff_id}/password")
async def reset_password(staff_id: IdPath, console: StaffPage, session: SessionDep, clock: ClockDep) -> Response:
    target = await management.get_account(session, staff=console.staff, staff_id=staff_id)
    password, confirm = _passwords(await console.request.form())
    errors = _check_passwords(password, confirm)
    if not errors:
        try:
            await management.reset_password(
                session, staff=console.staff, staff_id=staff_id, password=password, now=clock.now()
            )
        except DomainError as refused:
            errors = _placed(refused)
    if errors:
        return await _detail_page(console, session, target, now=clock.now(), password_errors=errors)
    if target.id == console.staff.id:  # one's own sessions ended with the old password: log in again
        return RedirectResponse("/admin/login", status_code=303)
    return _done(f"/admin/staff/{staff_id}", "密码已重置，该人员需用新密码重新登录")


@router.post("/staff/{staff_id}/disable")
async def disable_staff(staff_id: IdPath, console: StaffPage, session: SessionDep, clock: ClockDep) -> Response:
    return await _set_active(console, session, staff_id, active=False, now=clock.now())


@router.post("/staff/{staff_id}/enable")
async def enable_staff(staff_id: IdPath, console: StaffPage, session: SessionDep, clock: ClockDep) -> Response:
    return await _set_active(console, session, staff_id, active=True, now=clock.now())


async def _set_active(
    console: Console, session: AsyncSession, staff_id: int, *, active: bool, now: datetime
) -> Response:
    target = await management.get_account(session, staff=console.staff, staff_id=staff_id)
    try:
        await management.set_active(session, staff=console.staff, staff_id=staff_id, active=active, now=now)
    except DomainError as refused:
        return await _detail_page(console, session, target, now=now, status_error=refused.text)
    if active:
        return _done(f"/admin/staff/{staff_id}", f"已启用 {target.display_name}")
    return _done(f"/admin/staff/{staff_id}", f"已停用 {target.display_name}，其登录已全部结束")


# --- helpers ----------------------------------------------------------------------------------------


def _done(path: str, message: str) -> Response:
    return RedirectResponse(f"{path}?{urlencode({'ok': message})}", status_code=303)


def _passwords(form: Any) -> tuple[str, str]:
    """Passwords as typed (not trimmed: a space is a character of a password)."""
    password, confirm = form.get("password", ""), form.get("password_confirm", "")
    return (password if isinstance(password, str) else ""), (confirm if isinstance(confirm, str) else "")


def _check_passwords(password: str, confirm: str) -> dict[str, str]:
    if not password:
        return {"password": "请填写密码"}
    try:
        staff_service.validate_password(password)
    except DomainError as refused:
        return {"password": refused.text}
    if password != confirm:
        return {"password_confirm": "两次输入的密码不一致"}
    return {}


def _check_display_name(name: str) -> dict[str, str]:
    if not name.strip() or len(name.strip()) > MAX_DISPLAY_NAME:
        return {"display_name": InvalidDisplayName.message}
    return {}


def _check_new(console: Console, form: StaffForm) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        staff_service.validate_username(form.username.lower())
    except DomainError as refused:
        errors["username"] = refused.text
    errors |= _check_display_name(form.display_name)
    if console.is_platform:
        if form.role != StaffRole.HOSPITAL_ADMIN:
            errors["role"] = "平台管理员只能新建医院管理员"
        if form.hospital_id is None:
            errors["hospital_id"] = "请选择所属医院"
    else:
        if form.role not in management.HOSPITAL_ROLES:
            errors["role"] = "请选择角色"
        if form.role == StaffRole.DOCTOR and form.doctor_id is None:
            errors["doctor_id"] = "医生账号请选择对应的医生"
    return errors


def _placed(refused: DomainError) -> dict[str, str]:
    return {FIELD_OF_CODE.get(refused.code, "__all__"): refused.text}


def _role_options(console: Console) -> list[tuple[str, str]]:
    roles = (StaffRole.HOSPITAL_ADMIN,) if console.is_platform else management.HOSPITAL_ROLES
    return [(r.value, ROLE_LABELS[r]) for r in roles]


async def _new_page(
    console: Console, session: AsyncSession, *, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return render(
        console,
        "staff/new.html",
        status=status,
        values=values,
        errors=errors,
        role_options=_role_options(console),
        hospital_options=list((await _hospital_names(session)).items()) if console.is_platform else [],
        doctor_options=[] if console.is_platform else await _free_doctors(session, console.hospital_id),
    )


async def _detail_page(
    console: Console,
    session: AsyncSession,
    target: StaffUser,
    *,
    now: datetime,
    profile: dict[str, Any] | None = None,
    profile_errors: dict[str, str] | None = None,
    password_errors: dict[str, str] | None = None,
    status_error: str = "",
) -> Response:
    is_self = target.id == console.staff.id
    live = await session.scalar(
        select(func.count())
        .select_from(StaffSession)
        .where(StaffSession.staff_id == target.id, StaffSession.ended_at.is_(None), StaffSession.expires_at > now)
    )
    hospital = await session.get(Hospital, target.hospital_id) if target.hospital_id is not None else None
    doctor = await session.get(Doctor, target.doctor_id) if target.doctor_id is not None else None
    doctor_options = []
    if not console.is_platform and target.hospital_id is not None:
        doctor_options = await _free_doctors(session, target.hospital_id, keep=target.doctor_id)
    values = profile or {"display_name": target.display_name, "role": target.role, "doctor_id": target.doctor_id}
    failed = bool(profile_errors) or bool(password_errors)
    return render(
        console,
        "staff/detail.html",
        status=409 if status_error else 422 if failed else 200,
        target=target,
        status_error=status_error,
        is_self=is_self,
        can_change_role=not console.is_platform and not is_self,
        live_sessions=int(live or 0),
        hospital_name=hospital.name if hospital else "",
        doctor=doctor,
        values=values,
        errors=profile_errors or {},
        password_errors=password_errors or {},
        role_options=_role_options(console),
        doctor_options=doctor_options,
    )


async def _hospital_names(session: AsyncSession) -> dict[int, str]:
    return {i: n for i, n in await session.execute(select(Hospital.id, Hospital.name).order_by(Hospital.id))}


async def _doctor_names(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    found = await session.execute(select(Doctor.id, Doctor.name, Doctor.title).where(Doctor.id.in_(ids)))
    return {i: f"{name}（{title}）" for i, name, title in found}


async def _free_doctors(session: AsyncSession, hospital_id: int, keep: int | None = None) -> list[tuple[int, str]]:
    """The hospital's doctors who have no account yet (and ``keep``, the account's own doctor)."""
    taken = select(StaffUser.doctor_id).where(StaffUser.doctor_id.is_not(None))
    query = (
        select(Doctor.id, Doctor.name, Doctor.title, Department.name)
        .join(Department, Department.id == Doctor.department_id)
        .where(Doctor.hospital_id == hospital_id)
    )
    if keep is not None:
        query = query.where((Doctor.id == keep) | (Doctor.id.not_in(taken) & Doctor.active.is_(True)))
    else:
        query = query.where(Doctor.id.not_in(taken), Doctor.active.is_(True))
    found = await session.execute(query.order_by(Department.name, Doctor.name))
    return [(i, f"{name}（{department} · {title}）") for i, name, title, department in found]
