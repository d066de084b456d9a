"""A hospital, its administrator, and staff passwords hashed fast."""

from __future__ import annotations

import pytest

from tests.factories import FAST_HASHER, Catalog, make_catalog, make_staff
from yiyue.accounts.staff import passwords
from yiyue.accounts.staff.models import StaffUser
from yiyue.core.db import Database


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def admin(db: Database, catalog: Catalog) -> StaffUser:
    return await make_staff(db, catalog=catalog, username="admin.li", display_name="李管理")
