"""``GET /metrics``: refused without the operator's token, and after a real booking journey through the
API (log in, add a visit person, book, retry the booking, pay, a sold-out refusal, jobs run) every part of
it is counted under the names the dashboard reads (decision 0020). With ``yiyue serve --workers 2`` the
scrape adds up both processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from huey.exceptions import RetryTask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from tests.booking.gate.conftest import MakeCounts, make_counts
from tests.booking.gate.test_counts import S, admitted, known
from tests.cli.test_serve_workers import fake_wechat, server_env, wait_healthy, yiyue_serve
from tests.conftest import booking_headers, login_via
from tests.core.test_logs import Lines, lines
from tests.factories import make_catalog, make_schedule, patient_body
from tests.jobs_support import Jobs
from tests.live import free_port
from yiyue.app import FAKE_WECHAT_MOUNT, create_app
from yiyue.core import metrics
from yiyue.core.clock import Clock
from yiyue.core.config import Settings
from yiyue.core.outbox import OutboxEvent
from yiyue.jobs.system import MAX_ATTEMPTS

__all__ = ["fake_wechat", "lines", "make_counts"]  # fixtures: the gate's counts (memory, Redis), the fake for processes

TOKEN = "metrics-token-for-tests-0123456789"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Samples:
    answer = await client.get("/metrics", headers=SCRAPE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return parse(answer.text)


@pytest.fixture
async def watched(settings: Settings, clock: Clock) -> AsyncIterator[FastAPI]:
    """The app with a metrics token (the ``app`` fixture's settings have none). The gate's counts do not
    lapse during a test, however slow the machine: what it knows decides which path refuses."""
    watched_settings = settings.model_copy(update={"metrics_token": TOKEN, "gate_recheck_seconds": 600.0})
    application = create_app(watched_settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(watched: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=watched), base_url="http://yiyue.test") as c:
        yield c


async def test_metrics_are_refused_without_the_token(http: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = await http.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json()["code"] == "METRICS_UNAUTHORIZED"
        assert "yiyue_" not in refused.text
    # No token configured (the default): there is no such endpoint, whatever a caller sends.
    off = await client.get("/metrics", headers=SCRAPE)
    assert off.status_code == 404
    assert off.json()["code"] == "NOT_FOUND"
    assert "/metrics" not in (await client.get("/openapi.json")).json()["paths"]


def test_a_short_token_is_refused_at_startup(settings: Settings) -> None:
    with pytest.raises(ValueError, match="YIYUE_METRICS_TOKEN"):
        settings.model_validate({**settings.model_dump(), "metrics_token": "short"})


async def test_a_booking_journey_is_counted(http: httpx.AsyncClient, watched: FastAPI, lines: Lines) -> None:
    db = watched.state.db
    catalog = await make_catalog(db, name="计费医院", payment_required=True)
    schedule = await make_schedule(db, catalog, capacity=1)
    before = await scrape(http)

    # Catalog reads: the first builds the answer, the second is kept.
    for _ in range(2):
        assert (await http.get("/api/v1/hospitals")).status_code == 200
    auth = await login_via(http, f"o-{uuid.uuid4().hex[:12]}")
    person = await http.post("/api/v1/me/patients", json=patient_body(), headers=auth)
    assert person.status_code == 201, person.text
    request = {"schedule_id": schedule.id, "patient_id": person.json()["id"]}
    headers = booking_headers(auth)
    booked = await http.post("/api/v1/appointments", json=request, headers=headers)
    assert booked.status_code == 201, booked.text
    again = await http.post("/api/v1/appointments", json=request, headers=headers)  # a retry: same key
    assert again.status_code == 201 and again.json()["id"] == booked.json()["id"]
    appointment = booked.json()["id"]
    assert (await http.get(f"/api/v1/appointments/{appointment}", headers=auth)).status_code == 200
    params = (await http.post(f"/api/v1/appointments/{appointment}/pay", headers=auth)).json()
    paid = await http.post(
        f"{FAKE_WECHAT_MOUNT}/__fake__/pay", json={"prepay_id": params["package"].removeprefix("prepay_id=")}
    )
    assert paid.status_code == 200, paid.text
    unknown = await http.post(
        "/api/v1/appointments", json={**request, "schedule_id": 999_999}, headers=booking_headers(auth)
    )
    assert unknown.json()["code"] == "SCHEDULE_NOT_FOUND"  # refused by the use case
    # Another patient finds the one slot taken: the gate knows, the fast path answers at the edge.
    other = await login_via(http, f"o-{uuid.uuid4().hex[:12]}")
    someone = await http.post("/api/v1/me/patients", json=patient_body(name="李四"), headers=other)
    for _ in range(2):
        refused = await http.post(
            "/api/v1/appointments",
            json={"schedule_id": schedule.id, "patient_id": someone.json()["id"]},
            headers=booking_headers(other),
        )
        assert refused.json()["code"] == "SOLD_OUT"
    assert (await http.get("/api/v1/no/such/path")).status_code == 404
    assert (await http.get("/admin/static/admin.css")).status_code == 200  # a mount without routes
    pending = await scrape(http)
    topics = await Jobs(watched).drain()
    after = await scrape(http)

    def grew(name: str, samples: Samples = after, **labels: str) -> float:
        return value(samples, name, **labels) - value(before, name, **labels)

    assert grew("yiyue_bookings_total", outcome="booked") == 1
    assert grew("yiyue_bookings_total", outcome="replayed") == 1
    assert grew("yiyue_bookings_total", outcome="SOLD_OUT") == 2
    assert grew("yiyue_bookings_total", outcome="SCHEDULE_NOT_FOUND") == 1
    assert grew("yiyue_fastpath_answers_total", answer="SOLD_OUT") == 2
    assert grew("yiyue_fastpath_answers_total", answer="passed") == 3
    route = "/api/v1/appointments"
    assert grew("yiyue_http_requests_total", method="POST", route=route, status="201") == 2
    assert grew("yiyue_http_requests_total", method="POST", route=route, status="409") == 2
    assert grew("yiyue_http_request_duration_seconds_count", method="POST", route=route) == 5
    detail = "/api/v1/appointments/{appointment_id}"
    assert grew("yiyue_http_requests_total", method="GET", route=detail, status="200") == 1
    assert grew("yiyue_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert grew("yiyue_http_requests_total", method="GET", route="/admin/static/*", status="200") == 1
    assert grew("yiyue_http_requests_total", method="POST", route=f"{FAKE_WECHAT_MOUNT}/__fake__/pay", status="200")
    assert grew("yiyue_cache_requests_total", region="catalog", result="miss") >= 1
    assert grew("yiyue_cache_requests_total", region="catalog", result="hit") >= 1
    assert grew("yiyue_payment_notifications_total", event_type="TRANSACTION.SUCCESS", outcome="ok") == 1
    assert value(pending, "yiyue_gate_sold_out_schedules") >= 1
    assert value(pending, "yiyue_gate_claims_in_flight") == 0
    # The booking's and the payment's events waited in the outbox until the jobs ran.
    assert value(pending, "yiyue_outbox_pending_events") >= 2
    assert value(pending, "yiyue_outbox_lag_seconds") >= 0
    assert topics
    assert value(after, "yiyue_outbox_pending_events") == 0
    assert value(after, "yiyue_outbox_lag_seconds") == 0
    for topic in set(topics):
        assert grew("yiyue_jobs_total", topic=topic, result="handled") == topics.count(topic), topic
    pool = watched.state.db.pool
    assert value(after, "yiyue_db_pool_size") == pool.size
    # Between requests every connection is back in the pool: none in use, the journey's kept open.
    assert value(after, "yiyue_db_pool_connections", state="in_use") == 0
    assert value(after, "yiyue_db_pool_connections", state="idle") >= 1
    # The request lines name each route as the metrics do (one helper): the fast path's refusals, a static
    # file, a path no route takes.
    logged = [(line["method"], line["route"], str(line["status"])) for line in lines.requests()]
    assert logged.count(("POST", route, "409")) == 2
    assert ("GET", "/admin/static/*", "200") in logged and ("GET", "unmatched", "404") in logged
    for method, logged_route, status in set(logged):
        assert grew("yiyue_http_requests_total", method=method, route=logged_route, status=status) >= 1, logged_route
    names = {name for name, _ in after}
    for name in metrics.METRIC_NAMES:
        assert name in names or f"{name}_count" in names, name


async def test_a_failing_job_is_counted_retried_then_failed(
    http: httpx.AsyncClient, watched: FastAPI, lines: Lines
) -> None:
    jobs = Jobs(watched)
    db = watched.state.db
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog)
    auth = await login_via(http, f"o-{uuid.uuid4().hex[:12]}")
    person = (await http.post("/api/v1/me/patients", json=patient_body(), headers=auth)).json()["id"]
    booked = await http.post(
        "/api/v1/appointments", json={"schedule_id": schedule.id, "patient_id": person}, headers=booking_headers(auth)
    )
    assert booked.status_code == 201
    async with db.session() as session:  # a payload no handler can read: the handler raises
        await session.execute(update(OutboxEvent).values(payload={"garbled": True}))
    before = await scrape(http)
    due = await jobs._due(jobs.context.clock.now())
    assert due
    event_id, topic = due[0]
    with pytest.raises(RetryTask):
        await jobs.system.handle(jobs.context, event_id)
    after = await scrape(http)
    labels = {"topic": topic, "result": "retried"}
    assert value(after, "yiyue_jobs_total", **labels) - value(before, "yiyue_jobs_total", **labels) == 1
    # Its last attempt: dead-lettered, and the job's line says so in the counter's words.
    async with db.session() as session:
        await session.execute(update(OutboxEvent).where(OutboxEvent.id == event_id).values(attempts=MAX_ATTEMPTS - 1))
    await jobs.system.handle(jobs.context, event_id)
    last = await scrape(http)
    failed = {"topic": topic, "result": "failed"}
    assert value(last, "yiyue_jobs_total", **failed) - value(after, "yiyue_jobs_total", **failed) == 1
    outcomes = [line["outcome"] for line in lines.jobs() if line["event_id"] == event_id]
    assert outcomes == ["retried", "failed"]
    async with db.session() as session:
        stored = await session.get(OutboxEvent, event_id)
        assert stored is not None and stored.failed_at is not None and stored.last_error


async def test_the_gate_tells_what_it_refuses_and_what_is_in_flight(make_counts: MakeCounts) -> None:
    counts = make_counts()
    assert await counts.gauges() == (0, 0)
    await known(counts, 0, holders=frozenset({1}))  # schedule S sold out
    ticket = await admitted(counts, 5, schedule=S + 1)  # a booking of another schedule on its way
    assert await counts.gauges() == (1, 1)
    await counts.settle(ticket, claimed=True, remaining=3)
    assert await counts.gauges() == (1, 0)
    await counts.reopen([S])  # a slot freed: nothing refused any more
    assert await counts.gauges() == (0, 0)


def test_several_processes_add_up_and_exited_gauges_go(tmp_path: Path) -> None:
    """What the processes of ``serve --workers N`` write, read as one: counters add up, a live gauge of a
    process that has exited is left out and one of a process still running is kept. Real processes write
    the files (prometheus_client's own mode)."""
    script = (
        "import sys\nfrom yiyue.core import metrics\nmetrics.BOOKINGS.labels('booked').inc(3)\n"
        "metrics.DB_POOL_SIZE.set(10)\nprint('ready', flush=True)\nsys.stdin.read()\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    processes = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline() == b"ready\n"
        assert processes[0].communicate(b"", timeout=60)[0] == b""  # one exits, the other keeps running
        samples = parse(metrics.collect_processes(str(tmp_path)).decode())
        assert value(samples, "yiyue_bookings_total", outcome="booked") == 6
        assert value(samples, "yiyue_db_pool_size") == 10  # the live one's pool counts, the exited one's not
    finally:
        processes[1].communicate(b"", timeout=60)
    samples = parse(metrics.collect_processes(str(tmp_path)).decode())
    assert value(samples, "yiyue_db_pool_size") == 0  # both exited: their pools are gone


async def test_serve_with_two_processes_counts_every_request(
    settings: Settings, tmp_path: Path, fake_wechat: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``yiyue serve --workers 2``: whichever process answers the scrape reports both processes' requests
    and both pools."""
    monkeypatch.setenv("YIYUE_METRICS_TOKEN", TOKEN)
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    with yiyue_serve(settings, tmp_path, "--workers", "2", wechat=fake_wechat) as server:
        await wait_healthy(server.url)
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as live:
            deadline = asyncio.get_running_loop().time() + 120
            while len(server.server_processes()) < 2 or value(await scrape(live), "yiyue_db_pool_size") < 6:
                assert asyncio.get_running_loop().time() < deadline, server.log_text()
                await asyncio.sleep(0.2)  # the second process is still starting
            before = await scrape(live)
            answers = await asyncio.gather(*(live.get("/healthz") for _ in range(40)))
            assert all(a.status_code == 200 for a in answers)
            # A process counts a request after its last byte is sent: the scrape may come first.
            labels = {"method": "GET", "route": "/healthz", "status": "200"}
            deadline = asyncio.get_running_loop().time() + 10
            while True:
                after = await scrape(live)
                grown = value(after, "yiyue_http_requests_total", **labels) - value(
                    before, "yiyue_http_requests_total", **labels
                )
                if grown >= 40 or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.05)
            assert (await live.get("/metrics")).status_code == 401
            written = {path.name for path in _metrics_dir(server.server_processes()[0]).glob("counter_*.db")}
            assert {f"counter_{pid}.db" for pid in server.server_processes()} <= written
    assert grown == 40
    assert value(after, "yiyue_db_pool_size") == 6  # 2 processes × YIYUE_DATABASE_POOL_SIZE=3


async def test_a_worker_serves_its_own_metrics_behind_the_token(settings: Settings, tmp_path: Path) -> None:
    """``yiyue worker`` serves no API: with ``YIYUE_WORKER_METRICS_PORT`` it answers ``/metrics`` itself."""
    port = free_port()
    env = {
        **server_env(settings, tmp_path, "http://127.0.0.1:9"),  # WeChat: never called by a worker at rest
        "YIYUE_WORKER_METRICS_PORT": str(port),
        "YIYUE_METRICS_TOKEN": TOKEN,
    }
    env.pop(metrics.MULTIPROC_ENV, None)
    log = tmp_path / "worker.log"
    worker = _start_worker(env, log)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as scraper:
            deadline = asyncio.get_running_loop().time() + 120
            while True:
                try:
                    answer = await scraper.get("/metrics", headers=SCRAPE)
                    break
                except httpx.TransportError:
                    assert worker.poll() is None and asyncio.get_running_loop().time() < deadline, log.read_text()
                    await asyncio.sleep(0.2)
            assert answer.status_code == 200
            assert "# HELP yiyue_jobs_total" in answer.text
            refused = await scraper.get("/metrics")
            assert refused.status_code == 401 and refused.json()["code"] == "METRICS_UNAUTHORIZED"
            assert (await scraper.get("/", headers=SCRAPE)).status_code == 404
    finally:
        worker.kill()
        worker.wait(timeout=30)


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen([sys.executable, "-m", "yiyue.cli", "worker"], env=env, stdout=sink, stderr=sink)


def _metrics_dir(pid: int) -> Path:
    """The directory the supervisor gave its processes (read from one's environment)."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    entry = next(e for e in environ if e.startswith(metrics.MULTIPROC_ENV.encode() + b"="))
    return Path(entry.split(b"=", 1)[1].decode())
