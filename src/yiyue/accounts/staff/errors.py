"""What staff login and staff account management answer when they refuse."""

from __future__ import annotations

from yiyue.accounts.staff.models import MAX_DISPLAY_NAME, MAX_PASSWORD, MIN_PASSWORD
from yiyue.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidToken,
    NotFound,
    SessionRevoked,
    TokenExpired,
    Unauthenticated,
)


class InvalidCredentials(Unauthenticated):
    code = "INVALID_CREDENTIALS"
    message = "用户名或密码错误"


class StaffDisabled(Forbidden):
    code = "STAFF_DISABLED"
    message = "该工作人员账号已停用"


class StaffOnly(Forbidden):
    code = "STAFF_ONLY"
    message = "仅限医院工作人员访问"


class ForbiddenRole(Forbidden):
    code = "FORBIDDEN_ROLE"
    message = "当前角色无权执行此操作"


class StaffNotFound(NotFound):
    code = "STAFF_NOT_FOUND"
    message = "工作人员不存在"


class InvalidUsername(InvalidInput):
    code = "INVALID_USERNAME"
    message = "用户名须为3-32位小写字母、数字或 _ . -"


class WeakPassword(InvalidInput):
    code = "WEAK_PASSWORD"
    message = f"密码长度须为{MIN_PASSWORD}-{MAX_PASSWORD}个字符"


class InvalidDisplayName(InvalidInput):
    code = "INVALID_DISPLAY_NAME"
    message = f"显示名称不能为空，且不超过{MAX_DISPLAY_NAME}个字符"


class InvalidRole(InvalidInput):
    code = "INVALID_ROLE"
    message = "角色无效，可选：platform_admin、hospital_admin、doctor、front_desk"


class InvalidStaffScope(InvalidInput):
    code = "INVALID_STAFF_SCOPE"
    message = "角色与所属医院、医生不匹配"


class UsernameTaken(Conflict):
    code = "USERNAME_TAKEN"
    message = "该用户名已被使用"


class DoctorHasAccount(Conflict):
    code = "DOCTOR_HAS_ACCOUNT"
    message = "该医生已有工作人员账号"


class UnknownHospital(InvalidInput):
    code = "UNKNOWN_HOSPITAL"
    message = "所属医院不存在"


class UnknownDoctor(InvalidInput):
    code = "UNKNOWN_DOCTOR"
    message = "医生不存在或不属于该医院"


WORKPLACE_ERRORS: tuple[type[DomainError], ...] = (UnknownHospital, UnknownDoctor)
"""What a workplace check answers (``hospitals.staff_accounts.check_workplace`` raises these)."""


STAFF_AUTH_ERRORS: tuple[type[DomainError], ...] = (
    Unauthenticated,
    TokenExpired,
    InvalidToken,
    SessionRevoked,
    StaffOnly,
    StaffDisabled,
)
"""What ``CurrentStaff`` can answer, for the ``responses=`` of every staff endpoint."""
