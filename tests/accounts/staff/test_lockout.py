"""Staff login lockout (core.ratelimit.LoginGuard): per user name and per address, exponential, before argon2.

Before: 220 wrong staff passwords in a row met no lockout, and a flood of bad staff logins (argon2) slowed
the patient API from p50 20 ms to 700 ms.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import NOW
from tests.factories import FAST_HASHER, STAFF_PASSWORD, Catalog, make_catalog, make_staff
from tests.live import serving
from yiyue.accounts.staff import passwords
from yiyue.app import create_app
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.ratelimit import LoginGuard, LoginLocked, MemoryLockouts, RedisLockouts, locked_message

LOGIN = "/api/v1/staff/auth/login"
STRICT = {
    "staff_login_lock_after": 5,
    "staff_login_ip_lock_after": 20,
    "staff_login_lock_seconds": 60,
    "staff_login_lock_max_seconds": 3600,
}


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Cheap hashing, and a record of every password verification (argon2 work)."""
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)
    calls: list[int] = []
    original = passwords.verify

    def counted(current: Any, stored: str, password: str) -> bool:
        calls.append(1)
        return original(current, stored, password)

    monkeypatch.setattr(passwords, "verify", counted)
    return calls


@pytest.fixture
async def catalog(db: Any) -> Catalog:
    return await make_catalog(db)


@asynccontextmanager
async def strict(settings: Settings, clock: FrozenClock, **extra: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={**STRICT, **extra}), clock=clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yiyue.test") as c:
            yield c
    finally:
        await app.state.wechat.aclose()
        await app.state.db.dispose()


async def login(client: httpx.AsyncClient, username: str, password: str, **headers: str) -> httpx.Response:
    return await client.post(LOGIN, json={"username": username, "password": password}, headers=headers)


def assert_locked(response: httpx.Response, seconds: int) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["code"] == "LOGIN_LOCKED"
    assert response.headers["Retry-After"] == str(seconds)
    assert body["detail"]["retry_after"] == seconds
    assert "登录失败次数过多" in body["message"] and "后再试" in body["message"]


async def test_220_wrong_passwords_lock_the_user_name(
    settings: Settings, clock: FrozenClock, db: Any, catalog: Catalog, verifications: list[int]
) -> None:
    await make_staff(db, catalog=catalog, username="admin.wang")
    async with strict(settings, clock) as client:
        verifications.clear()
        answers = [await login(client, "admin.wang", f"guess-{i:04d}-wrong") for i in range(220)]

        codes = Counter(a.json()["code"] for a in answers)
        assert codes == {"INVALID_CREDENTIALS": 5, "LOGIN_LOCKED": 215}
        assert_locked(answers[5], 60)
        assert "1 分钟后再试" in answers[5].json()["message"]
        assert len(verifications) == 5  # the locked answers did no argon2 work
        # Even the right password waits out the lock.
        assert_locked(await login(client, "admin.wang", STAFF_PASSWORD), 60)
        assert len(verifications) == 5


async def test_the_lock_doubles_up_to_an_hour_and_a_success_resets_it(
    settings: Settings, clock: FrozenClock, db: Any, catalog: Catalog, verifications: list[int]
) -> None:
    await make_staff(db, catalog=catalog, username="nurse.li")
    async with strict(settings, clock) as client:
        for _ in range(5):
            await login(client, "nurse.li", "wrong-password-1")
        assert_locked(await login(client, "nurse.li", "wrong-password-1"), 60)

        waits = []
        for _ in range(8):  # after each lock ends, one more failure locks it for twice as long
            clock.advance(timedelta(seconds=waits[-1] if waits else 60))
            failed = await login(client, "nurse.li", "wrong-password-1")
            assert failed.json()["code"] == "INVALID_CREDENTIALS"
            locked = await login(client, "nurse.li", "wrong-password-1")
            waits.append(int(locked.headers["Retry-After"]))
        assert waits == [120, 240, 480, 960, 1920, 3600, 3600, 3600]
        assert "1 小时后再试" in locked.json()["message"]

        clock.advance(timedelta(seconds=3600))
        assert (await login(client, "nurse.li", STAFF_PASSWORD)).status_code == 200
        # The count starts again: four mistakes are just mistakes.
        assert [(await login(client, "nurse.li", "oops-wrong-1")).status_code for _ in range(4)] == [401] * 4


async def test_many_user_names_from_one_address_lock_the_address(
    settings: Settings, clock: FrozenClock, db: Any, catalog: Catalog, verifications: list[int]
) -> None:
    await make_staff(db, catalog=catalog, username="clerk.zhao")
    async with strict(settings, clock) as client:
        sprayed = [await login(client, f"guess{i}", "password123-wrong") for i in range(25)]

        assert Counter(a.status_code for a in sprayed) == {401: 20, 429: 5}
        assert_locked(await login(client, "clerk.zhao", STAFF_PASSWORD), 60)
        # Another address (behind a trusted proxy) is not locked.
        async with strict(settings, clock, trusted_proxies=["127.0.0.1"]) as proxied:
            ok = await login(proxied, "clerk.zhao", STAFF_PASSWORD, **{"X-Forwarded-For": "198.51.100.20"})
            assert ok.status_code == 200, ok.text


async def test_a_good_login_between_guesses_does_not_reset_the_address(
    settings: Settings, clock: FrozenClock, db: Any, catalog: Catalog, verifications: list[int]
) -> None:
    await make_staff(db, catalog=catalog, username="clerk.sun")
    async with strict(settings, clock) as client:
        guesses = [await login(client, f"guess{i}", "password123-wrong") for i in range(19)]
        own = await login(client, "clerk.sun", STAFF_PASSWORD)  # the sprayer's one real account
        more = [await login(client, f"other{i}", "password123-wrong") for i in range(2)]

    assert {g.status_code for g in guesses} == {401} and own.status_code == 200
    assert [m.status_code for m in more] == [401, 429]  # the 20th failure from the address locks it


async def test_the_console_form_says_when_to_try_again(
    settings: Settings, clock: FrozenClock, db: Any, catalog: Catalog, verifications: list[int]
) -> None:
    await make_staff(db, catalog=catalog, username="desk.sun")
    async with strict(settings, clock) as client:
        form = {"username": "desk.sun", "password": "not-the-password", "next": "/admin/"}
        for _ in range(5):
            assert (await client.post("/admin/login", data=form)).status_code == 401

        locked = await client.post("/admin/login", data={**form, "password": STAFF_PASSWORD})

        assert locked.status_code == 429
        assert locked.headers["Retry-After"] == "60"
        assert "登录失败次数过多，已暂时锁定，请 1 分钟后再试" in locked.text
        assert '<form class="login-card"' in locked.text
        # The API and the console share the lock: it is the user name that is locked.
        assert_locked(await login(client, "desk.sun", STAFF_PASSWORD), 60)
        clock.advance(timedelta(seconds=60))
        ok = await client.post("/admin/login", data={**form, "password": STAFF_PASSWORD})
        assert ok.status_code == 303


def test_lock_words() -> None:
    assert locked_message(45) == "登录失败次数过多，已暂时锁定，请 45 秒后再试"
    assert locked_message(60) == "登录失败次数过多，已暂时锁定，请 1 分钟后再试"
    assert locked_message(3600) == "登录失败次数过多，已暂时锁定，请 1 小时后再试"


async def test_the_guard_bounds_concurrent_verifications(settings: Settings) -> None:
    guard = LoginGuard(
        settings.model_copy(update={**STRICT, "staff_login_concurrent_verifications": 2}), store=MemoryLockouts()
    )
    running = 0
    most = 0

    async def work() -> str:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        raise ValueError

    async def attempt(i: int) -> None:
        with suppress(ValueError):
            await guard.attempt(f"user{i}", f"10.0.0.{i}", now=NOW, work=work, failure=ValueError)

    await asyncio.gather(*(attempt(i) for i in range(50)))
    assert most == 2


def _p50(url: str, path: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.is_set():
            started = time.perf_counter()
            http.get(path)
            out.append(time.perf_counter() - started)
            time.sleep(0.01)


def _flood(url: str, n: int, *, distinct: bool) -> Counter[str]:
    async def run() -> Counter[str]:
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=httpx.Limits(max_connections=50)) as http:

            async def one(i: int) -> str:
                user = f"nobody{i}" if distinct else "admin"
                headers = {"X-Forwarded-For": f"198.51.100.{i % 250}"} if distinct else {}
                answer = await http.post(LOGIN, json={"username": user, "password": "x" * 12}, headers=headers)
                return str(answer.json()["code"])

            return Counter(await asyncio.gather(*(one(i) for i in range(n))))

    return asyncio.run(run())


def test_a_flood_of_bad_staff_logins_leaves_the_patient_api_fast(settings: Settings, db: Any) -> None:
    """Real argon2 (production cost), a real server: 200 bad logins at once, while a patient reads the catalog.

    Same user name and address: the lock answers almost all of them without argon2. Then 20 at once from
    20 addresses with 20 user names (no lock applies; argon2 takes about a second a hash here): the bounded
    verifications keep the patient's p50 within a wide margin of the quiet one.
    """
    app_settings = settings.model_copy(update={**STRICT, "trusted_proxies": ["127.0.0.1"]})
    with serving(create_app(app_settings)) as url:
        quiet: list[float] = []
        stop = threading.Event()
        reader = threading.Thread(target=_p50, args=(url, "/api/v1/hospitals", stop, quiet))
        reader.start()
        time.sleep(1.0)
        stop.set()
        reader.join()

        busy: list[float] = []
        stop = threading.Event()
        reader = threading.Thread(target=_p50, args=(url, "/api/v1/hospitals", stop, busy))
        reader.start()
        locked = _flood(url, 200, distinct=False)
        sprayed = _flood(url, 20, distinct=True)
        stop.set()
        reader.join()

    assert locked["LOGIN_LOCKED"] >= 190, locked
    assert sprayed == {"INVALID_CREDENTIALS": 20}
    quiet_p50, busy_p50 = statistics.median(quiet), statistics.median(busy)
    print(f"patient GET p50: quiet {quiet_p50 * 1000:.1f} ms, during the flood {busy_p50 * 1000:.1f} ms")
    assert busy_p50 < max(10 * quiet_p50, quiet_p50 + 0.25), (quiet_p50, busy_p50)


REDIS_URL = os.environ.get("YIYUE_TEST_REDIS_URL", "")


@pytest.mark.skipif(not REDIS_URL, reason="set YIYUE_TEST_REDIS_URL to share the lockouts in Redis")
async def test_two_processes_share_a_lockout_in_redis(settings: Settings) -> None:
    prefix = f"yiyue-test-lockout:{uuid.uuid4().hex[:8]}"
    strict_settings = settings.model_copy(update=STRICT)
    one = LoginGuard(strict_settings, store=RedisLockouts(REDIS_URL, key_prefix=prefix))
    two = LoginGuard(strict_settings, store=RedisLockouts(REDIS_URL, key_prefix=prefix))

    for _ in range(5):
        await one.failed("admin.qian", "10.1.1.1", now=NOW)

    with pytest.raises(LoginLocked) as locked:
        await two.check("admin.qian", "10.2.2.2", now=NOW)
    assert locked.value.headers == {"Retry-After": "60"}
    await two.check("admin.qian", "10.2.2.2", now=NOW + timedelta(seconds=60))  # over: no refusal
    await two.succeeded("admin.qian", "10.1.1.1")
    await one.check("admin.qian", "10.1.1.1", now=NOW)


async def test_a_lockout_store_outage_lets_logins_through(settings: Settings) -> None:
    guard = LoginGuard(settings.model_copy(update=STRICT), store=RedisLockouts("redis://127.0.0.1:1/0"))

    await guard.failed("admin.qian", "10.1.1.1", now=NOW)
    await guard.check("admin.qian", "10.1.1.1", now=NOW)
