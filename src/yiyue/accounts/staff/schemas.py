"""What staff login reads and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class StaffLoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class StaffOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str = Field(description="platform_admin | hospital_admin | doctor")
    hospital_id: int | None
    doctor_id: int | None


class StaffTokenOut(BaseModel):
    access_token: str
    refresh_token: str
    """Rotates: each refresh returns a new one and the old one stops working."""
    token_type: str = "bearer"
    expires_in: int
    refresh_expires_in: int
    staff: StaffOut


class StaffRefreshIn(BaseModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class StaffLogoutIn(BaseModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None


# --- managing staff accounts (accounts.staff.management) ------------------------------------------


class StaffAccountOut(BaseModel):
    """A staff account as its managers see it (never its password or hash)."""

    id: int
    username: str
    display_name: str
    role: str = Field(description="platform_admin | hospital_admin | doctor | front_desk")
    role_label: str
    hospital_id: int | None
    doctor_id: int | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class StaffAccountCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="至少 10 个字符；保存后不再显示"
    )
    role: Annotated[str, StringConstraints(max_length=20)] = Field(
        description="平台管理员：hospital_admin；医院管理员：hospital_admin | front_desk | doctor"
    )
    display_name: Annotated[str | None, StringConstraints(max_length=64)] = None
    hospital_id: int | None = Field(default=None, ge=1, description="平台管理员必填；医院管理员可省略（本院）")
    doctor_id: int | None = Field(default=None, ge=1, description="医生账号必填：本院的医生")


class StaffAccountUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: Annotated[str | None, StringConstraints(max_length=64)] = None
    role: Annotated[str | None, StringConstraints(max_length=20)] = None
    doctor_id: int | None = Field(default=None, ge=1, description="改为医生账号时必填")


class StaffPasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="新密码，至少 10 个字符"
    )
