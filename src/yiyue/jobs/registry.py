"""The domains whose ``tasks.py`` the job system runs, in the order their handlers of one event run.

Order matters: payments' handlers call WeChat Pay between units of work of their own, so they run
before notifications' handlers write through the event's unit of work (on SQLite a unit of work that
has written holds the one writer's turn until it ends).
"""

from __future__ import annotations

from yiyue.booking.tasks import tasks as booking
from yiyue.core.tasks import Tasks
from yiyue.frontdesk.tasks import tasks as frontdesk
from yiyue.jobs.context import JobContext
from yiyue.notifications.tasks import NotificationsContext
from yiyue.notifications.tasks import tasks as notifications
from yiyue.payments.tasks import PaymentsContext
from yiyue.payments.tasks import tasks as payments
from yiyue.scheduling.tasks import tasks as scheduling

DOMAIN_TASKS: tuple[Tasks, ...] = (scheduling, booking, frontdesk, payments, notifications)


def _context_serves_every_domain(ctx: JobContext) -> tuple[PaymentsContext, NotificationsContext]:
    """Never called: mypy checks here that the job context has what each domain's handlers ask for."""
    return ctx, ctx
