"""The release window's draw (booking.draw): deterministic, reproducible, weighted, within capacity."""

from __future__ import annotations

import secrets
from collections import Counter

import pytest

from yiyue.booking import draw

SEED = "00" * 31 + "01"


def test_the_same_record_draws_the_same_winners_in_any_order_of_entries() -> None:
    entries = [(i, 1 + i % 3) for i in range(1, 101)]

    first = draw.pick(SEED, entries, 10)

    assert draw.pick(SEED, list(reversed(entries)), 10) == first
    assert draw.verify(SEED, entries, 10, reversed(first))


def test_another_seed_draws_other_winners() -> None:
    entries = [(i, 1) for i in range(1, 201)]

    assert set(draw.pick(SEED, entries, 10)) != set(draw.pick("ff" * 32, entries, 10))
    assert not draw.verify("ff" * 32, entries, 10, draw.pick(SEED, entries, 10))


def test_winners_are_capacity_many_distinct_entries_or_everyone_when_fewer() -> None:
    entries = [(i, 1) for i in range(1, 51)]

    winners = draw.pick(SEED, entries, 20)

    assert len(winners) == len(set(winners)) == 20
    assert set(winners) <= {i for i, _ in entries}
    assert sorted(draw.pick(SEED, entries, 80)) == list(range(1, 51))
    assert draw.pick(SEED, entries, 0) == []
    assert draw.pick(SEED, [], 5) == []


def test_a_winner_is_an_entry_whose_key_beats_every_loser() -> None:
    entries = [(i, 1) for i in range(1, 31)]

    winners = draw.pick(SEED, entries, 5)

    # With equal weights the key order is the ticket order.
    best = sorted(entries, key=lambda e: draw.ticket(SEED, e[0]), reverse=True)[:5]
    assert winners == [i for i, _ in best]


def test_weight_two_wins_about_twice_as_often_as_weight_one() -> None:
    wins: Counter[int] = Counter()
    for _ in range(3000):
        wins.update(draw.pick(secrets.token_hex(32), [(1, 1), (2, 2)], 1))

    # P(weight 2 first) = 2/3: expected 2000 of 3000, sd ≈ 26.
    assert 1850 < wins[2] < 2150


def test_weights_below_one_repeated_entries_and_bad_seeds_are_refused() -> None:
    with pytest.raises(ValueError):
        draw.pick(SEED, [(1, 0)], 1)
    with pytest.raises(ValueError):
        draw.pick(SEED, [(1, 1), (1, 1)], 1)
    with pytest.raises(ValueError):
        draw.pick("not hex", [], 1)


def test_the_ticket_is_hmac_sha256_of_the_decimal_entry_id_plus_one() -> None:
    import hashlib
    import hmac

    digest = hmac.new(bytes.fromhex(SEED), b"42", hashlib.sha256).digest()

    assert draw.ticket(SEED, 42) == int.from_bytes(digest, "big") + 1
    assert draw.ALGORITHM == "es-hmac-sha256-v1"
