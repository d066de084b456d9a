"""操作日志: who did what to which record, newest first.

A hospital administrator reads their hospital's rows; the platform administrator every row, or one
hospital's. Filters: a date range of at most 31 days (hospital local dates), the staff user, the action
and the record (``appointment:12``, or ``appointment`` for every appointment).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.staff.models import ROLE_LABELS, StaffRole, StaffUser
from yiyue.accounts.staff.scope import require_hospital
from yiyue.admin import forms
from yiyue.admin.console import Console, page
from yiyue.admin.templating import render
from yiyue.booking.models import AppointmentStatus
from yiyue.booking.views import STATUS_LABELS
from yiyue.core import audit
from yiyue.core.audit import AuditLog
from yiyue.core.clock import at_local, local_today
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.params import MAX_ID, IsoDate
from yiyue.hospitals.models import Hospital
from yiyue.hospitals.service import HospitalNotFound

router = APIRouter()

MAX_DAYS = 31
PAGE_SIZE = 50

ACTION_LABELS = {
    "staff.login": "登录",
    "staff.logout": "退出",
    "staff.create": "新建工作人员",
    "staff.update": "修改工作人员",
    "staff.reset_password": "重置密码",
    "staff.disable": "停用账号",
    "staff.enable": "启用账号",
    "appointment.list": "查看预约列表",
    "appointment.view": "查看预约详情",
    "appointment.check_in": "签到",
    "appointment.complete": "完成就诊",
    "appointment.no_show": "标记爽约",
    "appointment.cancel": "取消预约",
    "appointment.walk_in": "现场挂号",
    "appointment.export": "导出预约",
    "visit_person.reveal": "查看完整信息",
    "schedule.create": "新建排班",
    "schedule.update": "修改排班",
    "schedule.suspend": "停诊",
    "schedule.release": "放号",
    "schedule.export": "导出排班",
    "schedule.substitute": "替诊",
    "template.save": "保存排班模板",
    "template.create": "新建排班模板",
    "template.update": "修改排班模板",
    "template.delete": "删除排班模板",
    "hospital.create": "新建医院",
    "hospital.update": "修改医院",
    "hospital.open_booking": "开放预约",
    "hospital.close_booking": "关闭预约",
    "department.create": "新建科室",
    "department.update": "修改科室",
    "department.move": "调整科室归属",
    "department.close": "停用科室",
    "department.reopen": "恢复科室",
    "doctor.create": "新建医生",
    "doctor.update": "修改医生",
    "doctor.leave": "医生离职",
    "doctor.rejoin": "医生恢复出诊",
    "booking_ban.list": "查看预约限制",
    "booking_ban.lift": "解除预约限制",
    "review.hide": "隐藏评价",
    "review.restore": "恢复评价",
    "points.adjust": "调整积分",
    "member_level.update": "修改会员等级",
    "member.view": "查看会员积分",
}
"""The actions in Chinese; an action not listed is shown as recorded."""

SUBJECT_LABELS = {
    "appointment": "预约",
    "schedule": "排班",
    "staff": "工作人员",
    "hospital": "医院",
    "department": "科室",
    "doctor": "医生",
    "template": "排班模板",
    "visit_person": "就诊人",
    "account": "患者账号",
    "ban": "爽约限制",
    "booking_ban": "预约限制",
    "review": "评价",
    "member_level": "会员等级",
}

DETAIL_LABELS = {
    "reason": "原因",
    "via": "方式",
    "from_status": "原状态",
    "to_status": "新状态",
    "total": "总数",
    "rows": "行数",
    "format": "格式",
    "filters": "筛选",
    "appointments": "预约",
    "appointment_ids": "预约",
    "sessions_ended": "结束会话",
    "username": "用户名",
    "display_name": "姓名",
    "role": "角色",
    "doctor_id": "医生",
    "department_id": "科室",
    "active": "在用",
    "date": "日期",
    "date_from": "从",
    "date_to": "至",
    "status": "状态",
    "after": "新建",
    "hidden_reason": "隐藏原因",
    "stars": "星级",
    "delta": "积分变动",
}


class AuditFilter(BaseModel):
    model_config = ConfigDict(extra="ignore")

    date_from: IsoDate | None = Field(default=None, title="开始日期")
    date_to: IsoDate | None = Field(default=None, title="结束日期")
    hospital_id: int | None = Field(default=None, ge=1, le=MAX_ID, title="医院")
    actor: int | None = Field(default=None, ge=1, le=MAX_ID, title="操作人")
    action: str | None = Field(default=None, max_length=64, title="操作")
    subject: str | None = Field(default=None, max_length=64, title="对象")
    page: int = Field(default=1, ge=1, le=10_000, title="页码")


@dataclass(frozen=True)
class Row:
    at: Any
    actor: str
    actor_username: str
    action: str
    action_label: str
    subject: str
    subject_label: str
    subject_note: str
    hospital: str
    ip: str
    summary: str
    detail_json: str


@router.get("/audit")
async def audit_log(
    console: Annotated[Console, Depends(page("audit"))], session: SessionDep, clock: ClockDep
) -> Response:
    today = local_today(clock.now())
    filters, errors = forms.parse(AuditFilter, _query(console))
    if filters is None:
        filters = AuditFilter()
    date_to = filters.date_to or today
    date_from = filters.date_from or (date_to - timedelta(days=6))
    if not errors:
        if date_from > date_to:
            errors["date_to"] = "结束日期不能早于开始日期"
        elif (date_to - date_from).days + 1 > MAX_DAYS:
            errors["date_from"] = f"日期范围不能超过{MAX_DAYS}天"
    hospital_id = _hospital_scope(console, filters.hospital_id)
    rows: list[Row] = []
    total = 0
    if not errors:
        found, total = await audit.search(
            session,
            hospital_id=hospital_id,
            since=at_local(date_from, time.min),
            until=at_local(date_to + timedelta(days=1), time.min),
            actor=f"staff:{filters.actor}" if filters.actor else None,
            action=filters.action,
            subject=filters.subject,
            offset=(filters.page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        rows = await _rows(session, found)
    hospitals = await _hospitals(session) if console.is_platform else []
    query = {k: v for k, v in console.request.query_params.items() if k != "page"}
    return render(
        console,
        "audit/index.html",
        status=422 if errors else 200,
        rows=rows,
        total=total,
        page=filters.page,
        page_size=PAGE_SIZE,
        errors=errors,
        values={
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
            "hospital_id": filters.hospital_id,
            "actor": filters.actor,
            "action": filters.action or "",
            "subject": filters.subject or "",
        },
        hospitals=hospitals,
        actors=await _actors(session, hospital_id, with_platform=console.is_platform),
        actions=_action_choices(await audit.actions(session, hospital_id=hospital_id)),
        query=query,
        max_days=MAX_DAYS,
    )


def _query(console: Console) -> dict[str, Any]:
    return {k: v.strip() for k, v in console.request.query_params.items() if v.strip() != ""}


def _hospital_scope(console: Console, asked: int | None) -> int | None:
    """The hospital whose rows are read: the admin's own (naming another is not found), or for the
    platform the one it picks (None: every row)."""
    if console.is_platform:
        return asked
    if asked is not None:
        require_hospital(console.staff, asked, not_found=HospitalNotFound)
    return console.hospital_id


async def _rows(session: AsyncSession, found: list[AuditLog]) -> list[Row]:
    staff_ids = {_staff_id(r.actor) for r in found} | {_staff_id(r.subject) for r in found}
    staff_ids.discard(None)
    people = (
        {s.id: s for s in await session.scalars(select(StaffUser).where(StaffUser.id.in_(staff_ids)))}
        if staff_ids
        else {}
    )
    hospital_ids = {r.hospital_id for r in found if r.hospital_id is not None}
    names = (
        {
            i: n
            for i, n in await session.execute(select(Hospital.id, Hospital.name).where(Hospital.id.in_(hospital_ids)))
        }
        if hospital_ids
        else {}
    )
    rows = []
    for r in found:
        who = people.get(_staff_id(r.actor) or 0)
        rows.append(
            Row(
                at=r.at,
                actor=who.display_name if who else r.actor,
                actor_username=who.username if who else "",
                action=r.action,
                action_label=ACTION_LABELS.get(r.action, r.action),
                subject=r.subject,
                subject_label=_subject_label(r.subject, people),
                subject_note=_subject_note(r.subject, people),
                hospital=names.get(r.hospital_id, "") if r.hospital_id is not None else "平台",
                ip=r.ip,
                summary=summarize(r.detail or {}),
                detail_json=json.dumps(r.detail or {}, ensure_ascii=False, indent=1)[:2000],
            )
        )
    return rows


def _staff_id(reference: str) -> int | None:
    kind, _, ident = reference.partition(":")
    return int(ident) if kind == "staff" and ident.isdigit() else None


def _subject_label(subject: str, people: dict[int, StaffUser]) -> str:
    kind, _, ident = subject.partition(":")
    label = SUBJECT_LABELS.get(kind)
    if label is None:
        return subject
    person = people.get(_staff_id(subject) or 0)
    if person is not None:
        return f"{label} {person.display_name}"
    return f"{label} #{ident}" if ident else label


def _subject_note(subject: str, people: dict[int, StaffUser]) -> str:
    person = people.get(_staff_id(subject) or 0)
    return person.username if person is not None else ""


def summarize(detail: dict[str, Any], limit: int = 160) -> str:
    """A line a person can read: changes as ``角色：导诊/挂号 → 医生``, long id lists as a count."""
    parts: list[str] = []
    before, after = detail.get("before"), detail.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        for key in after:
            if before.get(key) != after.get(key):
                parts.append(f"{_label(key)}：{_value(key, before.get(key))} → {_value(key, after.get(key))}")
    for key, value in detail.items():
        if key in ("before", "after") and isinstance(before, dict) and isinstance(after, dict):
            continue
        if value is None or value == [] or value == {} or value == "":
            continue
        if isinstance(value, dict):
            inner = "，".join(f"{_label(k)} {_value(k, v)}" for k, v in value.items() if v not in (None, "", [], {}))
            if inner:
                parts.append(f"{_label(key)}：{inner}")
        else:
            parts.append(f"{_label(key)}：{_value(key, value)}")
    text = "；".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(key: str) -> str:
    return DETAIL_LABELS.get(key, key)


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        if key in ("status",):
            return "、".join(_value(key, v) for v in value)
        if len(value) > 5:
            return f"{len(value)} 项"
        return "、".join(str(v) for v in value) if value else "无"
    if key in ("from_status", "to_status", "status") and isinstance(value, str):
        try:
            return STATUS_LABELS[AppointmentStatus(value)]
        except ValueError:
            return value
    if key == "role" and isinstance(value, str):
        try:
            return ROLE_LABELS[StaffRole(value)]
        except ValueError:
            return value
    if value is None:
        return "无"
    return str(value)


async def _hospitals(session: AsyncSession) -> list[tuple[int, str]]:
    return list((await session.execute(select(Hospital.id, Hospital.name).order_by(Hospital.id))).tuples())


async def _actors(session: AsyncSession, hospital_id: int | None, *, with_platform: bool) -> list[tuple[int, str]]:
    """The staff users the filter offers: the hospital's (for the platform, with its own admins), or
    everyone."""
    query = select(StaffUser).order_by(StaffUser.hospital_id, StaffUser.display_name, StaffUser.username)
    if hospital_id is not None:
        mine = StaffUser.hospital_id == hospital_id
        query = query.where(or_(mine, StaffUser.role == StaffRole.PLATFORM_ADMIN) if with_platform else mine)
    return [
        (s.id, f"{s.display_name}（{s.username}）{'' if s.active else '·已停用'}") for s in await session.scalars(query)
    ]


def _action_choices(present: list[str]) -> list[tuple[str, str]]:
    return [(a, ACTION_LABELS.get(a, a)) for a in present]
