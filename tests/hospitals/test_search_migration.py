"""The search-pinyin migration spells out the names already in the database, and goes down again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from yiyue.core.migrate import alembic_config, upgrade

REVISION = "09319fcbe12c"


def _before(url: str) -> str:
    down = ScriptDirectory.from_config(alembic_config(url)).get_revision(REVISION).down_revision
    assert isinstance(down, str)
    return down


def test_existing_names_get_their_pinyin_and_lose_it_on_downgrade(tmp_path: Path) -> None:
    path = tmp_path / "backfill.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, _before(url))
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO hospitals (id, name, name_initials, level, city, district, address, phone, intro,"
                    " release_days, release_time, stop_minutes_before, cancel_minutes_before,"
                    " max_active_appointments, payment_required, booking_open, created_at) VALUES (1, '北京协和医院',"
                    " 'bjxhyy', '三级甲等', '北京', '东城区', '地址', '010', '', 7, '08:00:00', 0, 120, 5, false, true,"
                    " '2026-01-01 00:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO departments (id, hospital_id, parent_id, name, name_initials, location, intro,"
                    " sort_order, active) VALUES (1, 1, NULL, '心血管内科', 'xxgnk', '', '', 1, true)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO doctors (id, hospital_id, department_id, name, name_initials, gender, title,"
                    " specialty, intro, fee_fen, active) VALUES (1, 1, 1, '曾振华', 'czh', '男', '主任医师', '冠心病',"
                    " '', 5000, true)"
                )
            )

        upgrade(url)
        with engine.connect() as connection:
            spelled = [
                tuple(connection.execute(text(f"SELECT name_pinyin, name_pinyin_keys FROM {table}")).one())
                for table in ("hospitals", "departments", "doctors")
            ]
        assert spelled[0][0] == "beijingxieheyiyuan" and " xieheyiyuan" in spelled[0][1]
        assert spelled[1] == (
            "xinxueguanneike",
            " xinxueguanneike xueguanneike guanneike neike ke ~xxgnk ~xgnk ~gnk ~nk ~k",
        )
        assert spelled[2][0] == "cengzhenhua" and " zengzhenhua" in spelled[2][1]

        command.downgrade(alembic_config(url), _before(url))
        columns = {c["name"] for c in inspect(engine).get_columns("doctors")}
        assert "name_pinyin" not in columns and "name_pinyin_keys" not in columns
    finally:
        engine.dispose()
