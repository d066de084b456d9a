"""The server process as the commands run it: the API plus its job system."""

from __future__ import annotations

from fastapi import FastAPI

from yiyue.app import create_app
from yiyue.core.clock import Clock
from yiyue.core.config import Settings
from yiyue.jobs.runtime import attach_to_app, embedded_workers


def create_server(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """``create_app`` with the outbox relayed to the task queue and, unless ``YIYUE_EMBEDDED_WORKERS=0``,
    job workers running inside this process."""
    app = create_app(settings, clock=clock, around=embedded_workers)
    attach_to_app(app)
    return app
