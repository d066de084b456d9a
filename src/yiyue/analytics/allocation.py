"""Optimal weighted allocation of slots (号源) to requests: issue 12, part 5 (seed 000's integer program).

Given ``m`` requests (one visit person asking for a slot, with a weight from urgency, member level, time
waited and repeat visit) and ``n`` slots with start times, choose which request gets which slot so that the
total weighted waiting time is least, with at most one slot per request, per slot and per person (a
person with several requests, e.g. one per acceptable session, gets at most one slot).

The model (the formulation and its proofs are in ``docs/allocation.md``):

- request ``i`` has a weight ``w_i`` (a whole number >= 1) and is ready at ``e_i`` (its earliest acceptable
  time, or the batch's ``reference`` time); slot ``j`` starts at ``s_j``; ``i`` may take ``j`` only if
  ``s_j >= e_i``;
- a request served by slot ``j`` waits ``s_j − e_i``; one not served here waits until ``unserved_at`` (the
  next chance: the next release, the waitlist's next batch), which lies after every slot;
- minimise Σ_i w_i · wait_i over everyone, served or not.

Counting the unserved is what makes the weights mean priority. Minimising the served requests' waits alone
(the textbook form with m <= n) would, when m > n, leave out the *heaviest* requests, because they cost
the most to serve. With the unserved counted, the objective is a constant minus the savings
Σ x_ij · w_i · (unserved_at − s_j), so serving a heavier request, or serving it earlier, always saves more.

Solved exactly by ``scipy.optimize.linear_sum_assignment`` on a persons × (slots + "not served") matrix:

- **one per person** — a person's requests compete for the same slots, like parallel edges between the
  person and each slot; a matching uses at most one of them, so only the best (the heaviest request of the
  person that accepts the slot) can be in an optimum. Collapsing the person's requests to that best edge per
  slot is exact, whatever their weights and earliest times (proof in the docs);
- **integrality** — the constraint matrix (one row per person, one per slot) is the incidence matrix of a
  bipartite graph, totally unimodular, so the assignment problem's optimum is a 0/1 one: no branch and
  bound (``milp``) is needed;
- **ties** — a caller-supplied ``order`` of the request ids (the fair draw's order) breaks them: among the
  optimal allocations the one with the greatest Σ (m − rank_i)·(n − slot position_j) over served pairs, so
  earlier-drawn requests are served first and get the earlier slots. With equal weights and one reference
  time every allocation of the slots costs the same, and this reproduces the draw: the k-th drawn request
  gets the k-th slot. The tie score is added below the unit of the savings in exact integers (seconds ×
  weight), so it never outweighs a real saving.

Pure: no database, no web. Times are compared and counted in whole seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

import numpy as np
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

from yiyue.core.errors import InvalidInput

SECOND = timedelta(seconds=1)

EXACT_LIMIT = 2**53
"""Every cost handed to the solver is an integer below this, so float64 holds it (and every sum and
difference of two of them that the solver forms) exactly: the optimum and the tie-break are exact."""

MAX_WAITED_WEEKS = 4
"""The default weighting counts at most this many whole weeks waited: long enough to lift a patient who has
tried for a month, short enough that waiting never outranks an urgent case."""


class InvalidAllocationInput(InvalidInput):
    code = "INVALID_ALLOCATION_INPUT"
    message = "号源分配的参数无效"


class AllocationTooLarge(InvalidInput):
    """The batch's weights × seconds would pass what float64 holds exactly (2**53): split the batch or
    bring ``unserved_at`` closer; the answer would otherwise depend on rounding."""

    code = "ALLOCATION_TOO_LARGE"
    message = "分配规模过大，无法精确求解"


class Urgency(IntEnum):
    """The clinical urgency a doctor or triage nurse records (the weight points are in ``default_weight``)."""

    ROUTINE = 0  # 普通
    PRIORITY = 1  # 优先（如复查期限将至）
    URGENT = 2  # 紧急


URGENCY_POINTS = {Urgency.ROUTINE: 0, Urgency.PRIORITY: 4, Urgency.URGENT: 10}
"""Weight points per urgency class: an urgent request outweighs the seeded member levels' priority (0–3, 钻石
3), a month waited and a repeat visit together (10 > 3 + 4 + 1). A platform administrator may set a level's
priority up to 100 (``members.rules``), and then it can outweigh urgency: that is their call."""


def default_weight(
    *,
    urgency: Urgency = Urgency.ROUTINE,
    member_priority: int = 0,
    waited: timedelta = timedelta(0),
    repeat_visit: bool = False,
) -> int:
    """The documented default weight of a request: 1 + urgency points (0 / 4 / 10) + the member level's
    booking priority (as the fair draw uses it) + one per whole week waited (at most ``MAX_WAITED_WEEKS``) +
    1 for a repeat visit (复诊, the doctor asked to see them again). With every argument at its default the
    weight is 1: equal weights, so the fair draw decides.

    A whole number on purpose: the solver's costs stay exact integers (see ``EXACT_LIMIT``)."""
    if member_priority < 0:
        raise InvalidAllocationInput(f"会员预约优先级须为非负整数，收到 {member_priority}")
    if waited < timedelta(0):
        raise InvalidAllocationInput(f"已等待时长须非负，收到 {waited}")
    weeks = min(waited // timedelta(weeks=1), MAX_WAITED_WEEKS)
    return 1 + URGENCY_POINTS[urgency] + member_priority + weeks + int(repeat_visit)


@dataclass(frozen=True)
class Request:
    """One visit person's request for a slot. ``person`` is who the patient is (the ID-number blind index,
    ``person_index``), so two requests of one person are never both served. ``earliest`` is when they can
    come at the earliest; ``None`` means the batch's reference time."""

    id: int
    person: str
    weight: int = 1
    earliest: datetime | None = None


@dataclass(frozen=True)
class Slot:
    id: int
    starts_at: datetime


@dataclass(frozen=True)
class Assignment:
    request_id: int
    slot_id: int
    person: str
    wait: timedelta
    """Slot start − the request's earliest (or reference) time."""
    weight: int


@dataclass(frozen=True)
class Allocation:
    """The optimal allocation. ``total_weighted_wait`` is Σ weight × wait over the served;
    ``total_cost`` is the objective, which adds weight × (``unserved_at`` − ready time) for every request
    not served. ``unassigned`` keeps the order given (the draw's), ``assignments`` run in slot order."""

    assignments: tuple[Assignment, ...]
    unassigned: tuple[int, ...]
    total_weighted_wait: timedelta
    total_cost: timedelta

    def slot_of(self, request_id: int) -> int | None:
        return next((a.slot_id for a in self.assignments if a.request_id == request_id), None)


def allocate(
    requests: Sequence[Request],
    slots: Sequence[Slot],
    *,
    order: Sequence[int],
    reference: datetime,
    unserved_at: datetime,
) -> Allocation:
    """Assign ``slots`` to ``requests`` minimising the total weighted waiting time of every request (the
    unserved wait until ``unserved_at``), at most one slot per request, per slot and per person, a slot only
    to a request ready by its start. ``order`` lists every request id once, the fair draw's order: it breaks
    ties (earlier-drawn first, and into earlier slots). ``reference`` is the ready time of a request without
    ``earliest`` (the window's close, the batch's time); ``unserved_at`` must be after every slot start."""
    rank = _check(requests, slots, order, unserved_at)
    ready = [request.earliest or reference for request in requests]
    slots_in_order = sorted(slots, key=lambda slot: (slot.starts_at, slot.id))
    persons = _persons(requests)
    best = _best_requests(requests, ready, slots_in_order, persons, rank, unserved_at)
    chosen = _solve(best, len(persons), len(slots_in_order))
    return _result(requests, ready, slots_in_order, chosen, order, unserved_at)


Choice = tuple[int, int]
"""(combined score, request index) of the best request of one person for one slot."""


def _persons(requests: Sequence[Request]) -> list[list[int]]:
    """The request indexes of each person, persons in order of first appearance."""
    by_person: dict[str, list[int]] = {}
    for index, request in enumerate(requests):
        by_person.setdefault(request.person, []).append(index)
    return list(by_person.values())


def _best_requests(
    requests: Sequence[Request],
    ready: Sequence[datetime],
    slots: Sequence[Slot],
    persons: Sequence[Sequence[int]],
    rank: dict[int, int],
    unserved_at: datetime,
) -> list[list[Choice | None]]:
    """For each person and slot, the request of the person whose serving there scores most (``None`` when
    none of theirs accepts it). Score = saving × unit + tie, saving = w · (unserved_at − s_j) in seconds,
    tie = (m − rank)·(n − position) < unit: the one-per-person collapse (parallel edges) done exactly."""
    m, n = len(requests), len(slots)
    unit = min(m, n) * m * n + 1  # above any allocation's total tie score, so ties never beat a saving
    table: list[list[Choice | None]] = []
    for indexes in persons:
        row: list[Choice | None] = []
        for position, slot in enumerate(slots):
            options = [
                (
                    _saving(requests[i].weight, slot.starts_at, unserved_at) * unit
                    + _tie(m, rank[requests[i].id], n, position),
                    i,
                )
                for i in indexes
                if slot.starts_at >= ready[i]
            ]
            row.append(max(options) if options else None)
        table.append(row)
    return table


def _tie(m: int, rank: int, n: int, position: int) -> int:
    """(m − rank)·(n − position): larger for an earlier-drawn request in an earlier slot. By the rearrangement
    inequality its total over a matching is greatest when the k-th drawn goes to the k-th slot."""
    return (m - rank) * (n - position)


def _saving(weight: int, starts_at: datetime, unserved_at: datetime) -> int:
    return weight * ((unserved_at - starts_at) // SECOND)


def _solve(best: Sequence[Sequence[Choice | None]], persons: int, slots: int) -> dict[int, tuple[int, int]]:
    """request index -> (slot position, score) of an optimum, by one rectangular assignment: persons ×
    (slots + one "not served" column per person, score 0). The extra columns let anyone stay unserved and
    keep a full assignment of the rows always feasible; a slot no request of the person accepts is +inf."""
    if persons == 0 or slots == 0:
        return {}
    scores = [choice[0] for row in best for choice in row if choice is not None]
    if scores and max(scores) * min(persons, slots) >= EXACT_LIMIT:
        raise AllocationTooLarge(
            f"{AllocationTooLarge.message}：{persons} 人 × {slots} 个号源",
            detail={"persons": persons, "slots": slots, "largest_score": max(scores)},
        )
    cost = np.full((persons, slots + persons), np.inf)
    cost[:, slots:] = 0.0
    for p, row in enumerate(best):
        for j, choice in enumerate(row):
            if choice is not None:
                cost[p, j] = -float(choice[0])  # the solver minimises: cost = − score
    rows, columns = linear_sum_assignment(cost)
    chosen: dict[int, tuple[int, int]] = {}
    for p, j in zip(rows.tolist(), columns.tolist(), strict=True):
        choice = best[p][j] if j < slots else None
        if choice is not None:
            chosen[choice[1]] = (j, choice[0])
    return chosen


def _result(
    requests: Sequence[Request],
    ready: Sequence[datetime],
    slots: Sequence[Slot],
    chosen: dict[int, tuple[int, int]],
    order: Sequence[int],
    unserved_at: datetime,
) -> Allocation:
    assignments = [
        Assignment(
            request_id=requests[i].id,
            slot_id=slots[j].id,
            person=requests[i].person,
            wait=slots[j].starts_at - ready[i],
            weight=requests[i].weight,
        )
        for i, (j, _) in sorted(chosen.items(), key=lambda item: item[1][0])
    ]
    served = {a.request_id for a in assignments}
    weighted_wait = _weighted(a.weight * a.wait for a in assignments)
    unserved_wait = _weighted(
        request.weight * (unserved_at - ready[i]) for i, request in enumerate(requests) if request.id not in served
    )
    return Allocation(
        assignments=tuple(assignments),
        unassigned=tuple(request_id for request_id in order if request_id not in served),
        total_weighted_wait=weighted_wait,
        total_cost=weighted_wait + unserved_wait,
    )


def _weighted(terms: Iterable[timedelta]) -> timedelta:
    return sum(terms, timedelta(0))


def _check(
    requests: Sequence[Request], slots: Sequence[Slot], order: Sequence[int], unserved_at: datetime
) -> dict[int, int]:
    """The rank of each request id in ``order``, after checking the input means one thing."""
    ids = [request.id for request in requests]
    _no_repeats(ids, "请求")
    _no_repeats([slot.id for slot in slots], "号源")
    for request in requests:
        if isinstance(request.weight, bool) or not isinstance(request.weight, int) or request.weight < 1:
            raise InvalidAllocationInput(
                f"请求 {request.id} 的权重须为不小于 1 的整数，收到 {request.weight!r}",
                detail={"request_id": request.id, "weight": request.weight},
            )
    if len(order) != len(ids) or set(order) != set(ids):
        raise InvalidAllocationInput(
            "抽签顺序须恰好列出每个请求一次",
            detail={"missing": sorted(set(ids) - set(order)), "unknown": sorted(set(order) - set(ids))},
        )
    latest = max((slot.starts_at for slot in slots), default=None)
    if latest is not None and unserved_at <= latest:
        raise InvalidAllocationInput(
            f"未分配请求的下次机会 {unserved_at} 须晚于最后一个号源 {latest}",
            detail={"unserved_at": unserved_at.isoformat(), "latest_slot": latest.isoformat()},
        )
    return {request_id: position for position, request_id in enumerate(order)}


def _no_repeats(ids: Sequence[int], what: str) -> None:
    repeated = sorted(i for i, count in Counter(ids).items() if count > 1)
    if repeated:
        raise InvalidAllocationInput(f"{what}编号重复：{repeated}", detail={"repeated": repeated})
