"""Which pages exist, where they sit in the left menu, and which roles may open them (the role × page
matrix, in one place: the menu, the page guard and the tests read it)."""

from __future__ import annotations

from dataclasses import dataclass

from yiyue.accounts.staff.models import StaffRole

PLATFORM = StaffRole.PLATFORM_ADMIN
ADMIN = StaffRole.HOSPITAL_ADMIN
DOCTOR = StaffRole.DOCTOR
DESK = StaffRole.FRONT_DESK
EVERYONE = frozenset(StaffRole)


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    path: str
    group: str
    roles: frozenset[StaffRole]


PAGES: tuple[Page, ...] = (
    Page("dashboard", "今日概览", "/admin/", "概览", EVERYONE),
    Page("hospitals", "医院管理", "/admin/hospitals", "平台", frozenset({PLATFORM})),
    Page("departments", "科室管理", "/admin/departments", "医院资料", frozenset({ADMIN})),
    Page("doctors", "医生管理", "/admin/doctors", "医院资料", frozenset({ADMIN})),
    Page("templates", "排班模板", "/admin/templates", "排班", frozenset({ADMIN})),
    Page("schedules", "排班与放号", "/admin/schedules", "排班", frozenset({ADMIN, DOCTOR})),
    Page("frontdesk", "导诊签到", "/admin/frontdesk", "门诊", frozenset({ADMIN, DESK, DOCTOR})),
    Page("walkin", "现场挂号", "/admin/walk-in", "门诊", frozenset({ADMIN, DESK})),
    Page("bans", "预约限制", "/admin/bans", "门诊", frozenset({ADMIN})),
    Page("reviews", "患者评价", "/admin/reviews", "门诊", frozenset({ADMIN})),
    Page("members", "会员与积分", "/admin/members", "平台", frozenset({PLATFORM})),
    Page("staff", "工作人员", "/admin/staff", "系统", frozenset({PLATFORM, ADMIN})),
    Page("audit", "操作日志", "/admin/audit", "系统", frozenset({PLATFORM, ADMIN})),
)
BY_KEY = {page.key: page for page in PAGES}


def visible_to(role: str) -> list[Page]:
    return [page for page in PAGES if role in page.roles]


def menu(role: str) -> list[tuple[str, list[Page]]]:
    """The left menu of a role: its pages grouped, in the order above."""
    groups: dict[str, list[Page]] = {}
    for page in visible_to(role):
        groups.setdefault(page.group, []).append(page)
    return list(groups.items())
