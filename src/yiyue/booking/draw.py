"""The fair draw of a release window (放号窗口抽签): a pure, seeded, reproducible weighted draw. No database.

Algorithm ``es-hmac-sha256-v1`` — weighted sampling without replacement after Efraimidis and Spirakis
(2006): each entry gets the key ``u ** (1 / weight)`` and the ``capacity`` entries with the largest keys
win. ``u`` is not from a random generator but from the draw's seed, so anyone holding the record (seed,
entries with their weights, capacity) gets the same winners:

- ``h = HMAC-SHA256(key=bytes.fromhex(seed), msg=str(entry_id).encode("ascii"))`` read as a big-endian
  256-bit integer, and ``u = (h + 1) / 2**256`` (so ``0 < u <= 1``);
- keys are compared exactly, in integers, never in floating point: with ``n = h + 1``,
  ``u_a ** (1/w_a) > u_b ** (1/w_b)``  ⇔  ``n_a ** w_b * 2 ** (256 * w_a) > n_b ** w_a * 2 ** (256 * w_b)``;
  equal keys (practically impossible) go to the lower entry id.

An entry of weight 2 is about twice as likely as one of weight 1 to be drawn first; weights are whole
numbers ≥ 1 (booking gives 1 plus the member level's booking priority). The order of the entries given
does not matter. Re-running with another seed gives another draw; with the same record, the same one.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable, Sequence

ALGORITHM = "es-hmac-sha256-v1"
"""The name stored with each draw (``ReleaseDraw.algorithm``): what ``pick`` implements."""

_BITS = 256


def ticket(seed: str, entry_id: int) -> int:
    """``n`` of the entry: 1 + HMAC-SHA256(seed, entry id) as an integer, in [1, 2**256]."""
    digest = hmac.new(bytes.fromhex(seed), str(entry_id).encode("ascii"), hashlib.sha256).digest()
    return int.from_bytes(digest, "big") + 1


def pick(seed: str, entries: Iterable[tuple[int, int]], capacity: int) -> list[int]:
    """The winning entry ids, best key first: at most ``capacity`` of ``entries`` ((entry_id, weight)),
    each entry id once. Raises ``ValueError`` for a weight below 1, a repeated entry id or a seed that is
    not hex."""
    bytes.fromhex(seed)  # a bad seed is an error even with no entries
    weights: dict[int, int] = {}
    for entry_id, weight in entries:
        if weight < 1:
            raise ValueError(f"entry {entry_id}: weight must be at least 1, not {weight}")
        if entry_id in weights:
            raise ValueError(f"entry {entry_id} appears twice")
        weights[entry_id] = weight
    if capacity <= 0 or not weights:
        return []
    keyed = [(entry_id, ticket(seed, entry_id), weight) for entry_id, weight in weights.items()]
    keyed.sort(key=functools.cmp_to_key(_better_first))
    return [entry_id for entry_id, _, _ in keyed[:capacity]]


def _better_first(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
    """Negative when ``a``'s key is larger (it sorts first)."""
    id_a, n_a, w_a = a
    id_b, n_b, w_b = b
    left = n_a**w_b << (_BITS * w_a)
    right = n_b**w_a << (_BITS * w_b)
    if left != right:
        return -1 if left > right else 1
    return -1 if id_a < id_b else (1 if id_a > id_b else 0)


def verify(seed: str, entries: Sequence[tuple[int, int]], capacity: int, winners: Iterable[int]) -> bool:
    """Whether ``winners`` are exactly the entries this record draws (in any order)."""
    return set(pick(seed, entries, capacity)) == set(winners)
