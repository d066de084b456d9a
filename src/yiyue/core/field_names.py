"""The Chinese name of every input field, for validation messages ("姓名：至少2个字符").

A field's name comes, in this order, from:

1. its ``title`` in the schema (``Field(title="医院名称")``): the author named it for people;
2. ``QUALIFIED``: the glossary entry for this model's field (``"SuspendIn.reason": "停诊原因"``), where
   one key means different things in different bodies;
3. ``GLOSSARY``: the usual meaning of the key across the API (``phone`` 手机号, ``q`` 搜索词);
4. the lead phrase of its ``description`` (``"开始日期，默认今天"`` -> ``开始日期``), when short;
5. ``UNKNOWN_FIELD``.

The glossary comes before descriptions because descriptions here are sentences for the OpenAPI reader
(``"对象 id"``, ``"中文名称或拼音首字母"``), not names. ``tests/core/test_validation_messages.py``
checks that every input of every route has a name before step 5.
"""

from __future__ import annotations

import re

UNKNOWN_FIELD = "参数"
BODY = "请求体"

GLOSSARY: dict[str, str] = {
    # the request as a whole
    "body": BODY,
    # patients and visit persons
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号",
    "relationship": "关系",
    "patient_id": "就诊人",
    "code": "登录凭证",
    "refresh_token": "刷新令牌",
    # booking
    "schedule_id": "排班",
    "slot_id": "号源",
    "appointment_id": "预约",
    "reason": "原因",
    "idempotency_key": "请求标识（Idempotency-Key）",
    "notification_id": "消息",
    # catalog and search
    "hospital_id": "医院",
    "department_id": "科室",
    "parent_id": "上级科室",
    "doctor_id": "医生",
    "q": "搜索词",
    "city": "城市",
    "district": "区县",
    "level": "医院等级",
    "title": "职称",
    "gender": "性别",
    "specialty": "擅长",
    "sort": "排序",
    "direction": "方向",
    # dates, periods and lists
    "date": "日期",
    "day": "日期",
    "visit_date": "就诊日期",
    "start": "开始日期",
    "end": "结束日期",
    "date_from": "开始日期",
    "date_to": "结束日期",
    "days": "天数",
    "period": "时段",
    "weekday": "星期",
    "page": "页码",
    "page_size": "每页条数",
    "offset": "起始位置",
    "limit": "数量",
    "status": "状态",
    "state": "状态",
    # schedules
    "cells": "出诊格子",
    "capacity": "号源数",
    "onsite_quota": "现场号数",
    "slot_minutes": "每号时长",
    "active": "启用状态",
    # staff and the console
    "username": "用户名",
    "password": "密码",
    "display_name": "姓名",
    "role": "角色",
    "staff_id": "员工账号",
    "ban_id": "预约限制",
    "action": "操作",
    "fmt": "导出格式",
    "next": "跳转地址",
    "back": "返回地址",
}
"""Keys as they appear in ``loc`` (aliases), lower case, ``-`` read as ``_`` (headers)."""

QUALIFIED: dict[str, str] = {
    "CheckInByCodeIn.code": "签到码",
    "CheckInByCodeIn.schedule_id": "排班",
    "SuspendIn.reason": "停诊原因",
    "SubstituteIn.doctor_id": "替诊医生",
    "SubstituteIn.reason": "替诊原因",
    "RevealIn.reason": "查看原因",
    "LiftBanIn.reason": "解除原因",
    "CancelRequest.reason": "取消原因",
    "WalkInIn.name": "患者姓名",
}
"""``Model.field`` -> its name, where the key alone would name it wrongly."""

_LEAD = re.compile(r"^([^，,；;：:（(。.\s]+)")
_CJK = re.compile(r"[\u3400-\u9fff]")
_MAX_LEAD = 8
_GENERIC_LEADS = frozenset({"对象", "可选", "必填"})


def glossary_key(key: str) -> str:
    return key.strip().lower().replace("-", "_")


def field_name(key: str, *, title: str | None = None, description: str | None = None, model: str | None = None) -> str:
    """The Chinese name of the field ``key`` (see the module's docstring for the order)."""
    if title and _CJK.search(title):
        return title
    if model is not None and (qualified := QUALIFIED.get(f"{model}.{key}")):
        return qualified
    if known := GLOSSARY.get(glossary_key(key)):
        return known
    if lead := description_lead(description):
        return lead
    return UNKNOWN_FIELD


def description_lead(description: str | None) -> str | None:
    """``"开始日期，默认今天"`` -> ``"开始日期"``; None when the description does not start with a short name."""
    if not description:
        return None
    match = _LEAD.match(description.strip())
    if match is None:
        return None
    lead = match.group(1)
    if not _CJK.search(lead) or len(lead) > _MAX_LEAD or lead in _GENERIC_LEADS:
        return None
    return lead
