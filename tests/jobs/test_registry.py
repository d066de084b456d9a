"""Which handlers the job system runs for each typed event, and in what order."""

from __future__ import annotations

import pytest
from huey import MemoryHuey

from yiyue.core.clock import Clock
from yiyue.core.events import AppointmentCheckedIn, AppointmentCompleted, Event, PaymentSucceeded
from yiyue.jobs.registry import DOMAIN_TASKS
from yiyue.jobs.system import JobSystem


@pytest.fixture
def jobs() -> JobSystem:
    system = JobSystem(huey=MemoryHuey("registry-test"), context_factory=object, clock=Clock())
    for tasks in DOMAIN_TASKS:
        system.register(tasks)
    return system


def names(jobs: JobSystem, topic: str) -> list[str]:
    return [handler.__name__ for handler in jobs.handlers.get(topic, [])]


@pytest.mark.parametrize("topic", ["appointment.cancelled", "appointment.suspended"])
def test_a_paid_appointment_ending_early_is_refunded_before_the_patient_is_told(jobs: JobSystem, topic: str) -> None:
    assert names(jobs, topic) == ["refund_if_paid", f"notify_{topic.split('.')[1]}"]


def test_an_expired_hold_closes_its_order_before_the_patient_is_told(jobs: JobSystem) -> None:
    assert names(jobs, "appointment.expired") == ["close_order", "notify_payment_expired"]


def test_every_handled_topic_is_a_declared_event_class(jobs: JobSystem) -> None:
    assert set(jobs.handlers) <= set(Event.by_topic)


def test_facts_no_domain_handles_yet_are_still_events(jobs: JobSystem) -> None:
    # Payment is stated for members and reviews to come; nothing listens yet (the booking it confirms is told).
    assert PaymentSucceeded.topic in Event.by_topic
    assert names(jobs, PaymentSucceeded.topic) == []


def test_check_in_and_completion_are_told_to_the_patient(jobs: JobSystem) -> None:
    assert names(jobs, AppointmentCheckedIn.topic) == ["notify_checked_in"]
    # The visit's points are credited first, so the thank-you can be sent with them in place.
    assert names(jobs, AppointmentCompleted.topic) == ["visit_points", "notify_completed"]


def test_every_periodic_job_is_registered_once(jobs: JobSystem) -> None:
    assert sorted(jobs.periodic) == [
        "expire_unpaid",
        "members_points",
        "no_show_sweep",
        "reconcile_payments",
        "release_draws",
        "release_from_templates",
        "visit_reminders",
    ]


def test_a_stored_event_reads_back_as_its_class() -> None:
    fact = Event.parse("appointment.cancelled", {"appointment_id": 7, "refund": True})

    assert fact == Event.by_topic["appointment.cancelled"](appointment_id=7, refund=True)


def test_a_topic_no_class_declares_is_refused() -> None:
    with pytest.raises(LookupError):
        Event.parse("appointment.teleported", {"appointment_id": 7})
