"""How names are spelled for search, and how a query is read (pure helpers of ``hospitals.search``)."""

from __future__ import annotations

import pytest

from yiyue.hospitals.search import (
    MAX_SPELLINGS,
    Terms,
    full_pinyin,
    initials,
    name_columns,
    pinyin_keys,
    spellings,
    terms,
)


def test_full_pinyin_is_the_default_reading_run_together() -> None:
    assert full_pinyin("周振华") == "zhouzhenhua"
    assert full_pinyin("北京协和医院") == "beijingxieheyiyuan"


def test_full_pinyin_keeps_letters_and_digits_lowercased_and_drops_marks() -> None:
    assert full_pinyin("301医院（东院）CT室") == "301yiyuandongyuanctshi"


def test_the_keys_hold_the_pinyin_from_each_syllable_on_then_the_initials() -> None:
    assert pinyin_keys("周振华") == " zhouzhenhua zhenhua hua ~zzh ~zh ~h"


def test_a_polyphonic_surname_is_found_by_either_reading() -> None:
    keys = pinyin_keys("曾振华")

    assert " cengzhenhua" in keys and " zengzhenhua" in keys
    assert " ~czh" in keys and " ~zzh" in keys


def test_u_umlaut_may_be_typed_as_v_or_u() -> None:
    assert spellings("吕布") == [["lv", "bu"], ["lu", "bu"]]
    assert " lvbu" in pinyin_keys("吕布") and " lubu" in pinyin_keys("吕布")


def test_a_name_keeps_only_a_few_spellings() -> None:
    many = spellings("单曾解仇区查朴")

    assert len(many) == MAX_SPELLINGS
    assert "".join(many[0]) == full_pinyin("单曾解仇区查朴")


def test_the_columns_a_name_fills_agree_with_each_other() -> None:
    assert name_columns("心血管内科") == {
        "name_initials": "xxgnk",
        "name_pinyin": "xinxueguanneike",
        "name_pinyin_keys": " xinxueguanneike xueguanneike guanneike neike ke ~xxgnk ~xgnk ~gnk ~nk ~k",
    }
    assert name_columns("心血管内科")["name_initials"] == initials("心血管内科")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zhouzhenhua", Terms("zhouzhenhua", "zhouzhenhua", "zhouzhenhua")),
        ("  Zhou Zhen Hua ", Terms("Zhou Zhen Hua", "zhouzhenhua", "zhouzhenhua")),
        ("ZZH", Terms("ZZH", "zzh", "zzh")),
        ("周zh", Terms("周zh", "zhouzh", "zzh")),
        ("zhou振华", Terms("zhou振华", "zhouzhenhua", "zhouzh")),
        ("xi'an", Terms("xi'an", "xian", "xian")),
    ],
)
def test_a_query_with_latin_letters_is_also_spelled_out(query: str, expected: Terms) -> None:
    assert terms(query) == expected


@pytest.mark.parametrize("query", ["心血管", "  周振华 ", "301", "%"])
def test_a_query_without_latin_letters_is_matched_as_typed_only(query: str) -> None:
    assert terms(query) == Terms(query.strip(), "", "")


def test_a_blank_query_has_no_text() -> None:
    assert terms("   ").text == ""
