"""Typed outbox events: the facts one domain states and others react to (ARCHITECTURE: a lower package
hears of a higher one's facts through these, never by importing it).

An event is written to the outbox inside the transaction that makes it true (``core.outbox.add``) and
handed to the handlers that domains declare in their ``tasks.py`` once that transaction has committed.
Each class names its ``topic``: the string stored with the row. Topics are stored, so one is never
renamed; a new fact gets a new class.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    topic: ClassVar[str]
    by_topic: ClassVar[dict[str, type[Event]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        topic = cls.__dict__.get("topic")
        if topic is not None:
            if topic in Event.by_topic:
                raise TypeError(f"two event classes for topic {topic!r}")
            Event.by_topic[topic] = cls

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @staticmethod
    def parse(topic: str, payload: dict[str, Any]) -> Event:
        """The event a stored row holds; ``LookupError`` for a topic no class declares."""
        cls = Event.by_topic.get(topic)
        if cls is None:
            raise LookupError(f"no event class for topic {topic!r}")
        return cls.model_validate(payload)


class AppointmentFact(Event):
    """Something that happened to one appointment (预约)."""

    appointment_id: int


# --- booking ------------------------------------------------------------------------------------------


class AppointmentBooked(AppointmentFact):
    """Confirmed: free of charge, paid on site, or paid online (then after ``PaymentSucceeded``)."""

    topic = "appointment.booked"


class AppointmentPaymentDue(AppointmentFact):
    """Booked at a hospital that takes payment online: the slot is held until the pay deadline."""

    topic = "appointment.payment_due"


class AppointmentHoldEnds(AppointmentFact):
    """Delayed to the pay deadline: an unpaid hold is released then (未支付过期)."""

    topic = "appointment.hold_ends"


class AppointmentExpired(AppointmentFact):
    topic = "appointment.expired"


class AppointmentCancelled(AppointmentFact):
    """Cancelled by the patient before the deadline; ``refund``: it had been paid online."""

    topic = "appointment.cancelled"
    refund: bool = False


class RebookOfferEnds(AppointmentFact):
    """Delayed to the end of a 停诊 rebooking offer: the slots held for it and not taken go back."""

    topic = "appointment.rebook_offer_ends"


class WaitlistFact(Event):
    """Something that happened to one waitlist entry (候补)."""

    entry_id: int


class WaitlistOffered(WaitlistFact):
    """A freed slot is held for the entry: the patient confirms before the offer ends or it passes on."""

    topic = "waitlist.offered"


class WaitlistOfferEnds(WaitlistFact):
    """Delayed to the end of an offer: an unconfirmed slot passes to the next entry (or back to the pool)."""

    topic = "waitlist.offer_ends"


class WaitlistEnded(WaitlistFact):
    """The entry ended without a booking the patient made from it (session started, 停诊, lapsed offer)."""

    topic = "waitlist.ended"


class WaitlistBookingCloses(WaitlistFact):
    """Delayed to the booking cut-off of the entry's session (停止挂号): an entry still waiting ends then."""

    topic = "waitlist.booking_closes"


# --- front desk -------------------------------------------------------------------------------------


class AppointmentSuspended(AppointmentFact):
    """The hospital suspended the session (停诊); ``refund``: it had been paid online (refunded in full)."""

    topic = "appointment.suspended"
    refund: bool = False
    rebook_offered: bool = False
    """Slots are held for the patient to rebook into (停诊改约)."""


class AppointmentCheckedIn(AppointmentFact):
    topic = "appointment.checked_in"


class AppointmentCompleted(AppointmentFact):
    topic = "appointment.completed"


class AppointmentNoShow(AppointmentFact):
    """Not checked in by the end of the session (爽约)."""

    topic = "appointment.no_show"


# --- payments ---------------------------------------------------------------------------------------


class PaymentSucceeded(AppointmentFact):
    """WeChat Pay confirmed the payment of an appointment's fee."""

    topic = "payment.succeeded"
    payment_id: int
    amount_fen: int


class RefundDue(Event):
    """Money to give back for a payment that no appointment needs (it arrived after the hold ended)."""

    topic = "payment.refund_due"
    payment_id: int
    reason: str


class RefundSucceeded(AppointmentFact):
    """The refund of an appointment's payment reached the patient."""

    topic = "appointment.refunded"


# --- notifications ----------------------------------------------------------------------------------


class DeliveryDue(Event):
    """One notification to send on one channel (subscribe message, SMS)."""

    topic = "notification.deliver"
    delivery_id: int


# --- scheduling (替诊) --------------------------------------------------------------------------------


class AppointmentDoctorChanged(AppointmentFact):
    """替诊: the hospital gave the appointment's session to another doctor of the same clinic; the slot,
    queue number and time stay. ``changed_at`` tells one change from another (a session may change
    doctor twice, each change is told)."""

    topic = "appointment.doctor_changed"
    from_doctor_id: int
    from_doctor: str
    """The doctor's name before the change, as the patient knew it."""
    to_doctor_id: int
    reason: str = ""
    changed_at: datetime


# --- booking: holding limits (issue 9, part B) -------------------------------------------------------


class SlotReopens(Event):
    """Delayed to when a slot freed by a cancelled or expired unpaid hold goes back to the open pool
    (``Slot.reopens_at``): the waitlist gets it first, then the booking gate reopens the schedule."""

    topic = "slot.reopens"
    schedule_id: int
    slot_id: int


# --- booking: the release window and its draw (issue 9, part A) -------------------------------------


class ReleaseWindowCloses(Event):
    """Delayed to the close of a session's release window (放号窗口): its entries are drawn then."""

    topic = "release.window_closes"
    schedule_id: int


class ReleaseEntryDecided(Event):
    """The draw decided one entry: won (``appointment_id`` on the entry) or lost (``result_reason``)."""

    topic = "release.entry_decided"
    entry_id: int
