from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str
    appointment_id: int | None
    waitlist_entry_id: int | None = None
    """The waitlist entry (候补) a waitlist message is about (kinds ``waitlist_offered``, ``waitlist_ended``)."""
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    total: int
    unread: int
    page: int
    page_size: int


class ReadAllOut(BaseModel):
    updated: int
