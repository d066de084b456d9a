"""Building the job system for the two ways it runs: inside the server, or as ``yiyue worker``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from huey.consumer import Consumer

from yiyue.booking import gate as inventory
from yiyue.booking.gate import build_gate
from yiyue.core.clock import Clock
from yiyue.core.config import FAKE_WECHAT_IN_PROCESS, Settings
from yiyue.core.crypto import FieldCipher
from yiyue.core.db import Database
from yiyue.jobs.context import JobContext
from yiyue.jobs.queue import make_huey
from yiyue.jobs.registry import DOMAIN_TASKS
from yiyue.jobs.system import JobSystem
from yiyue.notifications.channels import LoggingSmsProvider
from yiyue.wechat.client import WeChatClient
from yiyue.wechat.pay import PayConfig, WeChatPayClient

log = logging.getLogger("yiyue.jobs")


def build_jobs(settings: Settings, clock: Clock, context_factory: Callable[[], JobContext]) -> JobSystem:
    jobs = JobSystem(
        huey=make_huey(settings),
        context_factory=context_factory,
        clock=clock,
        redeliver_after=timedelta(seconds=settings.outbox_redeliver_seconds),
    )
    for tasks in DOMAIN_TASKS:
        jobs.register(tasks)
    return jobs


def attach_to_app(app: FastAPI) -> JobSystem:
    """Relays the app's outbox to the queue; handlers share the app's database and clients."""
    state = app.state
    jobs = build_jobs(
        state.settings,
        state.clock,
        lambda: JobContext(
            settings=state.settings,
            clock=state.clock,
            db=state.db,
            cipher=state.cipher,
            wechat=state.wechat,
            pay=state.pay,
            sms=LoggingSmsProvider(),
            gate=state.gate,
        ),
    )
    jobs.listen(state.db)
    app.state.jobs = jobs
    return jobs


@asynccontextmanager
async def embedded_workers(app: FastAPI) -> AsyncIterator[None]:
    """For ``create_app(around=...)``: worker threads in the server process, handing jobs to its loop."""
    jobs: JobSystem = app.state.jobs
    workers = app.state.settings.embedded_workers
    if workers <= 0:
        yield
        return
    jobs.loop = asyncio.get_running_loop()
    consumer = jobs.start_embedded(workers=workers)
    log.info("job workers: %s threads in this process", workers)
    try:
        yield
    finally:
        await asyncio.to_thread(consumer.stop, graceful=True)


class WorkerConsumer(Consumer):  # type: ignore[misc]
    """The consumer of ``yiyue worker``. SIGTERM, what process managers and deploys send, lets the jobs in
    progress finish before the process exits, as SIGINT does (Huey's own SIGTERM leaves them half-done for the
    outbox's redelivery); a second SIGTERM, or SIGINT while waiting, stops it at once (decision 0017)."""

    def _handle_stop_signal(self, sig_num: int, frame: object) -> None:
        if getattr(self, "_received_signal", False):
            raise KeyboardInterrupt  # stop() is waiting for the workers: Huey then shuts down now
        self._logger.info("Received SIGTERM, finishing the jobs in progress")
        self._received_signal = True
        self._restart = False
        self._graceful = True


def worker_consumer(jobs: JobSystem, *, threads: int) -> WorkerConsumer:
    return WorkerConsumer(jobs.huey, workers=threads, worker_type="thread", periodic=True)


def worker_context(settings: Settings, clock: Clock) -> JobContext:
    """What one thread of a separate worker process uses; WeChat must be reachable over HTTP."""
    if FAKE_WECHAT_IN_PROCESS in (settings.wechat_api_base, settings.wechat_pay_api_base):
        raise RuntimeError(
            "yiyue worker runs apart from the server, so it cannot use the in-process fake WeChat: set "
            "YIYUE_WECHAT_API_BASE and YIYUE_WECHAT_PAY_API_BASE (e.g. http://127.0.0.1:8000/__wechat__)"
        )
    db = Database.from_settings(settings, worker=True)
    gate = build_gate(settings)
    inventory.listen(db, gate.counts)
    return JobContext(
        settings=settings,
        clock=clock,
        db=db,
        cipher=FieldCipher(settings.data_keys, settings.data_key_id, index_secret=settings.blind_index_secret),
        wechat=WeChatClient(
            api_base=settings.wechat_api_base, appid=settings.wechat_appid, secret=settings.wechat_secret
        ),
        pay=WeChatPayClient(PayConfig.from_settings(settings), clock=clock),
        sms=LoggingSmsProvider(),
        gate=gate,
    )
