"""Rate limits and login lockouts, on the ``limits`` library.

Memory per process on the embedded default; Redis when ``YIYUE_REDIS_URL`` is set, so every process of
a deployment counts the same hits. Routes take a limit as a dependency::

    @router.post("/me/patients", dependencies=[rate_limit("patients", per="account")],
                 responses=responses(..., RateLimited))

The limit of ``rate_limit(name, per=...)`` is the setting ``rate_limit_<name>_<per>`` (a ``limits``
string such as ``"20/minute"``, several separated by ``;``; empty disables it). Over it the request is
refused with 429 ``RATE_LIMITED`` and a ``Retry-After`` header.

The sold-out fast path (``booking.gate.fastpath``) stays in front of all this on purpose: its answer is
cheaper than a limiter hit, and a refused booking costs the system nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, Protocol, TypeVar, cast

import limits
from fastapi import Depends, Request
from limits.aio import strategies
from limits.aio.storage import Storage

from yiyue.core.config import Settings
from yiyue.core.deps import CurrentAccount
from yiyue.core.errors import DomainError, RateLimited

log = logging.getLogger("yiyue.ratelimit")

Per = Literal["account", "ip"]
T = TypeVar("T")


# --- the client's address ---------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _trusted(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def peer_address(scope_client: tuple[str, int] | None, forwarded_for: str | None, trusted_proxies: list[str]) -> str:
    """The caller's address: the ASGI peer, or, when the peer is one of ``trusted_proxies``, the nearest
    address in ``X-Forwarded-For`` that is not itself a trusted proxy (the rightmost untrusted hop: the
    client can write anything to the left of it)."""
    peer = scope_client[0] if scope_client else ""
    networks = _networks(tuple(trusted_proxies))
    if not networks or not forwarded_for or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


def client_ip(request: Request, settings: Settings) -> str:
    return peer_address(
        (request.client.host, request.client.port) if request.client else None,
        # Every header line: a proxy may add its own line after the client's (which the client wrote).
        ", ".join(request.headers.getlist("x-forwarded-for")) or None,
        settings.trusted_proxies,
    )


# --- the limiter ------------------------------------------------------------------------------------


def _storage_uri(redis_url: str) -> str:
    if not redis_url:
        return "async+memory://"
    for scheme in ("redis://", "rediss://", "unix://"):
        if redis_url.startswith(scheme):
            return "async+" + redis_url
    return redis_url


class RateLimiter:
    """The app's limiter (``app.state.ratelimiter``): named limits from the settings, one storage."""

    def __init__(self, settings: Settings, *, key_prefix: str = "yiyue-limits") -> None:
        self._settings = settings
        uri = _storage_uri(settings.redis_url)
        options: dict[str, Any] = {"implementation": "redispy", "key_prefix": key_prefix} if "redis" in uri else {}
        self.storage = cast(Storage, limits.storage.storage_from_string(uri, **options))
        strategy = (
            strategies.FixedWindowRateLimiter
            if settings.rate_limit_strategy == "fixed-window"
            else strategies.MovingWindowRateLimiter
        )
        self._strategy = strategy(self.storage)
        self._items: dict[str, list[limits.RateLimitItem]] = {}

    def items(self, name: str) -> list[limits.RateLimitItem]:
        if name not in self._items:
            text = str(getattr(self._settings, f"rate_limit_{name}", "") or "")
            self._items[name] = limits.parse_many(text) if text.strip() else []
        return self._items[name]

    async def hit(self, name: str, key: str) -> None:
        """Counts one request of ``key`` against limit ``name``; 429 when it is over any of them."""
        for item in self.items(name):
            try:
                allowed = await self._strategy.hit(item, name, key)
                if allowed:
                    continue
                stats = await self._strategy.get_window_stats(item, name, key)
            except Exception:  # a storage outage must not take the API down with it: let the request in
                log.warning("rate limit storage unavailable; %s not enforced", name, exc_info=True)
                return
            retry = max(1, math.ceil(stats.reset_time - time.time()))
            raise RateLimited(detail={"retry_after": retry}, headers={"Retry-After": str(retry)})

    async def reset(self) -> None:
        await self.storage.reset()


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.ratelimiter
    return limiter


def rate_limit(name: str, *, per: Per) -> Any:
    """A route dependency counting each request against setting ``rate_limit_<name>_<per>``.

    ``per="account"`` keys on the calling patient (the route's ``CurrentAccount``, resolved once per
    request), ``per="ip"`` on :func:`client_ip`. Declare ``RateLimited`` in the route's ``responses=``.
    """
    limit_name = f"{name}_{per}"
    if per == "account":

        async def by_account(request: Request, account: CurrentAccount) -> None:
            await _limiter(request).hit(limit_name, str(account.subject_id))

        return Depends(by_account)  # a fastapi.params.Depends

    async def by_ip(request: Request) -> None:
        settings: Settings = request.app.state.settings
        await _limiter(request).hit(limit_name, client_ip(request, settings))

    return Depends(by_ip)


# --- login lockout ----------------------------------------------------------------------------------


class LoginLocked(DomainError):
    status = 429
    code = "LOGIN_LOCKED"
    message = "登录失败次数过多，请稍后再试"


def locked_message(seconds: int) -> str:
    if seconds < 60:
        wait = f"{seconds} 秒"
    elif seconds < 3600:
        wait = f"{math.ceil(seconds / 60)} 分钟"
    else:
        wait = f"{math.ceil(seconds / 3600)} 小时"
    return f"登录失败次数过多，已暂时锁定，请 {wait}后再试"


class LockoutStore(Protocol):
    async def locked_until(self, key: str) -> float | None: ...
    async def fail(self, key: str, *, now: float, threshold: int, base: float, cap: float) -> float | None: ...
    async def clear(self, key: str) -> None: ...


@dataclass
class _Entry:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0


def _lock_seconds(failures: int, *, threshold: int, base: float, cap: float) -> float | None:
    """After ``threshold`` failures in a row: ``base`` seconds, doubling with each further failure, up to ``cap``."""
    if failures < threshold:
        return None
    return float(min(cap, base * 2 ** min(failures - threshold, 30)))


class MemoryLockouts:
    def __init__(self, *, capacity: int = 100_000) -> None:
        self._entries: dict[str, _Entry] = {}
        self._capacity = capacity

    async def locked_until(self, key: str) -> float | None:
        entry = self._entries.get(key)
        return entry.locked_until if entry and entry.locked_until else None

    async def fail(self, key: str, *, now: float, threshold: int, base: float, cap: float) -> float | None:
        entry = self._entries.get(key)
        if entry is None or now - entry.last > 2 * cap + 86_400:  # a day quiet: start again
            if len(self._entries) >= self._capacity:
                self._prune(now, cap)
            entry = self._entries[key] = _Entry()
        entry.failures += 1
        entry.last = now
        seconds = _lock_seconds(entry.failures, threshold=threshold, base=base, cap=cap)
        if seconds is not None:
            entry.locked_until = now + seconds
        return entry.locked_until or None

    async def clear(self, key: str) -> None:
        self._entries.pop(key, None)

    def _prune(self, now: float, cap: float) -> None:
        stale = [k for k, e in self._entries.items() if e.locked_until < now and now - e.last > cap]
        for k in stale:
            del self._entries[k]
        if len(self._entries) >= self._capacity:
            self._entries.clear()


class RedisLockouts:
    """The same in Redis (a hash per key, kept a day past its last failure), shared by every process."""

    _FAIL = """
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local threshold, base, cap, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local lock_until = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if n >= threshold then
  local e = n - threshold
  if e > 30 then e = 30 end
  local s = base * (2 ^ e)
  if s > cap then s = cap end
  lock_until = now + s
  redis.call('HSET', KEYS[1], 'until', tostring(lock_until))
end
redis.call('EXPIRE', KEYS[1], math.floor(cap * 2 + 86400))
return tostring(lock_until)
"""

    def __init__(self, url: str, *, key_prefix: str = "yiyue:lockout") -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url)
        self._script = self._redis.register_script(self._FAIL)
        self._prefix = key_prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}"

    async def locked_until(self, key: str) -> float | None:
        value = await self._redis.hget(self._key(key), "until")
        return float(value) if value else None

    async def fail(self, key: str, *, now: float, threshold: int, base: float, cap: float) -> float | None:
        value = await self._script(keys=[self._key(key)], args=[threshold, base, cap, now])
        until = float(value)
        return until or None

    async def clear(self, key: str) -> None:
        await self._redis.delete(self._key(key))


class LoginGuard:
    """Staff login: a lockout per user name and per address, checked before any password work, and a
    bound on the password verifications running at once (argon2 takes a CPU for a tenth of a second;
    a flood of bad logins must not take every core from the patient API)."""

    def __init__(self, settings: Settings, *, store: LockoutStore | None = None) -> None:
        self._settings = settings
        self.store: LockoutStore = store or (
            RedisLockouts(settings.redis_url) if settings.redis_url else MemoryLockouts()
        )
        bound = settings.staff_login_concurrent_verifications or min(2, (os.cpu_count() or 2) // 2)
        self.verifications = asyncio.Semaphore(max(1, bound))

    def _keys(self, username: str, ip: str) -> list[tuple[str, int]]:
        s = self._settings
        return [
            (f"user:{username.strip().lower()}", s.staff_login_lock_after),
            (f"ip:{ip}", s.staff_login_ip_lock_after),
        ]

    async def check(self, username: str, ip: str, *, now: datetime) -> None:
        """``LOGIN_LOCKED`` (429, with ``Retry-After``) while the user name or the address is locked."""
        moment = now.timestamp()
        wait = 0.0
        for key, _ in self._keys(username, ip):
            try:
                until = await self.store.locked_until(key)
            except Exception:  # the shared store is down: logins go on (argon2 is still bounded)
                log.warning("login lockout store unavailable", exc_info=True)
                return
            if until is not None and until > moment:
                wait = max(wait, until - moment)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            retry_at = now + timedelta(seconds=seconds)
            raise LoginLocked(
                locked_message(seconds),
                detail={"retry_after": seconds, "retry_at": retry_at.isoformat()},
                headers={"Retry-After": str(seconds)},
            )

    async def failed(self, username: str, ip: str, *, now: datetime) -> None:
        s = self._settings
        for key, threshold in self._keys(username, ip):
            try:
                await self.store.fail(
                    key,
                    now=now.timestamp(),
                    threshold=threshold,
                    base=float(s.staff_login_lock_seconds),
                    cap=float(s.staff_login_lock_max_seconds),
                )
            except Exception:
                log.warning("login lockout store unavailable", exc_info=True)
                return

    async def succeeded(self, username: str, ip: str) -> None:
        # Only the user's failures: one good login of one account must not reset the address's count, or a
        # sprayer with one valid password guesses others' forever.
        for key, _ in self._keys(username, ip)[:1]:
            try:
                await self.store.clear(key)
            except Exception:
                log.warning("login lockout store unavailable", exc_info=True)
                return

    async def attempt(
        self, username: str, ip: str, *, now: datetime, work: Callable[[], Awaitable[T]], failure: type[Exception]
    ) -> T:
        """Runs one login attempt ``work`` (which raises ``failure`` on bad credentials) under the guard:
        refused while locked, before any password work and again once its turn among the bounded
        verifications comes (failures recorded while it waited may have locked it); a failure counts,
        a success clears the counts."""
        await self.check(username, ip, now=now)
        async with self.verifications:
            await self.check(username, ip, now=now)
            try:
                result = await work()
            except failure:
                await self.failed(username, ip, now=now)
                raise
        await self.succeeded(username, ip)
        return result
