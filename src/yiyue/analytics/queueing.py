"""Queueing models for a clinic session: how long patients wait after check-in, and how many doctors keep
that wait under a target.

Two models, both in steady state, both first come first served:

- **M/M/1**: one doctor, Poisson arrivals at rate λ, exponential consultations at rate μ. Closed forms.
- **M/M/c** (Erlang C): ``c`` doctors sharing one queue (a department's general clinic, where the next free
  doctor sees the next patient). The probability of waiting is Erlang's C formula, computed from the
  Erlang B recursion so that it stays exact to rounding for hundreds of servers: the textbook form with
  ``a**c / c!`` overflows a float near ``c = 170`` and loses digits long before.

Rates are per hour (λ: patients arriving per hour; μ: patients one doctor completes per hour); times come
out in hours (``*_hours``) and as ``timedelta``; targets go in as ``timedelta``, so "20 minutes" is never
mistaken for 20 hours. The rates are estimated from what the front desk records: check-in times (λ) and
check-in to completion per doctor (μ), see ``arrival_rate`` and ``service_durations``.

The formulas, their assumptions (and where a clinic's booked arrivals differ from Poisson ones) and the
validation figures are in ``docs/queueing.md``. Pure: no database, no web.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from yiyue.core.errors import InvalidInput

SECONDS_PER_HOUR = 3600.0
MAX_SERVERS = 10_000
"""The default ceiling of the smallest-c searches: far above any clinic, low enough to end a search whose
target no number of doctors can meet before the answer would mean anything."""


TARGET_ROUNDING = 1e-12
"""The relative slack with which a figure meets its target: a mean wait of exactly 5 minutes is 5 minutes
and a rounding bit over in floats, and it meets a 5-minute target."""


class InvalidQueueInput(InvalidInput):
    code = "INVALID_QUEUE_INPUT"
    message = "排队模型的参数无效"


class UnstableQueue(InvalidInput):
    """Patients arrive at least as fast as the doctors can see them (ρ = λ / (cμ) >= 1): the queue grows
    without bound, so there is no steady state and no finite mean wait to report. The answer names the
    fewest doctors that would make it stable."""

    code = "QUEUE_UNSTABLE"
    message = "到达速度不低于接诊能力（ρ ≥ 1），队列会无限增长"

    def __init__(self, arrival_rate: float, service_rate: float, servers: int) -> None:
        self.arrival_rate = arrival_rate
        self.service_rate = service_rate
        self.servers = servers
        self.utilisation = arrival_rate / (servers * service_rate)
        self.minimum_servers = minimum_stable_servers(arrival_rate, service_rate)
        super().__init__(
            f"{self.message}：每小时到达 {arrival_rate:g} 人，{servers} 名医生每人每小时接诊 {service_rate:g} 人，"
            f"ρ = {self.utilisation:.3f}；至少需要 {self.minimum_servers} 名医生",
            detail={
                "arrival_rate": arrival_rate,
                "service_rate": service_rate,
                "servers": servers,
                "utilisation": self.utilisation,
                "minimum_servers": self.minimum_servers,
            },
        )


class TargetUnreachable(InvalidInput):
    """No number of doctors up to the ceiling meets the target (a service level of 100 %, or a ceiling
    below what the load needs)."""

    code = "QUEUE_TARGET_UNREACHABLE"
    message = "在允许的医生人数内无法达到目标"


class NotEnoughObservations(InvalidInput):
    code = "NOT_ENOUGH_OBSERVATIONS"
    message = "观测数据不足，无法估计"


@dataclass(frozen=True)
class QueueMetrics:
    """The steady-state figures of one queue: what a capacity planner shows for a department's session.

    ``probability_of_waiting`` is the share of patients who find every doctor busy on arrival (Erlang C);
    ``mean_queue_length`` (Lq) and ``mean_wait_hours`` (Wq) count the waiting room only, before the
    consultation; ``mean_time_in_system_hours`` (W) and ``mean_number_in_system`` (L) include it.
    """

    arrival_rate: float
    service_rate: float
    servers: int
    utilisation: float
    probability_of_waiting: float
    mean_queue_length: float
    mean_wait_hours: float
    mean_time_in_system_hours: float
    mean_number_in_system: float

    @property
    def offered_load(self) -> float:
        """a = λ / μ, in erlangs: how many doctors the arrivals keep busy on average."""
        return self.arrival_rate / self.service_rate

    @property
    def mean_wait(self) -> timedelta:
        return _as_timedelta(self.mean_wait_hours)

    @property
    def mean_time_in_system(self) -> timedelta:
        return _as_timedelta(self.mean_time_in_system_hours)

    def service_level(self, within: timedelta) -> float:
        """P(Wq <= t): the share of patients whose consultation starts within ``within`` of check-in.

        In M/M/c a patient who must wait waits an exponential time of rate cμ − λ (the rate at which the
        queue in front drains), hence 1 − C·e^(−(cμ − λ)t)."""
        t = _hours(within, "within", allow_zero=True)
        drain_rate = self.servers * self.service_rate - self.arrival_rate
        return 1.0 - self.probability_of_waiting * math.exp(-drain_rate * t)


def offered_load(arrival_rate: float, service_rate: float) -> float:
    """a = λ / μ (erlangs): the mean number of busy doctors."""
    _check_rates(arrival_rate, service_rate)
    return arrival_rate / service_rate


def minimum_stable_servers(arrival_rate: float, service_rate: float) -> int:
    """The fewest doctors with ρ < 1: ⌊a⌋ + 1 (c = a exactly is still unstable)."""
    return math.floor(offered_load(arrival_rate, service_rate)) + 1


def erlang_b(servers: int, load: float) -> float:
    """Erlang B, the blocking probability of ``servers`` with ``load`` erlangs offered (M/M/c/c).

    By the recursion B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)): every step is a ratio of positive
    numbers no larger than its inputs, so nothing overflows or cancels, unlike aᶜ/c! over a sum."""
    _check_servers(servers)
    _check_load(load)
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def erlang_c(servers: int, load: float) -> float:
    """Erlang C, the probability that an arrival waits (M/M/c), from Erlang B:
    C = B / (1 − ρ(1 − B)) with ρ = a / c. Raises ``UnstableQueue`` when a >= c."""
    _check_servers(servers)
    _check_load(load)
    if load >= servers:
        # The rates themselves are not known here; report the load as λ = a per hour against μ = 1.
        raise UnstableQueue(load, 1.0, servers)
    blocking = erlang_b(servers, load)
    rho = load / servers
    return min(1.0, blocking / (1.0 - rho * (1.0 - blocking)))


def mm1(arrival_rate: float, service_rate: float) -> QueueMetrics:
    """One doctor with a queue of their own, in the M/M/1 closed forms: P(wait) = ρ, Lq = ρ²/(1 − ρ),
    Wq = ρ/(μ − λ), W = 1/(μ − λ), L = ρ/(1 − ρ).

    Kept apart from ``mmc`` on purpose: a booked appointment names its doctor, so each doctor with a
    queue of their own is an M/M/1 queue; and the closed forms check ``mmc`` with c = 1."""
    _check_rates(arrival_rate, service_rate)
    rho = arrival_rate / service_rate
    if rho >= 1.0:
        raise UnstableQueue(arrival_rate, service_rate, 1)
    return QueueMetrics(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=1,
        utilisation=rho,
        probability_of_waiting=rho,
        mean_queue_length=rho * rho / (1.0 - rho),
        mean_wait_hours=rho / (service_rate - arrival_rate),
        mean_time_in_system_hours=1.0 / (service_rate - arrival_rate),
        mean_number_in_system=rho / (1.0 - rho),
    )


def mmc(arrival_rate: float, service_rate: float, servers: int) -> QueueMetrics:
    """``servers`` doctors sharing one queue (M/M/c): C from ``erlang_c``, Lq = C·ρ/(1 − ρ),
    Wq = C/(cμ − λ), W = Wq + 1/μ, L = Lq + a (Little's law on the waiting room and on the doctors)."""
    _check_rates(arrival_rate, service_rate)
    _check_servers(servers)
    load = arrival_rate / service_rate
    if load >= servers:
        raise UnstableQueue(arrival_rate, service_rate, servers)
    rho = load / servers
    waiting = erlang_c(servers, load)
    mean_wait = waiting / (servers * service_rate - arrival_rate)
    queue_length = waiting * rho / (1.0 - rho)
    return QueueMetrics(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=servers,
        utilisation=rho,
        probability_of_waiting=waiting,
        mean_queue_length=queue_length,
        mean_wait_hours=mean_wait,
        mean_time_in_system_hours=mean_wait + 1.0 / service_rate,
        mean_number_in_system=queue_length + load,
    )


def smallest_servers_for_mean_wait(
    arrival_rate: float, service_rate: float, target: timedelta, *, max_servers: int = MAX_SERVERS
) -> QueueMetrics:
    """The fewest doctors whose mean wait Wq is at most ``target`` ("how many doctors keep the mean wait
    under 20 minutes"), with that queue's figures. Wq falls as c grows, so the first c from the fewest
    stable one that meets the target is the smallest. The target must be positive: with any arrivals the
    mean wait is never exactly zero (a float only rounds it there at an absurd c)."""
    target_hours = _hours(target, "target", allow_zero=False)
    return _smallest_servers(
        arrival_rate,
        service_rate,
        lambda queue: queue.mean_wait_hours <= target_hours * (1.0 + TARGET_ROUNDING),
        max_servers,
        f"平均等待不超过 {target}",
    )


def smallest_servers_for_service_level(
    arrival_rate: float,
    service_rate: float,
    *,
    within: timedelta,
    at_least: float,
    max_servers: int = MAX_SERVERS,
) -> QueueMetrics:
    """The fewest doctors with P(Wq <= ``within``) >= ``at_least`` ("80 % seen within 15 minutes"), with
    that queue's figures. The service level rises with c, so the first c that meets it is the smallest.
    ``at_least`` is a share strictly between 0 and 1: 100 % is never met exactly (a float only rounds to
    it), and 0 % asks for nothing."""
    if not (math.isfinite(at_least) and 0.0 < at_least < 1.0):
        raise InvalidQueueInput(f"服务水平目标须在 0 与 1 之间（不含两端），收到 {at_least}")
    _hours(within, "within", allow_zero=True)
    return _smallest_servers(
        arrival_rate,
        service_rate,
        lambda queue: queue.service_level(within) >= at_least * (1.0 - TARGET_ROUNDING),
        max_servers,
        f"{at_least:.1%} 的患者在 {within} 内开始就诊",
    )


def _smallest_servers(
    arrival_rate: float,
    service_rate: float,
    meets: Callable[[QueueMetrics], bool],
    max_servers: int,
    target_text: str,
) -> QueueMetrics:
    _check_servers(max_servers)
    first = minimum_stable_servers(arrival_rate, service_rate)
    for servers in range(first, max_servers + 1):
        queue = mmc(arrival_rate, service_rate, servers)
        if meets(queue):
            return queue
    raise TargetUnreachable(
        f"{TargetUnreachable.message}：{max_servers} 名医生以内无法做到{target_text}",
        detail={"max_servers": max_servers, "minimum_stable_servers": first},
    )


def arrival_rate(arrivals: Sequence[datetime], *, observed_from: datetime, observed_until: datetime) -> float:
    """λ per hour from the check-in times seen over a window: the count over the window's length, the
    maximum-likelihood rate of a Poisson process. The window is the caller's (the session's hours, or the
    busy hour being planned), not first-to-last arrival, which would leave out the quiet ends and
    overstate the rate."""
    window = _hours(observed_until - observed_from, "observation window", allow_zero=False)
    outside = [t for t in arrivals if not observed_from <= t <= observed_until]
    if outside:
        raise InvalidQueueInput(f"{len(outside)} 个到达时间不在观测时段 {observed_from} 至 {observed_until} 内")
    return len(arrivals) / window


def service_rate(durations: Sequence[timedelta]) -> float:
    """μ per hour from observed consultation durations: their count over their total, the
    maximum-likelihood rate of an exponential distribution (one over the mean duration)."""
    if not durations:
        raise NotEnoughObservations(f"{NotEnoughObservations.message}：没有接诊时长")
    total = sum((_hours(d, "consultation duration", allow_zero=True) for d in durations), 0.0)
    if total <= 0.0:
        raise NotEnoughObservations(f"{NotEnoughObservations.message}：接诊时长合计为零")
    return len(durations) / total


def service_durations(visits: Sequence[tuple[datetime, datetime]]) -> list[timedelta]:
    """One doctor's consultation durations from (checked-in at, completed at) pairs of a session.

    Check-in to completion is the time in the system (wait + consultation), not the consultation, unless
    nobody was ahead. A doctor sees one patient at a time, so a consultation starts no earlier than the
    patient's check-in and no earlier than the doctor's previous completion: taking the later of the two
    as its start recovers the consultation exactly when the doctor started the next patient at once, and
    counts any pause (a break, a late call) as consultation otherwise. With the moment of the call (叫号),
    pass its durations to ``service_rate`` directly instead. Returned in completion order."""
    durations: list[timedelta] = []
    previous_completion: datetime | None = None
    for checked_in, completed in sorted(visits, key=lambda visit: visit[1]):
        if completed < checked_in:
            raise InvalidQueueInput(f"完成时间 {completed} 早于签到时间 {checked_in}")
        start = checked_in if previous_completion is None else max(checked_in, previous_completion)
        durations.append(completed - start)
        previous_completion = completed
    return durations


def _as_timedelta(hours: float) -> timedelta:
    """Hours as a ``timedelta``; a queue a hair short of unstable (ρ = 1 − 1e-15) has a mean wait past
    what a ``timedelta`` holds (2.7 million years), which reads as ``timedelta.max``."""
    if hours >= timedelta.max.total_seconds() / SECONDS_PER_HOUR:
        return timedelta.max
    return timedelta(hours=hours)


def _hours(duration: timedelta, name: str, *, allow_zero: bool) -> float:
    hours = duration.total_seconds() / SECONDS_PER_HOUR
    if hours < 0.0 or (hours == 0.0 and not allow_zero):
        raise InvalidQueueInput(f"{name} 须为{'非负' if allow_zero else '正'}时长，收到 {duration}")
    return hours


def _check_rates(arrival_rate: float, service_rate: float) -> None:
    if not (math.isfinite(arrival_rate) and arrival_rate >= 0.0):
        raise InvalidQueueInput(f"到达率须为非负有限数，收到 {arrival_rate}")
    if not (math.isfinite(service_rate) and service_rate > 0.0):
        raise InvalidQueueInput(f"服务率须为正的有限数，收到 {service_rate}")


def _check_servers(servers: int) -> None:
    if isinstance(servers, bool) or not isinstance(servers, int) or servers < 1:
        raise InvalidQueueInput(f"医生人数须为正整数，收到 {servers!r}")


def _check_load(load: float) -> None:
    if not (math.isfinite(load) and load >= 0.0):
        raise InvalidQueueInput(f"负载须为非负有限数，收到 {load}")
