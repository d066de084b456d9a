"""The migrations build exactly the tables the models declare, and go down and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import IntegrityError

from yiyue.core.db import Base
from yiyue.core.migrate import alembic_config, upgrade
from yiyue.models import load_all


def drift(sync_url: str) -> list[object]:
    load_all()
    engine = create_engine(sync_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def role_scope_allows_front_desk(connection: Connection) -> None:
    connection.execute(
        text(
            "INSERT INTO hospitals (id, name, name_initials, level, city, district, address, phone, intro,"
            " release_days, release_time, stop_minutes_before, cancel_minutes_before, max_active_appointments,"
            " payment_required, created_at) VALUES (1, '测试医院', 'csyy', '三级甲等', '北京', '东城区', '地址',"
            " '010', '', 7, '08:00:00', 0, 120, 5, false, '2026-01-01 00:00:00')"
        )
    )
    connection.execute(
        text(
            "INSERT INTO staff_users (username, display_name, password_hash, role, hospital_id, active, created_at)"
            " VALUES ('desk', '导诊台', 'x', 'front_desk', 1, true, '2026-01-01 00:00:00')"
        )
    )


def test_the_migrated_schema_is_what_the_models_declare(tmp_path: Path) -> None:
    path = tmp_path / "drift.db"
    upgrade(f"sqlite+aiosqlite:///{path}")

    assert drift(f"sqlite:///{path}") == []


def test_every_migration_goes_down_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    upgrade(url)

    assert drift(f"sqlite:///{tmp_path / 'roundtrip.db'}") == []


def test_a_front_desk_account_belongs_to_a_hospital_and_no_doctor(tmp_path: Path) -> None:
    path = tmp_path / "roles.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            role_scope_allows_front_desk(connection)
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO staff_users (username, display_name, password_hash, role, active, created_at)"
                    " VALUES ('nowhere', '无院', 'x', 'front_desk', true, '2026-01-01 00:00:00')"
                )
            )
        with engine.connect() as connection:
            roles = connection.execute(text("SELECT username, role, hospital_id FROM staff_users")).all()
        assert [tuple(r) for r in roles] == [("desk", "front_desk", 1)]
    finally:
        engine.dispose()
