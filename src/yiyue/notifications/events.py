"""The notifications domain's own job: a batch of deliveries to send (no other domain states it)."""

from __future__ import annotations

from yiyue.core.events import Event


class DeliveriesDue(Event):
    """Several deliveries to send in one job (the evening's visit reminders): one read, the sends at once,
    each still at most once, a failed one retried by a ``DeliveryDue`` job of its own."""

    topic = "notification.deliver_batch"
    delivery_ids: list[int]
