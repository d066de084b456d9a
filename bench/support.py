"""What the benchmarks share: made-up but valid ID numbers, an emptied PostgreSQL database, real server
(and worker) processes, a thin HTTP client, patients prepared through the API, and percentiles."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from yiyue.accounts import realname, tokens
from yiyue.accounts import service as accounts
from yiyue.accounts.idcard import check_digit
from yiyue.accounts.models import Account, Relationship
from yiyue.accounts.schemas import VisitPersonIn
from yiyue.core.clock import Clock
from yiyue.core.config import Settings
from yiyue.core.crypto import FieldCipher
from yiyue.core.db import Database, begin_write
from yiyue.wechat.fake import create_fake_wechat_app

RATE_LIMITS = (
    "WECHAT_LOGIN_IP",
    "PATIENTS_ACCOUNT",
    "PATIENTS_IP",
    "BOOKING_ACCOUNT",
    "BOOKING_IP",
    "RELEASE_ACCOUNT",
    "RELEASE_IP",
    "REALNAME_ACCOUNT",
    "REALNAME_IP",
    "SEARCH_IP",
)
"""The rate-limit settings the benches turn off (an empty limit is none): one machine plays every
patient, and the per-address and per-account limits (issue 9) would refuse it."""


def id_number(serial: int) -> str:
    """A valid resident ID number (GB 11643 check digit), different for each serial below 3,000. Its
    sequence digits are never 999: the fake real-name service answers those with a provider error."""
    first17 = f"110105{1950 + serial % 60}0101{serial % 999:03d}"
    return first17 + check_digit(first17)


async def reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def backend(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def bench_env(url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a bench's server or worker: fresh secrets, the rate limits off, ``extra`` on top
    (``YIYUE_REDIS_URL``, ``YIYUE_QUEUE_URL``, ``YIYUE_EMBEDDED_WORKERS`` ...)."""
    return {
        **os.environ,
        "YIYUE_DATABASE_URL": url,
        "YIYUE_VAR_DIR": str(workdir),
        "YIYUE_SECRET_KEY": secrets.token_urlsafe(32),
        "YIYUE_DATA_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "YIYUE_BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "YIYUE_WECHAT_SECRET": "bench",
        **{f"YIYUE_RATE_LIMIT_{name}": "" for name in RATE_LIMITS},
        **extra,
    }


def shared_env(url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """One environment for several processes: they must share the secrets (a token minted by one server
    is checked by the other, an ID number encrypted by one is read by the worker)."""
    return bench_env(url, workdir, **extra)


@contextmanager
def server_process(
    url: str, workdir: Path, *, env: dict[str, str] | None = None, name: str = "server"
) -> Iterator[str]:
    """``yiyue serve`` (one process; its embedded job workers unless ``env`` turns them off) on ``url``
    with a free port; yields its base URL and stops it afterwards. Its log goes to ``workdir/<name>.log``."""
    port = free_port()
    command = [sys.executable, "-m", "yiyue.cli", "serve", "--port", str(port), "--no-access-log"]
    environment = env if env is not None else bench_env(url, workdir)
    with open(workdir / f"{name}.log", "w") as log, subprocess.Popen(command, env=environment, stderr=log) as server:
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()


@contextmanager
def worker_process(
    env: dict[str, str], workdir: Path, wechat_server: str, *, threads: int = 2
) -> Iterator[subprocess.Popen[bytes]]:
    """``yiyue worker`` apart from the servers (they run with ``YIYUE_EMBEDDED_WORKERS=0``); it reaches
    the fake WeChat that ``wechat_server`` serves in-process over HTTP."""
    command = [sys.executable, "-m", "yiyue.cli", "worker", "--threads", str(threads)]
    env = {
        **env,
        "YIYUE_WECHAT_API_BASE": f"{wechat_server}/__wechat__",
        "YIYUE_WECHAT_PAY_API_BASE": f"{wechat_server}/__wechat__",
        "YIYUE_WECHAT_PAY_NOTIFY_URL": f"{wechat_server}/api/v1/payments/wechat/notify",
    }
    with (
        open(workdir / "worker.log", "w") as log,
        subprocess.Popen(command, env=env, stdout=log, stderr=log) as worker,
    ):
        try:
            yield worker
        finally:
            worker.terminate()


@contextmanager
def servers(
    url: str, workdir: Path, count: int, *, redis_url: str = "", worker: bool = False
) -> Iterator[tuple[list[str], dict[str, str]]]:
    """``count`` server processes on one database with shared secrets. With ``redis_url`` they share
    rate limits, the gate ... in Redis; with ``worker`` the jobs run in one ``yiyue worker`` (queue on
    Redis if given, else the SQLite queue file in ``workdir``) instead of each server's embedded workers.
    Yields the servers' base URLs and their environment (``prepare_direct`` needs its secrets)."""
    extra: dict[str, str] = {}
    if redis_url:
        extra["YIYUE_REDIS_URL"] = redis_url
    if worker:
        extra["YIYUE_EMBEDDED_WORKERS"] = "0"
        if redis_url:
            extra["YIYUE_QUEUE_URL"] = redis_url
    env = shared_env(url, workdir, **extra)
    with ExitStack() as stack:
        bases = [stack.enter_context(server_process(url, workdir, env=env, name=f"server-{i}")) for i in range(count)]
        if worker:
            wait_healthy(bases[0])
            stack.enter_context(worker_process(env, workdir, bases[0]))
        yield bases, env


def wait_healthy(base: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base} never answered /healthz")


def server_rss_mb(workdir: Path) -> float:
    """The largest resident set of the bench's server processes now (from /proc), in MB; 0 if unknown."""
    largest = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            cmdline = (status.parent / "cmdline").read_bytes().split(b"\0")
            if b"serve" not in cmdline or b"yiyue.cli" not in cmdline:
                continue
            environ = (status.parent / "environ").read_bytes()
            if f"YIYUE_VAR_DIR={workdir}".encode() not in environ:
                continue
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    largest = max(largest, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return largest


class Http:
    """A thin JSON client over aiohttp (httpx's pool costs more CPU than the server under test). With
    several ``bases`` it spreads the calls over them in turn (``base_for``)."""

    def __init__(self, base: str | list[str], connections: int) -> None:
        self.bases = [base] if isinstance(base, str) else list(base)
        self.base = self.bases[0]
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections), timeout=aiohttp.ClientTimeout(total=120)
        )

    def base_for(self, i: int) -> str:
        return self.bases[i % len(self.bases)]

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        headers: dict[str, str] | None = None,
        base: str | None = None,
    ) -> tuple[int, Any]:
        async with self.session.request(method, (base or self.base) + path, json=json, headers=headers) as r:
            if r.content_type == "application/json":
                return r.status, await r.json()
            return r.status, {"text": await r.text()}

    async def post(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("POST", path, **kw)

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("GET", path, **kw)


async def until_healthy(http: Http, tries: int = 1200) -> None:
    """Waits for every server to answer /healthz (it may take a while to start on a busy machine)."""
    for base in http.bases:
        for _ in range(tries):
            try:
                if (await http.get("/healthz", base=base))[0] == 200:
                    break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"{base} never answered /healthz")


@dataclass
class Patient:
    auth: dict[str, str]
    patient_id: int
    base: str
    """The server this patient logged in at (and books through)."""


async def prepare(http: Http, n: int, *, first_serial: int = 0, concurrency: int = 32) -> list[Patient]:
    """``n`` accounts with a verified visit person each, spread over the servers in turn (not timed)."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Patient:
        for attempt in range(5):  # a server of today may reset a connection or answer 500 under load
            try:
                return await attempt_one(i)
            except (aiohttp.ClientError, AssertionError, KeyError):
                if attempt == 4:
                    raise
                await asyncio.sleep(0.5)
        raise AssertionError("unreachable")

    async def attempt_one(i: int) -> Patient:
        base = http.base_for(i)
        async with sem:
            openid = f"bench-{uuid.uuid4().hex[:12]}"
            code = (await http.post("/__wechat__/__fake__/login-code", json={"openid": openid}, base=base))[1]["code"]
            login = await http.post("/api/v1/auth/wechat-login", json={"code": code}, base=base)
            auth = {"Authorization": f"Bearer {login[1]['access_token']}"}
            body = {
                "name": "压测患者",
                "id_number": id_number(first_serial + i),
                "phone": "13800000000",
                "relationship": "self",
            }
            status, person = await http.post("/api/v1/me/patients", json=body, headers=auth, base=base)
            assert status == 201, person
            return Patient(auth, int(person["id"]), base)

    return list(await asyncio.gather(*(one(i) for i in range(n))))


NO_ANSWER = 0
"""The status a bench records for a request that got no answer (connection reset or refused)."""


def settings_of(env: dict[str, str]) -> Settings:
    """The settings the bench's processes read from ``env`` (their secrets), for writing what they read.
    Development secrets not given (WeChat Pay's) go to the bench's work folder, not ./var."""
    os.environ["YIYUE_VAR_DIR"] = env["YIYUE_VAR_DIR"]
    return Settings(
        database_url=env["YIYUE_DATABASE_URL"],
        secret_key=env["YIYUE_SECRET_KEY"],
        data_key=env["YIYUE_DATA_KEY"],
        blind_index_key=env["YIYUE_BLIND_INDEX_KEY"],
        wechat_secret=env["YIYUE_WECHAT_SECRET"],
    )


async def prepare_direct(env: dict[str, str], bases: list[str], n: int, *, first_serial: int = 0) -> list[Patient]:
    """What ``prepare`` makes, written in this process the way the login and ``POST /me/patients`` write
    it (the fake real-name service called in-process) — seconds instead of minutes on a busy machine."""
    settings = settings_of(env)
    fake = create_fake_wechat_app(
        appid=settings.wechat_appid,
        secret=settings.wechat_secret,
        realname_apps={settings.realname_app_id: settings.realname_app_secret},
    )
    provider = realname.provider_from_settings(settings, transport=httpx.ASGITransport(app=fake))
    cipher = FieldCipher(settings.data_keys, settings.data_key_id, index_secret=settings.blind_index_secret)
    now = Clock().now()
    patients: list[Patient] = []
    db = Database(settings.database_url)
    try:
        for start in range(0, n, 250):
            async with db.session() as session:
                await begin_write(session)
                for i in range(start, min(n, start + 250)):
                    account = Account(openid=f"bench-{uuid.uuid4().hex[:12]}", created_at=now, last_login_at=now)
                    session.add(account)
                    await session.flush()
                    data = VisitPersonIn(
                        name="压测患者",
                        id_number=id_number(first_serial + i),
                        phone="13800000000",
                        relationship=Relationship.SELF,
                    )
                    added = await accounts.add_visit_person(
                        session,
                        account_id=account.id,
                        data=data,
                        cipher=cipher,
                        settings=settings,
                        realname_provider=provider,
                        now=now,
                    )
                    pair = await tokens.start(
                        session,
                        subject_kind=tokens.PATIENT,
                        subject_id=account.id,
                        role="patient",
                        secret=settings.secret_key,
                        now=now,
                        access_ttl=timedelta(hours=2),
                        refresh_ttl=timedelta(days=1),
                    )
                    await session.flush()
                    auth = {"Authorization": f"Bearer {pair.access_token}"}
                    patients.append(Patient(auth, added.person.id, bases[i % len(bases)]))
                await session.commit()
    finally:
        await db.dispose()
    return patients


async def patients_for(http: Http, env: dict[str, str], n: int, how: str) -> list[Patient]:
    """``n`` patients spread over the servers: ``how`` is "direct" (``prepare_direct``) or "http"."""
    if how == "http":
        return await prepare(http, n)
    return await prepare_direct(env, http.bases, n)


async def book(http: Http, p: Patient, schedule_id: int) -> tuple[int, str, float]:
    """One booking through the patient's server: (status, "BOOKED" or the error code, seconds); a
    request with no answer is (``NO_ANSWER``, "NO_ANSWER: <error>", seconds)."""
    started = time.perf_counter()
    try:
        status, body = await http.post(
            "/api/v1/appointments",
            json={"schedule_id": schedule_id, "patient_id": p.patient_id},
            headers={**p.auth, "Idempotency-Key": uuid.uuid4().hex},
            base=p.base,
        )
    except (aiohttp.ClientError, TimeoutError) as e:
        return NO_ANSWER, f"NO_ANSWER: {type(e).__name__}", time.perf_counter() - started
    elapsed = time.perf_counter() - started
    return status, (body.get("code", "") if status != 201 else "BOOKED"), elapsed


async def rate(requests: int, concurrency: int, call: Callable[[int], Awaitable[object]]) -> float:
    """Requests per second of ``requests`` calls, ``concurrency`` at a time; a call that got no answer
    (a connection reset) counts as a request all the same."""
    queue = iter(range(requests))

    async def worker() -> None:
        for i in queue:
            with suppress(aiohttp.ClientError, TimeoutError):
                await call(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def healthz_rate(http: Http, requests: int, concurrency: int) -> float:
    return await rate(requests, concurrency, lambda i: http.get("/healthz", base=http.base_for(i)))


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` (seconds) in milliseconds."""
    if len(values) < 2:
        return (values[0] if values else 0.0) * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000
