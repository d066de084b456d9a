"""search by full pinyin: name_pinyin and name_pinyin_keys on hospitals, departments and doctors

Revision ID: 09319fcbe12c
Revises: b7a62823ab5b
Create Date: 2026-12-02 16:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from yiyue.hospitals.search import full_pinyin, pinyin_keys

revision: str = "09319fcbe12c"
down_revision: str | None = "b7a62823ab5b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Longest pinyin of a name: six letters a character (zhuang, shuang).
TABLES = {"hospitals": 600, "departments": 360, "doctors": 180}
BATCH = 500


def _backfill(table_name: str) -> None:
    """Every row's pinyin columns from its name, as ``hospitals.search`` computes them when names are written."""
    table = sa.table(
        table_name,
        sa.column("id", sa.BigInteger),
        sa.column("name", sa.String),
        sa.column("name_pinyin", sa.String),
        sa.column("name_pinyin_keys", sa.Text),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(table.c.id, table.c.name).order_by(table.c.id)).all()
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"))
        .values(
            name_pinyin=sa.bindparam("pinyin"),
            name_pinyin_keys=sa.bindparam("keys"),
        )
    )
    for start in range(0, len(rows), BATCH):
        values = [
            {"row_id": row_id, "pinyin": full_pinyin(name), "keys": pinyin_keys(name)}
            for row_id, name in rows[start : start + BATCH]
        ]
        connection.execute(update, values)


def upgrade() -> None:
    for table_name, length in TABLES.items():
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("name_pinyin", sa.String(length=length), server_default="", nullable=False))
            batch_op.add_column(sa.Column("name_pinyin_keys", sa.Text(), server_default="", nullable=False))
        _backfill(table_name)


def downgrade() -> None:
    for table_name in reversed(TABLES):
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.drop_column("name_pinyin_keys")
            batch_op.drop_column("name_pinyin")
