"""The front desk's pure rules: what the search box holds, when a no-show may be recorded, and the
walk-in account's name."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import NOW
from yiyue.frontdesk.errors import InvalidSearch, NoShowTooEarly
from yiyue.frontdesk.rules import (
    Search,
    SearchKind,
    is_onsite_account,
    no_show_window,
    onsite_openid,
    parse_search,
)
from yiyue.scheduling.models import Schedule


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("12345678", Search(SearchKind.CODE, "12345678")),
        (" 1234 5678 ", Search(SearchKind.CODE, "12345678")),
        ("5678", Search(SearchKind.PHONE_TAIL, "5678")),
        ("张三丰", Search(SearchKind.NAME, "张三丰")),
        ("三", Search(SearchKind.NAME, "三")),
        ("Li Ming", Search(SearchKind.NAME, "LiMing")),
    ],
)
def test_the_search_box_reads_a_code_a_phone_tail_or_a_name(typed: str, read: Search) -> None:
    assert parse_search(typed) == read


@pytest.mark.parametrize("typed", [None, "", "   "])
def test_a_blank_search_box_searches_nothing(typed: str | None) -> None:
    assert parse_search(typed) is None


@pytest.mark.parametrize("typed", ["123", "123456", "138123456789", "x" * 31])
def test_other_numbers_are_refused_rather_than_searched_as_names(typed: str) -> None:
    with pytest.raises(InvalidSearch):
        parse_search(typed)


def test_a_no_show_is_recorded_only_once_the_session_has_ended() -> None:
    schedule = Schedule(starts_at=NOW, ends_at=NOW + timedelta(hours=4))

    with pytest.raises(NoShowTooEarly) as early:
        no_show_window(schedule, now=schedule.ends_at - timedelta(seconds=1))
    no_show_window(schedule, now=schedule.ends_at)

    assert "13:00后才能记录爽约" in early.value.text


def test_the_walk_in_account_of_a_hospital_is_recognised_by_its_openid() -> None:
    assert onsite_openid(7) == "onsite:7"
    assert is_onsite_account("onsite:7") and not is_onsite_account("o-onsite:7")
