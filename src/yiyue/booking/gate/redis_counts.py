"""Slot counts in Redis, shared by every server and worker process (``YIYUE_REDIS_URL``).

Each schedule's count is a hash (``e`` its life, ``f`` the free slots the database last reported, ``n``
the claims in flight) and a set of the accounts holding its slots, changed only by the Lua scripts
below, so that taking a token is one atomic step for the whole fleet. Both keys expire together
``lapse_seconds`` after the count became known (or the database first confirmed a sell-out; repeated
reports of none left do not extend it): a token lost
with a killed process, or a count that drifted, is read from the database again by then. Freeing a slot
anywhere deletes them: every process sends the next booking to the database at once.

Redis is a gate, never the truth: when it cannot be reached (or was flushed) the counts are unknown and
every booking goes to the database, which stays correct on its own. After a failure this process leaves
Redis alone for ``retry_seconds`` (but for deleting a freed slot's count, always tried), so a Redis that
is down costs no more than a connection refused now and then; waiting too long for one of the pool's
connections is this process's own congestion, not a failure. A ticket keeps its token when Redis did not
answer, so that settling or abandoning it later still gives the token back.

A refusal Redis gave is remembered here for ``local_seconds`` (with the holders it named), so the rush
after a sell-out is answered from memory, as cheap as the embedded gate; a slot freed in another
process is therefore seen here at most that much later.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from yiyue.booking.gate.protocol import InFlight, Ticket

log = logging.getLogger("yiyue.booking.gate")

T = TypeVar("T")

# KEYS: count, holders. ARGV: account. Returns the holders when covered (first element 1), else {0}.
_COVERED = """
local v = redis.call('HMGET', KEYS[1], 'f', 'n')
if not v[1] or tonumber(v[1]) - tonumber(v[2] or '0') > 0 then return {0} end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return {0} end
local answer = redis.call('SMEMBERS', KEYS[2])
table.insert(answer, 1, 1)
return answer
"""

# KEYS: count, holders. ARGV: account, a fresh epoch, lapse (ms), the ticket's epoch ('' for none), whether
# it holds a token ('1'), whether it is entering the database now ('1': it takes a token even while the
# count is unknown). Returns {epoch, 1 counted | 0 admitted without a token (a holder) | 2 admitted without
# a token (the count is unknown) | -1 refused (no slot left) | -2 refused (the claims in flight cover the
# slots), then with -2 the holders}.
_ADMIT = """
local e = redis.call('HGET', KEYS[1], 'e')
if not e then
  e = ARGV[2]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', e, 'n', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
local v = redis.call('HMGET', KEYS[1], 'f', 'n')
if e == ARGV[4] and ARGV[5] == '1' then
  if v[1] == '0' and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {e, -1} end
  return {e, 1}
end
if not v[1] then
  if ARGV[6] == '1' then
    redis.call('HINCRBY', KEYS[1], 'n', 1)
    return {e, 1}
  end
  return {e, 2}
end
if tonumber(v[1]) - tonumber(v[2] or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'n', 1)
  return {e, 1}
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return {e, 0} end
local answer = redis.call('SMEMBERS', KEYS[2])
table.insert(answer, 1, -2)
table.insert(answer, 1, e)
return answer
"""

# KEYS: count, holders. ARGV: epoch, free slots read, lapse (ms), holders given ('1'), the holders... The count
# of that life becomes known, unless a booking reported it meanwhile. Returns 1 when it did.
_LEARN = """
if redis.call('HGET', KEYS[1], 'e') ~= ARGV[1] or redis.call('HEXISTS', KEYS[1], 'f') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'f', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[2])
  for i = 5, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
end
return 1
"""

# KEYS: count, holders. ARGV: epoch, counted ('1'), claimed ('1'), account, remaining ('' unknown), lapse
# (ms), holders given ('1'), the holders...
_SETTLE = """
if redis.call('HGET', KEYS[1], 'e') ~= ARGV[1] then return 0 end
if ARGV[2] == '1' and redis.call('HINCRBY', KEYS[1], 'n', -1) < 0 then
  redis.call('HSET', KEYS[1], 'n', 0)
end
if ARGV[5] ~= '' then
  local f = redis.call('HGET', KEYS[1], 'f')
  if not f or (ARGV[5] == '0' and f ~= '0') then redis.call('PEXPIRE', KEYS[1], ARGV[6]) end
  redis.call('HSET', KEYS[1], 'f', ARGV[5])
  if ARGV[7] == '1' then
    redis.call('DEL', KEYS[2])
    for i = 8, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
  end
end
if ARGV[3] == '1' then redis.call('SADD', KEYS[2], ARGV[4]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
"""

_UNREACHABLE = (RedisError, OSError, asyncio.TimeoutError)
_GAUGE_SECONDS = 2.0
"""How long the metrics' SCAN of the counts may take before the gauge says 0 (the gate is not touched)."""


def _pool_wait(error: BaseException) -> bool:
    """The bounded pool's wait for a free connection timed out (redis-py raises a ConnectionError from the
    asyncio timeout): this process's own congestion, not Redis failing."""
    return isinstance(error, RedisConnectionError) and isinstance(error.__cause__, asyncio.TimeoutError)


_SWEEP_EVERY = 1024
"""Lapsed refusals are swept out once this many more schedules are remembered than at the last sweep."""


class RedisSlotCounts:
    def __init__(
        self,
        url: str,
        *,
        lapse_seconds: float = 2.0,
        local_seconds: float = 0.05,
        timeout_seconds: float = 1.0,
        max_connections: int = 32,
        retry_seconds: float = 1.0,
        prefix: str = "yiyue:gate",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        # A bounded pool: a rush waits for a connection rather than opening thousands of them (the wait is
        # this process's own congestion, not Redis failing, so it may last longer than an answer may).
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=5 * timeout_seconds,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
        )
        self._redis = aioredis.Redis(connection_pool=pool)
        self._covered = self._redis.register_script(_COVERED)
        self._admit = self._redis.register_script(_ADMIT)
        self._settle = self._redis.register_script(_SETTLE)
        self._learn = self._redis.register_script(_LEARN)
        self._lapse_ms = max(1, round(lapse_seconds * 1000))
        self._local = local_seconds
        self._retry = retry_seconds
        self._prefix = prefix
        self._monotonic = monotonic
        self._down_until = 0.0
        self._refusals: dict[int, tuple[float, frozenset[int]]] = {}
        self._refusals_swept_at = 0
        self._returning: set[asyncio.Task[None]] = set()
        self._flying = InFlight()

    def keys(self, schedule_id: int) -> list[str]:
        """The count's keys (the braces keep both in one Redis Cluster slot)."""
        return [f"{self._prefix}:{{{schedule_id}}}", f"{self._prefix}:{{{schedule_id}}}:holders"]

    async def is_sold_out_for(self, schedule_id: int, account_id: int) -> bool:
        if self._flying.other(schedule_id, account_id):
            return False
        known = self._known_refusal(schedule_id)
        if known is not None:
            return account_id not in known
        answer = await self._call(self._covered, schedule_id, [account_id], default=[0])
        if int(answer[0]) != 1:
            return False
        if self._local > 0:
            self._remember_refusal(schedule_id, frozenset(int(member) for member in answer[1:]))
        return True

    async def admit(self, schedule_id: int, account_id: int) -> Ticket | None:
        known = self._known_refusal(schedule_id)
        if known is not None and account_id not in known and not self._flying.other(schedule_id, account_id):
            return None
        ticket = Ticket(schedule_id, account_id, epoch="", counted=False)
        if not await self._take(ticket):
            return None
        self._flying.enter(ticket)
        return ticket

    async def readmit(self, ticket: Ticket) -> bool:
        if ticket.counted and ticket.epoch and self._monotonic() - ticket.taken_at < self._local:
            return True  # its token is moments old: the database is asked anyway (the everyday case)
        return await self._take(ticket, entering=True)

    async def settle(
        self, ticket: Ticket, *, claimed: bool, remaining: int | None = None, holders: frozenset[int] | None = None
    ) -> None:
        if ticket.settled:
            return
        ticket.settled = True
        self._flying.leave(ticket)
        if not ticket.epoch:  # admitted while Redis could not be reached: nothing to settle there
            return
        args: list[Any] = [
            ticket.epoch,
            int(ticket.counted),
            int(claimed),
            ticket.account_id,
            "" if remaining is None else max(0, remaining),
            self._lapse_ms,
            int(holders is not None),
            *sorted(holders or ()),
        ]
        known = self._refusals.get(ticket.schedule_id)
        if known is not None and ticket.counted and not claimed:  # a token comes back: ask Redis again
            del self._refusals[ticket.schedule_id]
        elif known is not None and claimed:  # a holder now: not refused from memory here either
            self._refusals[ticket.schedule_id] = (known[0], known[1] | {ticket.account_id})
        counted, ticket.counted = ticket.counted, False
        if await self._call(self._settle, ticket.schedule_id, args, default=None) is None:
            # Redis did not answer: the ticket keeps its token, so that abandoning it (when its unit of
            # work closes) tries once more to give it back rather than leave the count short until the lapse.
            ticket.counted, ticket.settled = counted, False

    async def learn(self, ticket: Ticket, *, remaining: int, holders: frozenset[int] | None) -> None:
        if not ticket.epoch:  # admitted while Redis could not be reached: nothing to learn there
            return
        args: list[Any] = [
            ticket.epoch,
            max(0, remaining),
            self._lapse_ms,
            int(holders is not None),
            *sorted(holders or ()),
        ]
        await self._call(self._learn, ticket.schedule_id, args, default=None)

    def abandon(self, ticket: Ticket) -> None:
        if ticket.settled:
            return
        try:
            task = asyncio.get_running_loop().create_task(self.settle(ticket, claimed=False))
        except RuntimeError:  # no loop any more (shutting down): the count lapses instead
            ticket.settled = True
            self._flying.leave(ticket)
            return
        self._returning.add(task)
        task.add_done_callback(self._returning.discard)

    async def reopen(self, schedule_ids: Iterable[int]) -> None:
        ids = list(schedule_ids)
        for schedule_id in ids:
            self._refusals.pop(schedule_id, None)
        keys = [key for schedule_id in ids for key in self.keys(schedule_id)]
        if keys:
            # Tried even within an outage's retry window: a freed slot left unseen stays sold out everywhere.
            await self._guarded(lambda: self._redis.delete(*keys), default=0, always=True)

    async def gauges(self, *, fleet: bool = True) -> tuple[int, int]:
        # Not through _guarded: a slow SCAN for the metrics must never mark the gate down for bookings.
        # While Redis is away (or the gate is down) the gate refuses nobody: 0 sold out is then the truth.
        # ``fleet=False`` (each process's sampling): the count is the fleet's, read by the scrape that asks;
        # a process not asked says 0, which the gauge's max over processes leaves to that scrape.
        if not fleet or self._down_until > self._monotonic():
            return 0, self._flying.total()
        try:
            sold_out = await asyncio.wait_for(self._covered_schedules(), _GAUGE_SECONDS)
        except (*_UNREACHABLE, TimeoutError):
            log.debug("booking gate: sold-out count not read for the metrics", exc_info=True)
            sold_out = 0
        return sold_out, self._flying.total()

    async def _covered_schedules(self) -> int:
        """Counts whose claims in flight cover the free slots, over the fleet (a SCAN: for the metrics'
        scrape and their sampling every few seconds, never for a booking)."""
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self._prefix) + ":{*}"  # the counts, not their holders
        covered = 0
        keys: list[str] = []
        async for key in self._redis.scan_iter(match=pattern, count=1000):
            keys.append(key.decode() if isinstance(key, bytes) else key)
        for start in range(0, len(keys), 500):
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys[start : start + 500]:
                    pipe.hmget(key, "f", "n")
                for free, in_flight in await pipe.execute():
                    if free is not None and int(free) - int(in_flight or 0) <= 0:
                        covered += 1
        return covered

    async def returned(self) -> None:
        """Waits until the tokens of abandoned tickets are back in Redis."""
        while self._returning:
            await asyncio.gather(*self._returning, return_exceptions=True)

    async def aclose(self) -> None:
        await self.returned()
        await self._redis.aclose()

    async def _take(self, ticket: Ticket, *, entering: bool = False) -> bool:
        args = [
            ticket.account_id,
            secrets.token_hex(8),
            self._lapse_ms,
            ticket.epoch,
            int(ticket.counted),
            int(entering),
        ]
        answer = await self._call(self._admit, ticket.schedule_id, args, default=None)
        if answer is None:  # Redis cannot be reached: the database decides; a token it holds is still
            return True  # given back by settle (its epoch and token are kept)
        epoch, status = answer[0], int(answer[1])
        ticket.epoch = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
        if status == -2 and self._local > 0:  # covered: the rush asks this process next
            self._remember_refusal(ticket.schedule_id, frozenset(int(m) for m in answer[2:]))
        if status == 1 and not ticket.counted:
            ticket.taken_at = self._monotonic()
        ticket.counted = status == 1
        ticket.unknown = status == 2
        return status >= 0 or self._flying.other(ticket.schedule_id, ticket.account_id, ticket)

    def _remember_refusal(self, schedule_id: int, holders: frozenset[int]) -> None:
        now = self._monotonic()
        if len(self._refusals) >= self._refusals_swept_at + _SWEEP_EVERY:  # amortised: every schedule that
            self._refusals = {key: e for key, e in self._refusals.items() if e[0] > now}  # ever sold out
            self._refusals_swept_at = len(self._refusals)  # must not stay for the process's life
        self._refusals[schedule_id] = (now + self._local, holders)

    def _known_refusal(self, schedule_id: int) -> frozenset[int] | None:
        entry = self._refusals.get(schedule_id)
        if entry is None:
            return None
        if entry[0] <= self._monotonic():
            del self._refusals[schedule_id]
            return None
        return entry[1]

    async def _call(self, script: Any, schedule_id: int, args: list[Any], *, default: T) -> Any:
        return await self._guarded(lambda: script(keys=self.keys(schedule_id), args=args), default=default)

    async def _guarded(self, call: Callable[[], Awaitable[T]], *, default: T, always: bool = False) -> T:
        if not always and self._down_until > self._monotonic():
            return default
        try:
            return await call()
        except _UNREACHABLE as error:
            if _pool_wait(error):  # a rush in this process, not an outage: only this call goes without
                log.debug("booking gate: no Redis connection free in time; the database decides this once")
                return default
            now = self._monotonic()
            if self._down_until <= now:  # once per outage, not once per request that noticed it
                log.warning(
                    "booking gate: Redis unreachable (%s: %s); the database decides for %.1f s",
                    type(error).__name__,
                    error,
                    self._retry,
                )
            self._down_until = now + self._retry
            return default
