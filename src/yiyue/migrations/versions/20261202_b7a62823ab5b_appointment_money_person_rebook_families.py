"""appointment money, person, reason; rebook offers; families (one ID number in several accounts)

Revision ID: b7a62823ab5b
Revises: 469f2f26e902
Create Date: 2026-12-02 16:19:07.241828
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiyue.core.db


revision: str = "b7a62823ab5b"
down_revision: str | None = "469f2f26e902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OCCUPYING = sa.text("status IN ('pending_payment', 'booked', 'checked_in', 'completed', 'no_show')")
NOT_DELETED = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "rebook_offers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("appointment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("expires_at", yiyue.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", yiyue.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("accepted_appointment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("ended_at", yiyue.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["accepted_appointment_id"],
            ["appointments.id"],
            name=op.f("fk_rebook_offers_accepted_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"], ["appointments.id"], name=op.f("fk_rebook_offers_appointment_id_appointments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebook_offers")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_rebook_offers_appointment_id")),
    )
    op.create_table(
        "rebook_options",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("offer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("schedule_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("same_doctor", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["rebook_offers.id"], name=op.f("fk_rebook_options_offer_id_rebook_offers")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name=op.f("fk_rebook_options_schedule_id_schedules")
        ),
        sa.ForeignKeyConstraint(["slot_id"], ["slots.id"], name=op.f("fk_rebook_options_slot_id_slots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebook_options")),
        sa.UniqueConstraint("offer_id", "schedule_id", name=op.f("uq_rebook_options_offer_id_schedule_id")),
    )
    with op.batch_alter_table("rebook_options", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rebook_options_offer_id"), ["offer_id"], unique=False)

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("status_reason", sa.String(length=200), server_default="", nullable=False))
        batch_op.add_column(sa.Column("paid_at", yiyue.core.db.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("refund_status", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("refund_amount_fen", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("refunded_at", yiyue.core.db.UtcDateTime(timezone=True), nullable=True))
    _backfill()
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.alter_column("person_index", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_index("uq_appointments_person_doctor_day", sqlite_where=OCCUPYING, postgresql_where=OCCUPYING)
        batch_op.create_index(
            "uq_appointments_person_doctor_day",
            ["person_index", "doctor_id", "visit_date"],
            unique=True,
            sqlite_where=OCCUPYING,
            postgresql_where=OCCUPYING,
        )
        batch_op.create_index("ix_appointments_person_status", ["person_index", "status"], unique=False)

    with op.batch_alter_table("visit_persons", schema=None) as batch_op:
        batch_op.drop_index("uq_visit_persons_id_number_index", sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED)
        batch_op.create_index(batch_op.f("ix_visit_persons_id_number_index"), ["id_number_index"], unique=False)
        batch_op.create_index(
            "uq_visit_persons_account_id_number",
            ["account_id", "id_number_index"],
            unique=True,
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        )


def _backfill() -> None:
    """Existing appointments get their person, their last reason and their money from the rows that hold them."""
    op.execute(
        "UPDATE appointments SET person_index = "
        "(SELECT id_number_index FROM visit_persons WHERE visit_persons.id = appointments.visit_person_id)"
    )
    op.execute(
        "UPDATE appointments SET status_reason = COALESCE((SELECT e.reason FROM appointment_events e "
        "WHERE e.appointment_id = appointments.id AND e.to_status = appointments.status "
        "ORDER BY e.id DESC LIMIT 1), '') WHERE status IN ('cancelled', 'suspended')"
    )
    op.execute(
        "UPDATE appointments SET paid_at = (SELECT p.paid_at FROM payments p WHERE p.appointment_id = appointments.id)"
    )
    for column, source in (
        ("refund_status", "r.status"),
        ("refund_amount_fen", "r.amount_fen"),
        ("refunded_at", "r.succeeded_at"),
    ):
        op.execute(
            f"UPDATE appointments SET {column} = (SELECT {source} FROM refunds r "
            "JOIN payments p ON p.id = r.payment_id WHERE p.appointment_id = appointments.id)"
        )


def downgrade() -> None:
    # Fails on purpose while two accounts hold the same ID number: remove one of them first.
    with op.batch_alter_table("visit_persons", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_visit_persons_account_id_number", sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED
        )
        batch_op.drop_index(batch_op.f("ix_visit_persons_id_number_index"))
        batch_op.create_index(
            "uq_visit_persons_id_number_index",
            ["id_number_index"],
            unique=True,
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        )

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_person_status")
        batch_op.drop_index("uq_appointments_person_doctor_day", sqlite_where=OCCUPYING, postgresql_where=OCCUPYING)
        batch_op.create_index(
            "uq_appointments_person_doctor_day",
            ["visit_person_id", "doctor_id", "visit_date"],
            unique=True,
            sqlite_where=OCCUPYING,
            postgresql_where=OCCUPYING,
        )
        batch_op.drop_column("refunded_at")
        batch_op.drop_column("refund_amount_fen")
        batch_op.drop_column("refund_status")
        batch_op.drop_column("paid_at")
        batch_op.drop_column("status_reason")
        batch_op.drop_column("person_index")

    with op.batch_alter_table("rebook_options", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rebook_options_offer_id"))
    op.drop_table("rebook_options")
    op.drop_table("rebook_offers")
