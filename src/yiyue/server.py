"""The server process as the commands run it: the API plus its job system.

``yiyue serve --workers N`` runs N such processes behind one listening socket (uvicorn's supervisor, which
restarts a process that dies). Each builds its own app from the environment (``server_from_environment``):
its own connection pool, gate and embedded job workers (decision 0017).
"""

from __future__ import annotations

from fastapi import FastAPI

from yiyue.app import create_app
from yiyue.core import logs, readiness
from yiyue.core.clock import Clock
from yiyue.core.config import FAKE_WECHAT_IN_PROCESS, Settings, get_settings
from yiyue.jobs.runtime import attach_to_app, embedded_workers


def create_server(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """``create_app`` with the outbox relayed to the task queue and, unless ``YIYUE_EMBEDDED_WORKERS=0``,
    job workers running inside this process."""
    app = create_app(settings, clock=clock, around=embedded_workers)
    jobs = attach_to_app(app)
    app.state.readiness.add("queue", readiness.queue_check(jobs.huey.storage))  # issue 13: /readyz
    return app


def server_from_environment() -> FastAPI:
    """The app factory each process of ``yiyue serve --workers N`` calls (``uvicorn --factory``): the
    settings come from the environment the supervisor was started with."""
    logs.configure()  # JSON lines (or YIYUE_LOG_FORMAT=text), the process id in each
    return create_server(get_settings())


def multiprocess_problems(settings: Settings) -> list[str]:
    """Why these settings cannot be served by several processes (empty when they can). The in-process fake
    WeChat keeps its login codes and payment orders in one process's memory: a code minted through one
    process would be unknown to the next, so several processes need a fake (or the real) WeChat of their own."""
    problems = []
    for name in ("wechat_api_base", "wechat_pay_api_base"):
        if getattr(settings, name) == FAKE_WECHAT_IN_PROCESS:
            problems.append(
                f"YIYUE_{name.upper()} is the in-process fake WeChat, which several processes cannot share: run "
                f"`yiyue fake-wechat` and point YIYUE_{name.upper()} at it (e.g. http://127.0.0.1:9000)"
            )
    return problems
