"""Prometheus metrics (``prometheus_client``): what an operator's dashboard reads at ``GET /metrics``.

The names are fixed (``METRIC_NAMES``; the Grafana dashboard in ``deploy/`` queries them). Counters and
histograms count at their call sites; the gauges of state (the database pool, the booking gate, the
outbox) are read when ``/metrics`` is scraped, from the sources the app hands ``install``.

``/metrics`` is refused unless ``YIYUE_METRICS_TOKEN`` is set and the scraper sends it as a bearer token
(empty: 404, as if there were no such path), so patients cannot read it (decision 0020).

Several processes (``yiyue serve --workers N``): the supervisor gives them one fresh directory
(``prepare_multiprocess``, ``PROMETHEUS_MULTIPROC_DIR``) before any of them starts, each process writes
its counters there, and the process that answers a scrape adds up every process's files. Each process
also writes its gauges of state there every ``SAMPLE_SECONDS`` (and on a scrape it answers), so that the
pool in use is summed over the processes, not one random process's.
"""

from __future__ import annotations

import asyncio
import glob
import hmac
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yiyue.core.db import Database, after_commit
from yiyue.core.logs import CLIENT_CLOSED, ROUTE_KEY, UNMATCHED, route_template
from yiyue.core.outbox import OutboxEvent

__all__ = ["ROUTE_KEY", "UNMATCHED", "route_template"]  # the one route helper, shared with the request line

log = logging.getLogger("yiyue.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's own switch: set before the library is first imported in a process."""

SAMPLE_SECONDS = 15.0
"""How often each of several processes writes its gauges of state for the others' scrapes."""

OUTBOX_QUERY_SECONDS = 1.0
"""A scrape waits this long for the outbox's figures (a pool exhausted, a slow database): then it answers
with the last ones, so the pool's gauges, sampled first, still reach the dashboard when they matter."""

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# --- the metrics (names fixed by the issue-13 contract) --------------------------------------------

HTTP_REQUESTS = Counter(
    "yiyue_http_requests_total", "HTTP requests answered, by route template and status", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "yiyue_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
BOOKINGS = Counter(
    "yiyue_bookings_total", "Booking requests by outcome: booked, replayed, or the refusal's code", ["outcome"]
)
FASTPATH_ANSWERS = Counter(
    "yiyue_fastpath_answers_total",
    "Booking requests seen by the sold-out fast path: SOLD_OUT answered there, passed to the endpoint",
    ["answer"],
)
GATE_SOLD_OUT = Gauge(
    "yiyue_gate_sold_out_schedules",
    "Schedules the booking gate refuses as sold out now (the claims in flight cover the free slots)",
    multiprocess_mode="livemax",
)
GATE_IN_FLIGHT = Gauge(
    "yiyue_gate_claims_in_flight",
    "Bookings admitted by the gate and not yet settled (summed over processes)",
    multiprocess_mode="livesum",
)
OUTBOX_PENDING = Gauge(
    "yiyue_outbox_pending_events",
    "Outbox events due and neither handled nor dead-lettered (the job queue's depth)",
    multiprocess_mode="livemostrecent",
)
OUTBOX_LAG = Gauge(
    "yiyue_outbox_lag_seconds",
    "Age of the oldest due, unhandled outbox event (0 when none)",
    multiprocess_mode="livemostrecent",
)
JOBS = Counter("yiyue_jobs_total", "Outbox events run by the job system, by topic and result", ["topic", "result"])
DB_POOL_CONNECTIONS = Gauge(
    "yiyue_db_pool_connections",
    "Database connections of the server processes' pools: in_use, idle, overflow (summed over processes)",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "yiyue_db_pool_size", "Connections the pools keep open (summed over processes)", multiprocess_mode="livesum"
)
CACHE_REQUESTS = Counter(
    "yiyue_cache_requests_total", "Read-cache look-ups by region and result (hit or miss)", ["region", "result"]
)
PAYMENT_NOTIFICATIONS = Counter(
    "yiyue_payment_notifications_total",
    "WeChat Pay notifications received, by event type and outcome (ok, rejected, error)",
    ["event_type", "outcome"],
)

METRIC_NAMES = (
    "yiyue_http_requests_total",
    "yiyue_http_request_duration_seconds",
    "yiyue_bookings_total",
    "yiyue_fastpath_answers_total",
    "yiyue_gate_sold_out_schedules",
    "yiyue_gate_claims_in_flight",
    "yiyue_outbox_pending_events",
    "yiyue_outbox_lag_seconds",
    "yiyue_jobs_total",
    "yiyue_db_pool_connections",
    "yiyue_db_pool_size",
    "yiyue_cache_requests_total",
    "yiyue_payment_notifications_total",
)
"""Every metric the app exports (a histogram also as ``_bucket``, ``_sum``, ``_count``)."""

_PAY_EVENT_TYPES = frozenset({"TRANSACTION.SUCCESS", "REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"})
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


# --- call sites -------------------------------------------------------------------------------------


def booking_refused(code: str) -> None:
    """A booking request refused by the use case (its error code: ``SOLD_OUT``, ``SLOT_TAKEN``, ...)."""
    BOOKINGS.labels(_code(code)).inc()


def booking_made(session: AsyncSession, *, replayed: bool) -> None:
    """A booking made (or replayed for its Idempotency-Key): counted once its unit of work commits."""
    outcome = "replayed" if replayed else "booked"
    after_commit(session, lambda: BOOKINGS.labels(outcome).inc())


_FASTPATH_SOLD_OUT = FASTPATH_ANSWERS.labels("SOLD_OUT")  # bound once: the fast path's answers are the rush
_FASTPATH_PASSED = FASTPATH_ANSWERS.labels("passed")
_BOOKINGS_SOLD_OUT = BOOKINGS.labels("SOLD_OUT")


def fastpath_answered(*, sold_out: bool) -> None:
    """The sold-out fast path answered a booking (``SOLD_OUT``, also a booking outcome) or passed it on."""
    if sold_out:
        _FASTPATH_SOLD_OUT.inc()
        _BOOKINGS_SOLD_OUT.inc()
    else:
        _FASTPATH_PASSED.inc()


def job_ran(topic: str, result: str) -> None:
    """An outbox event's run: ``handled``, ``retried`` (it failed and goes back to the queue) or ``failed``
    (dead-lettered after the last attempt)."""
    JOBS.labels(topic, result).inc()


def cache_looked_up(region: str, *, hit: bool) -> None:
    CACHE_REQUESTS.labels(region, "hit" if hit else "miss").inc()


def payment_notified(event_type: str | None, outcome: str, *, session: AsyncSession | None = None) -> None:
    """A WeChat Pay notification: ``ok`` (applied), ``rejected`` (signature, decryption or content refused),
    ``error`` (verified but not applied). Unknown event types count as ``other`` (a forged notification
    must not make up label values). With ``session``: counted once that unit of work commits."""
    child = PAYMENT_NOTIFICATIONS.labels(event_type if event_type in _PAY_EVENT_TYPES else "other", outcome)
    if session is None:
        child.inc()
    else:
        after_commit(session, child.inc)


def _code(code: str) -> str:
    return code if _CODE.fullmatch(code) else "OTHER"


# --- HTTP requests ----------------------------------------------------------------------------------


class HttpMetrics:
    """ASGI middleware: each HTTP request's answer and time, by route template (``/api/v1/appointments/
    {appointment_id}``, never the path a client sent: unmatched paths are one label, ``unmatched``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = scope.get("root_path", "")
        status = 500  # what the client sees when the app raised before answering
        answered = False

        async def sending(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                answered = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except asyncio.CancelledError:
            if not answered:
                status = CLIENT_CLOSED  # the client went away (or shutdown gave up): not a server error
            raise
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            route = route_template(scope, root_path)
            key = (method, route, status)
            children = _http_children.get(key)
            if children is None:
                children = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_DURATION.labels(method, route))
                if len(_http_children) < _HTTP_CHILDREN_KEPT:  # the labels are bounded; the cache is too
                    _http_children[key] = children
            children[0].inc()
            children[1].observe(time.perf_counter() - started)


_HTTP_CHILDREN_KEPT = 4096
_http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


# --- gauges of state --------------------------------------------------------------------------------


class GateState(Protocol):
    """What the booking gate's counts tell of themselves (``booking.gate``: memory or Redis)."""

    async def gauges(self, *, fleet: bool = True) -> tuple[int, int]:
        """Schedules refused as sold out now, and bookings admitted and not yet settled (this process)."""
        ...


class Sources:
    """Where a process's gauges of state are read: its database (pool, outbox) and its booking gate."""

    def __init__(self, *, db: Database, gate: GateState | None, now: Callable[[], datetime]) -> None:
        self.db, self.gate, self.now = db, gate, now

    async def sample(self, *, outbox: bool) -> None:
        """Writes this process's gauges: the pool and the gate; ``outbox`` also reads the outbox (a query,
        so only when a scrape asks)."""
        _sample_pool(self.db)
        if self.gate is not None:
            try:
                sold_out, in_flight = await self.gate.gauges(fleet=outbox)  # a scrape: the fleet's SCAN
            except Exception:  # Redis away: the gauges keep their last values, the scrape still answers
                log.warning("gate state unavailable for metrics", exc_info=True)
            else:
                GATE_SOLD_OUT.set(sold_out)
                GATE_IN_FLIGHT.set(in_flight)
        if outbox:
            await self._sample_outbox()

    async def _sample_outbox(self) -> None:
        now = self.now()
        if _pool_exhausted(self.db):  # a checkout would wait for the pool: the last figures stand
            return
        try:
            pending, oldest = await asyncio.wait_for(self._read_outbox(now), OUTBOX_QUERY_SECONDS)
        except TimeoutError:
            log.warning("outbox state not read within %.1f s for metrics; the last figures stand", OUTBOX_QUERY_SECONDS)
            return
        except Exception:  # the database away: the scrape still answers (the probes say the rest)
            log.warning("outbox state unavailable for metrics", exc_info=True)
            return
        OUTBOX_PENDING.set(pending)
        lag = (now - oldest).total_seconds() if oldest is not None else 0.0
        OUTBOX_LAG.set(max(0.0, lag))

    async def _read_outbox(self, now: datetime) -> tuple[int, datetime | None]:
        async with self.db.session() as session:
            if self.db.engine.dialect.name == "postgresql":
                await session.execute(text(f"SET LOCAL statement_timeout = {int(OUTBOX_QUERY_SECONDS * 1000)}"))
            row = (
                await session.execute(
                    select(func.count(), func.min(OutboxEvent.available_at)).where(
                        OutboxEvent.handled_at.is_(None),
                        OutboxEvent.failed_at.is_(None),
                        OutboxEvent.available_at <= now,
                    )
                )
            ).one()
            return int(row[0]), row[1]


def _pool_exhausted(db: Database) -> bool:
    pool: Any = db.engine.pool
    size, overflow = getattr(pool, "size", None), getattr(pool, "_max_overflow", None)
    if not callable(size) or not isinstance(overflow, int) or overflow < 0:
        return False
    return bool(pool.checkedout() >= size() + overflow)


def _sample_pool(db: Database) -> None:
    pool: Any = db.engine.pool
    size = getattr(pool, "size", None)
    if not callable(size):  # a pool without these numbers (NullPool, StaticPool): nothing to say
        return
    overflow = max(0, pool.overflow())
    DB_POOL_SIZE.set(size())
    DB_POOL_CONNECTIONS.labels("in_use").set(pool.checkedout())
    DB_POOL_CONNECTIONS.labels("idle").set(pool.checkedin())
    DB_POOL_CONNECTIONS.labels("overflow").set(overflow)


@asynccontextmanager
async def sampling(sources: Sources) -> AsyncIterator[None]:
    """In the app's lifespan: with several processes, writes this one's gauges every ``SAMPLE_SECONDS``
    for the scrapes others answer. One process answers every scrape itself and needs nothing."""
    if not multiprocess_dir():
        yield
        return

    async def every() -> None:
        while True:
            with suppress(Exception):
                await sources.sample(outbox=False)
            await asyncio.sleep(SAMPLE_SECONDS)

    task = asyncio.create_task(every(), name="metrics-sampling")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


# --- the endpoint -----------------------------------------------------------------------------------


def install(app: Any, *, token: str, sources: Sources) -> None:
    """``GET /metrics`` (not in the OpenAPI document: it is the operator's, not the patients') and the
    request middleware. Call after every other middleware: it is the outermost, timing all of them."""

    async def metrics(request: Request) -> Response:
        if not token:
            return _refusal(404, "NOT_FOUND", "接口不存在")
        if not _authorized(request.headers.get("authorization", ""), token):
            return _refusal(401, "METRICS_UNAUTHORIZED", "需要监控令牌", {"WWW-Authenticate": "Bearer"})
        return Response(await render(sources), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
    app.add_middleware(HttpMetrics)


def _authorized(authorization: str, token: str) -> bool:
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _refusal(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"code": code, "message": message, "detail": None}, status_code=status, headers=headers)


async def render(sources: Sources) -> bytes:
    """The exposition text: this process's gauges read now, then every metric (of every process)."""
    await sources.sample(outbox=True)
    path = multiprocess_dir()
    if not path:
        return generate_latest(REGISTRY)
    return collect_processes(path)


def collect_processes(path: str) -> bytes:
    """Every process's metrics written under ``path``, added up (gauges as their mode says), the gauges of
    processes that have exited left out."""
    _forget_exited(path)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def _forget_exited(path: str) -> None:
    """A process the supervisor replaced leaves its live gauges behind; its counters stay (they count)."""
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid = int(Path(name).stem.rsplit("_", 1)[1])
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_worker_endpoint(*, host: str, port: int, token: str) -> Callable[[], None]:
    """``GET /metrics`` of a ``yiyue worker`` (which serves no API): its jobs, cache look-ups and process
    figures, behind the same token, from a thread of its own. Returns what stops it."""
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # scrapes every 15 s are not news
            pass

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") != "/metrics" or not token:
            return _wsgi_refusal(start_response, "404 Not Found", "NOT_FOUND", "接口不存在")
        if not _authorized(environ.get("HTTP_AUTHORIZATION", ""), token):
            return _wsgi_refusal(start_response, "401 Unauthorized", "METRICS_UNAUTHORIZED", "需要监控令牌")
        path = multiprocess_dir()
        body = collect_processes(path) if path else generate_latest(REGISTRY)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]

    server: WSGIServer = make_server(host, port, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop


def _wsgi_refusal(start_response: Callable[..., Any], status: str, code: str, message: str) -> list[bytes]:
    body = json.dumps({"code": code, "message": message, "detail": None}, ensure_ascii=False).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def multiprocess_dir() -> str:
    return os.environ.get(MULTIPROC_ENV, "")


def prepare_multiprocess() -> Path | None:
    """For a supervisor about to start several server processes (before it starts any): a fresh directory
    for their metrics, in the environment they inherit. An operator's own ``PROMETHEUS_MULTIPROC_DIR``
    is kept (theirs to empty between runs, e.g. an ``emptyDir``); returns the directory made here, for
    ``discard_multiprocess`` when the supervisor ends."""
    if multiprocess_dir():
        return None
    path = Path(tempfile.mkdtemp(prefix="yiyue-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def discard_multiprocess(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)
        os.environ.pop(MULTIPROC_ENV, None)
